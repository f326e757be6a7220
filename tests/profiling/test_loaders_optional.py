"""Real upstream records that leave optional fields out, empty or null: each one loads, none is an error.

The ``*_sparse`` fixtures (tests/fixtures/loaders/make_fixtures.py) hold one case per record, in the
exact upstream schema. A rating-only review is an interaction: it stays in the user's history with
``""`` as its text, is counted in ``report.notes["no_text"]``, and gives stage 1 no sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from profiling.corpus import Interaction, from_millis
from profiling.errors import DataError
from profiling.loaders import LoadResult, load_amazon2018, load_amazon2023, load_mobilerec, load_yelp
from profiling.loaders.__main__ import main
from profiling.seeds import SeedConfig, make_seeds
from profiling.sentences import sentence_table
from tests.support.paths import LOADER_FIXTURES

FIXTURES = LOADER_FIXTURES
A18 = FIXTURES / "amazon2018" / "reviews_sparse.json"
A23 = FIXTURES / "amazon2023" / "All_Beauty_sparse.jsonl"
YELP = FIXTURES / "yelp" / "review_sparse.json"
YELP_2017_BUSINESS = FIXTURES / "yelp" / "business_2017.json"
MOBILEREC = FIXTURES / "mobilerec" / "mobilerec_sparse.csv"
# Yelp users and businesses of the sparse file (the same ids as the other Yelp fixtures).
YU1, YU2, YU3 = "hG7b0MtEbXx5QzbzE6C_VA", "yXQM5uF2jS6es16SJzNHfg", "n6-Gk65cPZL6Uz8qRm3NYw"
YB1, YB2 = "XQfwVwDr-v0ZS3_CbbE5Xw", "7ATYjTIgM3jUlt4UM3IypQ"

Loader = Callable[..., LoadResult]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def find(result: LoadResult, user: str, item: str) -> Interaction:
    """The user's one interaction with the item, taken from their history."""
    (hit,) = [i for i in result.corpus.history(user) if i.item == item]
    return hit


# (case, loader, file, user, item, rating, time, title, text): what each sparse record must load to.
CASES = [
    ("amazon2018-no-reviewText-key", load_amazon2018, A18, "A2SUAM1J3GNN3B", "B001IKJOLW", 5.0,
     utc(2018, 4, 7), "Five Stars", ""),
    ("amazon2018-empty-reviewText", load_amazon2018, A18, "A1KLRMWW2FWPL4", "B0000AQRST", 2.0,
     utc(2016, 1, 1), "Two Stars", ""),
    ("amazon2018-blank-reviewText", load_amazon2018, A18, "A3OXHLG6DIBRW8", "B001IKJOLW", 1.0,
     utc(2017, 4, 1), "One Star", ""),
    ("amazon2018-no-summary", load_amazon2018, A18, "A1KLRMWW2FWPL4", "B001IKJOLW", 4.0,
     utc(2017, 1, 1), "", "Works, but the hose is short."),
    ("amazon2018-required-fields-only", load_amazon2018, A18, "A3OXHLG6DIBRW8", "B0000AQRST", 3.0,
     utc(2017, 3, 5), "", ""),
    ("amazon2023-empty-text", load_amazon2023, A23, "AHV6QCNBJNSGLATP56JAWJ3C4G2A", "B0BFR5WTL4", 4.0,
     from_millis(1611362384432), "Four Stars", ""),
    ("amazon2023-empty-title-and-text", load_amazon2023, A23, "AEYORY2AVPMCPDV57CE337YU5LXA", "B07J3GH1W1",
     1.0, from_millis(1592168913012), "", ""),
    ("amazon2023-null-title-and-text", load_amazon2023, A23, "AEYORY2AVPMCPDV57CE337YU5LXA", "B0BFR5WTL4",
     3.0, from_millis(1640995200000), "", ""),
    ("amazon2023-required-fields-only", load_amazon2023, A23, "AGXVBIUFLFGMVLATYXHJYL4A5Q7Q", "B07J3GH1W1",
     2.0, from_millis(1650000000000), "", ""),
    ("yelp-empty-text", load_yelp, YELP, YU1, YB2, 4.0, utc(2019, 6, 1, 18, 2, 44), "", ""),
    ("yelp-no-vote-counts", load_yelp, YELP, YU2, YB1, 2.0, utc(2019, 7, 12, 12, 30), "", "Slow service."),
    ("yelp-no-text-key", load_yelp, YELP, YU2, YB2, 3.0, utc(2019, 8, 1, 10), "", ""),
    ("yelp-2017-votes-object-and-bare-date", load_yelp, YELP, YU3, YB1, 4.0, utc(2016, 5, 28), "",
     "Great pizza, thin crust, friendly owner."),
    ("yelp-2017-rating-only", load_yelp, YELP, YU3, YB2, 1.0, utc(2016, 6, 2), "", ""),
    ("mobilerec-empty-review", load_mobilerec, MOBILEREC, "UA1", "com.whatsapp", 5.0, utc(2019, 3, 2),
     "", ""),
    ("mobilerec-blank-review", load_mobilerec, MOBILEREC, "UB2", "com.spotify.music", 3.0, utc(2020, 1, 15),
     "", ""),
    ("mobilerec-no-votes-no-category", load_mobilerec, MOBILEREC, "UB2", "com.whatsapp", 3.0,
     utc(2018, 6, 30), "", "Ok"),
    ("mobilerec-required-cells-only", load_mobilerec, MOBILEREC, "UC3", "com.spotify.music", 2.0,
     utc(2021, 2, 1), "", ""),
]


