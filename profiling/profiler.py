"""Time-decayed user profiles and community sentiment trajectories of items, as of any time ``at``.

Only sentences (and interactions) strictly before ``at`` are read: sentences are kept sorted by time
per user and per item, and a binary search on the time column finds the cut. Nothing from ``at`` on
can reach a profile, whatever happens later in the corpus.

User preference on aspect ``a`` at time ``t``, from the user's sentences ``j`` before ``t`` labelled ``a``::

    w_j        = exp(-gamma * (t - t_j)), gamma = ln 2 / half_life   (half-life days old: weight 1/2)
    m_a        = sum_j w_j                                         decayed mentions (.mentions)
    s_a        = sum_j w_j * s_j / m_a                             decayed mean sentiment (.sentiment)
    importance = m_a / sum_b m_b                                   share of the user's decayed talk
    direction  = sum_j w_j * s_j / (m_a + prior)                   s_a shrunk toward 0 on thin evidence
    weight     = importance * direction                            in [-1, 1] (.weight)

Each preference also counts the user's mentions by sign, lists every sentence behind it and the
complaints among them, and quotes only sentences agreeing with its sign (of ``category``'s items if given).

"Top" aspects are those with the largest importance (what the user talks about most); ``liked`` are
those with ``direction > min_direction`` ranked by weight, ``disliked`` those with ``direction <
-min_direction`` ranked by -weight. Sentences the aspect model left without an aspect (label -1) count
for nothing.

Item trajectories: sentences bucketed by calendar quarter (or month / year) of UTC time. Per bucket,
the mention count and raw mean sentiment; the smoothed series is a count-weighted exponential
moving average, ``S_b = lam * S_(b-1) + sum_b``, ``C_b = lam * C_(b-1) + n_b``, smoothed ``S_b / C_b``
(empty buckets only decay the past, they do not pull it toward 0). The snapshot at ``t`` truncates the
bucket containing ``t`` at ``t``. The trend is the count-weighted least-squares slope of the bucket
means over the last ``trend_buckets`` buckets up to ``t``, in sentiment per bucket (for a steady
trend this is also the slope of the smoothed series, which lags but runs parallel).

Each community view also carries what a claim needs (``profiling.evidence``): mentions by sign, the
stance their credible interval supports, mentions on each side of the trend's time cut, every sentence
behind it, and quotes agreeing with the stance. ``exclude_user``: what *other* buyers say.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from pydantic import BaseModel, Field

from profiling.catalog_view import aspect_summaries, smooth
from profiling.corpus import Corpus, to_millis
from profiling.errors import ProfilingError
from profiling.evidence import share_interval, stance_of, trend_sides
from profiling.profiles import (
    Aspect,
    AspectPreference,
    AspectSentiment,
    CatalogEntry,
    ItemProfile,
    Trajectory,
    UserProfile,
)
from profiling.sentence_facts import SentenceFacts
from profiling.timeline import (
    Bucket,
    bucket_index,
    bucket_slopes,
    bucket_start,
    latest_per_label,
    sort_by_key_time,
)

__all__ = ["NaiveTimeError", "ProfileSettings", "SentenceFacts", "TemporalProfiler", "UnknownEntityError",
           "bucket_index", "bucket_start"]

_DAY_MS = 86_400_000


class UnknownEntityError(ProfilingError):
    """Raised when a profile is asked for a user, item or aspect id that the corpus or aspect table lacks."""


class NaiveTimeError(ProfilingError):
    """Raised when ``at`` has no time zone: a naive time means different instants on different machines."""


class ProfileSettings(BaseModel):
    """How profiles are computed from labelled, scored sentences (one place for the defaults)."""

    half_life_days: float = Field(180.0, gt=0, description="a sentence this old counts half as much")
    prior: float = Field(1.0, ge=0, description="pseudo-mentions of neutral sentiment shrinking `direction`")
    min_direction: float = Field(
        0.05, ge=0, description="|direction| needed to call an aspect liked/disliked"
    )
    top_n: int = Field(3, ge=1, description="liked / disliked aspects listed in a user profile")
    evidence: int = Field(2, ge=0, description="own sentences kept per aspect as evidence (most recent)")
    recent_items: int = Field(10, ge=0, description="most recent items listed in a user profile")
    bucket: Bucket = Field("quarter", description="trajectory bucket: calendar month, quarter or year")
    smoothing: float = Field(0.5, ge=0, lt=1, description="EMA carry-over of past buckets (0 = no smoothing)")
    trend_buckets: int = Field(4, ge=2, description="recent buckets the trend slope is fitted on")
    polar_threshold: float = Field(
        0.1, ge=0, lt=1, description="|mention polarity| above this: a positive or negative mention")
    stance_prior: float = Field(1.0, gt=0, description="Beta prior pseudo-counts of each sign (1: uniform)")
    stance_level: float = Field(0.9, gt=0, lt=1, description="credible interval a stance must hold at")
    provenance_ids: int = Field(200, ge=0, description="sentence ids kept per preference or community view")


class TemporalProfiler:
    """User and item profiles as of any time, from a corpus and its labelled, scored sentences.

    Implements :class:`profiling.profiles.ProfileSource`. Construction sorts everything once
    (O(n log n)); each profile then costs a binary search plus work linear in the sentences before
    ``at`` of that one user or item.
    """

    def __init__(
        self,
        corpus: Corpus,
        facts: SentenceFacts,
        aspects: Sequence[Aspect],
        *,
        encoder: str,
        settings: ProfileSettings | None = None,
    ) -> None:
        self.corpus = corpus
        self.facts = facts
        self._aspects = list(aspects)
        self.encoder = encoder
        self.settings = settings or ProfileSettings()
        self._k = len(self._aspects)
        if len(facts) and int(facts.label.max(initial=-1)) >= self._k:
            raise ProfilingError(
                f"sentence labels reach {int(facts.label.max())} but only {self._k} aspects given"
            )
        self._gamma = np.log(2.0) / (self.settings.half_life_days * _DAY_MS)
        # Sentences with an aspect only: the rest never weigh in a profile.
        keep = np.flatnonzero(facts.label >= 0)
        self._sent = keep
        ts = facts.ts[keep]
        self._u_order, self._u_off, self._u_ts = sort_by_key_time(facts.user[keep], ts, corpus.n_users)
        self._i_order, self._i_off, self._i_ts = sort_by_key_time(facts.item[keep], ts, corpus.n_items)
        self._bucket = bucket_index(facts.ts, self.settings.bucket)
        c = corpus.columns
        # Interactions per item by time, with prefix sums of ratings: an item's rating mean before
        # ``at`` is then O(log n).
        self._ri_order, self._ri_off, self._ri_ts = sort_by_key_time(c.item, c.ts, corpus.n_items)
        self._ri_csum = np.r_[0.0, np.cumsum(c.rating[self._ri_order], dtype=np.float64)]
        # Category code of every item, so evidence can be kept to one category's reviews.
        cats = [corpus.items[iid].category for iid in corpus.item_ids]
        self._cat_code = {cat: k for k, cat in enumerate(dict.fromkeys(cats))}
        self._item_cat = np.array([self._cat_code[cat] for cat in cats], dtype=np.int32)

    # -- ProfileSource ---------------------------------------------------------------------------
    @property
    def aspects(self) -> list[Aspect]:
        return list(self._aspects)

    def user_profile(self, user: str, at: datetime, *, category: str | None = None) -> UserProfile:
        """The profile of ``user`` from their reviews strictly before ``at``.

        ``category``: evidence quotes come only from the user's reviews of that category's items.
        """
        t = _millis(at)
        try:
            u = self.corpus.user_index(user)
        except KeyError:
            raise UnknownEntityError(f"unknown user {user!r}") from None
        st = self.settings
        # Rating habits and recent items from interactions (with or without text) before t.
        rows = self.corpus.rows(user)
        c = self.corpus.columns
        n_before = int(np.searchsorted(c.ts[rows.start : rows.stop], t, side="left"))
        past = slice(rows.start, rows.start + n_before)
        ratings = c.rating[past].astype(np.float64)
        recent: list[str] = []
        for i in c.item[past][::-1].tolist():
            if len(recent) >= st.recent_items:
                break
            iid = self.corpus.item_ids[i]
            if iid not in recent:
                recent.append(iid)

        lo = int(self._u_off[u])
        hi = lo + int(np.searchsorted(self._u_ts[lo : int(self._u_off[u + 1])], t, side="left"))
        idx = self._sent[self._u_order[lo:hi]]
        prefs: list[AspectPreference] = []
        liked: tuple[int, ...] = ()
        disliked: tuple[int, ...] = ()
        if len(idx):
            f = self.facts
            labels = f.label[idx]
            w = np.exp(-self._gamma * (t - f.ts[idx]).astype(np.float64))
            ws = w * f.sentiment[idx].astype(np.float64)
            m = np.bincount(labels, weights=w, minlength=self._k)
            sm = np.bincount(labels, weights=ws, minlength=self._k)
            count = np.bincount(labels, minlength=self._k)
            present = np.flatnonzero(count)
            importance = m / m.sum()
            direction = sm / (m + st.prior)
            mean = np.divide(sm, m, out=np.zeros_like(sm), where=m > 0)
            weight = importance * direction
            pos, neg = self._signs(idx)
            n_pos = np.bincount(labels[pos], minlength=self._k)
            n_neg = np.bincount(labels[neg], minlength=self._k)
            in_cat = self._in_category(idx, category)
            # Quotes agree with the preference's sign: a liker is quoted praising, a complainer complaining.
            ev_pos = latest_per_label(labels[pos & in_cat], idx[pos & in_cat], st.evidence)
            ev_neg = latest_per_label(labels[neg & in_cat], idx[neg & in_cat], st.evidence)
            behind = latest_per_label(labels, idx, st.provenance_ids)
            complaints = latest_per_label(labels[neg], idx[neg], st.provenance_ids)
            # Plain Python numbers from here: per-element numpy scalars cost more than the maths.
            order = present[np.lexsort((present, -np.abs(weight[present])))]
            rows = zip(
                order.tolist(),
                np.clip(weight[order], -1, 1).tolist(),
                m[order].tolist(),
                np.clip(mean[order], -1, 1).tolist(),
                strict=True,
            )
            for a, wa, ma, sa in rows:
                ids = self._ids((ev_pos if wa >= 0 else ev_neg).get(a, ()))
                gripes = complaints.get(a, [])
                prefs.append(AspectPreference(
                    aspect=a, weight=wa, mentions=ma, sentiment=sa, evidence=tuple(f.texts[i] for i in ids),
                    evidence_ids=ids, count=int(count[a]), positive=int(n_pos[a]), negative=int(n_neg[a]),
                    sentence_ids=self._ids(behind.get(a, ())), complaint_ids=self._ids(gripes),
                    complaint_items=tuple(self.corpus.item_ids[int(f.item[j])] for j in gripes)))
            pos_a = present[direction[present] > st.min_direction]
            neg_a = present[direction[present] < -st.min_direction]
            liked = tuple(int(a) for a in pos_a[np.lexsort((pos_a, -weight[pos_a]))][: st.top_n])
            disliked = tuple(int(a) for a in neg_a[np.lexsort((neg_a, weight[neg_a]))][: st.top_n])
        return UserProfile(
            user=user,
            at=at,
            encoder=self.encoder,
            half_life_days=st.half_life_days,
            preferences=tuple(prefs),
            liked=liked,
            disliked=disliked,
            recent_items=tuple(recent),
            rating_mean=float(ratings.mean()) if n_before else 0.0,
            rating_std=float(ratings.std()) if n_before else 0.0,
            n_reviews=n_before,
        )

    def top_aspects(self, user: str, at: datetime, k: int = 3) -> list[int]:
        """The ``k`` aspects the user talked about most (largest decayed mentions) before ``at``."""
        prof = self.user_profile(user, at)
        ranked = sorted(prof.preferences, key=lambda p: (-p.mentions, p.aspect))
        return [p.aspect for p in ranked[:k]]

    def item_profile(self, item: str, at: datetime, *, exclude_user: str | None = None,
                     evidence: bool = True) -> ItemProfile:
        """The community view of ``item`` from reviews strictly before ``at``.

        ``exclude_user``: that user's own sentences are left out of the aspect views (what other buyers
        say); the rating summary still counts every interaction. ``evidence=False``: no quotes nor
        sentence ids, the rest the same (what a catalog search reads, for half the CPU).
        """
        t = _millis(at)
        i = self._item(item)
        lo, hi = int(self._ri_off[i]), int(self._ri_off[i + 1])
        n = int(np.searchsorted(self._ri_ts[lo:hi], t, side="left"))
        rating_mean = float((self._ri_csum[lo + n] - self._ri_csum[lo]) / n) if n else 0.0
        meta = self.corpus.items[item]
        aspects: list[AspectSentiment] = []
        skip = _user_or_none(self.corpus, exclude_user)
        grid = self._grid(i, t, skip)
        if grid is not None:
            idx, cnt, sums, smoothed = grid
            st = self.settings
            mentions = cnt.sum(axis=1)
            trend = bucket_slopes(cnt[:, -st.trend_buckets :], sums[:, -st.trend_buckets :])
            before, after = trend_sides(cnt, st.trend_buckets)
            labels = self.facts.label[idx]
            pos, neg = self._signs(idx)
            n_pos = np.bincount(labels[pos], minlength=self._k)
            n_neg = np.bincount(labels[neg], minlength=self._k)
            low, high = share_interval(n_pos, n_neg, prior=st.stance_prior, level=st.stance_level)
            ev_pos = latest_per_label(labels[pos], idx[pos], st.evidence * evidence)
            ev_neg = latest_per_label(labels[neg], idx[neg], st.evidence * evidence)
            behind = latest_per_label(labels, idx, st.provenance_ids * evidence)
            present = np.flatnonzero(mentions)
            order = present[np.lexsort((present, -mentions[present]))]
            rows = zip(
                order.tolist(),
                np.clip(smoothed[order, -1], -1, 1).tolist(),
                mentions[order].tolist(),
                trend[order].tolist(),
                strict=True,
            )
            f = self.facts
            for a, sa, na, ta in rows:
                stance = stance_of(float(low[a]), float(high[a]))
                # Quotes agree with the stance they back; a mixed view is not illustrated by one side.
                chosen = ev_pos if stance == "positive" else ev_neg if stance == "negative" else {}
                ids = self._ids(chosen.get(a, ()))
                aspects.append(AspectSentiment(
                    aspect=a, sentiment=sa, mentions=na, trend=ta, evidence=tuple(f.texts[i] for i in ids),
                    evidence_ids=ids, positive=int(n_pos[a]), negative=int(n_neg[a]),
                    share_low=float(low[a]), share_high=float(high[a]), stance=stance,
                    trend_before=int(before[a]), trend_after=int(after[a]),
                    sentence_ids=self._ids(behind.get(a, ()))))
        return ItemProfile(
            item=item,
            at=at,
            title=meta.title,
            category=meta.category,
            aspects=tuple(aspects),
            rating_mean=rating_mean,
            n_reviews=n,
        )

    def catalog_view(self, items: Sequence[str], at: datetime) -> list[CatalogEntry]:
        """What a catalog search reads of ``items`` before ``at``: ``item_profile(i, at, evidence=False)``'s
        aspect ids, sentiments and mentions, to the bit, for all items in a few array passes."""
        t = _millis(at)
        windows = [self._item_window(self._item(i), t) for i in items]
        f, st = self.facts, self.settings
        summaries = aspect_summaries(windows, f.label, f.sentiment, self._bucket,
                                     int(bucket_index(t - 1, st.bucket)), self._k, st.smoothing)
        return [CatalogEntry(i, self.corpus.items[i].title, a) for i, a in zip(items, summaries, strict=True)]

    # -- trajectories ------------------------------------------------------------------------------
    def trajectory(self, item: str, aspect: int, at: datetime | None = None) -> Trajectory:
        """Bucketed community sentiment of one (item, aspect) from its first mention up to ``at``.

        ``at=None`` reads every sentence (the whole corpus: for evaluation, not for seeds).
        """
        i = self._item(item)
        self._check_aspect(aspect)
        t = _millis(at) if at is not None else int(self.facts.ts.max(initial=0)) + 1
        grid = self._grid(i, t)
        if grid is None or not grid[1][aspect].any():
            return Trajectory(
                item=item, aspect=aspect, bucket_starts=(), mentions=(), sentiment=(), smoothed=()
            )
        _idx, cnt, sums, smoothed = grid
        b_first, b_last = self._grid_span(i, t)
        first = int(np.flatnonzero(cnt[aspect])[0])
        starts = tuple(bucket_start(b, self.settings.bucket) for b in range(b_first + first, b_last + 1))
        c, s = cnt[aspect, first:], sums[aspect, first:]
        return Trajectory(
            item=item,
            aspect=aspect,
            bucket_starts=starts,
            mentions=tuple(int(x) for x in c),
            sentiment=tuple(float(y / x) if x else None for x, y in zip(c, s, strict=True)),
            smoothed=tuple(float(v) for v in smoothed[aspect, first:]),
        )

    def trend(self, item: str, aspect: int, at: datetime | None = None, buckets: int | None = None) -> float:
        """Count-weighted slope of sentiment per bucket, last ``buckets`` (all when None) before ``at``."""
        self._check_aspect(aspect)
        t = _millis(at) if at is not None else int(self.facts.ts.max(initial=0)) + 1
        grid = self._grid(self._item(item), t)
        if grid is None:
            return 0.0
        _idx, cnt, sums, _sm = grid
        r = cnt.shape[1] if buckets is None else buckets
        return float(bucket_slopes(cnt[aspect : aspect + 1, -r:], sums[aspect : aspect + 1, -r:])[0])

    def item_mentions(self, item: str, at: datetime | None = None) -> np.ndarray:
        """Mentions per aspect (int64, length = number of aspects) about ``item`` before ``at``."""
        t = _millis(at) if at is not None else int(self.facts.ts.max(initial=0)) + 1
        idx = self._item_window(self._item(item), t)
        return np.bincount(self.facts.label[idx], minlength=self._k)

    # -- internals ---------------------------------------------------------------------------------
    def _item(self, item: str) -> int:
        try:
            return self.corpus.item_index(item)
        except KeyError:
            raise UnknownEntityError(f"unknown item {item!r}") from None

    def _check_aspect(self, aspect: int) -> None:
        if not 0 <= aspect < self._k:
            raise UnknownEntityError(f"unknown aspect {aspect}: the aspect table has ids 0..{self._k - 1}")

    def _item_window(self, i: int, t: int) -> np.ndarray:
        lo = int(self._i_off[i])
        hi = lo + int(np.searchsorted(self._i_ts[lo : int(self._i_off[i + 1])], t, side="left"))
        return self._sent[self._i_order[lo:hi]]

    def _grid_span(self, i: int, t: int) -> tuple[int, int]:
        lo = int(self._i_off[i])
        first = int(bucket_index(int(self._i_ts[lo]), self.settings.bucket))
        # The bucket holding the last instant before t: a bucket containing t is cut at t.
        return first, int(bucket_index(t - 1, self.settings.bucket))

    def _signs(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Masks of the positive and the negative mentions among fact rows ``idx``."""
        pol = self.facts.sentiment[idx]
        thr = self.settings.polar_threshold
        return pol > thr, pol < -thr

    def _in_category(self, idx: np.ndarray, category: str | None) -> np.ndarray:
        """Mask of the fact rows ``idx`` about items of ``category`` (all rows when None)."""
        if category is None:
            return np.ones(len(idx), dtype=bool)
        code = self._cat_code.get(category, -1)
        return self._item_cat[self.facts.item[idx]] == code

    def _ids(self, rows: Sequence[int]) -> tuple[int, ...]:
        """Distinct sentence ids of fact rows, in the order given (one array lookup, not a loop)."""
        sentence = self.facts.sentence
        if not rows or sentence is None:
            return tuple(dict.fromkeys(rows)) if rows else ()
        return tuple(dict.fromkeys(sentence[list(rows)].tolist()))

    def _grid(self, i: int, t: int, skip_user: int | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """(fact rows, counts[K, B], sums[K, B], smoothed[K, B]) over the item's buckets up to ``t``."""
        idx = self._item_window(i, t)
        if skip_user is not None:
            idx = idx[self.facts.user[idx] != skip_user]
        if len(idx) == 0:
            return None
        b_first, b_last = self._grid_span(i, t)
        nb = b_last - b_first + 1
        key = self.facts.label[idx].astype(np.int64) * nb + (self._bucket[idx] - b_first)
        cnt = np.bincount(key, minlength=self._k * nb).reshape(self._k, nb)
        sums = np.bincount(
            key, weights=self.facts.sentiment[idx].astype(np.float64), minlength=self._k * nb
        ).reshape(self._k, nb)
        return idx, cnt, sums, smooth(cnt, sums, self.settings.smoothing)


def _millis(at: datetime) -> int:
    if at.tzinfo is None:
        raise NaiveTimeError(f"profile time {at.isoformat()} has no time zone; pass an aware (UTC) datetime")
    return to_millis(at)


def _user_or_none(corpus: Corpus, user: str | None) -> int | None:
    try:
        return corpus.user_index(user) if user is not None else None
    except KeyError:
        return None  # a user with no review has nothing to leave out
