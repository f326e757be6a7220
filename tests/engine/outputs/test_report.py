"""``python -m engine.report``: quality metrics and the HTML report of a real scripted run.

The run is made by tests.support.runs.make_run (real engine.run, planted faults at the backend seam, so
the trace has retries and rollbacks). The report is opened in headless Chromium: an inline script
counts the plots and dialogs the browser laid out, and a screenshot is taken.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.backends.tokens import HeuristicCounter
from engine.outputs import metrics_path, write_report
from engine.outputs.quality import distinct_n, failure_template, groundedness_metrics, prefix_share
from engine.outputs.report_html import SECTIONS
from engine.report import main
from engine.store.reader import read_run
from tests.support.runs import make_run

pytestmark = pytest.mark.timeout(900)

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("report_run"))


@pytest.fixture(scope="module")
def report(db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main([str(db), "--out", str(out), "--quiet"]) == 0
    return out, orjson.loads(metrics_path(out).read_bytes())


def test_metrics_agree_with_the_trace(db: Path, report: tuple[Path, dict[str, Any]]) -> None:
    _, metrics = report
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    statuses = dict(
        con.execute("SELECT status, COUNT(*) FROM dialogs WHERE record_json IS NOT NULL GROUP BY 1")
    )
    tokens_in, tokens_out, n_calls = con.execute(
        "SELECT SUM(gen_ai_usage_input_tokens), SUM(gen_ai_usage_output_tokens), COUNT(*) FROM llm_calls"
    ).fetchone()
    rollbacks = con.execute("SELECT COUNT(*) FROM rollbacks").fetchone()[0]
    con.close()
    m = metrics["run"]
    assert m["fidelity"]["statuses"] == statuses
    assert m["fidelity"]["share_accepted"] == round(statuses["accepted"] / sum(statuses.values()), 4)
    assert m["fidelity"]["rollbacks"] == rollbacks > 0
    # The planted faults: elicit retried once in every dialog, clarify never passing (executional.roles).
    assert m["fidelity"]["attempts_per_node"]["elicit"]["mean_attempts"] >= 2
    assert m["fidelity"]["failed_checks_by_validator"]["executional.roles"] > 0
    assert any("role prefix" in r["reason"] for r in m["fidelity"]["top_failure_reasons"])
    assert m["cost"]["llm_calls"] == n_calls
    assert m["cost"]["tokens_per_accepted_dialog"] == round(
        (tokens_in + tokens_out) / statuses["accepted"], 1
    )
    assert m["groundedness"]["target_leaks_in_accepted"] == 0
    assert m["groundedness"]["preference_statements"] > 0
    assert m["groundedness"]["share_preferences_agree"] > 0.9  # the scripted realizer states the profile
    assert 0 < m["diversity"]["distinct_1"] < m["diversity"]["distinct_2"] <= 1
    share = m["cost"]["prefix_cache"]["share_shared_prefix"]
    assert 0 < m["cost"]["prefix_cache"]["share_system_message_only"] < share < 1
    assert set(metrics["per_persona"]) == {"user:default", "system:default"}


def test_the_report_is_one_self_contained_file_with_every_section(
    report: tuple[Path, dict[str, Any]],
) -> None:
    path, _ = report
    page = path.read_text(encoding="utf-8")
    for key in SECTIONS:
        assert f'data-section="{key}"' in page
    assert page.count('<svg class="plot"') >= 6
    assert page.count('<article class="dialog"') == 3
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)  # nothing fetched
    assert "superseded" in page and "✗ executional" in page  # failed attempts with their reasons
    assert "rolled back to the end of node" in page


def test_target_leaks_are_counted(db: Path) -> None:
    run = read_run(db, "r1")
    d = next(d for d in run.dialogs if d.status == "accepted")
    assert groundedness_metrics([d])["target_leaks_in_accepted"] == 0
    first = d.record["turns"][0]
    first["text"] += f" I already have my eye on the {d.record['target']['title']}."
    assert groundedness_metrics([d])["target_leaks_in_accepted"] == 1


def test_distinct_n_and_failure_templates() -> None:
    assert distinct_n(["a b a b", "a b c"], 1) == round(3 / 7, 4)
    assert distinct_n(["a b a b", "a b c"], 2) == round(3 / 5, 4)
    assert distinct_n([""], 2) is None
    assert failure_template("The user named 'Acme X1' (the target) in elicit, 3 times") == failure_template(
        "The user named 'Bolt Z' (the target) in elicit, 12 times"
    )


def test_prefix_share_by_hand() -> None:
    counter = HeuristicCounter()
    turns = [  # dialog d: a user turn (8 chars = 2 tokens + 3), a system turn, a superseded user turn
        {
            "dialog_id": "d",
            "seq": 2,
            "plan_hash": "p",
            "node_index": 0,
            "attempt": 1,
            "text": "x" * 8,
            "superseded": 0,
        },
        {
            "dialog_id": "d",
            "seq": 4,
            "plan_hash": "p",
            "node_index": 0,
            "attempt": 1,
            "text": "y" * 12,
            "superseded": 0,
        },
        {
            "dialog_id": "d",
            "seq": 6,
            "plan_hash": "p",
            "node_index": 1,
            "attempt": 1,
            "text": "z" * 4,
            "superseded": 1,
        },
    ]
    calls = [
        {
            "dialog_id": "d",
            "seq": 1,
            "role": "user",
            "plan_hash": "p",
            "node_index": 0,
            "attempt": 1,
            "input_tokens": 100,
        },
        {
            "dialog_id": "d",
            "seq": 5,
            "role": "user",
            "plan_hash": "p",
            "node_index": 1,
            "attempt": 1,
            "input_tokens": 100,
        },
        {
            "dialog_id": "d",
            "seq": 7,
            "role": "user",
            "plan_hash": "p",
            "node_index": 1,
            "attempt": 2,
            "input_tokens": 100,
        },
        {
            "dialog_id": "d",
            "seq": 8,
            "role": "validator:judge",
            "plan_hash": "p",
            "node_index": 1,
            "attempt": 2,
            "input_tokens": 50,
        },
    ]
    out = prefix_share(calls, turns, {"user": 20}, counter)
    # call 1: first of its role, nothing shared; call 5: system message (20), empty shared history;
    # call 7 (retry): system message + both turns call 5 saw (5 + 6); the judge call shares nothing.
    assert out["reusable_system_message"] == 40
    assert out["reusable_transcript"] == 11
    assert out["prompt_tokens"] == 350
    assert out["share_shared_prefix"] == round(51 / 350, 4)


@pytest.mark.slow
def test_headless_chromium_renders_the_plots_and_dialogs(
    report: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: CI must install it (apt-get install -y chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI runs this check")
    path, _ = report
    flags = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={tmp_path / 'p'}",
        "--virtual-time-budget=5000",
        "--window-size=1200,3000",
    ]
    dom = subprocess.run([*flags, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120)
    check = re.search(r'id="render-check"[^>]*', dom.stdout)
    assert check, dom.stderr[-2000:]
    counts = dict(re.findall(r'data-(plots|dialogs|sections)="(\d+)"', check.group(0)))
    assert int(counts["sections"]) == len(SECTIONS)
    assert int(counts["dialogs"]) == 3
    assert int(counts["plots"]) >= 6
    shot = tmp_path / "report.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", path.as_uri()], capture_output=True, timeout=120, check=True
    )
    assert shot.stat().st_size > 20_000  # a page of plots, not a blank one


def test_write_report_and_cli_errors(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    metrics = write_report(read_run(db, "r1"), tmp_path / "r.html", examples=1)
    assert (tmp_path / "r.metrics.json").is_file()
    assert (tmp_path / "r.html").read_text().count('<article class="dialog"') == 1
    assert metrics["complete"] == len(read_run(db, "r1").dialogs)
    assert main([str(tmp_path / "nope.db"), "--out", str(tmp_path / "x.html")]) == 2
    assert "nope.db" in capsys.readouterr().err
    out = subprocess.run(
        [sys.executable, "-m", "engine.report", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for option in ("RUN_DB", "--run-id", "--out", "--examples", "--quiet"):
        assert option in out
    assert "default:" in out


def test_all_runs_compares_personas_run_by_run(db: Path, tmp_path: Path) -> None:
    from engine.run import main as run_main
    from tests.support.worlds import WORLD_ARGS as WORLD

    assert (
        run_main(
            [
                *WORLD,
                "--backend",
                "scripted",
                "--dialogs",
                "4",
                "--concurrency",
                "4",
                "--quiet",
                "--user-persona",
                "terse",
                "--db",
                str(db),
                "--out",
                str(tmp_path / "o"),
                "--run-id",
                "r2",
            ]
        )
        == 0
    )
    out = tmp_path / "all.html"
    assert main([str(db), "--run-id", "r1", "--all-runs", "--out", str(out), "--quiet"]) == 0
    rows = orjson.loads(metrics_path(out).read_bytes())["runs_by_persona"]
    assert [(r["run_id"], r["user_persona"], r["dialogs"]) for r in rows] == [
        ("r1", "default", 16),
        ("r2", "terse", 4),
    ]
    assert "Runs of this database by persona" in out.read_text()


def test_evidence_and_judge_scores_are_reported_per_run_and_persona(
    db: Path, report: tuple[Path, dict[str, Any]]
) -> None:
    from engine.outputs.quality import evidence_metrics

    path, metrics = report
    run = read_run(db, "r1")
    accepted = [d for d in run.dialogs if d.status == "accepted"]
    declines = [x for d in accepted for x in d.record["declines"]]
    ev = metrics["run"]["evidence"]
    assert ev["declines"] == len(declines) and ev["claims_below_min_mentions"] == 0
    assert ev["declines_own_low_rating"] == sum(x["source"] == "rated_low" for x in declines)
    assert ev["community_claims"] > 0 and ev["claims_fewest_mentions"] >= 5
    # No judge ran: no score anywhere, and none made up.
    assert (ev["judge_scored"], ev["judge_not_run"], ev["judge_naturalness"]) == (0, len(accepted), None)
    assert all(m["evidence"]["judge_faithfulness"] is None for m in metrics["per_persona"].values())
    page = path.read_text(encoding="utf-8")
    assert "judge: naturalness" in page and "share declines own low rating" in page
    # With a judge: means over the scored dialogs; an unreadable answer counts, but as no number.
    scores = [{"naturalness": 4, "faithfulness": 5, "rationale": "", "judge": "j", "error": None},
              {"naturalness": 2, "faithfulness": 3, "rationale": "", "judge": "j", "error": None},
              {"naturalness": None, "faithfulness": None, "rationale": "", "judge": "j",
               "error": "judge output unreadable: x"}]
    for d, s in zip(accepted, scores, strict=False):
        d.record["judge"] = s
    judged = evidence_metrics(accepted[:3])
    assert (judged["judge_scored"], judged["judge_unreadable"]) == (2, 1)
    assert (judged["judge_naturalness"], judged["judge_faithfulness"]) == (3.0, 4.0)
