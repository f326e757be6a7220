"""Amazon Reviews 2023 (McAuley lab): reviews JSONL keyed by ``parent_asin``, and its metadata JSONL."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from profiling.corpus import Item
from profiling.loaders.fields import (
    EARLIEST_MS,
    FieldFault,
    check_millis,
    opt_str,
    opt_text,
    rating_value,
    req_str,
    str_tuple,
)
from profiling.loaders.formats import AMAZON2023_META, AMAZON2023_REVIEWS
from profiling.loaders.pipeline import MetaSpec, ReviewSpec, Row, load
from profiling.loaders.report import FaultLog, LoadResult, OnError

__all__ = ["load_amazon2023"]

# Metadata fields kept as item attributes; images and videos are URLs that no stage uses.
_ATTRIBUTES = ("main_category", "store", "average_rating", "rating_number", "price", "features",
               "description", "details")


def _converter(names: Mapping[str, str], latest: int, faults: FaultLog) -> Callable[[dict[str, Any]], Row]:
    def precise(rec: dict[str, Any]) -> Row:
        # The slow path: find the first unusable field and say what is wrong with it.
        ts = rec.get("timestamp")
        if type(ts) is not int:
            raise FieldFault("timestamp", "missing_field" if ts is None else "bad_type",
                             f"expected integer epoch milliseconds, got {ts!r:.40}")
        hint = " (the 2023 schema has milliseconds, not seconds)" if 0 < ts < EARLIEST_MS // 100 else ""
        return (req_str(rec, "user_id"), req_str(rec, "parent_asin"), rating_value(rec, "rating"),
                check_millis(ts, "timestamp", latest, hint), opt_str(rec, "title"), opt_text(rec, "text"))

    def convert(rec: dict[str, Any]) -> Row:
        # The fast path, inlined because it runs once per review: every field present and well typed.
        try:
            user, item, rating = rec["user_id"], rec["parent_asin"], rec["rating"]
            ts, title, text = rec["timestamp"], rec["title"], rec["text"]
        except KeyError:
            return precise(rec)
        if (type(user) is str and user and type(item) is str and item
                and (type(rating) is float or type(rating) is int) and 1 <= rating <= 5
                and type(ts) is int and EARLIEST_MS <= ts <= latest
                and type(title) is str and type(text) is str):
            # An empty or blank text is a rating-only review: kept, with "" as its text.
            return user, item, float(rating), ts, title, text if text and not text.isspace() else ""
        return precise(rec)
    return convert


def _item_id(rec: dict[str, Any], names: Mapping[str, str]) -> str:
    return req_str(rec, "parent_asin")


def _make_item(rec: dict[str, Any], names: Mapping[str, str], iid: str) -> Item:
    categories = str_tuple(rec, "categories")
    main = opt_str(rec, "main_category")
    if not categories and main:
        categories = (main,)  # the 2023 metadata leaves `categories` empty for many items
    attributes = {k: rec[k] for k in _ATTRIBUTES if rec.get(k) not in (None, "", [], {})}
    return Item(id=iid, title=opt_str(rec, "title"), categories=categories, attributes=attributes)


REVIEWS = ReviewSpec(AMAZON2023_REVIEWS, _converter)
META = MetaSpec(AMAZON2023_META, _item_id, _make_item)


def load_amazon2023(reviews: str | Path, meta: str | Path | None = None, *, on_error: OnError = "raise",
                    progress: bool = False, limit: int | None = None) -> LoadResult:
    """The corpus of an Amazon Reviews 2023 category (reviews, optionally its metadata file).

    Required: ``user_id``, ``parent_asin``, ``rating`` and ``timestamp`` (epoch milliseconds). Items
    are keyed by ``parent_asin`` (the metadata's key; ``asin`` names a variant and is not read). A
    review whose ``text`` is empty, blank, null or absent is kept with ``""`` as its text and counted
    in ``report.notes["no_text"]``; ``title`` may be empty, null or absent. ``images``,
    ``helpful_vote`` and ``verified_purchase`` are not read. ``limit`` stops after that many reviews
    are kept. See :mod:`profiling.loaders` for the error policy.
    """
    return load("amazon2023", reviews, REVIEWS, meta, META, on_error=on_error, progress=progress, limit=limit)
