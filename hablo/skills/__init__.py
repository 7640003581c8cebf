"""Built-in skills, written against the public SDK in hablo.plugins."""
