"""Tests of engine.replay."""
