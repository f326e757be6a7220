"""structlog set-up for runs: JSON lines to the run's log file, configured once, context merged.

Every string of every event is redacted (:func:`agents.secrets.redact`) before it is written: a
failure reason that quotes a server's echo of the Authorization header must not put the key in
``run.log``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import IO, Any

import structlog

from agents.secrets import redact

__all__ = ["close_logging", "configure_logging", "redact_event"]

_open: list[IO[str]] = []


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value


def redact_event(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """A structlog processor: the event with every string redacted of anything shaped like a secret."""
    return {k: _redacted(v) for k, v in event.items()}


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
                    structlog.processors.dict_tracebacks, redact_event, structlog.processors.JSONRenderer()],
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
