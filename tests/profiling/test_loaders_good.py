"""Loaders on good fixture files (plain and gzip): the expected corpus, items, order, times and report."""

from __future__ import annotations

import gc
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

import profiling.loaders as loaders
from profiling.corpus import from_millis
from profiling.errors import DataError
from profiling.loaders import (
    GenericConfig,
    LoadReport,
    LoadResult,
    load_amazon2018,
    load_amazon2023,
    load_generic,
    load_mobilerec,
    load_yelp,
)
from tests.support.paths import LOADER_FIXTURES as FIXTURES


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def history(result: LoadResult, user: str) -> list[tuple[str, datetime, float]]:
    return [(i.item, i.timestamp, i.rating) for i in result.corpus.history(user)]


def test_public_api_is_exactly_this() -> None:
    assert sorted(loaders.__all__) == sorted([
        "GenericConfig", "LoadReport", "LoadResult", "ReviewSet", "load_amazon2018", "load_amazon2023",
        "load_clothing_reviews", "load_generic", "load_mobilerec", "load_yelp"])
    for name in loaders.__all__:
        assert getattr(loaders, name) is not None


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_yelp(suffix: str) -> None:
    d = FIXTURES / "yelp"
    result = load_yelp(d / f"yelp_academic_dataset_review.json{suffix}",
                       d / f"yelp_academic_dataset_business.json{suffix}")
    corpus, report = result.corpus, result.report
    assert (corpus.n_users, corpus.n_items, len(corpus)) == (3, 4, 6)
    # Reviews come out per user, oldest first, whatever the file order; Yelp dates are read as UTC.
    assert history(result, "hG7b0MtEbXx5QzbzE6C_VA") == [
        ("7ATYjTIgM3jUlt4UM3IypQ", utc(2014, 2, 5, 20, 30, 30), 4.0),
        ("XQfwVwDr-v0ZS3_CbbE5Xw", utc(2018, 7, 7, 22, 9, 11), 3.0)]
    pastries = corpus.items["XQfwVwDr-v0ZS3_CbbE5Xw"]
    assert pastries.title == "St Honore Pastries"
    assert pastries.categories == ("Restaurants", "Food", "Bubble Tea", "Coffee & Tea", "Bakeries")
    assert pastries.attributes["city"] == "Philadelphia"
    assert pastries.attributes["attributes"]["WiFi"] == "u'free'"
    assert corpus.items["YjUWPpI6HXG530lwP-fb2A"].categories == ()  # categories null upstream
    assert "e4Vwtrqf-wpJfwesgvdgxQ" not in corpus.items  # no review mentions it
    assert corpus.stats().n_items_without_metadata == 1  # kxX2... has reviews but no business record
    assert report.duplicates == 1 and "yelp_academic_dataset_review.json" in report.examples["duplicate"]
    assert report.skipped == {} and report.loaded == 6 and report.items_loaded == 3
    assert report.lines_read == 7 + 4
    assert report.files == [str(d / f"yelp_academic_dataset_review.json{suffix}"),
                            str(d / f"yelp_academic_dataset_business.json{suffix}")]


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_amazon2018(suffix: str) -> None:
    d = FIXTURES / "amazon2018"
    result = load_amazon2018(d / f"Clothing_Shoes_and_Jewelry_5.json{suffix}",
                             d / f"meta_Clothing_Shoes_and_Jewelry.json{suffix}")
    corpus = result.corpus
    assert (corpus.n_users, corpus.n_items, len(corpus)) == (3, 3, 5)
    assert history(result, "A3HO2SQDCZIE9S") == [("B00004T8R2", utc(2009, 1, 31), 2.0),
                                                 ("0000031887", utc(2009, 9, 13), 5.0)]
    # The review without unixReviewTime takes its day from reviewTime, and the report says so.
    assert history(result, "A1ZQAQFYSXL5MQ")[-1] == ("B00004T8R2", utc(2015, 5, 6), 3.0)
    assert result.report.notes == {"date_from_reviewTime": 1}
    first = corpus.history("A3HO2SQDCZIE9S")[1]
    assert first.title == "Great tutu" and first.text.startswith("This came in time")
    tutu = corpus.items["0000031887"]
    assert tutu.categories == ("Clothing, Shoes & Jewelry", "Girls", "Clothing", "Dresses")
    assert tutu.category == "Dresses"
    assert tutu.attributes["brand"] == "BubuBibi" and tutu.attributes["price"] == "$6.99"
    assert "B0UNUSED00" not in corpus.items


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_amazon2023(suffix: str) -> None:
    d = FIXTURES / "amazon2023"
    result = load_amazon2023(d / f"All_Beauty.jsonl{suffix}", d / f"meta_All_Beauty.jsonl{suffix}")
    corpus, report = result.corpus, result.report
    assert (corpus.n_users, corpus.n_items, len(corpus)) == (3, 4, 5)
    # Items are keyed by parent_asin: the review of variant B07PNNCSP8 counts for B07PNNCSP9.
    assert "B07PNNCSP9" in corpus.item_ids and "B07PNNCSP8" not in corpus.item_ids
    got = corpus.history("AGKHLEW2SOWHNMFQIJGBECAF7INQ")
    assert [i.item for i in got] == ["B081TJ8YS3", "B00YQ6X8EO"]
    assert got[0].timestamp == from_millis(1588615855070)  # milliseconds kept exactly
    assert corpus.columns.ts.tolist()[:2] == [1588615855070, 1588687728923]
    assert corpus.items["B00YQ6X8EO"].categories == ("All Beauty",)  # empty categories: main_category
    assert corpus.items["B00YQ6X8EO"].title == "Howard LC0008 Leather Conditioner, 8-Ounce"
    assert corpus.items["B081TJ8YS3"].categories == (
        "Beauty & Personal Care", "Skin Care", "Face", "Cleansers")
    assert corpus.items["B07PNNCSP9"].categories == ()  # neither categories nor main_category
    assert "images" not in corpus.items["B081TJ8YS3"].attributes
    assert corpus.items["B081TJ8YS3"].attributes["price"] == 7.99
    assert report.duplicate_items == 1 and report.items_loaded == 3
    assert corpus.stats().n_items_without_metadata == 1


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_mobilerec(suffix: str) -> None:
    d = FIXTURES / "mobilerec"
    result = load_mobilerec(d / f"mobilerec_final.csv{suffix}", d / f"app_meta.csv{suffix}")
    corpus, report = result.corpus, result.report
    assert (corpus.n_users, corpus.n_items, len(corpus)) == (3, 3, 5)
    assert history(result, "UB2") == [("com.spotify.music", utc(2020, 1, 15), 5.0),
                                      ("com.kiloo.subwaysurf", utc(2021, 5, 5), 1.0)]
    # A quoted review spanning two lines stays one review.
    assert corpus.history("UB2")[1].text == "Crashes on start.\nPlease fix!"
    assert corpus.history("UB2")[0].text == 'Great "offline" mode'
    subway = corpus.items["com.kiloo.subwaysurf"]
    assert subway.title == "Subway Surfers" and subway.categories == ("Arcade",)
    assert subway.attributes["developer_name"] == "SYBO Games"
    # Spotify has no app_meta record: its name and category come from the interaction rows.
    assert corpus.items["com.spotify.music"].categories == ("Music & Audio",)
    assert report.notes == {"date_from_formated_date": 1, "items_from_review_rows": 1}
    assert report.lines_read == 7 + 4


