"""Exact resume: a real ``python -m engine.run`` killed with SIGKILL at several points, then resumed.

Each resumed run must end with exactly the planned dialogs (none lost, none twice), a sound database
(``PRAGMA integrity_check``) and a dataset byte-identical to an uninterrupted run's with the same seed.
Ctrl-C (SIGINT) drains instead: the run is marked interrupted, says how to resume, and resumes.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.run import main
from engine.store import check_integrity
from tests.support.paths import REPO

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

WORLD = ["--world-seed", "3", "--world-items", "60", "--world-users", "90", "--world-reviews", "2200",
         "--world-aspects", "14"]
N = 60
ARGS = [*WORLD, "--backend", "scripted", "--dialogs", str(N), "--concurrency", "4", "--quiet"]


def _complete(db: Path, run_id: str) -> int:
    if not db.exists():
        return -1
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM dialogs WHERE run_id=? AND record_json IS NOT NULL",
                               (run_id,)).fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:  # not created or not migrated yet
        return -1


def _recorded(db: Path, run_id: str) -> bool:
    """Whether the run made it into the store (killed earlier, there is nothing to resume)."""
    if not db.exists():
        return False
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone() is not None
    except sqlite3.OperationalError:  # killed before the schema was created
        return False
    finally:
        con.close()


def _start(db: Path, out: Path, *extra: str, capture: bool = False) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "engine.run", *ARGS, "--db", str(db), "--out", str(out),
                             *extra], cwd=REPO, env=os.environ.copy(),
                            stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)


def _kill_when(proc: subprocess.Popen[bytes], db: Path, run_id: str, done_at_least: int) -> int:
    """SIGKILL ``proc`` once ``done_at_least`` dialogs are complete (-1: as soon as the database exists,
    while the run is still loading and profiling)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if (db.exists() if done_at_least < 0 else _complete(db, run_id) >= done_at_least):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return _complete(db, run_id)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("ref")
    assert main([*ARGS, "--db", str(out / "ref.db"), "--out", str(out), "--run-id", "ref"]) == 0
    data = (out / "dialogs.jsonl").read_bytes()
    assert len(data.splitlines()) == N
    return data


@pytest.mark.parametrize("kill_at", [-1, 2, 11, 24])
def test_sigkill_then_resume_gives_the_uninterrupted_dataset(tmp_path: Path, reference: bytes,
                                                              kill_at: int) -> None:
    db, out = tmp_path / "run.db", tmp_path / "out"
    # Paced by the endpoint's request bucket (50 calls/s): the scripted backend alone is so fast that a
    # whole run can end between two polls; the resume runs unpaced (pacing changes no dialog).
    done = _kill_when(_start(db, out, "--run-id", "r", "--rpm", "3000"), db, "r", kill_at)
    assert done < N, "the run finished before it could be killed"
    assert check_integrity(db) == "ok"
    if not _recorded(db, "r"):  # killed before the run was recorded: nothing to resume, a new run, same id
        code = main([*ARGS, "--db", str(db), "--out", str(out), "--run-id", "r"])
    else:
        code = main(["--resume", "--db", str(db), "--out", str(out), "--run-id", "r", "--quiet"])
    assert code == 0
    assert (out / "dialogs.jsonl").read_bytes() == reference
    con = sqlite3.connect(db)
    assert con.execute("SELECT status FROM runs WHERE run_id='r'").fetchone()[0] == "completed"
    ids = [r[0] for r in con.execute("SELECT dialog_id FROM dialogs WHERE run_id='r'")]
    assert len(ids) == len(set(ids)) == N
    # No orphan rows of a dialog that was restarted: every turn belongs to a complete dialog.
    assert con.execute("SELECT COUNT(*) FROM turns t LEFT JOIN dialogs d USING (run_id, dialog_id) "
                       "WHERE d.record_json IS NULL").fetchone()[0] == 0
    con.close()
    assert check_integrity(db) == "ok"


def test_ctrl_c_drains_marks_the_run_interrupted_and_says_how_to_resume(tmp_path: Path,
                                                                        reference: bytes) -> None:
    db, out = tmp_path / "run.db", tmp_path / "out"
    # Slowed by the endpoint's request bucket (15 calls/s, about a second per dialog), so the run is still
    # playing when the signal comes, however fast the machine; the resume runs at full speed.
    proc = _start(db, out, "--run-id", "c", "--concurrency", "1", "--rpm", "900", capture=True)
    deadline = time.monotonic() + 300
    while _complete(db, "c") < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    text = output.decode()
    assert proc.returncode == 130, text
    assert "--resume" in text and "--run-id c" in text
    con = sqlite3.connect(db)
    status, done = con.execute("SELECT r.status, (SELECT COUNT(*) FROM dialogs d WHERE d.run_id='c' AND "
                               "d.record_json IS NOT NULL) FROM runs r WHERE run_id='c'").fetchone()
    con.close()
    assert status == "interrupted" and 2 <= done < N
    assert main(["--resume", "--db", str(db), "--out", str(out), "--run-id", "c", "--quiet"]) == 0
    assert (out / "dialogs.jsonl").read_bytes() == reference


def test_resuming_a_run_whose_data_changed_is_refused(tmp_path: Path, reference: bytes) -> None:
    db, out = tmp_path / "run.db", tmp_path / "out"
    assert main([*ARGS, "--dialogs", "4", "--db", str(db), "--out", str(out), "--run-id", "x"]) == 0
    con = sqlite3.connect(db)
    con.execute("UPDATE seeds SET plan_hash='changed' WHERE run_id='x' AND position=0")
    con.execute("INSERT OR IGNORE INTO plans VALUES ('changed', '[]', '{}')")
    con.commit()
    con.close()
    assert main(["--resume", "--db", str(db), "--out", str(out), "--run-id", "x", "--quiet"]) == 2
