"""Tests of engine.config."""
