"""Business rules that every outer layer shares: the skills, the API, the engine and the
plugin SDK all read bookings and services through here. Pure code plus repositories on
a caller's connection; imports nothing of hablo but `db` and `config`."""
