"""The embedded sample world: a seeded Amazon-2023-style review corpus, generated and cached, with its truth.

No package ships Yelp, Amazon or MobileRec data, so the default run reads a generated world through
the real Amazon Reviews 2023 loader. The same :class:`WorldConfig` always gives byte-identical files.

The world's latent model (all of it is written to the truth file):

* **aspects**: the first ``n_aspects`` of :data:`profiling.world_text.ASPECT_BANK` that apply to the
  configured categories; an aspect applies to some categories or to all of them;
* **users**: one or two main categories (90 % of their reviews), an activity window inside the
  ``years``, sparse aspect importance (3 dominant aspects, sometimes a weaker 4th), which for 30 % of
  the users drifts linearly inside their window (one dominant aspect hands its weight to another),
  a per-aspect like/dislike bias and a rating offset;
* **items**: Zipf-like popularity, and per relevant aspect a quality that is stable, moves linearly
  or moves as a step over the years (improving or worsening);
* **reviews**: each user reviews an item at most once; a review's aspect mentions are drawn in
  proportion to the user's importance at review time, restricted to the aspects of the item's
  category (more mentions when more of the user's importance applies); a mention's polarity is
  ``sign(quality(item, aspect, t) + bias(user, aspect) + noise)``; the star rating follows the
  review's polarity balance plus noise;
* **sentences** (:mod:`profiling.world_text`): one aspect (plain, hedged or negated phrasings), two
  aspects in one sentence (about 10 %), or none ("Bought this for my sister's birthday.", about 15 %).

Text rule (what a splitter must give back): a review's ``text`` is its sentences joined by exactly
one space. Every sentence starts with a capital letter and ends with a terminator run (``.``, ``!``,
``?`` or ``...``), optionally followed by a space and one emoji, or ends with an emoji alone; no
sentence holds a terminator followed by a space anywhere else, nor an abbreviation with a period.
So splitting after each terminator run (keeping a following emoji with it) or emoji that is
followed by a space and a capital letter returns exactly the truth's sentence texts.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from profiling import world_text as wt
from profiling.cache_dir import cache_dir
from profiling.errors import ConvRecError, DataError

if TYPE_CHECKING:
    from profiling.corpus import Corpus

__all__ = ["GENERATOR_VERSION", "TruthAspect", "TruthItem", "TruthLookupError", "TruthSentence",
           "TruthTrajectory", "TruthUser", "WorldConfig", "WorldPaths", "WorldTruth", "ensure_sample_world",
           "generate_world", "load_sample_world", "load_truth", "main", "world_key"]

# Bump whenever the generator's output changes for the same config: it is part of the cache key.
GENERATOR_VERSION = "1"

Direction = Literal["improving", "worsening", "stable"]
Kind = Literal["stable", "linear", "step"]

_MS_PER_DAY = 86_400_000
_MIN_REVIEWS_PER_USER = 5
_MAX_REVIEWS_PER_USER = 150
_FILES = ("reviews.jsonl", "meta.jsonl", "truth.json")
_MANIFEST = "complete.json"
# Read once at import: the key must describe the code that runs, even if the files change meanwhile.
_SOURCE_DIGEST = hashlib.sha256(Path(__file__).read_bytes() + Path(wt.__file__).read_bytes()).hexdigest()


class TruthLookupError(ConvRecError, KeyError):
    """Raised when the truth is asked about a user, item or (item, aspect) pair it does not hold."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else ""


