"""``make demo`` (``python -m engine.demo``): a run that ends with a dataset, its exports and its report,
and a closing note that says what was made and where it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.demo import main
from tests.support.worlds import WORLD_ARGS

pytestmark = pytest.mark.timeout(600)


def test_the_demo_writes_the_dataset_exports_and_report_and_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code = main([*WORLD_ARGS, "--backend", "scripted", "--dialogs", "3", "--quiet", "--out", str(out),
                 "--db", str(tmp_path / "demo.db")])
    assert code == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert f"made {summary['accepted']} accepted dialogs of 3" in printed
    # Scripted turns are no model's: the note says so rather than claiming them for a model.
    assert f"turns realized by the model: 0 of {summary['turns']}" in printed
    assert (out / "dialogs.jsonl").stat().st_size > 0
    assert list((out / "export" / "parquet" / "turns").glob("*.parquet"))
    assert (out / "report.html").exists() and "turns by the model" in (out / "report.html").read_text()
    assert f"python -m webbrowser -t file://{(out / 'report.html').resolve()}" in printed


def test_a_bad_option_is_one_line_and_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--backend", "scripted", "--realize", "polish", "--db", str(tmp_path / "d.db")]) == 2
    err = capsys.readouterr().err
    assert "needs a model backend" in err and "Traceback" not in err
