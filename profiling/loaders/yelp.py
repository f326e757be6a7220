"""Yelp Open Dataset: ``yelp_academic_dataset_review.json`` and ``yelp_academic_dataset_business.json``.

Yelp writes review dates as local wall-clock ``"YYYY-MM-DD HH:MM:SS"`` without a zone; they are read
as UTC, which keeps every user's order intact but may shift absolute times by the city's offset.
Releases before 2018 differ: dates are ``"YYYY-MM-DD"`` (read as midnight, counted in
``report.notes["date_without_time"]``), votes are one ``votes`` object, business ``categories`` is a
list and ``attributes`` a list of ``"Name: value"`` strings. Both shapes load.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from profiling.corpus import Item
from profiling.loaders.fields import (
    FieldFault,
    check_millis,
    opt_str,
    opt_text,
    parse_iso_date,
    parse_iso_datetime,
    rating_value,
    req_str,
)
from profiling.loaders.formats import YELP_BUSINESS, YELP_REVIEWS
from profiling.loaders.pipeline import MetaSpec, ReviewSpec, Row, load
from profiling.loaders.report import FaultLog, LoadResult, OnError

__all__ = ["load_yelp"]

_ATTRIBUTES = ("city", "state", "stars", "review_count", "is_open")


def _converter(names: Mapping[str, str], latest: int, faults: FaultLog) -> Callable[[dict[str, Any]], Row]:
    def timestamp(rec: dict[str, Any]) -> int:
        date = rec.get("date")
        if date is None:
            raise FieldFault("date", "missing_field", "required field is missing")
        if type(date) is str and len(date) == 10:  # a day without a time, as older releases write it
            ms = check_millis(parse_iso_date(date, "date"), "date", latest)
            faults.note("date_without_time")
            return ms
        return check_millis(parse_iso_datetime(date, "date"), "date", latest)

    def convert(rec: dict[str, Any]) -> Row:
        req_str(rec, "review_id")  # present in every upstream record; its absence means a damaged line
        user, item, rating = req_str(rec, "user_id"), req_str(rec, "business_id"), rating_value(rec, "stars")
        text = opt_text(rec, "text")  # rating-only reviews are kept with "" (and counted)
        # The time goes last so that a note is only counted for a record that is otherwise good.
        return user, item, rating, timestamp(rec), "", text
    return convert


def _item_id(rec: dict[str, Any], names: Mapping[str, str]) -> str:
    return req_str(rec, "business_id")


def _strings(v: Any) -> bool:
    return type(v) is list and all(type(x) is str for x in v)


def _categories(rec: dict[str, Any]) -> tuple[str, ...]:
    v = rec.get("categories")
    if v is None:
        return ()
    if _strings(v):  # releases before 2018 write a list
        return tuple(c for c in (part.strip() for part in v) if c)
    if type(v) is not str:
        raise FieldFault("categories", "bad_type",
                         f"expected a comma-separated string, a list of strings or null, got {v!r:.40}")
    return tuple(c for c in (part.strip() for part in v.split(",")) if c)


def _attributes(rec: dict[str, Any]) -> dict[str, Any] | None:
    v = rec.get("attributes")
    if v is None or type(v) is dict:
        return v
    if _strings(v):  # releases before 2018: ["BikeParking: True", ...]; read as the object later ones write
        return {name.strip(): value.strip() for name, _, value in (a.partition(":") for a in v)}
    raise FieldFault("attributes", "bad_type",
                     f"expected an object, a list of strings or null, got {v!r:.40}")


def _make_item(rec: dict[str, Any], names: Mapping[str, str], iid: str) -> Item:
    attributes = {k: rec[k] for k in _ATTRIBUTES if rec.get(k) is not None}
    attrs = _attributes(rec)
    if attrs is not None:
        attributes["attributes"] = attrs
    return Item(id=iid, title=opt_str(rec, "name"), categories=_categories(rec), attributes=attributes)


REVIEWS = ReviewSpec(YELP_REVIEWS, _converter)
META = MetaSpec(YELP_BUSINESS, _item_id, _make_item)


def load_yelp(reviews: str | Path, business: str | Path | None = None, *, on_error: OnError = "raise",
              progress: bool = False, limit: int | None = None) -> LoadResult:
    """The corpus of the Yelp Open Dataset (review file, optionally the business file for items).

    Required: ``review_id``, ``user_id``, ``business_id``, ``stars`` and ``date``. A review whose
    ``text`` is empty, blank, null or absent is kept with ``""`` as its text and counted in
    ``report.notes["no_text"]``; the vote counts (``useful``/``funny``/``cool`` or ``votes``) are not
    read. Items are businesses; ``categories`` ("Restaurants, Pizza") become a tuple. Review dates
    are read as UTC. See :mod:`profiling.loaders` for the error policy.
    """
    return load("yelp", reviews, REVIEWS, business, META, on_error=on_error, progress=progress, limit=limit)
