"""Stage 2: the super-node grammar and per-seed dialog plans."""
