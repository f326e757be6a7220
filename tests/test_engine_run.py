"""``python -m engine.run`` end to end on a small sample world with the scripted backend."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.run import main

# The world of tests/test_executor_scripted.py: its stage-1 profiles are cached for the session.
WORLD = ["--world-seed", "3", "--world-items", "60", "--world-users", "90", "--world-reviews", "2200",
         "--world-aspects", "14"]

pytestmark = pytest.mark.timeout(900)


def _run(out: Path, *extra: str) -> int:
    return main([*WORLD, "--backend", "scripted", "--dialogs", "6", "--concurrency", "3", "--quiet",
                 "--out", str(out), *extra])


def test_a_scripted_run_writes_the_dataset_trace_and_summary(tmp_path: Path) -> None:
    assert _run(tmp_path / "a") == 0
    lines = (tmp_path / "a" / "dialogs.jsonl").read_text().splitlines()
    assert len(lines) == 6
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["dialogs"] == 6
    assert summary["accepted"] + summary["failed_fidelity"] + summary["failed_backend"] == 6
    events = [json.loads(x) for x in (tmp_path / "a" / "events.jsonl").read_text().splitlines()]
    ended = [e for e in events if e["kind"] == "dialog_ended"]
    assert len(ended) == 6 and {e["dialog_id"] for e in ended} == {json.loads(x)["dialog_id"] for x in lines}
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
