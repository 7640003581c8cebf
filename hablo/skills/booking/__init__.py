"""Bookings: the policy (settings), availability (pure functions), the tenant-scoped
repository (the database enforces no double booking) and, in `skill`, the chat flow."""
