"""The upstream file formats the loaders read, and how each is recognised on a file's first lines.

A format names groups of keys (JSON lines) or columns (CSV); a group lists accepted spellings, the
first being the name the loaders use. A file is of a format when some record among its first lines
has one key of every group and none of the forbidden keys. The registry lets an error say what a
wrong file looks like ("this looks like Yelp reviews").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "AMAZON2018_META",
    "AMAZON2018_REVIEWS",
    "AMAZON2023_META",
    "AMAZON2023_REVIEWS",
    "KNOWN_FORMATS",
    "MOBILEREC_META",
    "MOBILEREC_REVIEWS",
    "YELP_BUSINESS",
    "YELP_REVIEWS",
    "Format",
]


@dataclass(frozen=True)
class Format:
    """An input format: its syntax, the key groups that identify it, and a description for errors."""

    description: str
    syntax: Literal["jsonl", "csv"]
    groups: tuple[tuple[str, ...], ...]
    forbidden: tuple[str, ...] = ()
    # CSV only: columns resolved when present (e.g. the several date columns of MobileRec).
    optional: tuple[tuple[str, ...], ...] = ()
    # At least one of these must be present too (e.g. one of MobileRec's date columns).
    any_of: tuple[str, ...] = ()

    def resolve(self, names: Collection[str]) -> dict[str, str] | None:
        """Canonical name -> the spelling present, for every group; None when the names do not fit."""
        if any(f in names for f in self.forbidden):
            return None
        if self.any_of and not any(n in names for n in self.any_of):
            return None
        found: dict[str, str] = {}
        for group in self.groups:
            hit = next((n for n in group if n in names), None)
            if hit is None:
                return None
            found[group[0]] = hit
        for group in self.optional:
            hit = next((n for n in group if n in names), None)
            if hit is not None:
                found[group[0]] = hit
        return found

    def matches(self, names: Collection[str] | Mapping[str, object]) -> bool:
        """Whether a record with these keys (or a CSV header) is of this format."""
        return self.resolve(names) is not None


YELP_REVIEWS = Format(
    "Yelp Open Dataset reviews JSONL (yelp_academic_dataset_review.json: review_id, user_id, business_id, "
    "stars, text, date 'YYYY-MM-DD HH:MM:SS', useful/funny/cool)",
    "jsonl", (("review_id",), ("user_id",), ("business_id",), ("stars",)),
)
YELP_BUSINESS = Format(
    "Yelp Open Dataset businesses JSONL (yelp_academic_dataset_business.json: business_id, name, city, "
    "state, stars, review_count, categories, attributes)",
    "jsonl", (("business_id",), ("name",), ("categories",)), forbidden=("review_id", "user_id"),
)
AMAZON2018_REVIEWS = Format(
    "Amazon Reviews 2018 JSONL (reviewerID, asin, overall, unixReviewTime, reviewTime, reviewText, "
    "summary, vote, verified, style)",
    "jsonl", (("reviewerID",), ("asin",), ("overall",)),
)
AMAZON2018_META = Format(
    "Amazon Reviews 2018 metadata JSONL (asin, title, brand, category, description, price)",
    "jsonl", (("asin",),), forbidden=("reviewerID", "overall", "parent_asin"),
)
AMAZON2023_REVIEWS = Format(
    "Amazon Reviews 2023 JSONL (rating, title, text, images, asin, parent_asin, user_id, timestamp ms, "
    "helpful_vote, verified_purchase)",
    "jsonl", (("rating",), ("parent_asin",), ("user_id",), ("timestamp",)),
)
AMAZON2023_META = Format(
    "Amazon Reviews 2023 metadata JSONL (parent_asin, title, main_category, categories, features, "
    "description, average_rating, rating_number, details, store)",
    "jsonl", (("parent_asin",), ("title",), ("categories",)), forbidden=("user_id", "rating"),
)
# Column spellings seen in the published MobileRec files (Hugging Face recmeapp/mobilerec).
MOBILEREC_REVIEWS = Format(
    "MobileRec interactions CSV (mobilerec_final.csv: uid, app_package, app_name, app_category, review, "
    "rating, votes, date / formated_date)",
    "csv", (("uid", "user_id"), ("app_package", "package_name"), ("review", "review_text"), ("rating",)),
    optional=(("unix_timestamp",), ("formated_date", "formatted_date"), ("date",),
              ("app_category", "category"), ("app_name",)),
    any_of=("unix_timestamp", "formated_date", "formatted_date", "date"),
)
MOBILEREC_META = Format(
    "MobileRec app metadata CSV (app_meta.csv: app_package, app_name, app_category, description, ...)",
    "csv", (("app_package", "package_name"),), forbidden=("uid", "review"),
    optional=(("app_name",), ("app_category", "category"), ("description",)),
)

KNOWN_FORMATS: dict[str, Format] = {
    "Yelp reviews": YELP_REVIEWS,
    "Yelp businesses": YELP_BUSINESS,
    "Amazon 2018 reviews": AMAZON2018_REVIEWS,
    "Amazon 2018 metadata": AMAZON2018_META,
    "Amazon 2023 reviews": AMAZON2023_REVIEWS,
    "Amazon 2023 metadata": AMAZON2023_META,
    "MobileRec interactions": MOBILEREC_REVIEWS,
    "MobileRec app metadata": MOBILEREC_META,
}
