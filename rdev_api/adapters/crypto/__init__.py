"""AES-GCM secret box and the master key file."""
