"""Amazon Reviews 2018 (Ni, Li, McAuley): per-category reviews JSONL keyed by ``asin``, and metadata JSONL."""

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
    parse_numeric_mdy,
    rating_value,
    req_str,
    str_tuple,
)
from profiling.loaders.formats import AMAZON2018_META, AMAZON2018_REVIEWS
from profiling.loaders.pipeline import MetaSpec, ReviewSpec, Row, load
from profiling.loaders.report import FaultLog, LoadResult, OnError

__all__ = ["load_amazon2018"]

_DAY_MS = 86_400_000
_ATTRIBUTES = ("brand", "price", "main_cat", "description", "feature", "rank", "details")


def _converter(names: Mapping[str, str], latest: int, faults: FaultLog) -> Callable[[dict[str, Any]], Row]:
    def timestamp(rec: dict[str, Any]) -> int:
        unix = rec.get("unixReviewTime")
        day = rec.get("reviewTime")
        if unix is None:
            if day is None:
                raise FieldFault("unixReviewTime", "missing_field",
                                 "neither unixReviewTime nor reviewTime is set")
            faults.note("date_from_reviewTime")  # a fallback, so it is counted in the report
            return check_millis(parse_numeric_mdy(day, "reviewTime"), "reviewTime", latest)
        if type(unix) is not int:
            raise FieldFault("unixReviewTime", "bad_type",
                             f"expected integer epoch seconds, got {unix!r:.40}")
        ms = check_millis(unix * 1000, "unixReviewTime", latest)
        # Upstream, unixReviewTime is midnight UTC of reviewTime; a day of slack absorbs zone shifts.
        if day is not None and abs(parse_numeric_mdy(day, "reviewTime") - ms) > _DAY_MS:
            raise FieldFault("reviewTime", "bad_date", f"{day!r} disagrees with unixReviewTime {unix}")
        return ms

    def convert(rec: dict[str, Any]) -> Row:
        user, item, rating = req_str(rec, "reviewerID"), req_str(rec, "asin"), rating_value(rec, "overall")
        # summary and reviewText are absent from some real reviews (rating-only): "" then.
        title, text = opt_str(rec, "summary"), opt_text(rec, "reviewText")
        # The time goes last so that a fallback is only counted for a record that is kept.
        return user, item, rating, timestamp(rec), title, text
    return convert


def _item_id(rec: dict[str, Any], names: Mapping[str, str]) -> str:
    return req_str(rec, "asin")


def _make_item(rec: dict[str, Any], names: Mapping[str, str], iid: str) -> Item:
    attributes = {k: rec[k] for k in _ATTRIBUTES if rec.get(k) not in (None, "", [], {})}
    return Item(id=iid, title=opt_str(rec, "title"), categories=str_tuple(rec, "category"),
                attributes=attributes)


REVIEWS = ReviewSpec(AMAZON2018_REVIEWS, _converter)
META = MetaSpec(AMAZON2018_META, _item_id, _make_item)


def load_amazon2018(reviews: str | Path, meta: str | Path | None = None, *, on_error: OnError = "raise",
                    progress: bool = False, limit: int | None = None) -> LoadResult:
    """The corpus of an Amazon Reviews 2018 category (reviews, optionally its metadata file).

    Required: ``reviewerID``, ``asin``, ``overall`` and a time. Time is ``unixReviewTime`` (seconds),
    cross-checked against ``reviewTime`` ("MM DD, YYYY"), which is used, and counted in
    ``report.notes``, when the former is absent. ``summary`` is the title. A review without
    ``reviewText`` (absent, null or blank: rating-only reviews are common upstream) is kept with ``""``
    as its text and counted in ``report.notes["no_text"]``; ``summary`` may be absent too. ``vote``,
    ``style``, ``image``, ``verified`` and ``reviewerName`` are not read, so their absence never matters.
    """
    return load("amazon2018", reviews, REVIEWS, meta, META, on_error=on_error, progress=progress, limit=limit)
