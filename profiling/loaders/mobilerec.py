"""MobileRec (Maqbool et al., SIGIR 2023): ``mobilerec_final.csv`` interactions and ``app_meta.csv``.

The published files spell some columns differently (``uid``/``user_id``, ``formated_date``/
``formatted_date``) and carry the time in up to three columns. The time is read from the first
non-empty of ``unix_timestamp`` (epoch seconds), ``formated_date`` ("YYYY-MM-DD") and ``date``
("October 21, 2020" or "YYYY-MM-DD"), all as UTC; a row whose time comes from a later column than
the file's first one is counted in ``report.notes``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

from profiling.corpus import Item
from profiling.loaders.fields import (
    FieldFault,
    check_millis,
    csv_float,
    csv_int,
    parse_iso_date,
    parse_iso_datetime,
    parse_month_name_date,
)
from profiling.loaders.formats import MOBILEREC_META, MOBILEREC_REVIEWS
from profiling.loaders.pipeline import MetaSpec, ReviewSpec, Row, load
from profiling.loaders.report import FaultLog, LoadResult, OnError

__all__ = ["load_mobilerec"]

_DATE_COLUMNS = ("unix_timestamp", "formated_date", "date")


def _parse_date_cell(value: str, column: str) -> int:
    if value[:1].isdigit():
        return parse_iso_datetime(value, column) if len(value) > 10 else parse_iso_date(value, column)
    return parse_month_name_date(value, column)


def _time(row: Mapping[str, str], columns: list[tuple[str, str]], latest: int, faults: FaultLog) -> int:
    for k, (canonical, column) in enumerate(columns):
        value = row[column].strip()
        if not value:
            continue
        if canonical == "unix_timestamp":
            ms = check_millis(csv_int(value, column) * 1000, column, latest)
        else:
            ms = check_millis(_parse_date_cell(value, column), column, latest)
        if k:
            faults.note(f"date_from_{column}")  # counted once the date is known to be good
        return ms
    raise FieldFault(columns[0][1], "missing_field", "every date column of this row is empty")


def _converter(seen: dict[str, Item], names: Mapping[str, str], latest: int,
               faults: FaultLog) -> Callable[[Mapping[str, str]], Row]:
    uid, app, review, rating = names["uid"], names["app_package"], names["review"], names["rating"]
    date_columns = [(c, names[c]) for c in _DATE_COLUMNS if c in names]
    app_name, app_category = names.get("app_name"), names.get("app_category")

    def convert(row: Mapping[str, str]) -> Row:
        user, item, text = row[uid].strip(), row[app].strip(), row[review]
        if not user:
            raise FieldFault(uid, "missing_field", "is empty")
        if not item:
            raise FieldFault(app, "missing_field", "is empty")
        if text.isspace():
            text = ""  # a rating-only review (pandas writes a missing review as an empty cell): kept
        stars = csv_float(row[rating], rating, 1.0, 5.0)
        ts = _time(row, date_columns, latest, faults)
        if item not in seen and (app_name or app_category):
            # The interaction rows repeat each app's name and category: enough for an Item without app_meta.
            category = row[app_category].strip() if app_category else ""
            seen[item] = Item(id=item, title=row[app_name].strip() if app_name else "",
                              categories=(category,) if category else ())
        return user, item, stars, ts, "", text
    return convert


def _item_id(row: Mapping[str, str], names: Mapping[str, str]) -> str:
    column = names["app_package"]
    value = row[column].strip()
    if not value:
        raise FieldFault(column, "missing_field", "is empty")
    return value


def _make_item(row: Mapping[str, str], names: Mapping[str, str], iid: str) -> Item:
    used = {names[k] for k in ("app_package", "app_name", "app_category") if k in names}
    category = row[names["app_category"]].strip() if "app_category" in names else ""
    attributes = {k: v for k, v in row.items() if k not in used and v.strip()}
    return Item(id=iid, title=row[names["app_name"]].strip() if "app_name" in names else "",
                categories=(category,) if category else (), attributes=attributes)


META = MetaSpec(MOBILEREC_META, _item_id, _make_item)


def load_mobilerec(reviews: str | Path, meta: str | Path | None = None, *, on_error: OnError = "raise",
                   progress: bool = False, limit: int | None = None) -> LoadResult:
    """The corpus of MobileRec (interactions CSV, optionally ``app_meta.csv`` for the apps).

    Required: the user, the app package, ``rating`` and a time (one of the date columns). A row whose
    review cell is empty or blank is kept with ``""`` as its text and counted in
    ``report.notes["no_text"]``; ``votes``, ``app_name`` and ``app_category`` may be empty or absent.
    Items are app packages with ``app_category`` as their category; without ``app_meta.csv`` the
    name and category come from the interaction rows. Cells stay strings in item attributes.
    """
    seen: dict[str, Item] = {}
    spec = ReviewSpec(MOBILEREC_REVIEWS, partial(_converter, seen))
    return load("mobilerec", reviews, spec, meta, META, on_error=on_error, progress=progress, limit=limit,
                review_items=seen)
