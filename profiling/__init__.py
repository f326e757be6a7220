"""Stage 1: the corpus, its loaders, the sample world, aspects, sentiment and time-decayed profiles."""
