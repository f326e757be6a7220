"""Loaders on bad input: every kind of fault is named (file, line, field) or counted, never lost or crashed.

The bad fixture files come with ``<name>.expect.json``: the kind each line must produce. Their
rating-only reviews ("no_text") are no fault: they are kept among the bad lines, and counted.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
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
from tests.support.paths import LOADER_FIXTURES as FIXTURES

NOT_FAULTS = {"ok", "no_text", "duplicate", "blank", "header"}
GENERIC = GenericConfig(delimiter=";", user="user", item="movie", rating="stars", timestamp="when",
                        text="comment")

Loader = Callable[..., LoadResult]
BAD: dict[str, tuple[Loader, Path]] = {
    "yelp": (load_yelp, FIXTURES / "yelp" / "review_bad.json"),
    "amazon2018": (load_amazon2018, FIXTURES / "amazon2018" / "reviews_bad.json"),
    "amazon2023": (load_amazon2023, FIXTURES / "amazon2023" / "All_Beauty_bad.jsonl"),
    "mobilerec": (load_mobilerec, FIXTURES / "mobilerec" / "mobilerec_bad.csv"),
    "generic": (partial(load_generic, config=GENERIC), FIXTURES / "generic" / "ratings_bad.csv"),
}
GOOD: dict[str, Path] = {
    "yelp": FIXTURES / "yelp" / "yelp_academic_dataset_review.json",
    "amazon2018": FIXTURES / "amazon2018" / "Clothing_Shoes_and_Jewelry_5.json",
    "amazon2023": FIXTURES / "amazon2023" / "All_Beauty.jsonl",
    "mobilerec": FIXTURES / "mobilerec" / "mobilerec_final.csv",
    "generic": FIXTURES / "generic" / "ratings.csv",
}


def expectations(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.with_name(path.name + ".expect.json").read_text())


def fault_lines() -> list[tuple[str, int, str, str | None]]:
    return [(name, e["line"], e["kind"], e["field"]) for name, (_, path) in BAD.items()
            for e in expectations(path) if e["kind"] not in NOT_FAULTS]


def test_every_kind_of_fault_is_covered() -> None:
    kinds = {kind for _, _, kind, _ in fault_lines()}
    # An empty review text is no fault in any loader: a rating-only review is kept (counted as no_text).
    assert kinds == {"malformed", "missing_field", "bad_type", "out_of_range", "bad_date", "encoding"}


@pytest.mark.parametrize("name", list(BAD))
def test_raise_mode_stops_at_the_first_bad_line(name: str) -> None:
    load, path = BAD[name]
    first = next(e for e in expectations(path) if e["kind"] not in NOT_FAULTS)
    with pytest.raises(DataError) as info:
        load(path)
    err = info.value
    assert (err.file, err.line, err.field, err.kind) == (str(path), first["line"], first["field"],
                                                         first["kind"])
    assert str(err).startswith(f"{path}:{first['line']}")


@pytest.mark.parametrize(("name", "line", "kind", "field"), fault_lines(),
                         ids=[f"{n}-{ln}-{k}" for n, ln, k, _ in fault_lines()])
def test_each_fault_alone_names_file_line_and_field(tmp_path: Path, name: str, line: int, kind: str,
                                                    field: str | None) -> None:
    load, path = BAD[name]
    lines = path.read_bytes().splitlines(keepends=True)
    expect = expectations(path)
    keep = [k for k, e in enumerate(expect) if e["kind"] in ("header", "ok")][:2]  # header and/or a good row
    keep = keep[:2] if expect[0]["kind"] == "header" else keep[:1]
    sample = tmp_path / path.name
    sample.write_bytes(b"".join(lines[k] for k in keep) + lines[line - 1])
    with pytest.raises(DataError) as info:
        load(sample)
    err = info.value
    assert not isinstance(err, WrongFormatError)
    assert (err.file, err.line, err.field, err.kind) == (str(sample), len(keep) + 1, field, kind)
    where = f"{sample}:{len(keep) + 1}" + (f", field {field!r}" if field else "")
    assert str(err).startswith(where)


@pytest.mark.parametrize("name", list(BAD))
def test_skip_mode_counts_each_kind(name: str) -> None:
    load, path = BAD[name]
    expect = expectations(path)
    result = load(path, on_error="skip")
    report = result.report
    kinds = Counter(e["kind"] for e in expect)
    assert report.skipped == {k: n for k, n in kinds.items() if k not in NOT_FAULTS}
    assert report.loaded == len(result.corpus) == kinds["ok"] + kinds["no_text"]
    assert report.notes.get("no_text", 0) == kinds["no_text"]
    assert result.corpus.stats().n_with_text == kinds["ok"]
    assert report.duplicates == kinds["duplicate"]
    assert report.blank_lines == kinds["blank"]
    assert report.lines_read == len(expect)
    for kind in report.skipped:
        assert report.examples[kind].startswith(str(path))  # the first message of each kind, located
    summary = report.summary()
    for kind, n in report.skipped.items():
        assert f"{kind}: {n}" in summary


WRONG: list[tuple[str, Loader, Path, str]] = [
    ("yelp-given-amazon2023", load_yelp, GOOD["amazon2023"], "Amazon 2023 reviews"),
    ("amazon2023-given-yelp", load_amazon2023, GOOD["yelp"], "Yelp reviews"),
    ("amazon2023-given-amazon2018", load_amazon2023, GOOD["amazon2018"], "Amazon 2018 reviews"),
    ("amazon2018-given-amazon2023", load_amazon2018, GOOD["amazon2023"], "Amazon 2023 reviews"),
    ("amazon2023-given-its-metadata", load_amazon2023, FIXTURES / "amazon2023" / "meta_All_Beauty.jsonl",
     "Amazon 2023 metadata"),
    ("amazon2023-given-csv", load_amazon2023, GOOD["mobilerec"], "MobileRec interactions"),
    ("mobilerec-given-jsonl", load_mobilerec, GOOD["amazon2023"], "JSON lines"),
    ("mobilerec-given-app-meta", load_mobilerec, FIXTURES / "mobilerec" / "app_meta.csv",
     "MobileRec app metadata"),
    ("yelp-given-text", load_yelp, FIXTURES / "not_a_dataset.txt", "no JSON object"),
    ("generic-given-other-columns", partial(load_generic, config=GENERIC), GOOD["mobilerec"], "header"),
]


@pytest.mark.parametrize(("loader", "path", "hint"), [w[1:] for w in WRONG], ids=[w[0] for w in WRONG])
@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_wrong_file_fails_on_first_lines_naming_the_expected_format(loader: Loader, path: Path, hint: str,
                                                                     on_error: str) -> None:
    with pytest.raises(WrongFormatError) as info:
        loader(path, on_error=on_error)  # skipping cannot save a file of the wrong format
    err = info.value
    assert err.kind == "wrong_format" and err.file == str(path) and err.line == 1
    assert err.expected and err.expected in str(err)
    assert hint in str(err)


@pytest.mark.parametrize(("loader", "reviews", "meta", "expected"), [
    (load_yelp, GOOD["yelp"], GOOD["yelp"], "Yelp Open Dataset businesses"),
    (load_amazon2018, GOOD["amazon2018"], GOOD["amazon2018"], "Amazon Reviews 2018 metadata"),
    (load_amazon2023, GOOD["amazon2023"], GOOD["amazon2023"], "Amazon Reviews 2023 metadata"),
    (load_mobilerec, GOOD["mobilerec"], GOOD["mobilerec"], "MobileRec app metadata"),
], ids=["yelp", "amazon2018", "amazon2023", "mobilerec"])
def test_reviews_given_as_metadata_is_a_wrong_format(loader: Loader, reviews: Path, meta: Path,
                                                     expected: str) -> None:
    with pytest.raises(WrongFormatError, match=expected) as info:
        loader(reviews, meta)
    assert info.value.file == str(meta)


@pytest.mark.parametrize("name", list(GOOD))
def test_empty_file_is_a_wrong_format(tmp_path: Path, name: str) -> None:
    load = BAD[name][0]
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(WrongFormatError, match="empty"):
        load(empty)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_amazon2023(tmp_path / "nope.jsonl")
    assert info.value.kind == "missing_file" and info.value.file == str(tmp_path / "nope.jsonl")


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_truncated_gzip_is_a_corrupt_file_whatever_the_policy(tmp_path: Path, on_error: str) -> None:
    big = b"".join(GOOD["amazon2023"].read_bytes() for _ in range(200))
    whole = gzip.compress(big, mtime=0)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError) as info:
        load_amazon2023(cut, on_error=on_error)
    assert info.value.kind == "corrupt_file" and info.value.file == str(cut)
    assert info.value.line is not None and info.value.line >= 1


def test_wrong_format_is_found_within_the_first_lines_only(tmp_path: Path) -> None:
    # Garbage first lines, then good records: the file is accepted when a good record is among the
    # first SNIFF_LINES lines, and the garbage is reported as malformed.
    good = GOOD["amazon2023"].read_bytes()
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(b"garbage\n" * 3 + good)
    result = load_amazon2023(mixed, on_error="skip")
    assert result.report.skipped == {"malformed": 3} and len(result.corpus) == 5
    late = tmp_path / "late.jsonl"
    late.write_bytes(b"garbage\n" * 25 + good)
    with pytest.raises(WrongFormatError):
        load_amazon2023(late, on_error="skip")


# -- random damage ---------------------------------------------------------------------------------

SAMPLES = [(BAD[name][0], GOOD[name].read_bytes()) for name in GOOD]


@st.composite
def damaged(draw: st.DrawFn) -> tuple[int, bytes]:
    """A good fixture with random byte edits, line drops, duplications and swaps."""
    which = draw(st.integers(0, len(SAMPLES) - 1))
    data = bytearray(SAMPLES[which][1])
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "dup_line", "drop_line", "swap_lines", "cut"]))
        if op in ("flip", "insert", "delete", "cut") and data:
            pos = draw(st.integers(0, len(data) - 1))
            if op == "flip":
                data[pos] = draw(st.integers(0, 255))
            elif op == "insert":
                data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
            elif op == "delete":
                del data[pos:pos + draw(st.integers(1, 20))]
            else:
                del data[pos:]
        else:
            lines = bytes(data).splitlines(keepends=True)
            if len(lines) < 2:
                continue
            k = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if op == "dup_line":
                lines.insert(j, lines[k])
            elif op == "drop_line":
                del lines[k]
            else:
                lines[k], lines[j] = lines[j], lines[k]
            data = bytearray(b"".join(lines))
    return which, bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=damaged(), compress=st.booleans())
def test_random_damage_gives_a_data_error_or_a_counted_skip(tmp_path: Path, case: tuple[int, bytes],
                                                            compress: bool) -> None:
    which, data = case
    load = SAMPLES[which][0]
    path = tmp_path / "damaged"
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    for on_error in ("raise", "skip"):
        try:
            result = load(path, on_error=on_error)
        except DataError:
            continue
        report = result.report
        assert report.loaded == len(result.corpus)
        assert report.lines_read == data.count(b"\n") + (not data.endswith(b"\n"))
        if on_error == "raise":
            assert report.skipped == {}
        # Nothing is lost silently: every record is kept, skipped or a counted duplicate. In JSON lines a
        # record is a non-blank line; in CSV a quoted cell may span lines and the header is no record.
        records = sum(1 for line in data.split(b"\n") if line.strip())
        accounted = report.loaded + report.n_skipped + report.duplicates
        if SAMPLES[which][1].startswith(b"{"):
            assert accounted == records
        else:
            assert accounted < records


def test_gzip_copy_of_a_bad_file_reports_the_same(tmp_path: Path) -> None:
    load, path = BAD["amazon2023"]
    gz = tmp_path / (path.name + ".gz")
    with open(path, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    plain, packed = load(path, on_error="skip").report, load(gz, on_error="skip").report
    assert plain.skipped == packed.skipped and plain.loaded == packed.loaded
