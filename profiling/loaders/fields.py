"""Field checks and date parsers for the loaders' hot loops: plain functions, no pydantic per row.

Each check returns the clean value or raises :class:`FieldFault` (field, kind, message); the
streaming layer turns a fault into a :class:`~profiling.errors.DataError` naming file and line.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "EARLIEST_MS",
    "FieldFault",
    "check_millis",
    "csv_float",
    "csv_int",
    "latest_ms",
    "millis_of",
    "opt_str",
    "opt_text",
    "parse_iso_date",
    "parse_iso_datetime",
    "parse_month_name_date",
    "parse_numeric_mdy",
    "rating_value",
    "req_str",
    "str_tuple",
]

_MISSING: Any = object()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# No review site in these datasets predates 1990; an earlier time means a wrong unit or a bad value.
EARLIEST_MS = 631_152_000_000  # 1990-01-01T00:00:00Z


def latest_ms() -> int:
    """The latest plausible review time: now plus two days of clock skew (no review comes from the future)."""
    return millis_of(datetime.now(UTC) + timedelta(days=2))


class FieldFault(Exception):
    """Raised by a field check when one field of one record is unusable (caught and located by the loader)."""

    def __init__(self, field: str, kind: str, message: str) -> None:
        self.field = field
        self.kind = kind
        self.message = message
        super().__init__(message)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def req_str(rec: dict[str, Any], name: str) -> str:
    """A non-empty string field."""
    v = rec.get(name, _MISSING)
    if type(v) is str and v:
        return v
    if v is _MISSING or v is None:
        raise FieldFault(name, "missing_field", "required field is missing" if v is _MISSING else "is null")
    if type(v) is str:
        raise FieldFault(name, "missing_field", "is an empty string")
    raise FieldFault(name, "bad_type", f"expected a string, got {type(v).__name__} {_describe(v)}")


def opt_str(rec: dict[str, Any], name: str) -> str:
    """A string field that may be absent or null (then "")."""
    v = rec.get(name)
    if v is None:
        return ""
    if type(v) is str:
        return v
    raise FieldFault(name, "bad_type", f"expected a string or null, got {type(v).__name__} {_describe(v)}")


def opt_text(rec: dict[str, Any], name: str) -> str:
    """The review text, or "" when it is absent, null or only whitespace (a rating-only review)."""
    v = rec.get(name)
    if type(v) is str:
        return v if v and not v.isspace() else ""
    if v is None:
        return ""
    raise FieldFault(name, "bad_type", f"expected a string or null, got {type(v).__name__} {_describe(v)}")


def rating_value(rec: dict[str, Any], name: str, low: float = 1.0, high: float = 5.0) -> float:
    """A numeric rating within [low, high] (JSON number; booleans refused)."""
    v = rec.get(name, _MISSING)
    t = type(v)
    if (t is float or t is int) and low <= v <= high:
        return float(v)
    if v is _MISSING or v is None:
        raise FieldFault(name, "missing_field", "required field is missing" if v is _MISSING else "is null")
    if t is float or t is int:
        raise FieldFault(name, "out_of_range", f"rating {v!r} is outside {low:g}..{high:g}")
    raise FieldFault(name, "bad_type", f"expected a number, got {t.__name__} {_describe(v)}")


def str_tuple(rec: dict[str, Any], name: str) -> tuple[str, ...]:
    """A list of strings (absent or null gives ())."""
    v = rec.get(name)
    if v is None:
        return ()
    if type(v) is list and all(type(x) is str for x in v):
        return tuple(v)
    raise FieldFault(name, "bad_type", f"expected a list of strings, got {_describe(v)}")


def csv_float(value: str, name: str, low: float, high: float) -> float:
    """A CSV cell holding a number within [low, high]."""
    try:
        x = float(value)
    except ValueError:
        kind = "missing_field" if not value.strip() else "bad_type"
        raise FieldFault(name, kind, f"expected a number, got {_describe(value)}") from None
    if not low <= x <= high:  # also refuses nan
        raise FieldFault(name, "out_of_range", f"value {value!r} is outside {low:g}..{high:g}")
    return x


def csv_int(value: str, name: str) -> int:
    """A CSV cell holding an integer (``"1603238400"``; ``"1603238400.0"`` is accepted, pandas writes it)."""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        x = float(value)
    except ValueError:
        kind = "missing_field" if not value.strip() else "bad_type"
        raise FieldFault(name, kind, f"expected an integer, got {_describe(value)}") from None
    if not x.is_integer():
        raise FieldFault(name, "bad_type", f"expected an integer, got {_describe(value)}")
    return int(x)


def millis_of(dt: datetime) -> int:
    """Epoch milliseconds of an aware datetime, exactly (no float rounding)."""
    return (dt - _EPOCH) // timedelta(milliseconds=1)


def check_millis(ms: int, name: str, latest: int, unit_hint: str = "") -> int:
    """``ms`` when it is a plausible review time (1990 .. now), else a ``bad_date`` fault."""
    if EARLIEST_MS <= ms <= latest:
        return ms
    when = "before 1990" if ms < EARLIEST_MS else "in the future"
    raise FieldFault(name, "bad_date", f"time {ms} ms is {when}{unit_hint}")


_ISO_DATETIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2}):([0-9]{2})")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_NUMERIC_MDY = re.compile(r"([0-9]{1,2}) ([0-9]{1,2}), ([0-9]{4})")
_MONTH_NAME = re.compile(r"([A-Za-z]+)\.? ([0-9]{1,2}), ([0-9]{4})")
_MONTHS = {name: k + 1 for k, name in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"))}
_MONTHS.update({name[:3]: k for name, k in list(_MONTHS.items())})


def _build(name: str, value: str, parts: tuple[int, ...]) -> int:
    try:
        return millis_of(datetime(*parts, tzinfo=UTC))  # type: ignore[misc]
    except ValueError as e:  # e.g. month 13, February 30
        raise FieldFault(name, "bad_date", f"{value!r} is not a valid date: {e}") from None


def _bad(name: str, value: Any, expected: str) -> FieldFault:
    if type(value) is not str:
        return FieldFault(name, "bad_type", f"expected a date string {expected}, got {_describe(value)}")
    return FieldFault(name, "bad_date", f"cannot parse {_describe(value)} as {expected}")


def parse_iso_datetime(value: Any, name: str) -> int:
    """Millis of ``"YYYY-MM-DD HH:MM:SS"`` (or with ``T``), read as UTC."""
    m = _ISO_DATETIME.fullmatch(value) if type(value) is str else None
    if m is None:
        raise _bad(name, value, '"YYYY-MM-DD HH:MM:SS"')
    return _build(name, value, tuple(int(g) for g in m.groups()))


def parse_iso_date(value: Any, name: str) -> int:
    """Millis of midnight UTC of ``"YYYY-MM-DD"``."""
    m = _ISO_DATE.fullmatch(value) if type(value) is str else None
    if m is None:
        raise _bad(name, value, '"YYYY-MM-DD"')
    return _build(name, value, tuple(int(g) for g in m.groups()))


def parse_numeric_mdy(value: Any, name: str) -> int:
    """Millis of midnight UTC of Amazon 2018's ``reviewTime`` (``"09 13, 2009"``: month, day, year)."""
    m = _NUMERIC_MDY.fullmatch(value) if type(value) is str else None
    if m is None:
        raise _bad(name, value, '"MM DD, YYYY"')
    month, day, year = (int(g) for g in m.groups())
    return _build(name, value, (year, month, day))


def parse_month_name_date(value: Any, name: str) -> int:
    """Millis of midnight UTC of ``"October 21, 2020"`` (full or three-letter English month names)."""
    m = _MONTH_NAME.fullmatch(value) if type(value) is str else None
    month = _MONTHS.get(m.group(1).lower()) if m is not None else None
    if m is None or month is None:
        raise _bad(name, value, '"Month DD, YYYY"')
    return _build(name, value, (int(m.group(3)), month, int(m.group(2))))
