"""Quality metrics and a self-contained run report (what ``python -m engine.report`` writes).

For a run read from its SQLite trace store (:mod:`engine.store.reader`), computes the
quality metrics of :mod:`engine.outputs.quality` for the run and per persona, and writes them as JSON beside
the report (``report.html`` -> ``report.metrics.json``), then the report itself: one HTML file with
tables, inline SVG plots and example dialogs (:mod:`engine.outputs.report_html`) that opens without a
network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from engine.outputs.quality import run_quality, sentiment_trajectories
from engine.outputs.report_html import render_report
from engine.store.lease import RunBusyError
from engine.store.reader import RunData, list_runs, read_run, read_trace_rows
from profiling.errors import ConvRecError

__all__ = ["ReportError", "metrics_path", "write_report"]


class ReportError(ConvRecError):
    """Raised when the report or its metrics file cannot be written (names the file)."""


def metrics_path(report: Path) -> Path:
    """Where the metrics JSON of ``report`` goes: beside it, ``<stem>.metrics.json``."""
    return report.with_name(report.stem + ".metrics.json")


def _persona_row(run: RunData, metrics: dict[str, Any]) -> dict[str, Any]:
    m = metrics["run"]
    return {
        "run_id": run.run_id,
        "user_persona": run.personas.get("user", {}).get("name"),
        "system_persona": run.personas.get("system", {}).get("name"),
        "backend": run.backend,
        "model": run.model,
        "dialogs": m["fidelity"]["dialogs"],
        "share_accepted": m["fidelity"]["share_accepted"],
        "share_preferences_agree": m["groundedness"]["share_preferences_agree"],
        "target_leaks_in_accepted": m["groundedness"]["target_leaks_in_accepted"],
        "distinct_2": m["diversity"]["distinct_2"],
        "tokens_per_accepted_dialog": m["cost"]["tokens_per_accepted_dialog"],
    }


def write_report(
    run: RunData, out: Path, *, examples: int = 3, all_runs: bool = False, console: Console | None = None
) -> dict[str, Any]:
    """Compute the run's metrics, write them and the HTML report; the metrics.

    ``all_runs``: also compute every other run of the database, one row each with its personas (a run
    has one user and one system persona: comparing personas means comparing runs).
    """
    console = console or Console(quiet=True)
    with console.status("reading the trace and computing metrics ..."):
        calls = read_trace_rows(run.path, run.run_id, "llm_calls")
        turns = read_trace_rows(run.path, run.run_id, "turns")
        metrics = run_quality(run, calls, turns)
        trajectories = sentiment_trajectories(
            [d for d in run.dialogs if d.status == "accepted"] or run.dialogs
        )
        if all_runs:
            rows = []
            for info in list_runs(run.path):
                try:
                    other = run if info["run_id"] == run.run_id else read_run(run.path, info["run_id"])
                except RunBusyError:
                    continue  # being played now: half a run would compare unfairly
                if not other.dialogs:
                    continue
                m = (
                    metrics
                    if other is run
                    else run_quality(
                        other,
                        read_trace_rows(run.path, other.run_id, "llm_calls"),
                        read_trace_rows(run.path, other.run_id, "turns"),
                    )
                )
                rows.append(_persona_row(other, m))
            metrics["runs_by_persona"] = rows
    metrics["sentiment_trajectories"] = trajectories
    page = render_report(run, metrics, trajectories, turns, examples=examples)
    target = metrics_path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(orjson.dumps(metrics, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write the report {out}: {exc.strerror or exc}") from exc
    return metrics
