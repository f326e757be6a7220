"""The edges of ``python -m engine.run``: options checked before anything is written, Ctrl-C at
start-up, an output folder per run, and a run.log that tells the run's story."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path

import pytest

from engine.run import main
from tests.support.worlds import WORLD_ARGS as WORLD

pytestmark = pytest.mark.timeout(900)

SCRIPTED = [*WORLD, "--backend", "scripted", "--quiet"]


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


@pytest.mark.parametrize("options", [
    ["--concurrency", "0"], ["--concurrency", "-3"], ["--dialogs", "0"], ["--dialogs", "-5"],
    ["--max-attempts", "0"], ["--llm-concurrency", "0"], ["--call-timeout", "0"], ["--max-retries", "-1"],
    ["--world-aspects", "40"], ["--temperature", "3"], ["--max-answer-chars", "0"],
    ["--judge", "on"],  # the scripted backend has no model to judge with
    ["--backend", "openai"],  # no --model
])
def test_a_bad_option_is_one_line_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str],
                                                     options: list[str]) -> None:
    monkeypatch.chdir(tmp_path)  # the default --db and --out land here if anything is written
    assert main([*SCRIPTED, *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert _files(tmp_path) == []


def test_a_config_file_reports_every_problem_at_once_and_counts_must_be_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "run.toml"
    cfg.write_text('dialogz = 3\nconcurency = 2\n[run]\nseeed = 1\ndialogs = 2.7\nllm_concurrency = 0\n')
    assert main(["--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    for word in ("5 problems", "dialogz: unknown", "concurency: unknown", "seeed: unknown",
                 "dialogs: bad value 2.7", "llm_concurrency: bad value 0"):
        assert word in err, err
    for text in ("dialogs = 2.0\n", "dialogs = -5\n", "dialogs = 0\n"):
        cfg.write_text(text)
        assert main(["--config", str(cfg)]) == 2
        assert "dialogs: bad value" in capsys.readouterr().err
    assert _files(tmp_path) == ["run.toml"]


def test_a_stored_run_that_cannot_be_played_is_refused_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, out = tmp_path / "r.db", tmp_path / "out"
    assert main([*SCRIPTED, "--dialogs", "2", "--db", str(db), "--out", str(out), "--run-id", "old"]) == 0
    # A run recorded by a version that let --max-attempts 0 through.
    con = sqlite3.connect(db)
    config = json.loads(con.execute("SELECT config_json FROM runs").fetchone()[0])
    con.execute("UPDATE runs SET config_json=?, status='interrupted'",
                (json.dumps({**config, "max_attempts": 0}),))
    con.commit()
    con.close()
    before = db.read_bytes()
    capsys.readouterr()
    assert main(["--resume", "--db", str(db), "--run-id", "old", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "max_attempts" in err and len(err.strip().splitlines()) == 1 and "ExceptionGroup" not in err
    assert db.read_bytes() == before
    assert main(["--resume", "--db", str(tmp_path / "missing.db"), "--quiet"]) == 2
    assert "no trace store" in capsys.readouterr().err and not (tmp_path / "missing.db").exists()


def test_ctrl_c_right_after_the_run_is_recorded_leaves_it_interrupted_and_resumable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import engine.pipeline.base as base

    real = base._player

    def ctrl_c_then_player(*args, **kwargs):  # type: ignore[no-untyped-def]
        # A real SIGINT to this process, after the run is recorded and before its first dialog.
        os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(base, "_player", ctrl_c_then_player)
    db, out = tmp_path / "r.db", tmp_path / "out"
    assert main([*SCRIPTED, "--dialogs", "3", "--db", str(db), "--out", str(out), "--run-id", "c"]) == 130
    text = capsys.readouterr().out
    assert "run interrupted: 0 of 3 dialogs done" in text and "--resume" in text
    con = sqlite3.connect(db)
    assert con.execute("SELECT status FROM runs").fetchone()[0] == "interrupted"
    assert con.execute("SELECT COUNT(*) FROM run_leases").fetchone()[0] == 0
    con.close()
    from engine.export import main as export_main

    # The latest run has nothing to export: an error, not an empty dataset and exit 0.
    assert export_main([str(db), "--out", str(tmp_path / "export"), "--quiet"]) == 2
    assert "no complete dialog" in capsys.readouterr().err
    monkeypatch.setattr(base, "_player", real)
    assert main(["--resume", "--db", str(db), "--out", str(out), "--quiet"]) == 0
    assert len((out / "dialogs.jsonl").read_text().splitlines()) == 3


def test_runs_get_a_folder_each_with_latest_pointing_at_the_last_and_run_log_tells_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([*SCRIPTED, "--dialogs", "2", "--run-id", "first"]) == 0
    assert main([*SCRIPTED, "--dialogs", "3", "--run-id", "second"]) == 0
    runs = tmp_path / "runs"
    assert len((runs / "first" / "dialogs.jsonl").read_text().splitlines()) == 2  # not overwritten
    assert len((runs / "second" / "dialogs.jsonl").read_text().splitlines()) == 3
    assert (runs / "latest").is_symlink() and (runs / "latest").resolve() == (runs / "second").resolve()
    events = [json.loads(line) for line in (runs / "second" / "run.log").read_text().splitlines()]
    names = [e["event"] for e in events]
    assert names[0] == "run_started" and names[-1] == "run_ended"
    assert names.count("dialog_ended") == 3
    assert all(e["run_id"] == "second" and e["level"] in ("info", "warning") for e in events)
    ended = [e for e in events if e["event"] == "dialog_ended"]
    assert all(e["dialog_id"] and e["status"] in ("accepted", "failed_fidelity") for e in ended)
    assert events[-1]["status"] == "completed" and events[-1]["exit_code"] == 0
