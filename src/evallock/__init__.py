"""evallock."""
