"""``python -m engine.run``: the whole pipeline, from reviews to a conversational recommendation dataset.

Load data (the sample world by default), profile it (stage 1, cached), cut seeds, plan dialogs
(stage 2), play them with a user agent and a system agent judged by the fidelity validators (stage 3),
store every event in the SQLite trace store (``--db``, ``convrec.db`` by default) and write the dataset
(``dialogs.jsonl``, one dialog per line) with ``summary.json`` and ``run.log`` under ``--out``
(default ``runs/<run id>``, with ``runs/latest`` pointing at the last run started there).
With no options it runs a few dialogs on the embedded SmolLM2 model.

The options are the fields of :class:`engine.config.RunSettings` (defaults, then a ``--config`` TOML
file, then the command line); the run itself is :mod:`engine.pipeline`. ``--resume`` completes an
interrupted (or killed) run from its store; ``--replay`` re-plays a run, or one dialog of it, from its
recorded model answers (:mod:`engine.replay`). A ConvRecError (bad input, a backend that cannot be
built, an unwritable database, a run another process is playing) is printed as one line and exits
with code 2; every option is checked before anything is written. The exit codes of a run that
played (0, 3 incomplete, 4 some dialogs failed their backend, 130 interrupted) are documented in
:mod:`engine.pipeline.outcome`.
"""

from __future__ import annotations

import sys

import anyio
from pydantic import ValidationError
from rich.console import Console

from agents.secrets import redact
from engine.config import build_parser, parse_settings
from engine.core import close_logging
from engine.pipeline import INTERRUPTED_EXIT, play
from engine.store import single_error
from profiling.errors import ConvRecError

__all__ = ["build_parser", "main", "main_error"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (see the module docstring and engine.pipeline.outcome)."""
    console = Console()
    err = Console(stderr=True)
    try:
        settings = parse_settings(argv)
        if settings.replay or settings.replay_dialog:
            from engine.replay import replay_main

            if settings.executor == "ray":
                raise ConvRecError("replay runs on one machine (it is for debugging a few dialogs); a run "
                                   "made with --executor ray replays without it: same store, same answers")
            return anyio.run(replay_main, settings, console)
        return anyio.run(play, settings, console)
    except BaseExceptionGroup as group:
        one = single_error(group)
        if not isinstance(one, ConvRecError | ValidationError | KeyboardInterrupt):
            raise
        return main_error(one, err)
    except KeyboardInterrupt:
        # A run recorded in the store ends interrupted by itself (signals are noted from then on):
        # this is a Ctrl-C while loading, profiling or planning, before anything of the run was recorded.
        err.print("interrupted before the run was recorded; nothing to resume", style="yellow")
        return INTERRUPTED_EXIT
    except (ValidationError, ConvRecError) as exc:
        return main_error(exc, err)
    finally:
        close_logging()


def main_error(exc: BaseException, err: Console) -> int:
    """Print a ConvRecError or a bad option as one line; the exit code (2)."""
    if isinstance(exc, KeyboardInterrupt):
        err.print("interrupted", style="yellow")
        return INTERRUPTED_EXIT
    if isinstance(exc, ConvRecError):
        # Secrets never reach the console, whatever an error quotes.
        exc = ConvRecError(redact(str(exc)))
    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors())
        err.print(f"error: bad option: {problems}", style="red", markup=False, highlight=False)
        return 2
    err.print(f"error: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
    return 2


if __name__ == "__main__":
    sys.exit(main())
