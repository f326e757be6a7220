"""Profile types produced by stage 1 and read by the planners and agents.

Every profile is a snapshot "as of" a time ``at``: it is computed only from reviews strictly before
``at`` (no leakage from the future). Sentiments are in [-1, 1]; aspects are referred to by id into
the run's aspect table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Aspect", "AspectPreference", "AspectSentiment", "CatalogEntry", "ItemProfile", "ProfileSource",
           "Stance", "Trajectory", "UserProfile"]


class Aspect(BaseModel):
    """A discovered aspect: id, a readable name, its top phrases, size and example sentences."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    phrases: tuple[str, ...] = ()
    size: int = 0
    mean_sentiment: float = 0.0
    examples: tuple[str, ...] = ()


class AspectPreference(BaseModel):
    """How a user feels about one aspect, from their time-decayed sentences."""

    model_config = ConfigDict(frozen=True)

    aspect: int
    weight: float = Field(description="signed preference in [-1, 1]: > 0 liked, < 0 disliked")
    mentions: float = Field(ge=0, description="time-decayed count of the user's sentences on it")
    sentiment: float = Field(ge=-1, le=1, description="time-decayed mean sentiment of those sentences")
    evidence: tuple[str, ...] = Field(
        (), description="a few of the user's own sentences on it whose polarity agrees with the weight's "
        "sign (of the asked category's items when a category is given), latest first")
    evidence_ids: tuple[int, ...] = Field((), description="their sentence ids in the stage-1 sentence table")
    count: int = Field(0, ge=0, description="the user's mentions of it before `at` (not decayed)")
    positive: int = Field(0, ge=0, description="of those, mentions with positive polarity")
    negative: int = Field(0, ge=0, description="of those, mentions with negative polarity (complaints)")
    sentence_ids: tuple[int, ...] = Field(
        (), description="every sentence behind the preference, latest first (capped: ProfileSettings."
        "provenance_ids)")
    complaint_ids: tuple[int, ...] = Field(
        (), description="the user's sentences complaining about it, latest first")
    complaint_items: tuple[str, ...] = Field((), description="the item each complaint was about")


class UserProfile(BaseModel):
    """A user as of ``at``: aspect preferences, top liked and disliked aspects, habits."""

    model_config = ConfigDict(frozen=True)

    user: str
    at: datetime
    encoder: str = Field(description="which sentence encoder made the aspects behind this profile")
    half_life_days: float
    preferences: tuple[AspectPreference, ...] = Field((), description="sorted by |weight|, largest first")
    liked: tuple[int, ...] = Field((), description="top liked aspect ids, strongest first")
    disliked: tuple[int, ...] = Field((), description="top disliked aspect ids, strongest first")
    recent_items: tuple[str, ...] = Field((), description="item ids, most recent first")
    rating_mean: float = 0.0
    rating_std: float = 0.0
    n_reviews: int = 0

    def preference(self, aspect: int) -> AspectPreference | None:
        """The preference on one aspect, or None when the user never spoke of it."""
        return next((p for p in self.preferences if p.aspect == aspect), None)


Stance = Literal["positive", "negative", "mixed"]


class AspectSentiment(BaseModel):
    """The community's view of one aspect of an item as of ``at``, with the evidence behind it.

    ``stance`` is what the mentions support once their number is accounted for (profiling.evidence):
    a Beta posterior of the positive share whose credible interval lies on one side of one half.
    """

    model_config = ConfigDict(frozen=True)

    aspect: int
    sentiment: float = Field(ge=-1, le=1, description="smoothed mean sentiment in the latest bucket")
    mentions: int = Field(ge=0, description="mentions of this aspect before `at`")
    trend: float = Field(0.0, description="change of smoothed sentiment per bucket over recent buckets")
    evidence: tuple[str, ...] = Field(
        (), description="a few community sentences on it whose polarity agrees with the stance (none when "
        "mixed), latest first")
    evidence_ids: tuple[int, ...] = Field((), description="their sentence ids in the stage-1 sentence table")
    positive: int = Field(0, ge=0, description="mentions with positive polarity")
    negative: int = Field(0, ge=0, description="mentions with negative polarity")
    share_low: float = Field(0.0, ge=0, le=1, description="credible interval of the positive share, low")
    share_high: float = Field(1.0, ge=0, le=1, description="credible interval of the positive share, high")
    stance: Stance = Field("mixed", description="positive / negative when the interval excludes one half")
    trend_before: int = Field(0, ge=0, description="mentions in the trend window before its time cut")
    trend_after: int = Field(0, ge=0, description="mentions in the trend window after its time cut")
    sentence_ids: tuple[int, ...] = Field(
        (), description="every sentence behind these figures, latest first (capped: ProfileSettings."
        "provenance_ids)")


class ItemProfile(BaseModel):
    """An item as of ``at``: community sentiment per aspect, rating summary."""

    model_config = ConfigDict(frozen=True)

    item: str
    at: datetime
    title: str = ""
    category: str = ""
    aspects: tuple[AspectSentiment, ...] = Field((), description="sorted by mentions, most first")
    rating_mean: float = 0.0
    n_reviews: int = 0

    def aspect(self, aspect: int) -> AspectSentiment | None:
        """The community view of one aspect, or None when nobody wrote about it before ``at``."""
        return next((a for a in self.aspects if a.aspect == aspect), None)


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """An item as a catalog search reads it at a time: per aspect (id, sentiment, mentions), most
    mentioned first, ties by id; the same figures as its ItemProfile's ``aspects`` (a plain record:
    a search ranks whole catalogs of them)."""

    item: str
    title: str
    aspects: tuple[tuple[int, float, int], ...]

    @classmethod
    def of(cls, profile: ItemProfile) -> CatalogEntry:
        """The entry of a full profile."""
        return cls(profile.item, profile.title,
                   tuple((s.aspect, s.sentiment, s.mentions) for s in profile.aspects))


class Trajectory(BaseModel):
    """Community sentiment of one (item, aspect) over time buckets (e.g. quarters)."""

    item: str
    aspect: int
    bucket_starts: tuple[datetime, ...]
    mentions: tuple[int, ...]
    sentiment: tuple[float | None, ...] = Field(description="raw mean per bucket; None when no mention")
    smoothed: tuple[float, ...]


class ProfileSource(Protocol):
    """What later stages need from stage 1: the aspect table and profiles as of a time.

    ``category`` picks the user's evidence quotes among their reviews of that category's items (a
    running-shoe shopper is not quoted on a face cream); ``exclude_user`` leaves one user's own reviews
    out of an item's community view (what "other buyers" say).
    """

    @property
    def aspects(self) -> list[Aspect]: ...

    def user_profile(self, user: str, at: datetime, *, category: str | None = None) -> UserProfile: ...

    def item_profile(self, item: str, at: datetime, *, exclude_user: str | None = None,
                     evidence: bool = True) -> ItemProfile: ...

    def catalog_view(self, items: Sequence[str], at: datetime) -> list[CatalogEntry]: ...
