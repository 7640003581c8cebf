"""The management API and the HTTP server (aiohttp)."""
