"""Channel adapters: provider traffic in, replies out."""
