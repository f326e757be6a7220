"""Tests of agents.validators."""
