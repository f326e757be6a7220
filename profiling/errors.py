"""The root of ConvRec Studio's exception tree, and the data errors raised while reading input.

Each package defines the errors of the failures it owns, all under :class:`ConvRecError`::

    ConvRecError
    ├── DataError                 profiling: bad input (file, line, field)
    │   └── WrongFormatError      profiling: a file is not the format its loader expects
    ├── ProfilingError            profiling: a stage-1 step cannot run (e.g. no encoder available)
    ├── PlanError                 planners: an invalid grammar or plan (names the rule it breaks)
    ├── LLMError                  agents: a model call failed
    │   ├── RateLimited
    │   ├── LLMTimeout
    │   └── BadOutput
    ├── FidelityError             agents: a dialog cannot satisfy its validators
    ├── TraceStoreError           engine: the SQLite trace store cannot be read or written
    └── ReplayDivergence          engine: a replayed request differs from the recorded one
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ConvRecError", "DataError", "ProfilingError", "WrongFormatError"]


class ConvRecError(Exception):
    """Raised for every failure ConvRec Studio reports on purpose; catch this to catch them all."""


class DataError(ConvRecError):
    """Raised when an input record is unusable; names the file, line and field, and the kind of fault.

    ``kind`` is a short stable tag (``malformed``, ``missing_field``, ``bad_type``, ``out_of_range``,
    ``bad_date``, ``empty_text``, ``duplicate``, ``encoding``, ``wrong_format``, ``missing_file``,
    ``corrupt_file``) used to count skipped records when a loader runs with ``on_error="skip"``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        kind: str = "malformed",
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.field = field
        self.kind = kind
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file + (f":{self.line}" if self.line is not None else ""))
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class WrongFormatError(DataError):
    """Raised on a file's first lines when it is not the format its loader expects (names that format)."""

    def __init__(self, message: str, *, file: str | Path | None = None, line: int | None = 1,
                 field: str | None = None, expected: str = "") -> None:
        self.expected = expected
        super().__init__(message, file=file, line=line, field=field, kind="wrong_format")


class ProfilingError(ConvRecError):
    """Raised when a profiling step cannot run as configured (a missing encoder, too few sentences)."""
