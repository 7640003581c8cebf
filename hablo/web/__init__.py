"""HTTP helpers every edge shares (the API, the console, channel webhooks): the one error
shape and safe JSON parsing. Imports nothing of hablo, so any layer may use it."""