@pytest.mark.parametrize(("load", "path", "user", "item", "rating", "when", "title", "text"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_sparse_record_is_an_interaction_in_the_history(load: Loader, path: Path, user: str, item: str,
                                                             rating: float, when: datetime, title: str,
                                                             text: str) -> None:
    got = find(load(path), user, item)  # the strict policy: nothing here is a fault
    assert (got.rating, got.timestamp, got.title, got.text) == (rating, when, title, text)


# (loader, file, reviews, of which without text, the report's notes)
REPORTS = [
    (load_amazon2018, A18, 6, 4, {"no_text": 4}),
    (load_amazon2023, A23, 5, 4, {"no_text": 4}),
    (load_yelp, YELP, 6, 3, {"no_text": 3, "date_without_time": 2}),
    (load_mobilerec, MOBILEREC, 5, 3,
     {"no_text": 3, "date_from_formated_date": 1, "items_from_review_rows": 3}),
]


@pytest.mark.parametrize(("load", "path", "n", "no_text", "notes"), REPORTS,
                         ids=["amazon2018", "amazon2023", "yelp", "mobilerec"])
def test_the_report_counts_reviews_without_text(load: Loader, path: Path, n: int, no_text: int,
                                                notes: dict[str, int]) -> None:
    result = load(path)
    report = result.report
    assert report.loaded == len(result.corpus) == n and report.skipped == {} and report.duplicates == 0
    assert report.notes == notes
    assert sum(1 for t in result.corpus.texts if t == "") == no_text
    assert result.corpus.stats().n_with_text == n - no_text
    assert f"note no_text: {no_text}" in report.summary()


def test_the_cli_loads_rating_only_reviews_without_skip(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["amazon2018", str(A18), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "loaded 6 reviews" in out and "note no_text: 4" in out and "no bad records" in out


def test_rating_only_reviews_stay_in_seed_histories_and_targets() -> None:
    corpus = load_amazon2018(A18).corpus
    seeds = {(s.user, s.target.item): s for s in make_seeds(corpus, SeedConfig(min_history=1, n_negatives=0))}
    # The history before a text review holds the user's earlier rating-only review ...
    history = seeds[("A1KLRMWW2FWPL4", "B001IKJOLW")].history
    assert [(i.item, i.rating, i.text) for i in history] == [("B0000AQRST", 2.0, "")]
    # ... and a rating-only review is a target like any other.
    target = seeds[("A2SUAM1J3GNN3B", "B001IKJOLW")].target
    assert (target.rating, target.text) == (5.0, "")


@pytest.mark.parametrize(("load", "path"), [(r[0], r[1]) for r in REPORTS],
                         ids=["amazon2018", "amazon2023", "yelp", "mobilerec"])
def test_stage_one_finds_no_sentence_in_a_review_without_text(load: Loader, path: Path) -> None:
    corpus = load(path).corpus
    table = sentence_table(corpus)
    with_text = {r for r, t in enumerate(corpus.texts) if t}
    assert set(table.row.tolist()) == with_text  # every text review has sentences, no empty one has any
    assert all(s.strip() for s in table.texts)


def test_yelp_businesses_as_releases_before_2018_wrote_them() -> None:
    result = load_yelp(YELP, YELP_2017_BUSINESS)
    pastries, brewery = result.corpus.items[YB1], result.corpus.items[YB2]
    assert pastries.categories == ("Bakeries", "Food")  # a list, not a comma-separated string
    assert pastries.attributes["attributes"] == {"BikeParking": "True", "RestaurantsPriceRange2": "1",
                                                 "WiFi": "free"}
    assert brewery.categories == () and "attributes" not in brewery.attributes  # both null upstream
    assert result.report.items_loaded == 2 and result.report.skipped == {}


# (loader, a rating-only record of the sparse file, its rating field): without the rating it is no
# interaction at all, and fails as before, naming file, line and field.
RATING_ONLY = [
    (load_amazon2018, A18, 2, "overall"),
    (load_amazon2023, A23, 2, "rating"),
    (load_yelp, YELP, 2, "stars"),
]


@pytest.mark.parametrize(("load", "path", "line", "field"), RATING_ONLY,
                         ids=["amazon2018", "amazon2023", "yelp"])
def test_a_review_without_text_or_rating_is_still_a_missing_field(tmp_path: Path, load: Loader, path: Path,
                                                                  line: int, field: str) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    rec = orjson.loads(lines[line - 1])
    del rec[field]
    bad = tmp_path / path.name
    bad.write_bytes(lines[0] + orjson.dumps(rec) + b"\n")
    with pytest.raises(DataError) as info:
        load(bad)
    assert (info.value.file, info.value.line, info.value.field, info.value.kind) == (
        str(bad), 2, field, "missing_field")


def test_mobilerec_row_without_review_or_rating_is_still_a_missing_field(tmp_path: Path) -> None:
    header, first, rating_only = MOBILEREC.read_text().splitlines(keepends=True)[:3]
    bad = tmp_path / "mobilerec.csv"
    bad.write_text(header + first + rating_only.replace(",,5,", ",,,"))
    with pytest.raises(DataError) as info:
        load_mobilerec(bad)
    assert (info.value.line, info.value.field, info.value.kind) == (3, "rating", "missing_field")
