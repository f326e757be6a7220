"""``python -m engine.demo`` (what ``make demo`` runs): a run on the embedded defaults that ends with data.

The run is ``python -m engine.run`` with the demo's defaults in front of any option given (20 dialogs
of the sample world, the embedded SmolLM2-135M polishing the scripted realizer's drafts, the trace
store and outputs under ``runs/demo``); then the run is exported (JSONL release layout, Parquet,
RecBole, chat) and reported (HTML with its metrics JSON), and the demo prints what it made: dialogs
accepted, the share of turns the model realized, where everything is, and how to open the report.
Any ``engine.run`` option may be given to change the run (``--dialogs 5``, ``--realize scripted``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anyio
from rich.console import Console

from engine.config import parse_settings
from engine.core import close_logging
from engine.outputs import FORMATS, export_run, metrics_path, write_report
from engine.pipeline import INTERRUPTED_EXIT, play
from engine.store import read_run
from profiling.errors import ConvRecError

__all__ = ["DEMO_ARGS", "main"]

# In front of the command line: an option given again after them wins.
DEMO_ARGS = ("--dialogs", "20", "--out", "runs/demo", "--db", "runs/demo/convrec.db")


def main(argv: list[str] | None = None) -> int:
    """Run, export and report; the exit code (0; 2 for bad input or setup; 130 when interrupted)."""
    console, err = Console(), Console(stderr=True)
    started = time.perf_counter()
    try:
        settings = parse_settings([*DEMO_ARGS, *(sys.argv[1:] if argv is None else argv)])
        code = anyio.run(play, settings, console)
        if code != 0:
            return code
        run = read_run(settings.db)
        export = export_run(run, settings.out / "export", formats=FORMATS)
        report = settings.out / "report.html"
        metrics = write_report(run, report)
    except KeyboardInterrupt:
        err.print("interrupted", style="yellow")
        return INTERRUPTED_EXIT
    except ConvRecError as exc:
        err.print(f"error: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
        return 2
    finally:
        close_logging()
    fid = metrics["run"]["fidelity"]
    accepted = fid["statuses"].get("accepted", 0)
    share = fid["share_turns_model"]
    turns = fid["turns_model"] + fid["turns_draft"] + fid["turns_scripted"]
    drafts = fid["turns_draft"]
    kept = "" if share is None else f" ({share:.0%})"
    if settings.realization == "polish":
        kept += f"; the other {drafts} kept their scripted draft"
    lines = [
        f"made {accepted} accepted dialogs of {metrics['planned']} in {time.perf_counter() - started:.0f} s "
        f"({settings.realization} mode, {run.backend}:{run.model})",
        f"turns realized by the model: {fid['turns_model']} of {turns}{kept}",
        f"  dataset      {settings.out / 'dialogs.jsonl'}",
        f"  parquet      {export.out / 'parquet'}  (dialogs/ and turns/ by split)",
        f"  exports      {export.out}  ({', '.join(export.formats)}; manifest.json)",
        f"  report       {report}  (metrics: {metrics_path(report).name})",
        f"  trace store  {settings.db}  (run {run.run_id})",
        f"open the report: python -m webbrowser -t file://{Path(report).resolve()}",
    ]
    console.rule("demo")
    for line in lines:
        console.print(line, highlight=False, markup=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
