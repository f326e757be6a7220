"""``python -m engine.run`` end to end on a small sample world with the scripted backend."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.run import main

# The world of tests/engine/core/test_executor_scripted.py: its stage-1 profiles are cached for the session.
WORLD = ["--world-seed", "3", "--world-items", "60", "--world-users", "90", "--world-reviews", "2200",
         "--world-aspects", "14"]

pytestmark = pytest.mark.timeout(900)


def _run(out: Path, *extra: str) -> int:
    return main([*WORLD, "--backend", "scripted", "--dialogs", "6", "--concurrency", "3", "--quiet",
                 "--out", str(out), "--db", str(out / "trace.db"), *extra])


def test_a_scripted_run_writes_the_dataset_trace_and_summary(tmp_path: Path) -> None:
    assert _run(tmp_path / "a") == 0
    lines = (tmp_path / "a" / "dialogs.jsonl").read_text().splitlines()
    assert len(lines) == 6
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["dialogs"] == 6
    assert summary["accepted"] + summary["failed_fidelity"] + summary["failed_backend"] == 6
    con = sqlite3.connect(tmp_path / "a" / "trace.db")
    ended = dict(con.execute("SELECT dialog_id, status FROM dialogs WHERE record_json IS NOT NULL"))
    assert ended == {json.loads(x)["dialog_id"]: json.loads(x)["status"] for x in lines}
    assert con.execute("SELECT COUNT(*) FROM llm_calls").fetchone()[0] == summary["llm_calls"] > 0
    assert con.execute("SELECT status FROM runs").fetchone()[0] == "completed"
    con.close()
    for line in lines:
        d = json.loads(line)
        assert d["backend"] == "scripted" and d["turns"] and d["history"]
        assert all(h["date"] < d["target"]["date"] for h in d["history"])
        assert d["plan"]["path"][0] == "greet" and d["plan"]["path"][-1] == "close"
        if d["status"] == "accepted":
            assert [t["node"] for t in d["turns"]][-1] == "close"
    # Same seed, same dataset, whatever order the concurrent dialogs finished in.
    assert _run(tmp_path / "b", "--concurrency", "1") == 0
    assert (tmp_path / "b" / "dialogs.jsonl").read_bytes() == (tmp_path / "a" / "dialogs.jsonl").read_bytes()


def test_bad_input_is_one_line_and_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", "amazon2023", "--quiet", "--out", str(tmp_path)]) == 2
    assert "--data amazon2023 needs --reviews PATH" in capsys.readouterr().err
    bad = tmp_path / "reviews.jsonl"
    bad.write_text('{"not": "amazon"}\n')
    assert main(["--data", "amazon2023", "--reviews", str(bad), "--quiet", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err
    assert main([*WORLD, "--backend", "openai", "--quiet", "--out", str(tmp_path)]) == 2
    assert "--model" in capsys.readouterr().err


def test_help_explains_every_option() -> None:
    out = subprocess.run([sys.executable, "-m", "engine.run", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for option in ("--data", "--reviews", "--dialogs", "--concurrency", "--backend", "--base-url",
                   "--user-persona", "--system-persona", "--seed", "--out", "--max-attempts"):
        assert option in out
    assert "default:" in out


def test_a_toml_config_file_holds_the_settings_and_the_command_line_wins(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "run.toml"
    world = dict(zip(WORLD[::2], WORLD[1::2], strict=True))
    lines = [f"{k[2:].replace('-', '_')} = {v}" for k, v in world.items()]
    cfg.write_text("\n".join([*lines, 'backend = "scripted"', "quiet = true", "dialogs = 5",
                              "max_tokens = 48", "[run]", "concurrency = 2", "llm_concurrency = 3"]) + "\n")
    out = tmp_path / "o"
    assert main(["--config", str(cfg), "--dialogs", "2", "--out", str(out), "--db", str(out / "t.db")]) == 0
    assert len((out / "dialogs.jsonl").read_text().splitlines()) == 2  # the command line won
    summary = json.loads((out / "summary.json").read_text())
    assert summary["endpoints"][0]["max_in_flight"] <= 3
    con = sqlite3.connect(out / "t.db")
    config = json.loads(con.execute("SELECT config_json FROM runs").fetchone()[0])
    con.close()
    assert config["backend"] == "scripted" and config["dialogs"] == 2 and config["max_tokens"] == 48
    capsys.readouterr()

    cfg.write_text('dialogz = 3\n')
    assert main(["--config", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(cfg) in err and "dialogz" in err and "unknown setting" in err
    for name in ("api_key", "openai_api_key", "token"):
        cfg.write_text(f'{name} = "sk-test-SECRET-123"\n')
        assert main(["--config", str(cfg), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "api_key_env" in err and "SECRET-123" not in err
    cfg.write_text('dialogs = "many"\n')
    assert main(["--config", str(cfg), "--out", str(out)]) == 2
    assert "dialogs" in capsys.readouterr().err


def test_replay_makes_no_model_call_and_gives_the_same_dialogs(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert _run(out, "--run-id", "rp") == 0
    db = str(out / "trace.db")
    capsys.readouterr()
    assert main(["--replay", "--db", db, "--out", str(tmp_path / "r1"), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert (tmp_path / "r1" / "replay.jsonl").read_bytes() == (out / "dialogs.jsonl").read_bytes()
    assert _figure(text, "live model calls") == 0 and _figure(text, "answers from the store") > 0
    assert _figure(text, "identical to the record") == 6

    # A request the recording never saw: strict names dialog, node and call; lenient goes live.
    first = json.loads((out / "dialogs.jsonl").read_text().splitlines()[0])["dialog_id"]
    con = sqlite3.connect(db)
    con.execute("UPDATE llm_calls SET request_hash='changed' WHERE dialog_id=? AND seq=(SELECT MIN(seq) FROM "
                "llm_calls WHERE dialog_id=?)", (first, first))
    con.commit()
    con.close()
    assert main(["--replay", "--db", db, "--out", str(tmp_path / "r2"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert first in err and "node 0" in err
    assert main(["--replay", "--replay-mode", "lenient", "--db", db, "--out", str(tmp_path / "r3"),
                 "--quiet"]) == 0
    text = capsys.readouterr().out
    assert _figure(text, "live model calls") > 0 and _figure(text, "identical to the record") == 6


def test_replaying_one_dialog_with_another_persona_from_a_node(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert _run(out) == 0
    first = json.loads((out / "dialogs.jsonl").read_text().splitlines()[0])
    capsys.readouterr()
    assert main(["--replay-dialog", first["dialog_id"], "--replay-from-node", "2", "--user-persona", "terse",
                 "--db", str(out / "trace.db"), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert f"dialog {first['dialog_id']}" in text
    assert "── node 0" in text and "── node 2" in text and "attempt 1" in text
    assert _figure(text, "live model calls") > 0 and _figure(text, "answers from the store") > 0
    replayed = json.loads((tmp_path / "r" / "replay.jsonl").read_text())
    assert replayed["user_persona"] == "terse"
    # Up to the chosen node the dialog is the recorded one.
    before = [t for t in first["turns"] if t["node_index"] < 2]
    assert replayed["turns"][:len(before)] == before


def _figure(text: str, name: str) -> int:
    for line in text.splitlines():
        if name in line:
            return int(line.split("│")[-2].strip().replace(",", ""))
    raise AssertionError(f"{name!r} not in the output:\n{text}")


def test_a_cost_budget_stops_new_dialogs_and_the_run_can_go_on(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "b"
    # Scripted calls cost nothing; a made-up price makes each call cost about 0.07 USD.
    assert _run(out, "--concurrency", "1", "--price-input", "100000", "--budget-usd", "1.0",
                "--run-id", "bud") == 130
    assert "budget reached" in capsys.readouterr().out
    done = len((out / "dialogs.jsonl").read_text().splitlines())
    assert 1 <= done < 6
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cost_usd"] >= 1.0
    assert main(["--resume", "--run-id", "bud", "--db", str(out / "trace.db"), "--out", str(out),
                 "--quiet"]) == 0
    assert len((out / "dialogs.jsonl").read_text().splitlines()) == 6
