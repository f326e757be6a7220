"""Crashes: a real ``python -m engine.run`` SIGKILLed at random moments, over and over.

One run is killed and resumed at least 20 times (seeded random moments: during start-up and
profiling, and after a random number of further dialogs plus a random few milliseconds), each kill
followed by ``PRAGMA integrity_check``; the run resumed to the end must give the dataset of an
uninterrupted run byte for byte, with every planned dialog once.

Also here: a full disk (the child's RLIMIT_FSIZE, with SIGXFSZ ignored so a write past it fails with
EFBIG, as on a full file system) and a read-only database (a path on procfs, which even root cannot
create files in; and an existing database made immutable, or read-only when not root) each end the
run with one line naming the database and exit code 2, not a traceback.
"""

from __future__ import annotations

import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.run import main
from engine.store import check_integrity
from tests.support.openai_server import OpenAITestServer
from tests.support.paths import REPO
from tests.support.scripted_server import scripted_answer

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

# The world of tests/engine/test_engine_run.py: its stage-1 profiles are cached for the session.
WORLD = ["--world-seed", "3", "--world-items", "60", "--world-users", "90", "--world-reviews", "2200",
         "--world-aspects", "14"]
N = 24
ARGS = [*WORLD, "--backend", "scripted", "--dialogs", str(N), "--concurrency", "4", "--quiet"]
KEY_ENV = "CONVREC_CRASH_TEST_KEY"
KILLS = 20


def _query(db: Path, sql: str, params: tuple[object, ...] = ()) -> int:
    """One number from the database (-1 while it or its tables do not exist yet)."""
    if not db.exists():
        return -1
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(sql, params).fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return -1


def _complete(db: Path) -> int:
    return _query(db, "SELECT COUNT(*) FROM dialogs WHERE run_id='k' AND record_json IS NOT NULL")


def _has_run(db: Path) -> bool:
    return _query(db, "SELECT COUNT(*) FROM runs WHERE run_id='k'") == 1


def _served_args(server: OpenAITestServer) -> list[str]:
    # A model server rather than the in-process scripted backend: the scripted realizer never waits,
    # so its dialogs hold the event loop and the store's writer commits them in bursts (a kill "in the
    # middle" would find nothing or everything done); over HTTP every call waits, as with real models.
    return [*WORLD, "--backend", "openai", "--model", "crash-test", "--base-url", server.base_url,
            "--api-key-env", KEY_ENV, "--directive", "on", "--dialogs", str(N), "--concurrency", "4",
            "--quiet"]


def _child_env() -> dict[str, str]:
    return {**os.environ, KEY_ENV: "sk-crash-test"}


def _start(db: Path, out: Path, log: Path, args: list[str]) -> subprocess.Popen[bytes]:
    # Killed before its run was recorded: nothing to resume, so a new run with the same id.
    args = (["--resume", "--quiet"] if _has_run(db) else args) + ["--db", str(db), "--out", str(out),
                                                                  "--run-id", "k"]
    with log.open("wb") as f:  # a file, not a pipe: nobody reads a killed child's pipe
        return subprocess.Popen([sys.executable, "-m", "engine.run", *args], cwd=REPO, env=_child_env(),
                                stdout=f, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAITestServer]:
    with OpenAITestServer(scripted_answer) as srv:
        yield srv


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, server: OpenAITestServer) -> tuple[bytes, float]:
    """The uninterrupted run's dataset, and how long the command took (what kill moments are drawn in)."""
    out = tmp_path_factory.mktemp("ref")
    main([*ARGS, "--dialogs", "1", "--db", str(out / "warm.db"), "--out", str(out / "warm")])  # profiles
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "engine.run", *_served_args(server), "--db",
                           str(out / "ref.db"), "--out", str(out), "--run-id", "ref"], cwd=REPO,
                          env=_child_env(), capture_output=True)
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    data = (out / "dialogs.jsonl").read_bytes()
    assert len(data.splitlines()) == N
    return data, took


