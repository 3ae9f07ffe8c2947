"""kerasnotes.training."""