def test_mobilerec_column_variants() -> None:
    result = load_mobilerec(FIXTURES / "mobilerec" / "mobilerec_variant.csv")
    assert history(result, "U1") == [("com.whatsapp", utc(2019, 3, 2), 5.0),
                                     ("com.kiloo.subwaysurf", utc(2020, 10, 21), 2.0)]
    assert result.corpus.items["com.whatsapp"].title == "WhatsApp Messenger"
    assert result.report.notes["date_from_date"] == 1


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_generic_csv(suffix: str) -> None:
    d = FIXTURES / "generic"
    config = GenericConfig(source="movies", delimiter=";", user="user", item="movie", rating="stars",
                           timestamp="when", text="comment", item_categories="categories",
                           category_separator="|")
    result = load_generic(d / f"ratings.csv{suffix}", config, items=d / "items.csv")
    corpus = result.corpus
    assert corpus.source == "movies" and (corpus.n_users, corpus.n_items, len(corpus)) == (2, 2, 3)
    assert history(result, "196") == [("242", from_millis(881250949000), 3.0),
                                      ("302", from_millis(891717999000), 5.0)]
    assert corpus.history("186")[0].text == "Twisty; kept me guessing"
    assert corpus.items["302"].categories == ("Crime", "Film-Noir", "Mystery", "Thriller")
    assert corpus.items["242"].attributes == {"year": "1996"}


