"""``python -m engine.report RUN_DB --out report.html``: quality metrics and a self-contained run report.

Reads the run (``--run-id``, default the latest) from its SQLite trace store read-only, computes the
quality metrics of :mod:`engine.quality` for the run and per persona, and writes them as JSON beside
the report (``report.html`` -> ``report.metrics.json``), then the report itself: one HTML file with
tables, inline SVG plots and example dialogs (:mod:`engine.report_html`) that opens without a network.
A ConvRecError prints as one line and exits with code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from engine.quality import run_quality, sentiment_trajectories
from engine.report_html import render_report
from engine.run_data import RunData, list_runs, read_run, read_trace_rows
from profiling.errors import ConvRecError

__all__ = ["ReportError", "build_parser", "main", "metrics_path", "write_report"]


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
                other = run if info["run_id"] == run.run_id else read_run(run.path, info["run_id"])
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


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (every option documented with its default)."""
    p = argparse.ArgumentParser(
        prog="python -m engine.report",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Compute a run's dataset quality metrics (fidelity, groundedness, diversity, cost; per "
        "run and per persona) and write them as JSON beside a self-contained HTML report.",
    )
    p.add_argument("db", type=Path, metavar="RUN_DB", help="the run's SQLite trace store (engine.run --db)")
    p.add_argument("--run-id", help="run to report on (default: the latest run in RUN_DB)")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("report.html"),
        help="the HTML report; the metrics go beside it as <stem>.metrics.json",
    )
    p.add_argument("--examples", type=int, default=3, help="example dialogs rendered with nodes and verdicts")
    p.add_argument(
        "--all-runs",
        action="store_true",
        help="also compute every other run of RUN_DB and compare "
        "them by persona (one user and one system persona per run)",
    )
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the exit code (0; 2 for a ConvRecError)."""
    args = build_parser().parse_args(argv)
    console, err = Console(quiet=args.quiet), Console(stderr=True)
    try:
        run = read_run(args.db, args.run_id)
        metrics = write_report(run, args.out, examples=args.examples, all_runs=args.all_runs, console=console)
    except ConvRecError as exc:
        err.print(f"error: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
        return 2
    m = metrics["run"]
    console.print(
        f"run {run.run_id}: {metrics['complete']} dialogs, accepted "
        f"{m['fidelity']['share_accepted']}, target leaks in accepted "
        f"{m['groundedness']['target_leaks_in_accepted']}, distinct-2 {m['diversity']['distinct_2']}",
        highlight=False,
    )
    console.print(f"wrote {args.out} and {metrics_path(args.out)}", highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
