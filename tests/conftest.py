"""Shared test set-up: a clean environment so a developer's shell never changes a result."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "CONVREC_")):
            monkeypatch.delenv(name, raising=False)
    # Every test writes caches (sample world, embeddings) under one session-wide temp folder,
    # never into the developer's real cache.
    monkeypatch.setenv("CONVREC_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
