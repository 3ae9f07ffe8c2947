"""kerasnotes.metrics."""