# -- configuration and results ---------------------------------------------------------------------
class WorldConfig(BaseModel):
    """Everything that decides the sample world; equal configs give byte-identical files."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(0, ge=0, lt=2**63, description="the one seed of every random choice")
    n_items: int = Field(300, ge=12, description="catalog size, spread evenly over the categories")
    n_users: int = Field(500, ge=5, description="number of reviewers")
    n_reviews: int = Field(15000, ge=10, description="total reviews (about n_reviews / n_users per user)")
    n_aspects: int = Field(16, ge=12, le=20, description="planted aspects (12-20)")
    years: int = Field(3, ge=1, le=10, description="length of the time span in years")
    start: date = Field(date(2021, 1, 1), description="first day of the span (UTC)")
    categories: tuple[str, ...] = Field(
        ("headphones", "laptops", "coffee makers", "running shoes", "backpacks", "skincare"),
        description=f"item categories, a subset of {sorted(wt.CATEGORY_INFO)}")

    @model_validator(mode="after")
    def _consistent(self) -> WorldConfig:
        unknown = [c for c in self.categories if c not in wt.CATEGORY_INFO]
        if unknown:
            raise ValueError(f"unknown categories {unknown}; known: {sorted(wt.CATEGORY_INFO)}")
        if len(set(self.categories)) != len(self.categories) or len(self.categories) < 2:
            raise ValueError("categories must be at least two distinct names")
        if (self.start.month, self.start.day) == (2, 29):
            raise ValueError("start may not be February 29: the span must end on the same day years later")
        if self.n_items < 4 * len(self.categories):
            raise ValueError(f"n_items must be at least 4 per category ({4 * len(self.categories)})")
        cap = _max_reviews_per_user(self.n_items)
        if not self.n_users * _MIN_REVIEWS_PER_USER <= self.n_reviews <= self.n_users * cap:
            raise ValueError(f"n_reviews must lie in [{self.n_users * _MIN_REVIEWS_PER_USER}, "
                             f"{self.n_users * cap}] for {self.n_users} users and {self.n_items} items")
        available = len(_select_aspects(self.categories, 20))
        if self.n_aspects > available:
            raise ValueError(f"only {available} aspects apply to categories {list(self.categories)}")
        return self


class WorldPaths(BaseModel):
    """Where one generated world lies: reviews and metadata (Amazon 2023 JSONL) and the truth file."""

    model_config = ConfigDict(frozen=True)

    root: Path
    reviews: Path
    meta: Path
    truth: Path

    @classmethod
    def under(cls, root: Path) -> WorldPaths:
        """The paths of a world written into ``root``."""
        return cls(root=root, reviews=root / _FILES[0], meta=root / _FILES[1], truth=root / _FILES[2])


# -- truth ----------------------------------------------------------------------------------------
class TruthAspect(BaseModel):
    """A planted aspect: id, readable name, and the categories where it applies ([] = everywhere)."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    categories: list[str] = Field(default_factory=list)


class TruthSentence(BaseModel):
    """One review sentence as planted: who, what, when, its exact text, its aspects and polarities."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    item: str = Field(description="parent_asin")
    timestamp: int = Field(description="epoch ms, as in the review line")
    index: int = Field(description="position of the sentence in the review text")
    text: str
    aspects: list[int] = Field(description="0, 1 or 2 aspect ids")
    polarity: list[int] = Field(description="+1 / -1, aligned with aspects")
    hedged: bool = False
    negated: bool = False


class TruthUser(BaseModel):
    """A user's latent state; importance moves linearly from start to end between the drift times."""

    model_config = ConfigDict(frozen=True)

    id: str
    categories: list[str]
    window_start_ms: int
    window_end_ms: int
    importance_start: list[float]
    importance_end: list[float]
    drift_start_ms: int
    drift_end_ms: int
    bias: list[float]
    rating_offset: float


class TruthTrajectory(BaseModel):
    """How an item's quality on one aspect moves: constant, linear between t0 and t1, or a step at t0."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    q_start: float
    q_end: float
    t0_ms: int
    t1_ms: int

    def at(self, ms: int) -> float:
        """The quality at epoch ms ``ms``."""
        if self.kind == "stable":
            return self.q_start
        if self.kind == "step":
            return self.q_start if ms < self.t0_ms else self.q_end
        frac = min(1.0, max(0.0, (ms - self.t0_ms) / max(1, self.t1_ms - self.t0_ms)))
        return self.q_start + frac * (self.q_end - self.q_start)


class TruthItem(BaseModel):
    """An item's category and its quality trajectory on every aspect that applies to it."""

    model_config = ConfigDict(frozen=True)

    id: str
    category: str
    quality: dict[int, TruthTrajectory]


