"""``python -m engine.report RUN_DB --out report.html``: the command line of :mod:`engine.outputs.report`.

Computes the run's quality metrics (per run and per persona), writes them as JSON beside a
self-contained HTML report. A ConvRecError prints as one line and exits with code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from engine.outputs import metrics_path, write_report
from engine.store import read_run
from profiling.errors import ConvRecError

__all__ = ["build_parser", "main"]


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
        run = read_run(args.db, args.run_id, what="a report")
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
