"""``python -m engine.export RUN_DB --out DIR``: the command line of :mod:`engine.outputs.export`.

Reads the run from its SQLite trace store (read-only) and writes it as JSONL (release layout), Parquet,
RecBole atomic files and chat JSONL, all at once (a killed export leaves the previous one). A
ConvRecError (a run another process is playing, a folder that is not an export, ...) prints as one
line and exits with code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from engine.outputs import FORMATS, export_run
from engine.store import read_run
from profiling.errors import ConvRecError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (every option documented with its default)."""
    p = argparse.ArgumentParser(
        prog="python -m engine.export",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Export a run's dialogs from its SQLite trace store as JSONL (release layout), Parquet "
        "(Hugging Face datasets), RecBole atomic files and chat-format JSONL, split into train / "
        "validation / test by target time.",
    )
    p.add_argument("db", type=Path, metavar="RUN_DB", help="the run's SQLite trace store (engine.run --db)")
    p.add_argument("--run-id", help="run to export (default: the latest run in RUN_DB)")
    p.add_argument("--out", type=Path, required=True, help="folder to write into (created if missing)")
    p.add_argument(
        "--format",
        nargs="+",
        choices=(*FORMATS, "all"),
        default=["all"],
        help="formats to write: jsonl (release layout + our fields), parquet, recbole, chat, or all",
    )
    p.add_argument(
        "--include-failed",
        action="store_true",
        help="also export dialogs that failed fidelity (or their backend), flagged fidelity_failed",
    )
    p.add_argument(
        "--domain",
        help="domain word of the release layout (recommended_<domain>, <domain>_name): "
        "app, place, product, book, item (default: from the run's data: mobilerec -> app, "
        "yelp -> place, amazon and sample -> product)",
    )
    p.add_argument("--recbole-name", default="convrec", help="RecBole dataset name (folder and file stem)")
    p.add_argument(
        "--chat-no-history",
        action="store_true",
        help="leave the user's past interactions out of the chat format's system message",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary table")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the exit code (0; 2 for a ConvRecError)."""
    args = build_parser().parse_args(argv)
    console, err = Console(quiet=args.quiet), Console(stderr=True)
    formats = FORMATS if "all" in args.format else tuple(dict.fromkeys(args.format))
    try:
        run = read_run(args.db, args.run_id, what="an export")
        summary = export_run(
            run,
            args.out,
            formats=formats,
            include_failed=args.include_failed,
            domain=args.domain,
            recbole_name=args.recbole_name,
            chat_history=not args.chat_no_history,
            progress=not args.quiet,
        )
    except ConvRecError as exc:
        err.print(f"error: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
        return 2
    if run.status != "completed":
        err.print(f"note: run {run.run_id} is {run.status}: {len(run.dialogs)} of {run.n_planned} planned "
                  "dialogs are complete, and only those are exported (the manifest says so)", style="yellow",
                  highlight=False)
    counts = ", ".join(f"{s} {n}" for s, n in summary.per_split.items()) or "none"
    left = ", ".join(f"{n} {s}" for s, n in summary.skipped.items())
    console.print(
        f"run {summary.run_id}: exported {sum(summary.per_split.values())} dialogs ({counts})"
        + (f"; left out {left} (use --include-failed)" if left else ""),
        highlight=False,
    )
    console.print(
        f"wrote {len(summary.files)} files under {args.out} ({', '.join(summary.formats)})", highlight=False
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
