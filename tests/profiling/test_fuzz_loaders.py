"""Structure-aware fuzzing of the loaders: generated records, adversarial mutations, an exact oracle.

tests/profiling/test_loaders_bad_input.py damages good fixture files at random and checks that nothing crashes
and nothing goes uncounted. Here every record is generated from an *intent* (user, item, rating,
time, title, text), written in the dataset's own schema, then perhaps mutated: a field dropped, set to
a wrong type or an odd value, written twice, raw invalid JSON tokens, invalid UTF-8, control bytes,
truncation, a BOM in mid-file, deep nesting, 1 MB of text, and for CSV quoting faults, ragged rows and
embedded newlines. Each generated record carries what the loader must make of it: exactly the row its
intent gives, or a fault of a known kind naming a known field (or none, for a line-level fault such
as broken JSON). The property, checked in both error policies:

* ``on_error="skip"``: the corpus holds exactly the expected rows (no silent wrong row), the report
  counts exactly the expected faults per kind, duplicates and blank lines, and the lines read;
* ``on_error="raise"``: the first faulty record raises a DataError naming the file, its line, its field
  and its kind, or, without one, the same corpus loads;
* in neither does anything but a DataError come out (no KeyError or TypeError from deep inside).

Hypothesis runs derandomized (the same examples in CI every time) with ``deadline=None``; the example
counts are in RELIABILITY.md.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from profiling.errors import DataError, WrongFormatError
from profiling.loaders import (
    GenericConfig,
    LoadResult,
    load_amazon2018,
    load_amazon2023,
    load_generic,
    load_mobilerec,
    load_yelp,
)
from profiling.loaders.fields import EARLIEST_MS, latest_ms

Row = tuple[str, str, float, int, str, str]
Loader = Callable[..., LoadResult]

FUZZ = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
# Comfortably inside the plausible window whatever day the suite runs (the loaders allow now + 2 days).
LATEST_MS = latest_ms() - 3 * 86_400_000
DAY_MS = 86_400_000
MISSING: Any = object()  # a field left out of the record

# Strings that break naive code: bidi controls, BOM, NUL, combining marks, astral planes, line and
# paragraph separators, title case, dotted capitals, quotes and backslashes, markup.
NASTY = ["\u200f", "\u202e", "\u2066", "\ufeff", "\x00", "e\u0301", "\U0001f642", "\U0010fffd", "\u2028",
         "\u2029", "\u01c5", "\u0130", '"', "\\", "</quote>", "\u0085", "\t", "\r\n", "\u00a0", "\x7f"]
# Whitespace only, in the str.isspace sense the loaders use for empty text.
BLANK_TEXTS = ["", " ", "\t\n", "\u3000\u2028", "\x1c\x1d\x1e\x1f", "\u00a0 \u2003"]


@dataclass(frozen=True)
class Fault:
    """What a bad record must produce: a DataError of this kind naming this field (None: line-level)."""

    kind: str
    field: str | None


@dataclass(frozen=True)
class Rec:
    """One generated record: its bytes (no line terminator) and the one thing the loader must make of it."""

    data: bytes
    row: Row | None = None
    fault: Fault | None = None
    blank: bool = False
    # CSV: the record's physical line (counted from its first) that an encoding fault must name.
    fault_offset: int = 0


@dataclass(frozen=True)
class Intent:
    """What a generated record means, before it is written in a dataset's schema."""

    user: str
    item: str
    rating: float
    ts: int  # epoch milliseconds
    title: str
    text: str
    extra: dict[str, Any] = field(default_factory=dict)


# -- intents -----------------------------------------------------------------------------------------
def _clean_id(s: str) -> bool:
    return bool(s) and s.strip() == s and not any(ch in s for ch in "\r\n")


ids = st.one_of(
    st.text(min_size=1, max_size=10),
    st.tuples(st.sampled_from(NASTY), st.text(max_size=6)).map(lambda t: "u" + t[0] + t[1] + "z"),
).filter(_clean_id)
texts = st.one_of(
    st.text(max_size=40).map(lambda s: s + "x"),
    st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=5)), max_size=6).map(
        lambda parts: "a" + "".join(parts)),
)
ratings = st.one_of(st.integers(1, 5).map(float), st.floats(1.0, 5.0))
times = st.integers(EARLIEST_MS, LATEST_MS)
intents = st.builds(Intent, user=ids, item=ids, rating=ratings, ts=times,
                    title=st.one_of(st.just(""), texts), text=texts)


def _f32(x: float) -> float:
    return float(np.float32(x))  # the corpus keeps ratings as float32


# -- JSON lines --------------------------------------------------------------------------------------
def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _parses(data: bytes) -> bool:
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return True


def _pairs_bytes(pairs: list[tuple[str, bytes]]) -> bytes:
    return b"{" + b",".join(orjson.dumps(k) + b":" + v for k, v in pairs) + b"}"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
# Not JSON at all, though some parsers take it: each makes the whole line malformed.
RAW_TOKENS = [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"01", b".5", b"+1", b"'x'",
              b'"\\ud800"', b'"a\\udc00"', b'"\\x41"', b'"tab\there"', b'"nul\x00"', b"undefined", b"True"]