def test_twenty_random_sigkills_each_resumed_give_the_uninterrupted_dataset(
        tmp_path: Path, reference: tuple[bytes, float], server: OpenAITestServer) -> None:
    dataset, took = reference
    rng = random.Random(20261201)
    db, out = tmp_path / "run.db", tmp_path / "out"
    kills: list[tuple[str, int, int]] = []  # (moment, dialogs complete before, after)
    starts = 0
    while True:
        before = _complete(db)
        seen = len(server.requests)
        proc = _start(db, out, tmp_path / "child.log", _served_args(server))
        starts += 1
        if len(kills) < KILLS:
            # Near the end, start-up kills only, so the run cannot finish before its 20th kill.
            if rng.random() < 0.4 and before < N - 4:
                # While dialogs play: after a random number of model calls, plus a few milliseconds
                # (fewer calls than the four dialogs left at the least make, so the run is still going).
                calls = rng.randint(1, 40)
                moment = f"call {calls}"
                while proc.poll() is None and len(server.requests) < seen + calls:
                    time.sleep(0.002)
                time.sleep(rng.uniform(0.0, 0.03))
            else:  # start-up: imports, loading, profiles, plans (at the latest, the first model call)
                delay = rng.uniform(0.1, 2.0)
                moment = f"{delay:.2f} s"
                deadline = time.monotonic() + delay
                # A whole run can take less than the delay: start-up ends at the run's first call.
                while time.monotonic() < deadline and proc.poll() is None and len(server.requests) == seen:
                    time.sleep(0.005)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                # Every kill leaves a sound database (when it got as far as making one).
                assert not db.exists() or check_integrity(db) == "ok"
                kills.append((moment, before, _complete(db)))
                continue
        proc.wait(timeout=600)
        assert proc.returncode == 0, (tmp_path / "child.log").read_text()[-3000:]
        break
    mid = sum(1 for m, _, _ in kills if m.startswith("call"))
    print(f"{len(kills)} kills ({mid} while dialogs played), {starts - 1} restarts; uninterrupted run "
          f"{took:.1f} s; (moment, done before, done after): {kills}")
    assert len(kills) >= KILLS
    assert mid >= 5
    assert check_integrity(db) == "ok"
    assert (out / "dialogs.jsonl").read_bytes() == dataset
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT status FROM runs WHERE run_id='k'").fetchone()[0] == "completed"
        ids = [r[0] for r in con.execute("SELECT dialog_id FROM dialogs WHERE run_id='k'")]
        assert len(ids) == len(set(ids)) == N
        seeds = {r[0] for r in con.execute("SELECT dialog_id FROM seeds WHERE run_id='k'")}
        assert seeds == set(ids)
        # No rows left behind by a dialog that was killed and played again.
        for table in ("turns", "llm_calls", "node_attempts", "validations", "rollbacks"):
            orphans = con.execute(f"SELECT COUNT(*) FROM {table} t LEFT JOIN dialogs d "
                                  "USING (run_id, dialog_id) WHERE d.record_json IS NULL").fetchone()[0]
            assert orphans == 0, table
    finally:
        con.close()


def _one_line_error(proc: subprocess.CompletedProcess[bytes], db: Path) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == 2, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: trace store ") and str(db) in lines[0], err
    return lines[0]


def test_a_full_disk_is_one_clear_line_and_exit_code_2(tmp_path: Path, reference: tuple[bytes, float]
                                                        ) -> None:
    db, out = tmp_path / "run.db", tmp_path / "out"
    limit = 256 * 1024  # room for the schema and the run's start; the dialogs' trace does not fit

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG

    proc = subprocess.run([sys.executable, "-m", "engine.run", *ARGS, "--db", str(db), "--out", str(out),
                           "--run-id", "full"], cwd=REPO, env=os.environ.copy(), capture_output=True,
                          preexec_fn=small_disk, timeout=600)
    line = _one_line_error(proc, db)
    assert "no space left" in line
    assert check_integrity(db) == "ok"  # what was committed before the disk filled is sound


def test_a_database_on_a_read_only_file_system_is_one_clear_line(tmp_path: Path) -> None:
    for db in (Path("/proc/convrec-test.db"), Path("/proc/convrec-test/run.db")):
        proc = subprocess.run([sys.executable, "-m", "engine.run", *ARGS, "--db", str(db),
                               "--out", str(tmp_path / "out")], cwd=REPO, env=os.environ.copy(),
                              capture_output=True, timeout=600)
        _one_line_error(proc, db)


def test_a_read_only_database_file_is_one_clear_line(tmp_path: Path) -> None:
    db, out = tmp_path / "run.db", tmp_path / "out"
    assert main([*ARGS, "--dialogs", "2", "--db", str(db), "--out", str(out), "--run-id", "a"]) == 0
    if os.geteuid() == 0:
        # Root writes through file modes; the immutable attribute stops even root.
        made = subprocess.run(["chattr", "+i", str(db)], capture_output=True)
        if made.returncode != 0:
            pytest.skip(f"running as root where chattr +i is unavailable: {made.stderr.decode().strip()}")
        undo = ["chattr", "-i", str(db)]
    else:
        db.chmod(0o444)
        undo = ["chmod", "644", str(db)]
    try:
        proc = subprocess.run([sys.executable, "-m", "engine.run", *ARGS, "--dialogs", "2", "--db", str(db),
                               "--out", str(out), "--run-id", "b"], cwd=REPO, env=os.environ.copy(),
                              capture_output=True, timeout=600)
        line = _one_line_error(proc, db)
        assert "read-only" in line or "cannot open" in line
    finally:
        subprocess.run(undo, check=True)  # or pytest could not clean its temporary folder
