"""Shared test set-up: a clean environment so a developer's shell never changes a result, and the one
session-wide cache folder."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

# CI runs the same property examples every time: a red CI then says the code changed, not the draw.
# Elsewhere the draws vary, so local runs keep finding new cases.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Fixtures shared by test folders (a llama.cpp server); helpers are plain imports from tests.support.
pytest_plugins = ["tests.support.servers"]


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The session's cache folder (sample worlds, stage-1 profiles, encoders), for every fixture.

    Session- and module-scoped fixtures run before any function-scoped one: the folder is set here
    too, so no fixture ever writes into the developer's real cache. A module fixture that reads the
    cache asks for this fixture by name to say so.
    """
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
