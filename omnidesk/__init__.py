"""omnidesk: one keyboard-driven inbox for every patient conversation."""

__version__ = "0.1.0"