def test_generic_jsonl_iso_dates_and_int_ids() -> None:
    config = GenericConfig(user="uid", item="iid", rating="score", timestamp="ts", timestamp_unit="iso",
                           text="review", title="headline")
    result = load_generic(FIXTURES / "generic" / "reviews.jsonl", config)
    assert history(result, "196") == [("242", utc(1997, 12, 4, 15, 55, 49), 3.0)]
    assert history(result, "22") == [("377", utc(1997, 11, 7), 1.0)]
    assert [i.title for i in result.corpus.interactions()] == ["ok", ""]


def test_generic_config_refuses_one_field_for_two_roles() -> None:
    with pytest.raises(ValueError, match="different fields"):
        GenericConfig(user="id", item="id")


def test_gzip_is_detected_by_content_not_name(tmp_path: Path) -> None:
    src = FIXTURES / "amazon2023" / "All_Beauty.jsonl.gz"
    renamed = tmp_path / "reviews.jsonl"  # gzip bytes under a plain name
    shutil.copy(src, renamed)
    plain = tmp_path / "reviews.gz"  # plain bytes under a gzip name
    shutil.copy(FIXTURES / "amazon2023" / "All_Beauty.jsonl", plain)
    assert len(load_amazon2023(renamed).corpus) == len(load_amazon2023(plain).corpus) == 5


def test_limit_stops_after_that_many_reviews() -> None:
    d = FIXTURES / "amazon2023"
    result = load_amazon2023(d / "All_Beauty.jsonl", d / "meta_All_Beauty.jsonl", limit=2)
    assert len(result.corpus) == 2 and result.report.truncated
    # The first lines (up to SNIFF_LINES) are read ahead to check the format, so all 5 were read.
    assert result.report.lines_read == 5 + 5
    # Only the items of the kept reviews are read from the metadata.
    assert set(result.corpus.items) == {"B00YQ6X8EO", "B081TJ8YS3"}
    assert load_amazon2023(d / "All_Beauty.jsonl", limit=0).report.truncated


def test_report_summary_names_counts_and_examples() -> None:
    result = load_yelp(FIXTURES / "yelp" / "yelp_academic_dataset_review.json")
    text = str(result.report)
    assert text == result.report.summary()
    assert "loaded 6 reviews" in text and "1 duplicate" in text and "no bad records" in text
    assert isinstance(result.report, LoadReport)
    again = LoadReport.model_validate_json(result.report.model_dump_json())  # it crosses boundaries
    assert again == result.report


def test_loads_are_deterministic() -> None:
    d = FIXTURES / "yelp"
    business = d / "yelp_academic_dataset_business.json"
    a = load_yelp(d / "yelp_academic_dataset_review.json", business).corpus
    b = load_yelp(d / "yelp_academic_dataset_review.json.gz", business).corpus
    assert a.users == b.users and a.item_ids == b.item_ids and a.texts == b.texts
    assert a.columns.ts.tolist() == b.columns.ts.tolist()


def test_garbage_collection_is_restored_after_a_load(tmp_path: Path) -> None:
    assert gc.isenabled()
    load_amazon2023(FIXTURES / "amazon2023" / "All_Beauty.jsonl")
    assert gc.isenabled()
    with pytest.raises(DataError):
        load_amazon2023(FIXTURES / "amazon2023" / "All_Beauty_bad.jsonl")
    assert gc.isenabled()


def test_progress_bar_runs_over_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    result = load_amazon2023(FIXTURES / "amazon2023" / "All_Beauty.jsonl.gz", progress=True)
    assert len(result.corpus) == 5
    assert "All_Beauty.jsonl.gz" in capsys.readouterr().out
