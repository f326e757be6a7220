"""The one load loop every dataset shares: reviews into a CorpusBuilder, then the metadata they need.

A dataset module supplies a :class:`ReviewSpec` (format + a converter from a record to the six
corpus fields, with ``""`` as the text of a rating-only review) and optionally a :class:`MetaSpec`
(format + item id + Item builder). Metadata is read after the reviews and only for items the reviews
mention, so a multi-gigabyte catalog costs no more memory than the items actually used.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Generator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from profiling.corpus import CorpusBuilder, Item
from profiling.errors import DataError
from profiling.loaders.fields import FieldFault, latest_ms
from profiling.loaders.formats import Format
from profiling.loaders.reading import LineReader, csv_records, json_records, make_progress
from profiling.loaders.report import FaultLog, LoadResult, OnError

__all__ = ["Converter", "MetaSpec", "ReviewSpec", "load"]

# (user, item, rating, epoch millis, title, text): the arguments of CorpusBuilder.add_raw.
Row = tuple[str, str, float, int, str, str]
Records = Generator[tuple[int, Any], None, None]
# Built once per file from the resolved column names and the latest plausible time.
Converter = Callable[[Mapping[str, str], int, FaultLog], Callable[[Any], Row]]


@dataclass(frozen=True)
class ReviewSpec:
    """How to read one dataset's review file."""

    fmt: Format
    converter: Converter


@dataclass(frozen=True)
class MetaSpec:
    """How to read one dataset's item metadata file."""

    fmt: Format
    item_id: Callable[[Any, Mapping[str, str]], str]
    make_item: Callable[[Any, Mapping[str, str], str], Item]


def _records(reader: LineReader, fmt: Format, faults: FaultLog,
             delimiter: str) -> tuple[Mapping[str, str], Records]:
    if fmt.syntax == "jsonl":
        return {}, json_records(reader, fmt, faults)
    return csv_records(reader, fmt, faults, delimiter)


def _located(fault: FieldFault, reader: LineReader, lineno: int) -> DataError:
    return DataError(fault.message, file=reader.name, line=lineno, field=fault.field, kind=fault.kind)


def load(source: str, reviews: str | Path, spec: ReviewSpec, meta: str | Path | None,
         meta_spec: MetaSpec | None, *, on_error: OnError, progress: bool, limit: int | None,
         delimiter: str = ",", review_items: dict[str, Item] | None = None) -> LoadResult:
    """Read ``reviews`` (then ``meta``) into a corpus named ``source``; see the package docs for the policy.

    ``review_items`` is filled by a converter that finds item details in the review rows themselves
    (MobileRec); metadata, when given, takes precedence over them.
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, not {limit}")
    # A load allocates millions of short-lived records while the corpus columns grow to millions of
    # entries; the cyclic collector keeps re-walking those columns and finds nothing (no cycles are
    # made), which measured at a quarter of the load time on 1M reviews. It is switched off for the
    # load and restored afterwards.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load(source, reviews, spec, meta, meta_spec, on_error=on_error, progress=progress,
                     limit=limit, delimiter=delimiter, review_items=review_items)
    finally:
        if collecting:
            gc.enable()


def _load(source: str, reviews: str | Path, spec: ReviewSpec, meta: str | Path | None,
          meta_spec: MetaSpec | None, *, on_error: OnError, progress: bool, limit: int | None,
          delimiter: str, review_items: dict[str, Item] | None) -> LoadResult:
    started = time.perf_counter()
    faults = FaultLog(source, on_error)
    report = faults.report
    builder = CorpusBuilder()
    wanted: set[str] = set()
    items: dict[str, Item] = {}
    with ExitStack() as stack:
        bar = stack.enter_context(make_progress()) if progress else None
        reader = stack.enter_context(LineReader(reviews, bar))
        report.files.append(reader.name)
        names, records = _records(reader, spec.fmt, faults, delimiter)
        try:
            report.loaded, report.truncated = _load_reviews(
                reader, records, spec.converter(names, latest_ms(), faults), builder, wanted, faults, limit)
        finally:
            records.close()  # runs the stream's own clean-up now, so lines_read is final
            report.lines_read += reader.lines_read
        if meta is not None:
            if meta_spec is None:
                raise ValueError(f"{source} has no metadata format")
            with LineReader(meta, bar) as meta_reader:
                report.files.append(meta_reader.name)
                try:
                    _load_meta(meta_reader, meta_spec, faults, wanted, items, delimiter)
                finally:
                    report.lines_read += meta_reader.lines_read
    report.items_loaded = len(items)
    if review_items:
        extra = {k: v for k, v in review_items.items() if k in wanted and k not in items}
        if extra:
            report.notes["items_from_review_rows"] = len(extra)
            items.update(extra)
    corpus = builder.build(items, source)
    report.elapsed_s = time.perf_counter() - started
    return LoadResult(corpus=corpus, report=report)


def _load_reviews(reader: LineReader, records: Records, convert: Callable[[Any], Row],
                  builder: CorpusBuilder, wanted: set[str], faults: FaultLog,
                  limit: int | None) -> tuple[int, bool]:
    """Reviews kept, and whether ``limit`` stopped the reading."""
    if limit == 0:
        return 0, True
    add = builder.add_raw
    want = wanted.add
    loaded = 0
    for lineno, rec in records:
        try:
            user, item, rating, ts, title, text = convert(rec)
        except FieldFault as f:
            faults.fail(_located(f, reader, lineno))
            continue
        if add(user, item, rating, ts, title, text):
            want(item)
            loaded += 1
            if not text:
                # A rating-only review is still an interaction; counted here, once it is known to be kept.
                faults.note("no_text")
            if loaded == limit:
                return loaded, True
        else:
            faults.duplicate(f"{reader.name}:{lineno}: repeats an earlier review by {user!r} of {item!r}")
    return loaded, False


def _load_meta(reader: LineReader, spec: MetaSpec, faults: FaultLog, wanted: set[str],
               items: dict[str, Item], delimiter: str) -> None:
    names, records = _records(reader, spec.fmt, faults, delimiter)
    try:
        _fill_items(reader, records, names, spec, faults, wanted, items)
    finally:
        records.close()


def _fill_items(reader: LineReader, records: Records, names: Mapping[str, str],
                spec: MetaSpec, faults: FaultLog, wanted: set[str], items: dict[str, Item]) -> None:
    first_line: dict[str, int] = {}
    for lineno, rec in records:
        try:
            iid = spec.item_id(rec, names)
        except FieldFault as f:
            faults.fail(_located(f, reader, lineno))
            continue
        if iid not in wanted:
            continue  # an item no loaded review mentions: not validated, not kept
        if iid in first_line:
            faults.duplicate(f"{reader.name}:{lineno}: item {iid!r} was already described at line "
                             f"{first_line[iid]}; the first record is kept", item=True)
            continue
        try:
            items[iid] = spec.make_item(rec, names, iid)
        except FieldFault as f:
            faults.fail(_located(f, reader, lineno))
            continue
        first_line[iid] = lineno
