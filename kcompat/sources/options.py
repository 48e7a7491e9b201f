"""Settings of the remote backends that kcompat itself chooses (credentials and endpoints it never does)."""

TIMEOUT_S = 20.0  # to connect, and for each read: a dead endpoint is a finding in seconds, not minutes
