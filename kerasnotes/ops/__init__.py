"""kerasnotes.ops."""
