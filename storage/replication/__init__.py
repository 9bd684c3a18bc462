"""Chain replication between storage targets (forwarding; recovery comes later)."""
