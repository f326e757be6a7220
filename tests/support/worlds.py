"""The small sample world most engine tests run on (its stage-1 profiles are cached for the session)."""

from __future__ import annotations

from profiling.sample_world import WorldConfig

__all__ = ["WORLD", "WORLD_ARGS"]

WORLD = WorldConfig(seed=3, n_items=60, n_users=90, n_reviews=2200, n_aspects=14)
# The same world as engine.run options.
WORLD_ARGS = ["--world-seed", "3", "--world-items", "60", "--world-users", "90", "--world-reviews", "2200",
              "--world-aspects", "14"]