class WorldTruth(BaseModel):
    """The planted ground truth of a sample world, with the time-dependent views tests measure against."""

    config: WorldConfig
    generator_version: str
    aspects: list[TruthAspect]
    users: dict[str, TruthUser]
    items: dict[str, TruthItem]
    sentences: list[TruthSentence]
    _labels: dict[tuple[str, str, int, str], TruthSentence] | None = PrivateAttr(None)

    def _user(self, user: str) -> TruthUser:
        try:
            return self.users[user]
        except KeyError:
            raise TruthLookupError(f"user {user!r} is not in the sample world") from None

    def _trajectory(self, item: str, aspect: int) -> TruthTrajectory:
        if item not in self.items:
            raise TruthLookupError(f"item {item!r} is not in the sample world")
        traj = self.items[item].quality.get(aspect)
        if traj is None:
            raise TruthLookupError(f"aspect {aspect} does not apply to item {item!r} "
                                   f"({self.items[item].category})")
        return traj

    def aspects_of(self, category: str) -> list[int]:
        """Ids of the aspects that apply to a category."""
        return [a.id for a in self.aspects if not a.categories or category in a.categories]

    def user_importance(self, user: str, at: datetime) -> dict[int, float]:
        """The user's aspect importance weights at ``at`` (aware datetime), summing to 1."""
        u = self._user(user)
        ms = _ms(at)
        span = u.drift_end_ms - u.drift_start_ms
        frac = 1.0 if span <= 0 and ms >= u.drift_end_ms else 0.0
        if span > 0:
            frac = min(1.0, max(0.0, (ms - u.drift_start_ms) / span))
        return {a: (1 - frac) * w0 + frac * w1
                for a, (w0, w1) in enumerate(zip(u.importance_start, u.importance_end, strict=True))}

    def user_top_aspects(self, user: str, at: datetime, k: int = 3) -> list[int]:
        """The user's ``k`` most important aspect ids at ``at``, most important first (ties by id)."""
        weights = self.user_importance(user, at)
        return [a for a, _ in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]

    def user_bias(self, user: str) -> dict[int, float]:
        """The user's like (> 0) or dislike (< 0) leaning per aspect id, added to item quality."""
        return dict(enumerate(self._user(user).bias))

    def item_quality(self, item: str, aspect: int, at: datetime) -> float:
        """The item's latent quality on an aspect at ``at`` (> 0 good); only for aspects that apply."""
        return self._trajectory(item, aspect).at(_ms(at))

    def trajectory_direction(self, item: str, aspect: int) -> Direction:
        """Whether the item's quality on the aspect rises, falls or stays over the span."""
        traj = self._trajectory(item, aspect)
        if traj.kind == "stable":
            return "stable"
        return "improving" if traj.q_end > traj.q_start else "worsening"

    def sentence_label(self, user: str, item: str, ts_ms: int,
                       text: str) -> tuple[list[int], list[int]] | None:
        """(aspects, polarity) of a sentence of review (user, item, ts_ms); None when there is no such one."""
        if self._labels is None:
            self._labels = {(s.user_id, s.item, s.timestamp, s.text): s for s in self.sentences}
        s = self._labels.get((user, item, ts_ms, text))
        return None if s is None else (list(s.aspects), list(s.polarity))


