"""Tests of engine.gateway."""
