"""Tests of engine.cluster."""
