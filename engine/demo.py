"""``python -m engine.demo`` (what ``make demo`` runs): a run on the embedded defaults that ends with data.

The run is ``python -m engine.run`` with the demo's defaults in front of any option given (20 dialogs
of the sample world, the embedded SmolLM2-135M polishing the scripted realizer's drafts, the trace
store ``runs/demo.db``, outputs under ``runs/<run id>``); then the run is exported (JSONL release
layout, Parquet, RecBole, chat) and reported (HTML with its metrics JSON), and the demo prints what it
made: dialogs accepted, the share of turns the model realized, where everything is, and how to open
the report. Any ``engine.run`` option may be given to change the run (``--dialogs 5``, ``--realize
scripted``). Errors and exit codes are ``engine.run``'s (2: bad input or setup; a run that did not
complete exits with its own code and is neither exported nor reported).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import anyio
from pydantic import ValidationError
from rich.console import Console

from engine.config import parse_settings
from engine.core import close_logging
from engine.outputs import FORMATS, export_run, metrics_path, write_report
from engine.pipeline import play
from engine.run import main_error
from engine.store import read_run, single_error
from profiling.errors import ConvRecError

__all__ = ["DEMO_ARGS", "main"]

# In front of the command line: an option given again after them wins. llama.cpp on every core: its
# own default is half of them (1 of 2 here, 3.3x slower for the demo); on cores busy with other work
# more threads are slower still, so give --threads 1 there.
DEMO_ARGS = ("--dialogs", "20", "--db", "runs/demo.db", "--threads", str(os.cpu_count() or 1))


def main(argv: list[str] | None = None) -> int:
    """Run, export and report; the exit code (``engine.run``'s)."""
    console, err = Console(), Console(stderr=True)
    started = time.perf_counter()
    try:
        settings = parse_settings([*DEMO_ARGS, *(sys.argv[1:] if argv is None else argv)])
        code = anyio.run(play, settings, console)
        if code != 0:
            return code
        run = read_run(settings.db)
        out = settings.out_dir(run.run_id)
        export = export_run(run, out / "export", formats=FORMATS)
        report = out / "report.html"
        metrics = write_report(run, report)
    except BaseExceptionGroup as group:
        one = single_error(group)
        if not isinstance(one, ConvRecError | ValidationError | KeyboardInterrupt):
            raise
        return main_error(one, err)
    except (KeyboardInterrupt, ValidationError, ConvRecError) as exc:
        return main_error(exc, err)
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
        f"  dataset      {out / 'dialogs.jsonl'}",
        f"  parquet      {export.out / 'parquet'}  (dialogs/ and turns/ by split)",
        f"  exports      {export.out}  ({', '.join(export.formats)}; manifest.json)",
        f"  report       {report}  (metrics: {metrics_path(report).name})",
        f"  trace store  {settings.db}  (run {run.run_id})",
        f"open the report: python -m webbrowser -t file://{Path(report).resolve()}",
    ]
    console.rule("demo")
    for line in lines:
        console.print(line, highlight=False, markup=False, soft_wrap=True)  # paths stay whole
    return 0


if __name__ == "__main__":
    sys.exit(main())
