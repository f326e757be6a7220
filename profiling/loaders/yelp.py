"""Yelp Open Dataset: ``yelp_academic_dataset_review.json`` and ``yelp_academic_dataset_business.json``.

Yelp writes review dates as local wall-clock ``"YYYY-MM-DD HH:MM:SS"`` without a zone; they are read
as UTC, which keeps every user's order intact but may shift absolute times by the city's offset.
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
    parse_iso_datetime,
    rating_value,
    req_str,
)
from profiling.loaders.formats import YELP_BUSINESS, YELP_REVIEWS
from profiling.loaders.pipeline import MetaSpec, ReviewSpec, Row, load
from profiling.loaders.report import FaultLog, LoadResult, OnError

__all__ = ["load_yelp"]

_ATTRIBUTES = ("city", "state", "stars", "review_count", "is_open", "attributes")


def _converter(names: Mapping[str, str], latest: int, faults: FaultLog) -> Callable[[dict[str, Any]], Row]:
    def convert(rec: dict[str, Any]) -> Row:
        req_str(rec, "review_id")  # present in every upstream record; its absence means a damaged line
        date = rec.get("date")
        if date is None:
            raise FieldFault("date", "missing_field", "required field is missing")
        ts = check_millis(parse_iso_datetime(date, "date"), "date", latest)
        return (req_str(rec, "user_id"), req_str(rec, "business_id"), rating_value(rec, "stars"), ts,
                "", opt_text(rec, "text"))  # a rating-only review is kept with "" (and counted)
    return convert


def _item_id(rec: dict[str, Any], names: Mapping[str, str]) -> str:
    return req_str(rec, "business_id")


def _categories(rec: dict[str, Any]) -> tuple[str, ...]:
    v = rec.get("categories")
    if v is None:
        return ()
    if type(v) is not str:
        raise FieldFault("categories", "bad_type",
                         f"expected a comma-separated string or null, got {v!r:.40}")
    return tuple(c for c in (part.strip() for part in v.split(",")) if c)


def _make_item(rec: dict[str, Any], names: Mapping[str, str], iid: str) -> Item:
    attrs = rec.get("attributes")
    if attrs is not None and type(attrs) is not dict:
        raise FieldFault("attributes", "bad_type", f"expected an object or null, got {attrs!r:.40}")
    attributes = {k: rec[k] for k in _ATTRIBUTES if rec.get(k) is not None}
    return Item(id=iid, title=opt_str(rec, "name"), categories=_categories(rec), attributes=attributes)


REVIEWS = ReviewSpec(YELP_REVIEWS, _converter)
META = MetaSpec(YELP_BUSINESS, _item_id, _make_item)


def load_yelp(reviews: str | Path, business: str | Path | None = None, *, on_error: OnError = "raise",
              progress: bool = False, limit: int | None = None) -> LoadResult:
    """The corpus of the Yelp Open Dataset (review file, optionally the business file for items).

    Required: ``review_id``, ``user_id``, ``business_id``, ``stars`` and ``date``. A review whose
    ``text`` is empty, blank, null or absent is kept with ``""`` as its text and counted in
    ``report.notes["no_text"]``; the vote counts (``useful``/``funny``/``cool``) are not read. Items
    are businesses; ``categories`` ("Restaurants, Pizza") become a tuple. Review dates are read as
    UTC. See :mod:`profiling.loaders` for the error policy.
    """
    return load("yelp", reviews, REVIEWS, business, META, on_error=on_error, progress=progress, limit=limit)
