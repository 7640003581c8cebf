"""Bookings: a tenant's policy, free slots, the "is this slot bookable" rule, and the
repository that writes them (the database guarantees no double booking)."""
