"""One owner per live run, with two real processes on one store.

A run plays in one ``python -m engine.run`` process (slowed by its request bucket so it is still
playing); meanwhile a second process asks to ``--resume`` it, ``engine.export`` asks to export it and
``--replay`` to replay it. Each is refused with the owner named, nothing of the live run is touched,
and the run ends ``completed`` with every planned dialog, each once. A run whose process was killed
(SIGKILL: its lease left behind) is taken over by the next resume at once. And a run that ends by
itself short of its plan ends ``incomplete`` (exit code 3), never ``completed``.
"""

from __future__ import annotations

import json
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
from tests.support.worlds import WORLD_ARGS as WORLD

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

N = 20
ARGS = [*WORLD, "--backend", "scripted", "--dialogs", str(N), "--concurrency", "2", "--quiet"]


def _complete(db: Path, run_id: str) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM dialogs WHERE run_id=? AND record_json IS NOT NULL",
                               (run_id,)).fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:  # not created or not migrated yet
        return -1


def _python(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", *args], cwd=REPO, env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_for(db: Path, run_id: str, done: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 300
    while _complete(db, run_id) < done:
        assert proc.poll() is None, proc.communicate()[0].decode()[-3000:]
        assert time.monotonic() < deadline, "the run did not get going"
        time.sleep(0.05)


def _dialog_rows(db: Path, run_id: str) -> tuple[str, list[str], int]:
    con = sqlite3.connect(db)
    try:
        status = con.execute("SELECT status FROM runs WHERE run_id=?", (run_id,)).fetchone()[0]
        ids = [r[0] for r in con.execute("SELECT dialog_id FROM dialogs WHERE run_id=? AND record_json IS "
                                         "NOT NULL", (run_id,))]
        leases = con.execute("SELECT COUNT(*) FROM run_leases").fetchone()[0]
    finally:
        con.close()
    return status, ids, leases


def test_resume_export_and_replay_of_a_live_run_are_refused_and_it_completes_whole(tmp_path: Path) -> None:
    db, out = tmp_path / "run.db", tmp_path / "out"
    # 15 calls/s: about a second per dialog, so the run is still playing while the others try.
    owner = _python("engine.run", *ARGS, "--rpm", "900", "--db", str(db), "--out", str(out),
                    "--run-id", "live")
    try:
        _wait_for(db, "live", 2, owner)
        intruder = _python("engine.run", "--resume", "--db", str(db), "--run-id", "live", "--out",
                           str(tmp_path / "other"), "--quiet")
        text = intruder.communicate(timeout=300)[0].decode()
        assert intruder.returncode == 2, text
        assert f"run live is being played by pid {owner.pid}" in text and "Traceback" not in text
        exporter = _python("engine.export", str(db), "--out", str(tmp_path / "export"), "--quiet")
        text = exporter.communicate(timeout=300)[0].decode()
        assert exporter.returncode == 2 and f"pid {owner.pid}" in text and "an export waits" in text, text
        assert main(["--replay", "--db", str(db), "--run-id", "live", "--out", str(tmp_path / "replay"),
                     "--quiet"]) == 2
        assert owner.poll() is None, "the run ended before every refusal was tried: not a live-run test"
        print("live", {"complete_when_refused": _complete(db, "live"), "planned": N})  # RELIABILITY.md
        assert not (tmp_path / "export").exists() and not (tmp_path / "other" / "dialogs.jsonl").exists()
    finally:
        output = owner.communicate(timeout=600)[0].decode()
    assert owner.returncode == 0, output[-3000:]
    status, ids, leases = _dialog_rows(db, "live")
    assert status == "completed" and len(ids) == len(set(ids)) == N and leases == 0
    assert len((out / "dialogs.jsonl").read_text().splitlines()) == N
    assert check_integrity(db) == "ok"
    # Free now: every dialog replays from the store (no request unrecorded, no turn lost).
    assert main(["--replay", "--db", str(db), "--run-id", "live", "--out", str(tmp_path / "replay"),
                 "--quiet"]) == 0


def test_the_lease_of_a_killed_run_is_taken_over_at_once(tmp_path: Path) -> None:
    db, out = tmp_path / "run.db", tmp_path / "out"
    owner = _python("engine.run", *ARGS, "--rpm", "1500", "--db", str(db), "--out", str(out), "--run-id", "k")
    _wait_for(db, "k", 2, owner)
    owner.send_signal(signal.SIGKILL)
    owner.communicate()
    status, ids, leases = _dialog_rows(db, "k")
    assert status == "running" and leases == 1 and len(ids) < N  # what a SIGKILL leaves
    resumer = _python("engine.run", "--resume", "--db", str(db), "--run-id", "k", "--out", str(out),
                      "--quiet")
    text = resumer.communicate(timeout=600)[0].decode()
    assert resumer.returncode == 0, text[-3000:]
    assert f"was left by pid {owner.pid}" in text and "taken over" in text
    status, ids, leases = _dialog_rows(db, "k")
    assert status == "completed" and len(ids) == len(set(ids)) == N and leases == 0


def test_a_run_that_ends_short_of_its_plan_is_incomplete_not_completed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from engine.pipeline.local import LocalPlayer

    real = LocalPlayer.play

    async def loses_one(self: LocalPlayer, todo, *, already_done: int) -> None:  # type: ignore[no-untyped-def]
        # A player that ends without error and without a signal, one dialog short (what a second
        # process deleting rows did before runs had an owner).
        await real(self, list(todo)[1:], already_done=already_done)

    out = tmp_path / "out"
    monkeypatch.setattr(LocalPlayer, "play", loses_one)
    args = [*WORLD, "--backend", "scripted", "--dialogs", "4", "--quiet", "--db", str(tmp_path / "r.db"),
            "--out", str(out), "--run-id", "short"]
    assert main(args) == 3
    text = capsys.readouterr().out
    assert "run incomplete: 3 of 4 planned dialogs ended" in text and "--resume" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "incomplete" and summary["exit_code"] == 3
    assert summary["dialogs_by_status"]["not_ended"] == 1
    monkeypatch.setattr(LocalPlayer, "play", real)
    assert main(["--resume", "--db", str(tmp_path / "r.db"), "--run-id", "short", "--out", str(out),
                 "--quiet"]) == 0
    assert json.loads((out / "summary.json").read_text())["status"] == "completed"
