"""The downstream recommender trained on exported dialog datasets."""
