"""How a run ended, said truthfully: its final status, its exit code, and what its input lost.

Exit codes of ``python -m engine.run`` (a run, a resume; replay has its own, see engine.replay):

====  =====================================================================================
0     completed: every planned dialog ended (accepted or failed fidelity), none failed its backend
2     nothing was run: a bad option or config, bad input data, a backend that cannot be built, a
      store that cannot be used (or is another program's), a run another process is playing
3     incomplete: the run ended with fewer ended dialogs than planned (status ``incomplete``);
      ``--resume`` plays the rest
4     completed, but some dialogs failed their backend (the model server failed for good; the
      summary counts them and their reasons): the dataset lacks them
130   interrupted (Ctrl-C, SIGTERM, or ``--budget-usd`` reached): ``--resume`` goes on
====  =====================================================================================
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from profiling.corpus import Corpus

__all__ = ["EXIT_BACKEND_FAILED", "EXIT_INCOMPLETE", "EXIT_OK", "INTERRUPTED_EXIT", "exit_code",
           "final_status", "input_counts", "mark_latest"]

EXIT_OK = 0
EXIT_INCOMPLETE = 3
EXIT_BACKEND_FAILED = 4
INTERRUPTED_EXIT = 130


def final_status(*, interrupted: bool, planned: int, ended: int) -> str:
    """The status a run ends with: completed when every planned dialog ended (whatever stopped it),
    else interrupted (a signal, the budget, an error) or incomplete (it ended by itself short of the
    plan): never ``completed`` with fewer ended dialogs than planned."""
    if ended >= planned:
        return "completed"
    return "interrupted" if interrupted else "incomplete"


def exit_code(status: str, failed_backend: int) -> int:
    """The exit code of a run that ended with ``status`` (see the module docstring)."""
    if status == "interrupted":
        return INTERRUPTED_EXIT
    if status != "completed":
        return EXIT_INCOMPLETE
    return EXIT_BACKEND_FAILED if failed_backend else EXIT_OK


def input_counts(corpus: Corpus, report: Any) -> dict[str, Any]:
    """What loading the input kept and skipped (a LoadReport, or None for the generated sample world)."""
    if report is None:
        return {"source": corpus.source or "sample", "on_error": "raise", "loaded": len(corpus),
                "skipped": {}, "skipped_total": 0, "duplicates": 0, "lines_read": None}
    return {"source": report.source, "on_error": report.on_error, "loaded": report.loaded,
            "skipped": dict(sorted(report.skipped.items(), key=lambda kv: (-kv[1], kv[0]))),
            "skipped_total": report.n_skipped, "duplicates": report.duplicates,
            "lines_read": report.lines_read}


def mark_latest(out: Path) -> str | None:
    """Point ``<out's folder>/latest`` at ``out`` (a relative symbolic link, replaced atomically);
    why not, when it cannot be (None: done)."""
    link = out.parent / "latest"
    if link.exists() and not link.is_symlink():
        return f"{link} is a folder (an older version's default output), so it was left as it is"
    tmp = out.parent / f".latest.{os.getpid()}"
    try:
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(out.name, target_is_directory=True)
        tmp.replace(link)  # rename: readers see the old link or the new one, never none
    except OSError as exc:
        return f"cannot point {link} at {out.name}: {exc.strerror or exc}"
    return None
