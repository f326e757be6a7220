"""Tests of agents.backends."""
