"""Shared test set-up: a clean environment so a developer's shell never changes a result."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Session- and module-scoped fixtures run before any function-scoped one: set the cache folder
    # here too, so no fixture ever writes into the developer's real cache.
    mp = pytest.MonkeyPatch()
    mp.setenv("CONVREC_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "CONVREC_")):
            monkeypatch.delenv(name, raising=False)
    # Every test writes caches (sample world, embeddings) under one session-wide temp folder,
    # never into the developer's real cache.
    monkeypatch.setenv("CONVREC_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
