"""Who is signed in: log-in with lockout, sessions and API tokens that log-out and deactivation end."""
