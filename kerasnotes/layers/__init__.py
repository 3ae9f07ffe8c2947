"""kerasnotes.layers."""
