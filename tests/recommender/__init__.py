"""Tests of recommender."""
