"""One owner per live run: the lease row, its takeover rules, the heartbeat and the fence on writes.

Real SQLite files and, for "is the owner alive", real processes; two processes playing one run are
in tests/engine/test_run_ownership.py.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from engine.store import LeaseLostError, RunBusyError, RunInfo, TraceStore
from engine.store.lease import STALE_AFTER_S, acquire, lease_row, refuse_if_live

pytestmark = pytest.mark.timeout(120)


def _info(run_id: str) -> RunInfo:
    return RunInfo(run_id=run_id, status="running", started_at="2024-01-01T00:00:00+00:00", seed=0,
                   backend="scripted", n_dialogs=0, config={})


def _record(db: Path, run_id: str = "r") -> None:
    """A run recorded by a store that then closes (its lease released)."""

    async def go() -> None:
        async with TraceStore.open(db) as store:
            await store.begin_run(_info(run_id), [], {})
            await store.release_lease()

    anyio.run(go)


def _plant(db: Path, run_id: str, pid: int, host: str, heartbeat_at: str) -> None:
    con = sqlite3.connect(db)
    con.execute("INSERT OR REPLACE INTO run_leases VALUES (?,?,?,?,?,?)",
                (run_id, pid, host, "theirs", heartbeat_at, heartbeat_at))
    con.commit()
    con.close()


def _now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


def test_a_live_owner_on_this_host_is_refused_and_a_dead_one_taken_over_at_once(tmp_path: Path) -> None:
    import socket

    db = tmp_path / "t.db"
    _record(db)
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _plant(db, "r", owner.pid, socket.gethostname(), _now_iso())
        con = sqlite3.connect(db, isolation_level=None)
        with pytest.raises(RunBusyError, match=f"pid {owner.pid}"):
            acquire(con, "r")
        with pytest.raises(RunBusyError, match="an export waits"):
            refuse_if_live(con, "r", "an export")
    finally:
        owner.kill()
        owner.wait()
    # The owner died (SIGKILL): its lease is stale at once, however fresh its heartbeat.
    lease, before = acquire(con, "r")
    assert before is not None and f"pid {owner.pid}" in before
    assert lease_row(con, "r")[2] == lease.token  # type: ignore[index]
    con.close()


def test_a_lease_from_another_host_is_stale_only_when_its_heartbeat_is(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    _record(db)
    _plant(db, "r", 1, "another-host", _now_iso())
    con = sqlite3.connect(db, isolation_level=None)
    with pytest.raises(RunBusyError, match="another-host"):
        acquire(con, "r")
    # The same row seen STALE_AFTER_S later: its owner stopped beating, the lease is taken over.
    _, before = acquire(con, "r", now=time.time() + STALE_AFTER_S + 1)
    assert before is not None and "another-host" in before
    con.close()


def test_a_writer_whose_lease_was_taken_over_stops_before_writing(tmp_path: Path) -> None:
    db = tmp_path / "t.db"

    async def go() -> None:
        async with TraceStore.open(db) as store:
            await store.begin_run(_info("r"), [], {})
            store.set_run_status("r", "running", note="before")
            await store.flush()
            # Another process takes the run over (as after a long pause of this one).
            _plant(db, "r", 1, "another-host", _now_iso())
            store.set_run_status("r", "completed", note="after")
            await store.flush()

    with pytest.raises(LeaseLostError, match="taken over by pid 1 on host another-host"):
        anyio.run(go)
    con = sqlite3.connect(db)
    assert con.execute("SELECT status, note FROM runs").fetchone() == ("running", "before")
    con.close()


def test_the_heartbeat_renews_the_lease_and_notices_a_takeover(tmp_path: Path) -> None:
    db = tmp_path / "t.db"

    async def go() -> None:
        async with TraceStore.open(db) as store:
            store.heartbeat_s = 0.02
            await store.begin_run(_info("r"), [], {})
            con = sqlite3.connect(db)
            first = con.execute("SELECT heartbeat_at FROM run_leases").fetchone()[0]
            for _ in range(500):
                await anyio.sleep(0.01)
                if con.execute("SELECT heartbeat_at FROM run_leases").fetchone()[0] != first:
                    break
            assert con.execute("SELECT heartbeat_at FROM run_leases").fetchone()[0] > first
            con.close()
            _plant(db, "r", 1, "another-host", _now_iso())
            for _ in range(500):
                await anyio.sleep(0.01)
                store.set_run_status("r", "running")  # raises once the heartbeat saw the takeover

    with pytest.raises(LeaseLostError):
        anyio.run(go)


def test_a_released_run_is_free_and_a_second_recording_of_one_id_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    _record(db)
    con = sqlite3.connect(db, isolation_level=None)
    assert lease_row(con, "r") is None
    refuse_if_live(con, "r", "an export")  # nothing to refuse
    con.close()

    async def again() -> None:
        async with TraceStore.open(db) as store:
            await store.begin_run(_info("r"), [], {})

    with pytest.raises(Exception, match="already recorded here; resume it"):
        anyio.run(again)
