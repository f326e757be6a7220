"""structlog set-up for runs: JSON lines to the run's log file, configured once, context merged."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import IO

import structlog

__all__ = ["close_logging", "configure_logging"]

_open: list[IO[str]] = []


def configure_logging(path: Path, level: int = logging.INFO) -> None:
    """Send structlog events at ``level`` and above to ``path`` as JSON lines (the console stays for people).

    Bound context (``run_id``, ``dialog_id``, ``node`` via ``bind_contextvars``) is merged into each line.
    """
    for f in _open:
        f.close()
    _open.clear()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a", encoding="utf-8")
    _open.append(handle)
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                    structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(file=handle),
        cache_logger_on_first_use=False,  # a later run in the same process may point elsewhere
    )


def close_logging() -> None:
    """Close the run's log file and put structlog back to its defaults (the run is over)."""
    for f in _open:
        f.close()
    _open.clear()
    structlog.reset_defaults()
