"""The loaders' inspection CLI: a report and stats on success, one line and exit code 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiling.loaders.__main__ import main
from tests.support.paths import LOADER_FIXTURES as FIXTURES


def test_prints_report_and_stats(capsys: pytest.CaptureFixture[str]) -> None:
    d = FIXTURES / "amazon2023"
    code = main(["amazon2023", str(d / "All_Beauty.jsonl.gz"), "--meta", str(d / "meta_All_Beauty.jsonl"),
                 "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    assert "loaded 5 reviews and 3 items" in out
    stats = json.loads(out[out.index("{"):])
    assert stats["n_interactions"] == 5 and stats["source"] == "amazon2023"


def test_bad_input_is_one_line_and_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    bad = FIXTURES / "amazon2023" / "All_Beauty_bad.jsonl"
    assert main(["amazon2023", str(bad), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {bad}:2") and "\n" not in err and "Traceback" not in err
    assert main(["yelp", str(bad), "--no-progress"]) == 2
    assert "not Yelp Open Dataset reviews" in capsys.readouterr().err


def test_skip_mode_and_generic_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"delimiter": ";", "user": "user", "item": "movie", "rating": "stars",
                                  "timestamp": "when", "text": "comment"}))
    bad = FIXTURES / "generic" / "ratings_bad.csv"
    assert main(["generic", str(bad), "--config", str(config), "--skip", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "skipped 6 bad records" in out and "no_text: 1" in out
    config.write_text(json.dumps({"user": "same", "item": "same"}))
    assert main(["generic", str(bad), "--config", str(config), "--no-progress"]) == 2
    assert "different fields" in capsys.readouterr().err
