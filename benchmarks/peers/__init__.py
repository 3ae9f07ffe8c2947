"""Reference implementations in other frameworks, for speed comparisons (need extra packages)."""
