"""kerasnotes.models."""