# Invalid UTF-8 inside a JSON string: a lone continuation byte, a truncated sequence, an overlong
# encoding, an encoded surrogate, a byte that never occurs in UTF-8.
BAD_UTF8 = [b"\x80", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xff", b"\xf4\x90\x80\x80", b"\xe2\x82"]


@dataclass(frozen=True)
class JsonFormat:
    """A JSON-lines review schema: how to write an intent, and the odd values of each field."""

    name: str
    load: Loader
    write: Callable[[Intent], dict[str, Any]]
    expect: Callable[[Intent], Row]
    # (field, value, what the record must then load to or fail with) for one drawn intent.
    odd: Callable[[st.DrawFn, Intent, Row], tuple[str, Any, Row | Fault]]
    # The review text's key where a review may have none (rating only); None where text is required.
    text_key: str | None = None


def _req_str(name: str, v: Any, row: Row, pos: int) -> Row | Fault:
    """profiling.loaders.fields.req_str as a spec: a non-empty string, taken verbatim."""
    if v is MISSING or v is None or v == "":
        return Fault("missing_field", name)
    if type(v) is not str:
        return Fault("bad_type", name)
    return _set(row, pos, v)


def _set(row: Row, pos: int, value: Any) -> Row:
    out = list(row)
    out[pos] = value
    return tuple(out)  # type: ignore[return-value]


def _rating(name: str, v: Any, row: Row) -> Row | Fault:
    if v is MISSING or v is None:
        return Fault("missing_field", name)
    if type(v) not in (int, float):
        return Fault("bad_type", name)
    return _set(row, 2, float(v)) if 1 <= v <= 5 else Fault("out_of_range", name)


def _opt_title(name: str, v: Any, row: Row) -> Row | Fault:
    if v is MISSING or v is None:
        return _set(row, 4, "")
    return _set(row, 4, v) if type(v) is str else Fault("bad_type", name)


def _text(name: str, v: Any, row: Row) -> Row | Fault:
    """profiling.loaders.fields.opt_text as a spec: absent, null or blank is a rating-only review ("")."""
    if v is MISSING or v is None or (type(v) is str and (not v or v.isspace())):
        return _set(row, 5, "")
    return _set(row, 5, v) if type(v) is str else Fault("bad_type", name)


WRONG_TYPES = [True, False, 0, 7, -1.5, [], ["a"], {}, {"a": 1}]
ID_ODD = [MISSING, None, "", *WRONG_TYPES, "x" * 5000, "\u200fid", "\x00"]
RATING_ODD = st.one_of(st.sampled_from([MISSING, None, "5", "4.0", True, [5], {"v": 5}, 0, 6, -0.0, 5.0000001,
                                        0.9999999, 1e308, -1e308, 5e-324, 2**70]),
                       st.floats(allow_nan=False, allow_infinity=False), st.integers(-10, 10))
TEXT_ODD = st.one_of(st.sampled_from([MISSING, None, *BLANK_TEXTS, *WRONG_TYPES, "\u200b", "\x00"]), texts)
TITLE_ODD = st.one_of(st.sampled_from([MISSING, None, "", *WRONG_TYPES]), texts)


def _common_odd(draw: st.DrawFn, names: dict[str, str], row: Row) -> tuple[str, Any, Row | Fault]:
    """Odd user, item, rating, title and text values, judged by the shared field rules."""
    which = draw(st.sampled_from([k for k in ("user", "item", "rating", "title", "text") if k in names]))
    name = names[which]
    if which in ("user", "item"):
        v = draw(st.one_of(st.sampled_from(ID_ODD), ids))
        return name, v, _req_str(name, v, row, 0 if which == "user" else 1)
    if which == "rating":
        v = draw(RATING_ODD)
        return name, v, _rating(name, v, row)
    if which == "title":
        v = draw(TITLE_ODD)
        return name, v, _opt_title(name, v, row)
    v = draw(TEXT_ODD)
    return name, v, _text(name, v, row)


# Amazon Reviews 2023 --------------------------------------------------------------------------------
def _a23_write(it: Intent) -> dict[str, Any]:
    return {"rating": it.rating, "title": it.title, "text": it.text, "images": [], "asin": it.item,
            "parent_asin": it.item, "user_id": it.user, "timestamp": it.ts, "helpful_vote": 0,
            "verified_purchase": True}


def _a23_odd(draw: st.DrawFn, it: Intent, row: Row) -> tuple[str, Any, Row | Fault]:
    if draw(st.integers(0, 5)):
        names = {"user": "user_id", "item": "parent_asin", "rating": "rating", "title": "title",
                 "text": "text"}
        return _common_odd(draw, names, row)
    v = draw(st.one_of(st.sampled_from([MISSING, None, True, "1588687728923", float(it.ts), [it.ts],
                                        it.ts // 1000, -it.ts, 0]),
                       st.integers(-(2**63), 2**64 - 1)))
    if v is MISSING or v is None:
        return "timestamp", v, Fault("missing_field", "timestamp")
    if type(v) is not int:
        return "timestamp", v, Fault("bad_type", "timestamp")
    if EARLIEST_MS <= v <= LATEST_MS:
        return "timestamp", v, _set(row, 3, v)
    if LATEST_MS < v <= latest_ms() + DAY_MS:
        return "timestamp", it.ts, row  # too close to the moving upper bound to judge: not drawn
    return "timestamp", v, Fault("bad_date", "timestamp")


AMAZON2023 = JsonFormat("amazon2023", load_amazon2023, _a23_write,
                        lambda it: (it.user, it.item, it.rating, it.ts, it.title, it.text), _a23_odd, "text")


# Amazon Reviews 2018 --------------------------------------------------------------------------------
def _mdy(ms: int) -> str:
    d = datetime.fromtimestamp(ms / 1000, UTC)
    return f"{d.month:02d} {d.day}, {d.year}"


def _day(ms: int) -> int:
    return ms - ms % DAY_MS  # upstream unixReviewTime is midnight UTC of reviewTime


def _a18_write(it: Intent) -> dict[str, Any]:
    day = _day(it.ts)
    return {"overall": it.rating, "verified": True, "reviewTime": _mdy(day), "reviewerID": it.user,
            "asin": it.item, "reviewerName": "J. Doe", "reviewText": it.text, "summary": it.title,
            "unixReviewTime": day // 1000, "style": {"Size:": " Small"}}


def _a18_odd(draw: st.DrawFn, it: Intent, row: Row) -> tuple[str, Any, Row | Fault]:
    day = _day(it.ts)
    pick = draw(st.integers(0, 7))
    if pick > 2:
        names = {"user": "reviewerID", "item": "asin", "rating": "overall", "title": "summary",
                 "text": "reviewText"}
        return _common_odd(draw, names, row)
    if pick == 0:  # unixReviewTime: the time, cross-checked against reviewTime
        v = draw(st.one_of(st.sampled_from([MISSING, None, True, str(day // 1000), day / 1000, day,
                                            day // 1000 + 86_400, day // 1000 - 86_400 * 3]),
                           st.integers(-(2**40), 2**40)))
        if v is MISSING or v is None:  # the date then comes from reviewTime (and is counted as a note)
            return "unixReviewTime", v, row
        if type(v) is not int:
            return "unixReviewTime", v, Fault("bad_type", "unixReviewTime")
        if not EARLIEST_MS <= v * 1000 <= LATEST_MS:
            if v * 1000 <= latest_ms() + DAY_MS:
                return "unixReviewTime", day // 1000, row  # at the moving upper bound: not drawn
            return "unixReviewTime", v, Fault("bad_date", "unixReviewTime")
        if abs(v * 1000 - day) > DAY_MS:
            return "unixReviewTime", v, Fault("bad_date", "reviewTime")
        return "unixReviewTime", v, _set(row, 3, v * 1000)
    if pick == 1:  # reviewTime: only cross-checked while unixReviewTime is there
        d = datetime.fromtimestamp(day / 1000, UTC)
        v = draw(st.sampled_from([
            MISSING, None, 5, [], f"{d.month} {d.day}, {d.year}", f"{d.month:02d} {d.day:02d}, {d.year}",
            f"{d.year}-{d.month:02d}-{d.day:02d}", f"13 {d.day}, {d.year}", f"02 30, {d.year}",
            f"{d.month:02d} {d.day}, {d.year + 3}", f" {_mdy(day)}", f"{_mdy(day)}\n", "", "\u0661 2, 2013"]))
        if v is MISSING or v is None:
            return "reviewTime", v, row
        if type(v) is not str:
            return "reviewTime", v, Fault("bad_type", "reviewTime")
        if v in (f"{d.month} {d.day}, {d.year}", f"{d.month:02d} {d.day:02d}, {d.year}"):
            return "reviewTime", v, row
        return "reviewTime", v, Fault("bad_date", "reviewTime")
    return "time", None, Fault("missing_field", "unixReviewTime")  # both time fields dropped


def _a18_expect(it: Intent) -> Row:
    return (it.user, it.item, it.rating, _day(it.ts), it.title, it.text)


AMAZON2018 = JsonFormat("amazon2018", load_amazon2018, _a18_write, _a18_expect, _a18_odd, "reviewText")


# Yelp -----------------------------------------------------------------------------------------------
def _iso(ms: int, sep: str = " ") -> str:
    return datetime.fromtimestamp(ms // 1000, UTC).strftime(f"%Y-%m-%d{sep}%H:%M:%S")


def _yelp_write(it: Intent) -> dict[str, Any]:
    return {"review_id": "r" + str(it.ts), "user_id": it.user, "business_id": it.item, "stars": it.rating,
            "useful": 0, "funny": 0, "cool": 0, "text": it.text, "date": _iso(it.ts)}


def _yelp_odd(draw: st.DrawFn, it: Intent, row: Row) -> tuple[str, Any, Row | Fault]:
    pick = draw(st.integers(0, 6))
    if pick > 1:
        names = {"user": "user_id", "item": "business_id", "rating": "stars", "text": "text"}
        return _common_odd(draw, names, row)
    if pick == 1:
        v = draw(st.sampled_from(ID_ODD))  # checked, though no part of the row
        judged = _req_str("review_id", v, row, 0)
        return "review_id", v, judged if isinstance(judged, Fault) else row
    s = it.ts // 1000 * 1000
    d = datetime.fromtimestamp(s / 1000, UTC)
    good = {_iso(s, "T"): s, _iso(s): s, _iso(s)[:10]: _day(s)}  # a bare day: older releases
    bad = [_iso(s) + "Z", _iso(s) + ".000", _iso(s).replace("-", "/"), _iso(s)[:9], " " + _iso(s),
           _iso(s) + "\n", f"{d.year}-13-01 00:00:00", f"{d.year}-02-30 00:00:00", f"{d.year}-01-01 24:00:00",
           "1989-12-31 23:59:59", "2999-01-01 00:00:00", "\uff12" + _iso(s)[1:], "", "0000-00-00 00:00:00"]
    v = draw(st.sampled_from([MISSING, None, 5, s, [], *good, *bad]))
    if v is MISSING or v is None:
        return "date", v, Fault("missing_field", "date")
    if type(v) is not str:
        return "date", v, Fault("bad_type", "date")
    if v in good:
        return "date", v, _set(row, 3, good[v])
    return "date", v, Fault("bad_date", "date")


def _yelp_expect(it: Intent) -> Row:
    return (it.user, it.item, it.rating, it.ts // 1000 * 1000, "", it.text)


YELP = JsonFormat("yelp", load_yelp, _yelp_write, _yelp_expect, _yelp_odd, "text")


# Generic JSON lines ---------------------------------------------------------------------------------
GENERIC_JSON = GenericConfig(title="title")


def _gen_write(it: Intent) -> dict[str, Any]:
    rec: dict[str, Any] = {"user_id": it.user, "item_id": it.item, "rating": it.rating,
                           "timestamp": it.ts // 1000, "text": it.text, "title": it.title}
    rec.update(it.extra)
    return rec


def _gen_id(name: str, v: Any, row: Row, pos: int) -> Row | Fault:
    """A generic id: an integer (written in decimal) or a non-blank string (stripped)."""
    if type(v) is int:
        return _set(row, pos, str(v))
    if type(v) is str and v.strip():
        return _set(row, pos, v.strip())
    if v is MISSING or v is None or type(v) is str:
        return Fault("missing_field", name)
    return Fault("bad_type", name)


def _gen_number(name: str, v: Any) -> float | Fault:
    if type(v) in (int, float):
        return float(v)
    if type(v) is str and v.strip():
        try:
            return float(v)
        except ValueError:
            return Fault("bad_type", name)
    if v is MISSING or v is None or type(v) is str:
        return Fault("missing_field", name)
    return Fault("bad_type", name)


def _gen_odd(draw: st.DrawFn, it: Intent, row: Row) -> tuple[str, Any, Row | Fault]:
    which = draw(st.sampled_from(["user_id", "item_id", "rating", "timestamp", "text", "title"]))
    if which in ("user_id", "item_id"):
        v = draw(st.one_of(st.sampled_from([*ID_ODD, " padded ", "\u3000", 0, -7, 2**63 - 1, 2**64 + 1]),
                           st.integers(), ids))
        if type(v) is int and not -(2**63) <= v < 2**64:
            v = 2**63 - 1  # orjson only writes 64-bit integers
        return which, v, _gen_id(which, v, row, 0 if which == "user_id" else 1)
    if which == "rating":
        v = draw(st.one_of(RATING_ODD, st.sampled_from(["4", " 4.5 ", "4e0", "nan", "inf", "-inf", "x", " ",
                                                         "\u0664", "0_4"])))
        if type(v) is int and not -(2**63) <= v < 2**64:
            v = 6
        x = _gen_number("rating", v)
        if isinstance(x, Fault):
            return which, v, x
        return which, v, _set(row, 2, x) if 1 <= x <= 5 else Fault("out_of_range", "rating")
    if which == "timestamp":
        s = it.ts // 1000
        v = draw(st.one_of(st.sampled_from([MISSING, None, "", True, [], str(s), f" {s} ", float(s), s + 0.5,
                                            s * 1000, -s, "nan", "inf", 1e300, "1e400"]),
                           st.integers(-(2**40), 2**40)))
        x = _gen_number("timestamp", v)
        if isinstance(x, Fault):
            return which, v, x
        if not x.is_integer():
            return which, v, Fault("bad_date", "timestamp")
        ms = int(x) * 1000
        if EARLIEST_MS <= ms <= LATEST_MS:
            return which, v, _set(row, 3, ms)
        if LATEST_MS < ms <= latest_ms() + DAY_MS:
            return which, s, row  # at the moving upper bound: not drawn
        return which, v, Fault("bad_date", "timestamp")
    if which == "text":
        v = draw(TEXT_ODD)
        if v is MISSING or v is None or (type(v) is str and (not v or v.isspace())):
            return which, v, Fault("empty_text", "text")
        return which, v, _set(row, 5, v) if type(v) is str else Fault("bad_type", "text")
    v = draw(TITLE_ODD)
    return which, v, _opt_title("title", v, row)


def _gen_expect(it: Intent) -> Row:
    return (it.user, it.item, it.rating, it.ts // 1000 * 1000, it.title, it.text)


GENERIC_JSONL = JsonFormat("generic-jsonl", partial(load_generic, config=GENERIC_JSON), _gen_write,
                           _gen_expect, _gen_odd)
JSON_FORMATS = [AMAZON2023, AMAZON2018, YELP, GENERIC_JSONL]


def _encode(v: Any, ascii_only: bool) -> bytes:
    if type(v) is int and not -(2**63) <= v < 2**64:
        return str(v).encode()  # orjson writes 64-bit integers only; the parser reads this as a float
    if ascii_only:  # the same value, every non-ASCII character as a \\u escape
        return json.dumps(v, ensure_ascii=True).encode()
    return orjson.dumps(v)


@st.composite
def json_record(draw: st.DrawFn, fmt: JsonFormat) -> Rec:
    """One JSON line of ``fmt`` and what it must load to, with at most one semantic mutation."""
    it = draw(intents)
    if fmt is AMAZON2018:
        it = replace(it, ts=max(_day(it.ts), EARLIEST_MS))
    row = fmt.expect(it)
    rec = fmt.write(it)
    ascii_only = draw(st.booleans())
    outcome: Row | Fault = row
    line_fault: Fault | None = None
    mutation = draw(st.sampled_from(["none", "none", "field", "field", "field", "raw", "bad_utf8", "control",
                                     "truncate", "non_object", "deep", "huge_text", "bom", "dup_bad_last",
                                     *(["no_text"] if fmt.text_key else [])]))
    pairs: list[tuple[str, bytes]] = []
    if mutation == "no_text" and fmt.text_key:  # a rating-only review: kept, its text ""
        v = draw(st.sampled_from([MISSING, None, *BLANK_TEXTS]))
        if v is MISSING:
            rec.pop(fmt.text_key)
        else:
            rec[fmt.text_key] = v
        outcome = _set(row, 5, "")
    elif mutation in ("field", "dup_bad_last"):
        name, value, outcome = fmt.odd(draw, it, row)
        if name == "time":  # amazon2018: both time fields dropped
            rec.pop("unixReviewTime")
            rec.pop("reviewTime")
        elif mutation == "dup_bad_last" and value is not MISSING:
            # The key twice, the odd value last: the last one counts (as in orjson and Python's json).
            pairs.append((name, _encode(value, ascii_only)))
        elif value is MISSING:
            rec.pop(name)
        else:
            rec[name] = value
    elif mutation == "huge_text":
        big = "x" * 1_000_000 + it.text
        rec["text" if "text" in rec else "reviewText"] = big
        outcome = _set(row, 5, big)
    body = [(k, _encode(v, ascii_only)) for k, v in rec.items()]
    if draw(st.booleans()):
        extra = draw(st.dictionaries(st.text(max_size=6).map(lambda s: "zz_" + s), json_values, max_size=3))
        body += [(k, orjson.dumps(v)) for k, v in extra.items()]
    if draw(st.booleans()):
        body = draw(st.permutations(body))
    if draw(st.integers(0, 7)) == 0:  # a stale first copy of a key, overridden by the good one after it
        k, v = body[draw(st.integers(0, len(body) - 1))]
        body.insert(0, (k, b'"stale"' if v != b'"stale"' else b"0"))
    body += pairs
    if mutation == "raw":
        k = draw(st.integers(0, len(body) - 1))
        body[k] = (body[k][0], draw(st.sampled_from(RAW_TOKENS)))
        line_fault = Fault("malformed", None)
    elif mutation == "bad_utf8":
        k = draw(st.integers(0, len(body) - 1))
        body[k] = (body[k][0], b'"ok' + draw(st.sampled_from(BAD_UTF8)) + b'"')
        line_fault = Fault("encoding", None)
    elif mutation == "control":
        k = draw(st.integers(0, len(body) - 1))
        body[k] = (body[k][0], b'"a' + bytes([draw(st.integers(0, 31).filter(lambda b: b != 10))]) + b'"')
        line_fault = Fault("malformed", None)
    elif mutation == "deep":
        depth = draw(st.sampled_from([1, 50, 200, 2000, 100_000]))
        nest = b"[" * depth + b"]" * depth
        body.append(("zz_deep", nest))
        # Whether nesting this deep is refused (a whole-line error) is the parser's choice; newer orjson
        # stops at 1024 levels. Either way the record must come out as that choice says.
        line_fault = None if _parses(nest) else Fault("malformed", None)
    data = _pairs_bytes(body)
    if mutation == "truncate":
        data = data[:draw(st.integers(1, len(data) - 1))]
        line_fault = Fault("malformed" if _utf8(data) else "encoding", None)  # a cut may split a character
    elif mutation == "non_object":
        data = draw(st.sampled_from([b"[]", b"[1, 2]", b"42", b'"text"', b"null", b"true",
                                     b"[" + data + b"]"]))
        line_fault = Fault("malformed", None)
    elif mutation == "bom":
        data = b"\xef\xbb\xbf" + data  # a BOM is dropped at the start of a file only
        line_fault = Fault("malformed", None)
    if line_fault is not None:
        return Rec(data, fault=line_fault)
    if isinstance(outcome, Fault):
        return Rec(data, fault=outcome)
    return Rec(data, row=outcome)


# -- files, and the oracle ---------------------------------------------------------------------------
@dataclass
class Layout:
    """How records are laid out in a file: terminators, BOM, final newline, compression."""

    crlf: bool
    bom: bool
    final_newline: bool
    gzip: bool


layouts = st.builds(Layout, crlf=st.booleans(), bom=st.booleans(), final_newline=st.booleans(),
                    gzip=st.integers(0, 3).map(lambda k: k == 0))
blank_records = st.sampled_from([b"", b" ", b"\t", b"  \t ", b"\x0b", b"\x0c"]).map(
    lambda b: Rec(b, blank=True))


def write_file(path: Path, head: list[bytes], recs: list[Rec], layout: Layout) -> tuple[bytes, list[int]]:
    """Write ``head`` lines then ``recs``; the plain bytes, and the first physical line of each record."""
    eol = b"\r\n" if layout.crlf else b"\n"
    parts: list[bytes] = []
    starts: list[int] = []
    line = 1
    for k, data in enumerate([*head, *(r.data for r in recs)]):
        if k >= len(head):
            starts.append(line)
        parts.append(data)
        line += data.count(b"\n") + 1
    # An empty last line exists only when a terminator follows it.
    final = layout.final_newline or (bool(recs) and recs[-1].blank and not recs[-1].data)
    data = eol.join(parts) + (eol if final else b"")
    if layout.bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(gzip.compress(data, mtime=0) if layout.gzip else data)
    return data, starts


def corpus_rows(result: LoadResult) -> Counter[Row]:
    c = result.corpus
    cols = c.columns
    return Counter((c.users[cols.user[r]], c.item_ids[cols.item[r]], float(cols.rating[r]), int(cols.ts[r]),
                    c.titles[r], c.texts[r]) for r in range(len(c)))


@dataclass
class Expected:
    rows: Counter[Row]
    skipped: Counter[str]
    duplicates: int
    blank: int
    first_fault: tuple[int, Fault] | None


def expected_of(recs: list[Rec], starts: list[int], dedupe: Callable[[Row], tuple[Any, ...]]) -> Expected:
    rows: Counter[Row] = Counter()
    seen: set[tuple[Any, ...]] = set()
    skipped: Counter[str] = Counter()
    dups = blanks = 0
    first: tuple[int, Fault] | None = None
    for rec, start in zip(recs, starts, strict=True):
        if rec.blank:
            blanks += 1
        elif rec.fault is not None:
            skipped[rec.fault.kind] += 1
            if first is None:
                first = (start + rec.fault_offset, rec.fault)
        else:
            assert rec.row is not None
            key = dedupe(rec.row)
            if key in seen:
                dups += 1
                continue
            seen.add(key)
            user, item, rating, ts, title, text = rec.row
            rows[(user, item, _f32(rating), ts, title, text)] += 1
    return Expected(rows, skipped, dups, blanks, first)


def _dedupe(row: Row) -> tuple[Any, ...]:
    # The corpus drops a repeat of (user, item, text), or of (user, item, time) when there is no text.
    return ("text", row[0], row[1], row[5]) if row[5] else ("time", row[0], row[1], row[3])


def check(load: Loader, path: Path, data: bytes, recs: list[Rec], starts: list[int]) -> Expected:
    """Load ``path`` in both policies and compare everything with what the records say."""
    want = expected_of(recs, starts, _dedupe)
    for rec in recs:  # tallies for --hypothesis-show-statistics (the figures in RELIABILITY.md)
        event("blank" if rec.blank else f"fault {rec.fault.kind}" if rec.fault
              else "row" if rec.row and rec.row[5] else "row without text")
    event(f"duplicates {min(want.duplicates, 1)}")
    try:
        result = load(path, on_error="skip")
    except DataError as e:  # nothing in these files is a whole-file fault
        raise AssertionError(f"skip mode raised {e!r}") from e
    report = result.report
    got = corpus_rows(result)
    assert got == want.rows, (sorted(got - want.rows)[:2], sorted(want.rows - got)[:2])
    assert dict(report.skipped) == dict(want.skipped), report.examples
    assert report.duplicates == want.duplicates
    assert report.blank_lines == want.blank
    assert report.lines_read == data.count(b"\n") + (not data.endswith(b"\n"))
    if want.first_fault is None:
        again = load(path, on_error="raise")
        assert corpus_rows(again) == want.rows
        return want
    line, fault = want.first_fault
    with pytest.raises(DataError) as info:
        load(path, on_error="raise")
    err = info.value
    assert not isinstance(err, WrongFormatError)
    assert (err.file, err.line, err.kind, err.field) == (str(path), line, fault.kind, fault.field), str(err)
    return want


def _repeat(draw: st.DrawFn, recs: list[Rec]) -> list[Rec]:
    """Sometimes a good record repeated later: a counted duplicate, never a second row."""
    good = [r for r in recs if r.row is not None]
    if good and draw(st.integers(0, 3)) == 0:
        k = draw(st.integers(0, len(recs)))
        recs = [*recs[:k], draw(st.sampled_from(good)), *recs[k:]]
    return recs


@st.composite
def json_file(draw: st.DrawFn, fmt: JsonFormat) -> tuple[list[Rec], Layout]:
    # A first good record, so the file is recognised as the format (sniffing has its own tests).
    anchor = draw(json_record(fmt).filter(lambda r: r.row is not None and not r.data.startswith(b"{\"zz")))
    body = draw(st.lists(st.one_of(json_record(fmt), json_record(fmt), blank_records), max_size=8))
    recs = _repeat(draw, [anchor, *body])
    return recs, draw(layouts)


@pytest.mark.parametrize("fmt", JSON_FORMATS, ids=[f.name for f in JSON_FORMATS])
@pytest.mark.slow
@FUZZ
@given(data=st.data())
def test_json_records_load_exactly_or_fail_naming_line_and_field(tmp_path: Path, fmt: JsonFormat,
                                                                 data: st.DataObject) -> None:
    recs, layout = data.draw(json_file(fmt))
    path = tmp_path / f"{fmt.name}.jsonl"
    raw, starts = write_file(path, [], recs, layout)
    check(fmt.load, path, raw, recs, starts)


# -- CSV (MobileRec, and generic CSV with another delimiter) -----------------------------------------
@dataclass(frozen=True)
class CsvSchema:
    """A header drawn from the accepted spellings, in some order; which date columns it has."""

    columns: tuple[str, ...]
    user: str
    item: str
    text: str
    rating: str
    dates: tuple[tuple[str, str], ...]  # (canonical, spelled) in the loader's order of preference


DATE_ORDER = ("unix_timestamp", "formated_date", "date")
MARK = "<<BADBYTES>>"  # where invalid UTF-8 goes in a CSV record


@st.composite
def mobilerec_schemas(draw: st.DrawFn) -> CsvSchema:
    user = draw(st.sampled_from(["uid", "user_id"]))
    item = draw(st.sampled_from(["app_package", "package_name"]))
    text = draw(st.sampled_from(["review", "review_text"]))
    spelled = {"unix_timestamp": "unix_timestamp", "formated_date": draw(st.sampled_from(["formated_date",
                                                                                          "formatted_date"])),
               "date": "date"}
    have = draw(st.lists(st.sampled_from(DATE_ORDER), min_size=1, max_size=3, unique=True))
    dates = tuple((c, spelled[c]) for c in DATE_ORDER if c in have)
    extra = draw(st.lists(st.sampled_from(["votes", "app_category", "app_name", "notes"]), unique=True))
    cols = draw(st.permutations([user, item, text, "rating", *(s for _, s in dates), *extra]))
    return CsvSchema(tuple(cols), user, item, text, "rating", dates)


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def _date_cell(draw: st.DrawFn, canonical: str, ms: int) -> tuple[str, int | str]:
    """A cell of one date column for time ``ms``, and the millis it must read as, or its fault kind."""
    s = ms // 1000
    d = datetime.fromtimestamp(s, UTC)
    midnight = _day(ms)
    if canonical == "unix_timestamp":
        # Whole seconds, also as pandas writes them ("1603238400.0"); anything else is not an integer.
        cells: dict[str, int | str] = {str(s): s * 1000, f"{s}.0": s * 1000, f" {s} ": s * 1000,
                                       "-5": "bad_date", "1": "bad_date", str(10**15): "bad_date",
                                       "1e400": "bad_type", f"{s}.5": "bad_type", "abc": "bad_type",
                                       "nan": "bad_type", "inf": "bad_type"}
        v = draw(st.sampled_from(list(cells)))
        return v, cells[v]
    iso_day = f"{d.year}-{d.month:02d}-{d.day:02d}"
    cells = {iso_day: midnight, f"{iso_day} {d.hour:02d}:{d.minute:02d}:{d.second:02d}": s * 1000}
    if canonical == "date":
        month = MONTHS[d.month - 1]
        cells |= {f"{month} {d.day}, {d.year}": midnight, f"{month[:3]} {d.day}, {d.year}": midnight,
                  f"{month[:3]}. {d.day}, {d.year}": midnight}
    for bad in (f"{d.day} {MONTHS[d.month - 1]} {d.year}", f"{d.year}-02-30", f"{d.year}-13-01",
                "Sept 3, 2020", f"{d.year}/{d.month:02d}/{d.day:02d}", "1985-01-01", "2999-01-01", "soon",
                f"{iso_day}Z"):
        cells[bad] = "bad_date"
    v = draw(st.sampled_from(list(cells)))
    return v, cells[v]


def _csv_line(cells: list[str], delimiter: str) -> str:
    out = io.StringIO()
    # "\r\n" as the writer's terminator makes it quote a cell holding either character.
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(cells)
    return out.getvalue()[:-2]


@st.composite
def csv_record(draw: st.DrawFn, schema: CsvSchema, delimiter: str = ",") -> Rec:
    """One CSV record of ``schema`` (it may span lines) and what it must load to."""
    it = draw(intents)
    cells = {c: "" for c in schema.columns}
    cells[schema.user] = it.user
    cells[schema.item] = it.item
    cells[schema.text] = it.text
    cells["rating"] = repr(it.rating) if draw(st.booleans()) else str(it.rating)
    for c in ("votes", "notes", "app_name", "app_category"):
        if c in cells:
            cells[c] = draw(st.text(max_size=6))
    # The time: the first date column with a non-blank cell decides, good or bad.
    chosen = draw(st.integers(0, len(schema.dates) - 1))
    canonical, spelled = schema.dates[chosen]
    value, when = _date_cell(draw, canonical, it.ts)
    for _, s in schema.dates[:chosen]:
        cells[s] = draw(st.sampled_from(["", " ", "\t"]))  # blank: the next column is read
    cells[spelled] = value
    for _, s in schema.dates[chosen + 1:]:
        cells[s] = draw(st.sampled_from(["", "garbage", _iso(it.ts)[:10]]))  # never read
    fault = Fault(when, spelled) if isinstance(when, str) else None
    row: Row = (it.user, it.item, float(cells["rating"]), when if isinstance(when, int) else 0, "", it.text)
    mutation = draw(st.sampled_from(["none", "none", "none", "field", "field", "ragged", "bad_utf8",
                                     "quote", "quote_bad_utf8", "nul", "huge", "big", "no_text"]))
    if mutation in ("bad_utf8", "quote_bad_utf8"):
        cells[schema.text] = it.text + MARK
    offset = 0
    if mutation == "field":
        which = draw(st.sampled_from(["user", "item", "text", "rating"]))
        if which in ("user", "item"):
            col = schema.user if which == "user" else schema.item
            v = draw(st.sampled_from(["", " ", "\u3000", " padded ", "\t\n"]))
            cells[col] = v
            fault = Fault("missing_field", col) if not v.strip() else fault
            row = _set(row, 0 if which == "user" else 1, v.strip())
        elif which == "text":
            v = draw(st.one_of(st.sampled_from(BLANK_TEXTS), texts))
            cells[schema.text] = v
            row = _set(row, 5, "" if v.isspace() else v)  # an empty or blank cell: a rating-only review
        else:
            v = draw(st.sampled_from(["", " ", "abc", "nan", "inf", "-inf", "1e400", "0", "6", "5.0000001",
                                      " 4 ", "4e0", "\u0664", "0x4", "4,5"]))
            cells["rating"] = v
            try:
                x = float(v)
            except ValueError:
                x = None
            if x is None:
                fault = Fault("missing_field" if not v.strip() else "bad_type", "rating")
            elif not 1 <= x <= 5:
                fault = Fault("out_of_range", "rating")
            elif fault is None or fault.field == "rating":
                row = _set(row, 2, x)
    elif mutation == "huge":  # a cell past the 1 MiB field limit is a runaway quote, not a review
        cells[schema.text] = "y" * (1 << 20) + "z"
        fault = Fault("malformed", None)
    elif mutation == "big":  # 1 MB of text is a (long) review all the same
        cells[schema.text] = "y" * 1_000_000 + it.text
        row = _set(row, 5, cells[schema.text])
    elif mutation == "no_text":  # a rating-only review: an empty or blank cell, kept with "" as its text
        cells[schema.text] = draw(st.sampled_from(BLANK_TEXTS))
        row = _set(row, 5, "")
    if mutation in ("quote", "quote_bad_utf8"):
        # After a syntax error the csv module resumes at the next physical line, so a refused record
        # that spans lines is refused once per piece; kept to one line here to be counted once.
        cells = {c: re.sub(r"[\r\n]", " ", v) for c, v in cells.items()}
    order = [cells[c] for c in schema.columns]
    line = _csv_line(order, delimiter)
    if mutation == "ragged":
        line = line + delimiter + "surplus" if draw(st.booleans()) else _csv_line(order[:-1], delimiter)
        fault = Fault("malformed", None)
    elif mutation in ("quote", "quote_bad_utf8"):  # a quoted cell then more text: strict CSV refuses it
        line = '"quoted"tail' + delimiter + line
        fault = Fault("malformed", None)
    elif mutation == "nul":
        cells[schema.text] = it.text + "\x00"
        line = _csv_line([cells[c] for c in schema.columns], delimiter)
        if fault is None:
            row = _set(row, 5, it.text + "\x00")
    data = line.encode()
    if mutation in ("bad_utf8", "quote_bad_utf8"):
        # Invalid bytes in the text cell: the record is refused as encoding, at the line holding them,
        # unless the row is not CSV at all (then it is malformed, and the bytes go with it).
        k = data.index(MARK.encode())
        offset = data[:k].count(b"\n")
        data = data[:k] + draw(st.sampled_from(BAD_UTF8)) + data[k + len(MARK):]
        if mutation == "bad_utf8":
            fault = Fault("encoding", None)
    if fault is not None:
        return Rec(data, fault=fault, fault_offset=offset)
    return Rec(data, row=row)


@st.composite
def mobilerec_file(draw: st.DrawFn) -> tuple[CsvSchema, list[Rec], Layout]:
    schema = draw(mobilerec_schemas())
    anchor_ok = csv_record(schema).filter(lambda r: r.row is not None)
    recs = [draw(anchor_ok), *draw(st.lists(st.one_of(csv_record(schema), csv_record(schema),
                                                      blank_records.map(lambda r: replace(r, data=b""))),
                                            max_size=8))]
    return schema, _repeat(draw, recs), draw(layouts)


@pytest.mark.slow
@FUZZ
@given(case=mobilerec_file())
def test_mobilerec_rows_load_exactly_or_fail_naming_line_and_column(
        tmp_path: Path, case: tuple[CsvSchema, list[Rec], Layout]) -> None:
    schema, recs, layout = case
    path = tmp_path / "mobilerec.csv"
    header = _csv_line(list(schema.columns), ",").encode()
    raw, starts = write_file(path, [header], recs, layout)
    check(load_mobilerec, path, raw, recs, starts)


# -- streams that cannot be read to the end -----------------------------------------------------------
plain_lines = intents.map(lambda it: orjson.dumps(_a23_write(it)))


@pytest.mark.slow
@FUZZ
@given(lines=st.lists(plain_lines, min_size=1, max_size=40), cut=st.floats(0.0, 0.999))
def test_truncated_gzip_is_always_a_located_corrupt_file(tmp_path: Path, lines: list[bytes],
                                                         cut: float) -> None:
    whole = gzip.compress(b"\n".join(lines) + b"\n", mtime=0)
    n = max(2, math.floor(len(whole) * cut))  # two bytes at least: the gzip magic that marks the file
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[:n])
    for on_error in ("raise", "skip"):
        with pytest.raises(DataError) as info:
            load_amazon2023(path, on_error=on_error)
        err = info.value
        assert err.kind == "corrupt_file" and err.file == str(path) and err.line is not None and err.line >= 1


@pytest.mark.slow
@FUZZ
@given(lines=st.lists(plain_lines, min_size=1, max_size=5),
       tail=st.binary(min_size=1, max_size=12).filter(lambda b: b.strip(b"\x00")))
def test_garbage_after_a_gzip_stream_is_a_corrupt_file_not_a_silent_stop(tmp_path: Path, lines: list[bytes],
                                                                        tail: bytes) -> None:
    path = tmp_path / "tail.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n", mtime=0) + tail)
    with pytest.raises(DataError) as info:
        load_amazon2023(path, on_error="skip")
    assert info.value.kind == "corrupt_file"


# -- faults the fuzzing found, pinned ------------------------------------------------------------------
@pytest.mark.parametrize("follower", [b"", b"u2,com.app,nice app,4,2021-03-04"])
def test_bad_bytes_in_a_refused_csv_row_do_not_blame_the_next_row(tmp_path: Path, follower: bytes) -> None:
    # Found by the MobileRec fuzzing: a row that was both not CSV and not UTF-8 was refused as
    # malformed, but its bad bytes stayed pending and the next row (a good one, or a blank line) was
    # then refused as "encoding" at the earlier line: a good review lost under a wrong name.
    path = tmp_path / "m.csv"
    path.write_bytes(b"uid,app_package,review,rating,formated_date\n"
                     b"u1,com.app,good app,5,2021-03-03\n"
                     b'"quoted"tail,com.app,bad \xff bytes,3,2021-03-04\n' + follower + b"\n")
    result = load_mobilerec(path, on_error="skip")
    assert result.report.skipped == {"malformed": 1}
    assert len(result.corpus) == 1 + bool(follower)
    assert result.report.blank_lines == (not follower)
