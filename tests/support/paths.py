"""Where tests find the repository and the data files they read."""

from __future__ import annotations

from pathlib import Path

__all__ = ["LOADER_FIXTURES", "REPO"]

REPO = Path(__file__).resolve().parents[2]
# Small review files in the exact upstream schemas (tests/fixtures/loaders/make_fixtures.py writes them).
LOADER_FIXTURES = REPO / "tests" / "fixtures" / "loaders"
