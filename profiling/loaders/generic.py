"""Any JSON-lines or CSV review file, with the field names given by a :class:`GenericConfig`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from profiling.corpus import Item
from profiling.loaders.fields import FieldFault, check_millis, parse_iso_date, parse_iso_datetime
from profiling.loaders.formats import Format
from profiling.loaders.pipeline import MetaSpec, ReviewSpec, Row, load
from profiling.loaders.reading import READ_ERRORS, LineReader
from profiling.loaders.report import FaultLog, LoadResult, OnError

__all__ = ["GenericConfig", "load_generic"]


class GenericConfig(BaseModel):
    """Where a generic file keeps each corpus field, and how to read its values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field("generic", description="name of the corpus (its `source`)")
    format: Literal["auto", "jsonl", "csv"] = Field(
        "auto", description="file syntax; auto: JSON lines when the first non-blank byte is '{', else CSV")
    delimiter: str = Field(",", min_length=1, max_length=1, description="CSV delimiter")
    user: str = Field("user_id", description="field of the user id")
    item: str = Field("item_id", description="field of the item id")
    rating: str = Field("rating", description="field of the rating")
    timestamp: str = Field("timestamp", description="field of the time")
    timestamp_unit: Literal["s", "ms", "iso"] = Field(
        "s", description="epoch seconds, epoch milliseconds, or ISO 'YYYY-MM-DD[ HH:MM:SS]' read as UTC")
    text: str = Field("text", description="field of the review text (empty, null or absent: a rating-only "
                      "review, kept and counted under no_text)")
    title: str | None = Field(None, description="field of the review title, if any")
    rating_min: float = 1.0
    rating_max: float = 5.0
    item_key: str = Field("item_id", description="items file: field of the item id")
    item_title: str | None = Field("title", description="items file: field of the title")
    item_categories: str | None = Field(
        "categories", description="items file: list of categories, or one string split on category_separator")
    category_separator: str = Field(",", min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> GenericConfig:
        fields = [self.user, self.item, self.rating, self.timestamp, self.text]
        if len(set(fields)) != len(fields):
            raise ValueError(f"user, item, rating, timestamp and text must be different fields: {fields}")
        if self.rating_min >= self.rating_max:
            raise ValueError("rating_min must be below rating_max")
        return self


def _first_line(path: str | Path) -> bytes:
    with LineReader(path) as reader:
        try:
            for lineno, line in reader.numbered():
                reader.lines_read = lineno
                if line.strip():
                    return line.lstrip()
        except READ_ERRORS as e:
            raise reader.corrupt(reader.lines_read, e) from None
    return b""


def _syntax(path: str | Path, config: GenericConfig) -> Literal["jsonl", "csv"]:
    if config.format != "auto":
        return config.format
    return "jsonl" if _first_line(path).startswith(b"{") else "csv"


def _id(rec: Mapping[str, Any], name: str) -> str:
    v = rec.get(name)
    if type(v) is int:  # numeric ids (MovieLens-style) are ids all the same
        return str(v)
    if type(v) is str and v.strip():
        return v.strip()
    if v is None or type(v) is str:
        raise FieldFault(name, "missing_field", "required field is missing or empty")
    raise FieldFault(name, "bad_type", f"expected a string or integer id, got {v!r:.40}")


def _number(rec: Mapping[str, Any], name: str) -> float:
    v = rec.get(name)
    if type(v) is int or type(v) is float:
        return float(v)
    if type(v) is str and v.strip():
        try:
            return float(v)
        except ValueError:
            raise FieldFault(name, "bad_type", f"expected a number, got {v!r:.40}") from None
    if v is None or type(v) is str:
        raise FieldFault(name, "missing_field", "required field is missing or empty")
    raise FieldFault(name, "bad_type", f"expected a number, got {v!r:.40}")


def _converter(config: GenericConfig, names: Mapping[str, str], latest: int,
               faults: FaultLog) -> Callable[[Mapping[str, Any]], Row]:
    scale = {"s": 1000, "ms": 1}.get(config.timestamp_unit)
    lo, hi = config.rating_min, config.rating_max

    def timestamp(rec: Mapping[str, Any]) -> int:
        name = config.timestamp
        if scale is None:
            v = rec.get(name)
            if v is None or v == "":
                raise FieldFault(name, "missing_field", "required field is missing or empty")
            v = v.strip() if type(v) is str else v
            ms = parse_iso_datetime(v, name) if type(v) is str and len(v) > 10 else parse_iso_date(v, name)
        else:
            x = _number(rec, name)
            if not x.is_integer():
                raise FieldFault(name, "bad_date", f"expected whole epoch {config.timestamp_unit}, got {x!r}")
            ms = int(x) * scale
        return check_millis(ms, name, latest)

    def convert(rec: Mapping[str, Any]) -> Row:
        rating = _number(rec, config.rating)
        if not lo <= rating <= hi:
            raise FieldFault(config.rating, "out_of_range", f"rating {rating:g} is outside {lo:g}..{hi:g}")
        text = rec.get(config.text)
        if text is None or (type(text) is str and (not text or text.isspace())):
            text = ""  # a rating-only review: kept as an interaction, counted under "no text"
        elif type(text) is not str:
            raise FieldFault(config.text, "bad_type", f"expected a string, got {text!r:.40}")
        title = rec.get(config.title) if config.title else ""
        if title is None:
            title = ""
        elif type(title) is not str:
            raise FieldFault(config.title or "", "bad_type", f"expected a string, got {title!r:.40}")
        return _id(rec, config.user), _id(rec, config.item), rating, timestamp(rec), title, text
    return convert


def _make_item(config: GenericConfig, rec: Mapping[str, Any], names: Mapping[str, str], iid: str) -> Item:
    title = rec.get(config.item_title) if config.item_title else ""
    if title is not None and type(title) is not str:
        raise FieldFault(config.item_title or "", "bad_type", f"expected a string, got {title!r:.40}")
    cats: Any = rec.get(config.item_categories) if config.item_categories else None
    if type(cats) is str:
        categories = tuple(c.strip() for c in cats.split(config.category_separator) if c.strip())
    elif cats is None:
        categories = ()
    elif type(cats) is list and all(type(c) is str for c in cats):
        categories = tuple(cats)
    else:
        raise FieldFault(config.item_categories or "", "bad_type",
                         f"expected a list of strings or a string, got {cats!r:.40}")
    used = {config.item_key, config.item_title, config.item_categories}
    attributes = {k: v for k, v in rec.items() if k not in used and v not in (None, "")}
    return Item(id=iid, title=title or "", categories=categories, attributes=attributes)


def load_generic(path: str | Path, config: GenericConfig, items: str | Path | None = None, *,
                 on_error: OnError = "raise", progress: bool = False, limit: int | None = None) -> LoadResult:
    """The corpus of a JSON-lines or CSV review file mapped by ``config`` (optionally an items file).

    The file must have the five mapped fields (user, item, rating, timestamp, text) or it fails on
    its first lines with WrongFormatError naming them.
    """
    syntax = _syntax(path, config)
    fields = (config.user, config.item, config.rating, config.timestamp, config.text)
    fmt = Format(f"{syntax.upper() if syntax == 'csv' else 'JSON lines'} with the fields "
                 f"{', '.join(fields)} (as mapped by GenericConfig)", syntax, tuple((f,) for f in fields))
    meta_spec = None
    if items is not None:
        meta_syntax = _syntax(items, config)
        meta_fmt = Format(f"{'CSV' if meta_syntax == 'csv' else 'JSON lines'} items file with the field "
                          f"{config.item_key} (as mapped by GenericConfig)", meta_syntax,
                          ((config.item_key,),))
        meta_spec = MetaSpec(meta_fmt, lambda rec, names: _id(rec, config.item_key),
                             partial(_make_item, config))
    return load(config.source, path, ReviewSpec(fmt, partial(_converter, config)), items, meta_spec,
                on_error=on_error, progress=progress, limit=limit, delimiter=config.delimiter)
