"""Tests of engine.outputs."""
