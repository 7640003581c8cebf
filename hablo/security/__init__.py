"""Security primitives shared by the API, the channels and the skills: secrets at rest,
passwords, tokens."""
