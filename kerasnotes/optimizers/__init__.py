"""kerasnotes.optimizers."""
