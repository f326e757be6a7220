"""A real scripted run with planted faults (retries, rollbacks) in a store, for export and report tests."""

from __future__ import annotations

from pathlib import Path

import pytest

import agents.backends
from engine.run import main as run_main
from tests.support.fault_clients import FaultyClient
from tests.support.worlds import WORLD_ARGS as WORLD

__all__ = ["make_run"]


def make_run(folder: Path, dialogs: int = 16) -> Path:
    """A real scripted run with planted faults (retries, rollbacks); its database."""
    real = agents.backends.make_client

    def faulty(config):  # type: ignore[no-untyped-def]
        inner = real(config)
        retried = FaultyClient(
            inner, "no_question", target_title="-", catalog_title="-", attempts=frozenset({1})
        )
        return FaultyClient(retried, "wrong_role", target_title="-", catalog_title="-", nodes=("clarify",))

    mp = pytest.MonkeyPatch()
    mp.setattr(agents.backends, "make_client", faulty)
    try:
        db = folder / "run.db"
        assert (
            run_main(
                [
                    *WORLD,
                    "--backend",
                    "scripted",
                    "--dialogs",
                    str(dialogs),
                    "--concurrency",
                    "4",
                    "--quiet",
                    "--db",
                    str(db),
                    "--out",
                    str(folder / "out"),
                    "--run-id",
                    "r1",
                ]
            )
            == 0
        )
    finally:
        mp.undo()
    return db
