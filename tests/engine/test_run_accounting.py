"""Truthful accounting: what a run did not produce is said as plainly as what it did.

- A run in which every dialog failed its backend (a real server that answers 500 to everything)
  exits 4, not 0; each call that failed for good is a row of ``llm_calls`` with its error and retries,
  and the summary and the report count them.
- Input records skipped under ``--on-error skip`` are counted by kind on the console, in summary.json,
  run.log, the store and the report.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engine.run import main
from profiling.sample_world import ensure_sample_world
from tests.support.openai_server import Fault, OpenAITestServer
from tests.support.scripted_server import scripted_answer
from tests.support.worlds import WORLD, WORLD_ARGS

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

KEY_ENV = "CONVREC_ACCOUNTING_TEST_KEY"


def _always_500(n: int, body: dict[str, Any] | None) -> Fault:
    return Fault("status", 500)


def test_a_run_whose_every_dialog_failed_its_backend_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-accounting-0000000")
    out = tmp_path / "out"
    with OpenAITestServer(scripted_answer, fault=_always_500) as server:
        code = main([*WORLD_ARGS, "--backend", "openai", "--model", "down", "--base-url", server.base_url,
                     "--api-key-env", KEY_ENV, "--directive", "on", "--dialogs", "3", "--max-retries", "2",
                     "--quiet", "--out", str(out), "--db", str(out / "trace.db"), "--run-id", "down"])
        requests = len(server.requests)
    assert code == 4
    assert "3 of 3 dialogs failed their backend" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["exit_code"] == 4
    assert summary["dialogs_by_status"] == {"accepted": 0, "failed_fidelity": 0, "failed_backend": 3,
                                            "not_ended": 0}
    assert summary["llm_calls"] == summary["failed_calls"] == 3
    assert summary["retries"] == 3 * 2 and requests == 3 * 3  # every try the server saw is accounted for
    con = sqlite3.connect(out / "trace.db")
    rows = con.execute("SELECT error, retries, response_text FROM llm_calls").fetchall()
    con.close()
    assert len(rows) == 3
    assert all("LLMServerError" in e and "gave up after max_retries=2" in e and r == 2 and t == ""
               for e, r, t in rows)
    from engine.report import main as report_main

    html = tmp_path / "report.html"
    assert report_main([str(out / "trace.db"), "--out", str(html), "--quiet"]) == 0
    page = html.read_text()
    assert "failed backend 3" in page and "model calls failed for good 3" in page


def test_input_records_skipped_are_counted_by_kind_everywhere(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = ensure_sample_world(WORLD)
    reviews = tmp_path / "reviews.jsonl"
    lines = paths.reviews.read_text().splitlines()
    good = json.loads(lines[0])
    bad = ['{"rating": 5, "text": "cut off', "not json at all", '{"rating": 5}',
           json.dumps({**good, "rating": 42}), json.dumps({**good, "timestamp": "yesterday"})]
    # The bad records spread through the file; the good ones are the sample world's, so stage 1 is cached.
    mixed = [line for k, line in enumerate(lines) for line in ([line, bad[k // 400]] if k % 400 == 7
                                                                  and k // 400 < len(bad) else [line])]
    reviews.write_text("\n".join(mixed) + "\n")
    meta = tmp_path / "meta.jsonl"
    shutil.copy(paths.meta, meta)
    out = tmp_path / "out"
    code = main(["--data", "amazon2023", "--reviews", str(reviews), "--meta", str(meta), "--on-error", "skip",
                 "--backend", "scripted", "--dialogs", "2", "--quiet", "--out", str(out), "--db",
                 str(out / "trace.db"), "--run-id", "skip"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "input: skipped 5 bad records of " in printed and "--on-error skip" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["skipped_records"] == 5 == sum(summary["skipped_by_kind"].values())
    assert len(summary["skipped_by_kind"]) >= 3  # malformed, missing field, out of range, bad date
    assert summary["input_records"] == len(lines)
    con = sqlite3.connect(out / "trace.db")
    stored = json.loads(con.execute("SELECT input_json FROM runs").fetchone()[0])
    con.close()
    assert stored["skipped"] == summary["skipped_by_kind"]
    events = [json.loads(x) for x in (out / "run.log").read_text().splitlines()]
    (skipped,) = [e for e in events if e["event"] == "input_records_skipped"]
    assert skipped["total"] == 5 and skipped["by_kind"] == summary["skipped_by_kind"]
    from engine.report import main as report_main

    html = tmp_path / "report.html"
    assert report_main([str(out / "trace.db"), "--out", str(html), "--quiet"]) == 0
    assert f"input records loaded {len(lines):,}, skipped 5 (" in html.read_text()
