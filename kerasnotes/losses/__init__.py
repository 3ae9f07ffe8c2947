"""kerasnotes.losses."""