def _ms(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("times must be timezone-aware (UTC)")
    return round(at.timestamp() * 1000)


# -- generation ---------------------------------------------------------------------------------
def _max_reviews_per_user(n_items: int) -> int:
    # Each user reviews an item at most once; half the catalog keeps sampling without replacement sane.
    return min(_MAX_REVIEWS_PER_USER, n_items // 2)


def _select_aspects(categories: tuple[str, ...], n: int) -> list[wt.AspectLexicon]:
    chosen = [a for a in wt.ASPECT_BANK if not a.categories or set(a.categories) & set(categories)]
    return chosen[:n]


def _rng(config: WorldConfig, *stream: int) -> np.random.Generator:
    # One independent stream per stage (and per user), so changing one stage never shifts another.
    return np.random.default_rng([config.seed, *stream])


def _ident(rng: np.random.Generator, prefix: str, length: int, taken: set[str]) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    while True:
        ident = prefix + "".join(alphabet[k] for k in rng.integers(0, len(alphabet), length - len(prefix)))
        if ident not in taken:
            taken.add(ident)
            return ident


@dataclass(slots=True)
class _Item:
    id: str
    category: str
    variants: list[str]
    popularity: float
    brand: str
    title: str
    price: float
    quality: dict[int, TruthTrajectory]
    features: list[str]
    details: dict[str, str]


@dataclass(slots=True)
class _User:
    id: str
    categories: list[str]
    w0: np.ndarray
    w1: np.ndarray
    d0: int
    d1: int
    ws: int
    we: int
    bias: np.ndarray
    rating_offset: float
    n_reviews: int = 0


@dataclass(slots=True)
class _Review:
    user: int
    item: int
    ts: int
    rating: float
    title: str
    asin: str
    helpful: int
    verified: bool
    sentences: list[wt.Sentence] = field(default_factory=list)


class _World:
    """The generator: builds catalog, users and reviews from ``config``; deterministic."""

    def __init__(self, config: WorldConfig) -> None:
        self.config = config
        self.lex = _select_aspects(config.categories, config.n_aspects)
        self.n_aspects = len(self.lex)
        self.writer = wt.SentenceWriter(self.lex)
        self.relevant = {c: [a for a, lx in enumerate(self.lex) if not lx.categories or c in lx.categories]
                         for c in config.categories}
        start = datetime.combine(config.start, time(0), tzinfo=UTC)
        end = start.replace(year=start.year + config.years)
        self.t_start = int(start.timestamp() * 1000)
        self.t_end = int(end.timestamp() * 1000) - 1
        self.items = self._make_items()
        self.users = self._make_users()
        self.reviews = self._make_reviews()

    # catalog
    def _make_items(self) -> list[_Item]:
        cfg = self.config
        rng = _rng(cfg, 1)
        cats = list(cfg.categories)
        assignment = rng.permutation(np.arange(cfg.n_items) % len(cats))
        # Zipf-like popularity over a random ranking: a few hits, a long tail.
        popularity = 1.0 / (rng.permutation(cfg.n_items) + 1.0) ** 0.9
        taken: set[str] = set()
        span = self.t_end - self.t_start
        items: list[_Item] = []
        for k in range(cfg.n_items):
            cat = cats[assignment[k]]
            info = wt.CATEGORY_INFO[cat]
            asin = _ident(rng, "B0", 10, taken)
            variants = [asin] + [_ident(rng, "B0", 10, taken) for _ in range(int(rng.integers(1, 3)))] \
                if rng.random() < 0.25 else [asin]
            brand = wt.BRANDS[int(rng.integers(len(wt.BRANDS)))]
            product = info.products[int(rng.integers(len(info.products)))]
            model = f"{'XSAP'[int(rng.integers(4))]}{int(rng.integers(1, 10)) * 10}"
            lo, hi = info.price_range
            price = round(float(math.exp(rng.uniform(math.log(lo), math.log(hi)))), 2)
            overall = rng.normal(0.5, 0.5)
            quality: dict[int, TruthTrajectory] = {}
            for a in self.relevant[cat]:
                base = float(overall + rng.normal(0.0, 0.6))
                kind_draw = rng.random()
                if kind_draw < 0.5:
                    quality[a] = TruthTrajectory(kind="stable", q_start=round(base, 4), q_end=round(base, 4),
                                                 t0_ms=self.t_start, t1_ms=self.t_end)
                    continue
                sign = 1.0 if rng.random() < 0.5 else -1.0
                delta = float(rng.uniform(1.4, 2.4))
                q0, q1 = round(base - sign * delta / 2, 4), round(base + sign * delta / 2, 4)
                if kind_draw < 0.75:
                    t0 = self.t_start + int(rng.uniform(0.0, 0.25) * span)
                    t1 = self.t_end - int(rng.uniform(0.0, 0.25) * span)
                    quality[a] = TruthTrajectory(kind="linear", q_start=q0, q_end=q1, t0_ms=t0, t1_ms=t1)
                else:
                    t0 = self.t_start + int(rng.uniform(0.3, 0.7) * span)
                    quality[a] = TruthTrajectory(kind="step", q_start=q0, q_end=q1, t0_ms=t0, t1_ms=t0)
            features = [f.format(n=int(rng.integers(2, 9)) * 4) for f in info.features]
            first = self.t_start - int(rng.integers(30, 700)) * _MS_PER_DAY
            details = {"Brand": brand, "Color": wt.COLORS[int(rng.integers(len(wt.COLORS)))],
                       "Item Weight": f"{rng.uniform(0.2, 6.0):.1f} pounds",
                       "Date First Available": f"{datetime.fromtimestamp(first / 1000, UTC):%B %d, %Y}"}
            items.append(_Item(asin, cat, variants, float(popularity[k]), brand,
                               f"{brand} {model} {product}", price, quality, features, details))
        return items

    # users
    def _make_users(self) -> list[_User]:
        cfg = self.config
        rng = _rng(cfg, 2)
        cats = list(cfg.categories)
        span = self.t_end - self.t_start
        counts = self._review_counts(rng)
        taken: set[str] = set()
        users: list[_User] = []
        for k in range(cfg.n_users):
            uid = _ident(rng, "A", 28, taken)
            n_main = 1 if rng.random() < 0.7 else 2
            main = [cats[j] for j in sorted(rng.choice(len(cats), size=n_main, replace=False))]
            pool = sorted({a for c in main for a in self.relevant[c]})
            w0 = self._importance(rng, pool)
            w1 = w0.copy()
            length = int(span * rng.uniform(0.25, 1.0))
            ws = self.t_start + int(rng.integers(0, span - length + 1))
            we = ws + length
            d0, d1 = ws, we
            if rng.random() < 0.3:
                top3 = np.argsort(-w0, kind="stable")[:3]
                minor = [a for a in pool if a not in np.argsort(-w0, kind="stable")[:4]]
                if minor:
                    lose = int(top3[int(rng.integers(3))])
                    gain = int(minor[int(rng.integers(len(minor)))])
                    w1[lose], w1[gain] = w0[gain], w0[lose]
                    d0 = ws + int(length * rng.uniform(0.15, 0.3))
                    d1 = ws + int(length * rng.uniform(0.45, 0.6))
            bias = np.round(rng.normal(0.0, 0.35, self.n_aspects), 4)
            users.append(_User(uid, main, w0, w1, d0, d1, ws, we, bias,
                               round(float(rng.normal(0.0, 0.3)), 4), int(counts[k])))
        return users

    def _importance(self, rng: np.random.Generator, pool: list[int]) -> np.ndarray:
        # Sparse: three dominant aspects with clear gaps, sometimes a weaker fourth, a thin rest.
        # Aspects of one or two categories are favoured over the broad ones, so that the broad
        # aspects (mentioned in most categories) do not swamp the sentence mix.
        levels = [rng.uniform(0.30, 0.38), rng.uniform(0.21, 0.26), rng.uniform(0.15, 0.17)]
        if rng.random() < 0.5:
            levels.append(rng.uniform(0.04, 0.07))
        favour = np.array([1.0 if len(self.lex[a].categories) > 2 or not self.lex[a].categories else 10.0
                           for a in pool])
        dominant = [int(a) for a in rng.choice(pool, size=min(len(levels), len(pool)), replace=False,
                                               p=favour / favour.sum())]
        w = np.zeros(self.n_aspects)
        used = levels[:len(dominant)]
        for a, level in zip(dominant, used, strict=False):
            w[a] = level
        rest = [a for a in range(self.n_aspects) if w[a] == 0.0]
        w[rest] = rng.dirichlet(np.ones(len(rest))) * (1.0 - w.sum())
        # The rest never outweighs a dominant aspect: cap it well below the weakest one.
        floor = min(used)
        w[rest] = np.minimum(w[rest], floor * 0.2)
        return np.round(w / w.sum(), 5)

    def _review_counts(self, rng: np.random.Generator) -> np.ndarray:
        cfg = self.config
        lo, hi = _MIN_REVIEWS_PER_USER, _max_reviews_per_user(cfg.n_items)
        raw = rng.lognormal(0.0, 0.7, cfg.n_users)
        counts = np.clip(np.floor(raw / raw.sum() * cfg.n_reviews), lo, hi).astype(np.int64)
        # Hand out (or take back) the remainder one review at a time, to users with room left.
        while (gap := cfg.n_reviews - int(counts.sum())) != 0:
            room = np.flatnonzero(counts < hi) if gap > 0 else np.flatnonzero(counts > lo)
            pick = rng.choice(room, size=min(abs(gap), len(room)), replace=False)
            counts[pick] += 1 if gap > 0 else -1
        return counts

    # reviews
    def _make_reviews(self) -> list[_Review]:
        cfg = self.config
        cats = list(cfg.categories)
        item_cat = np.array([cats.index(it.category) for it in self.items])
        pop = np.array([it.popularity for it in self.items])
        reviews: list[_Review] = []
        for k, user in enumerate(self.users):
            rng = _rng(cfg, 3, k)
            cat_w = np.full(len(cats), 0.1 / max(1, len(cats) - len(user.categories)))
            for c in user.categories:
                cat_w[cats.index(c)] = 0.9 / len(user.categories)
            p = pop * cat_w[item_cat]
            chosen = rng.choice(len(self.items), size=user.n_reviews, replace=False, p=p / p.sum())
            times = np.sort(rng.integers(user.ws, user.we + 1, size=user.n_reviews))
            # Per-sentence draws are many and tiny: Python's Mersenne Twister is 50x cheaper per call
            # than numpy's Generator there, and just as deterministic for a seed.
            text_rng = random.Random(int(rng.integers(2**62)))
            for i, ts in zip(chosen, times, strict=True):
                reviews.append(self._review(text_rng, k, int(i), int(ts)))
        # Chronological file order, as a dump sorted by time would have it.
        reviews.sort(key=lambda r: (r.ts, r.user))
        return reviews

    def _importance_at(self, user: _User, ts: int) -> np.ndarray:
        span = user.d1 - user.d0
        frac = min(1.0, max(0.0, (ts - user.d0) / span)) if span > 0 else 0.0
        return (1 - frac) * user.w0 + frac * user.w1

    def _review(self, r: random.Random, u: int, i: int, ts: int) -> _Review:
        user, item = self.users[u], self.items[i]
        rel = self.relevant[item.category]
        weights = self._importance_at(user, ts)[rel].tolist()
        # People write more about a product when what they care about applies to it: the review's
        # length grows with the importance mass of the item's aspects (a user's main categories).
        n_mentions = min(1 + _poisson(r, 2.6 * sum(weights)), 5)
        picks = r.choices(rel, weights, k=n_mentions)
        polarity = {a: self._polarity(r, user, item, a, ts) for a in sorted(set(picks))}
        sentences: list[wt.Sentence] = []
        k = 0
        while k < len(picks):
            a = picks[k]
            if k + 1 < len(picks) and picks[k + 1] != a and r.random() < 0.35:
                sentences.append(self.writer.pair(r, a, polarity[a], picks[k + 1], polarity[picks[k + 1]]))
                k += 2
            else:
                sentences.append(self.writer.single(r, a, polarity[a]))
                k += 1
        for _ in range((r.random() < 0.2) + (r.random() < 0.2)):
            sentences.insert(r.randrange(len(sentences) + 1), self.writer.off_topic(r, item.category))
        balance = sum(polarity[a] for a in picks) / len(picks)
        noisy = 3.1 + 1.9 * balance + user.rating_offset + r.gauss(0.0, 0.55)
        rating = float(min(5, max(1, round(noisy))))
        title = r.choice(wt.TITLES[int(rating)]).format(noun=wt.CATEGORY_INFO[item.category].noun)
        asin = r.choice(item.variants)
        helpful = _poisson(r, 0.3 + 0.25 * len(sentences)) if r.random() < 0.5 else 0
        return _Review(u, i, ts, rating, title, asin, helpful, r.random() < 0.9, sentences)

    def _polarity(self, r: random.Random, user: _User, item: _Item, a: int, ts: int) -> int:
        return 1 if item.quality[a].at(ts) + user.bias[a] + r.gauss(0.0, 0.6) >= 0 else -1


def _poisson(r: random.Random, lam: float) -> int:
    """A Poisson draw by inversion (Knuth): small means only, exact and deterministic for a seed."""
    limit, k, prod = math.exp(-lam), 0, r.random()
    while prod > limit:
        k += 1
        prod *= r.random()
    return k


# -- writing -----------------------------------------------------------------------------------
def _review_lines(world: _World) -> Iterator[bytes]:
    for r in world.reviews:
        yield orjson.dumps({
            "rating": r.rating, "title": r.title, "text": " ".join(s.text for s in r.sentences),
            "images": [], "asin": r.asin, "parent_asin": world.items[r.item].id,
            "user_id": world.users[r.user].id, "timestamp": r.ts, "helpful_vote": r.helpful,
            "verified_purchase": r.verified,
        })


def _meta_lines(world: _World) -> Iterator[bytes]:
    ratings: dict[int, list[float]] = {}
    for r in world.reviews:
        ratings.setdefault(r.item, []).append(r.rating)
    for k, it in enumerate(world.items):
        info = wt.CATEGORY_INFO[it.category]
        rs = ratings.get(k, [])
        yield orjson.dumps({
            "main_category": info.main_category, "title": it.title,
            "average_rating": round(sum(rs) / len(rs), 1) if rs else None, "rating_number": len(rs),
            "features": it.features,
            "description": [f"The {it.title} from {it.brand}, made for everyday use."],
            "price": it.price, "images": [], "videos": [], "store": it.brand,
            "categories": list(info.path), "details": it.details, "parent_asin": it.id,
            "bought_together": None,
        })


class _TruthFile(BaseModel):
    """The truth as stored: sentences column-wise (users and items by index) to keep the file small."""

    generator_version: str
    config: WorldConfig
    aspects: list[TruthAspect]
    users: list[TruthUser]
    items: list[TruthItem]
    s_user: list[int]
    s_item: list[int]
    s_ts: list[int]
    s_index: list[int]
    s_text: list[str]
    s_aspects: list[list[int]]
    s_polarity: list[list[int]]
    s_hedged: list[bool]
    s_negated: list[bool]


def _truth_file(world: _World) -> _TruthFile:
    cfg = world.config
    cols: dict[str, list] = {k: [] for k in ("u", "i", "t", "x", "s", "a", "p", "h", "n")}
    for r in world.reviews:
        for x, s in enumerate(r.sentences):
            for key, value in zip("uitxsaphn", (r.user, r.item, r.ts, x, s.text, s.aspects, s.polarity,
                                                 s.hedged, s.negated), strict=True):
                cols[key].append(value)
    return _TruthFile(
        generator_version=GENERATOR_VERSION, config=cfg,
        aspects=[TruthAspect(id=k, name=lx.name, categories=[c for c in lx.categories if c in cfg.categories])
                 for k, lx in enumerate(world.lex)],
        users=[TruthUser(id=u.id, categories=u.categories, window_start_ms=u.ws, window_end_ms=u.we,
                         importance_start=u.w0.tolist(), importance_end=u.w1.tolist(), drift_start_ms=u.d0,
                         drift_end_ms=u.d1, bias=u.bias.tolist(), rating_offset=u.rating_offset)
               for u in world.users],
        items=[TruthItem(id=it.id, category=it.category, quality=it.quality) for it in world.items],
        s_user=cols["u"], s_item=cols["i"], s_ts=cols["t"], s_index=cols["x"], s_text=cols["s"],
        s_aspects=cols["a"], s_polarity=cols["p"], s_hedged=cols["h"], s_negated=cols["n"],
    )


def _write_atomic(path: Path, lines: Iterator[bytes] | bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as f:
        if isinstance(lines, bytes):
            f.write(lines)
        else:
            for line in lines:
                f.write(line)
                f.write(b"\n")
    os.replace(tmp, path)


def generate_world(config: WorldConfig, out_dir: Path) -> WorldPaths:
    """Write the world of ``config`` into ``out_dir`` (always; overwrites) and return its paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    world = _World(config)
    paths = WorldPaths.under(out_dir)
    _write_atomic(paths.reviews, _review_lines(world))
    _write_atomic(paths.meta, _meta_lines(world))
    _write_atomic(paths.truth, _truth_file(world).model_dump_json().encode())
    return paths


# -- cache ----------------------------------------------------------------------------------------
def world_key(config: WorldConfig) -> str:
    """The cache key of a world: a hash of its config, the generator version and the generator's source.

    The source is hashed too so that an edited phrase bank or model never serves a stale cached world,
    even when nobody remembered to bump :data:`GENERATOR_VERSION`.
    """
    blob = f"{GENERATOR_VERSION}|{_SOURCE_DIGEST}|{config.model_dump_json()}".encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _complete(root: Path) -> bool:
    manifest = root / _MANIFEST
    if not manifest.is_file():
        return False
    try:
        sizes = orjson.loads(manifest.read_bytes())
        return all((root / name).is_file() and (root / name).stat().st_size == sizes[name] for name in _FILES)
    except (orjson.JSONDecodeError, KeyError, TypeError, OSError):
        return False


def ensure_sample_world(config: WorldConfig | None = None) -> WorldPaths:
    """The cached world of ``config`` (default config when None), generated on first use.

    It lives in ``cache_dir("sample_world", world_key(config))``. A world is generated in a temporary
    folder beside it and renamed into place when complete, so a killed run never leaves half a cache;
    a cached folder whose files are missing or of the wrong size is generated again.
    """
    config = config or WorldConfig()
    base = cache_dir("sample_world")
    final = base / world_key(config)
    if _complete(final):
        return WorldPaths.under(final)
    if final.exists():
        shutil.rmtree(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=base))
    tmp.chmod(0o755)  # mkdtemp makes it private; the renamed cache folder should look like any other
    try:
        generate_world(config, tmp)
        sizes = {name: (tmp / name).stat().st_size for name in _FILES}
        (tmp / _MANIFEST).write_bytes(orjson.dumps(sizes))
        try:
            os.rename(tmp, final)
        except OSError:
            # Another process finished the same world first: theirs is identical, use it.
            if not _complete(final):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return WorldPaths.under(final)


# -- reading --------------------------------------------------------------------------------------
def load_truth(path: Path) -> WorldTruth:
    """The ground truth stored at ``path`` (raises DataError when it is not a sample-world truth file)."""
    path = Path(path)
    try:
        raw = _TruthFile.model_validate_json(path.read_bytes())
    except OSError as e:
        raise DataError(f"cannot read the truth file: {e}", file=path, kind="missing") from e
    except ValidationError as e:
        first = e.errors()[0]
        raise DataError(f"not a sample-world truth file: {first['msg']}", file=path,
                        field=".".join(str(p) for p in first["loc"]), kind="malformed") from e
    n = len(raw.s_text)
    columns = (raw.s_user, raw.s_item, raw.s_ts, raw.s_index, raw.s_aspects, raw.s_polarity, raw.s_hedged,
               raw.s_negated)
    if any(len(c) != n for c in columns):
        raise DataError("sentence columns differ in length", file=path, field="s_text", kind="malformed")
    users = [u.id for u in raw.users]
    items = [it.id for it in raw.items]
    try:
        sentences = [
            TruthSentence.model_construct(user_id=users[u], item=items[i], timestamp=t, index=x, text=s,
                                          aspects=a, polarity=p, hedged=h, negated=g)
            for u, i, t, x, s, a, p, h, g in zip(*columns[:4], raw.s_text, *columns[4:], strict=True)
        ]
    except IndexError as e:
        raise DataError("a sentence names an unknown user or item", file=path, kind="malformed") from e
    return WorldTruth(config=raw.config, generator_version=raw.generator_version, aspects=raw.aspects,
                      users={u.id: u for u in raw.users}, items={it.id: it for it in raw.items},
                      sentences=sentences)


def load_sample_world(config: WorldConfig | None = None) -> Corpus:
    """The sample world as a Corpus, read through the real Amazon 2023 loader."""
    from profiling.loaders import load_amazon2023  # the loaders import this module's neighbours

    paths = ensure_sample_world(config)
    return load_amazon2023(paths.reviews, paths.meta).corpus


# -- command line ---------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    d = WorldConfig()
    parser = argparse.ArgumentParser(
        prog="python -m profiling.sample_world",
        description="Generate the sample world (Amazon 2023 reviews + metadata JSONL, and its truth) and "
                    "print where it lies. Without --out it is cached in the user's cache directory "
                    "($CONVREC_CACHE_DIR overrides) and reused when it is already there.")
    parser.add_argument("--seed", type=int, default=d.seed, help=f"the world's seed (default: {d.seed})")
    parser.add_argument("--n-items", type=int, default=d.n_items, help=f"catalog size (default: {d.n_items})")
    parser.add_argument("--n-users", type=int, default=d.n_users, help=f"reviewers (default: {d.n_users})")
    parser.add_argument("--n-reviews", type=int, default=d.n_reviews,
                        help=f"total reviews (default: {d.n_reviews})")
    parser.add_argument("--n-aspects", type=int, default=d.n_aspects,
                        help=f"planted aspects, 12-20 (default: {d.n_aspects})")
    parser.add_argument("--years", type=int, default=d.years, help=f"time span in years (default: {d.years})")
    parser.add_argument("--start", default=d.start.isoformat(),
                        help=f"first day of the span, YYYY-MM-DD, UTC (default: {d.start.isoformat()})")
    parser.add_argument("--categories", default=",".join(d.categories),
                        help=f"comma-separated categories among {sorted(wt.CATEGORY_INFO)} "
                             f"(default: {','.join(d.categories)})")
    parser.add_argument("--out", type=Path, default=None,
                        help="write the world into this folder, always regenerating "
                             "(default: the cache, generated only when missing)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; 0 on success, 2 on bad input (printed as one line)."""
    args = _parser().parse_args(argv)
    try:
        categories = tuple(c.strip() for c in args.categories.split(","))
        config = WorldConfig(seed=args.seed, n_items=args.n_items, n_users=args.n_users,
                             n_reviews=args.n_reviews, n_aspects=args.n_aspects, years=args.years,
                             start=args.start, categories=categories)
        paths = generate_world(config, args.out) if args.out is not None else ensure_sample_world(config)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}"
                             for err in e.errors())
        print(f"error: {problems}", file=sys.stderr)
        return 2
    except (ConvRecError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(paths.model_dump_json(indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
