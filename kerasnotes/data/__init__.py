"""kerasnotes.data."""
