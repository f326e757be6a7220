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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from profiling.corpus import Corpus, to_millis
from profiling.errors import ProfilingError
from profiling.profiles import Aspect, AspectPreference, AspectSentiment, ItemProfile, Trajectory, UserProfile

__all__ = [
    "NaiveTimeError",
    "ProfileSettings",
    "SentenceFacts",
    "TemporalProfiler",
    "UnknownEntityError",
    "bucket_index",
    "bucket_start",
]

_DAY_MS = 86_400_000
Bucket = Literal["month", "quarter", "year"]
_MONTHS = {"month": 1, "quarter": 3, "year": 12}


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


@dataclass(frozen=True, slots=True)
class SentenceFacts:
    """One row per aspect mention (or per sentence): where it comes from, its aspect and its sentiment.

    With ``sentence`` given, row ``j`` is a mention in sentence ``sentence[j]`` (a sentence about two
    aspects has two rows) and ``texts`` holds the sentences; without it, rows are the sentences themselves.
    """

    row: np.ndarray  # int64 corpus row
    user: np.ndarray  # int32 index into corpus.users
    item: np.ndarray  # int32 index into corpus.item_ids
    ts: np.ndarray  # int64 epoch ms
    label: np.ndarray  # int32 aspect id, -1 = no aspect
    sentiment: np.ndarray  # float32 in [-1, 1]
    texts: Sequence[str]
    sentence: np.ndarray | None = None  # int64 index into texts per row

    def __len__(self) -> int:
        return len(self.row)

    def sentence_id(self, j: int) -> int:
        """The sentence (index into ``texts``) of row ``j``."""
        return int(self.sentence[j]) if self.sentence is not None else j


def bucket_index(ts_ms: np.ndarray | int, bucket: Bucket) -> np.ndarray:
    """Bucket number of epoch-ms times: calendar months since 1970-01 divided by the bucket's months."""
    months = (
        np.asarray(ts_ms, dtype=np.int64).astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64)
    )
    return months // _MONTHS[bucket]


def bucket_start(index: int, bucket: Bucket) -> datetime:
    """The UTC start of a bucket number."""
    months = int(index) * _MONTHS[bucket]
    return datetime(1970 + months // 12, months % 12 + 1, 1, tzinfo=UTC)


def _csr(keys: np.ndarray, ts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Order by (key, time); ties keep input order, so results do not depend on the sort algorithm.
    order = np.lexsort((np.arange(len(keys)), ts, keys))
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=offsets[1:])
    sorted_ts = ts[order]
    return order, offsets, sorted_ts


def _latest_per_label(labels: np.ndarray, positions: np.ndarray, per: int) -> dict[int, list[int]]:
    """For each label, up to ``per`` of its positions, latest first (``positions`` are oldest first)."""
    if per == 0 or len(labels) == 0:
        return {}
    rev_labels, rev_pos = labels[::-1], positions[::-1]
    order = np.argsort(rev_labels, kind="stable")
    grouped = rev_labels[order]
    starts = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1])))
    ends = np.concatenate((starts[1:], [len(grouped)]))
    pos = rev_pos[order].tolist()
    return {
        g: pos[s : min(e, s + per)]
        for g, s, e in zip(grouped[starts].tolist(), starts.tolist(), ends.tolist(), strict=True)
    }


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
        self._u_order, self._u_off, self._u_ts = _csr(facts.user[keep], ts, corpus.n_users)
        self._i_order, self._i_off, self._i_ts = _csr(facts.item[keep], ts, corpus.n_items)
        self._bucket = bucket_index(facts.ts, self.settings.bucket)
        c = corpus.columns
        # Interactions per item by time, with prefix sums of ratings: an item's rating mean before
        # ``at`` is then O(log n).
        self._ri_order, self._ri_off, self._ri_ts = _csr(c.item, c.ts, corpus.n_items)
        self._ri_csum = np.r_[0.0, np.cumsum(c.rating[self._ri_order], dtype=np.float64)]

    # -- ProfileSource ---------------------------------------------------------------------------
    @property
    def aspects(self) -> list[Aspect]:
        return list(self._aspects)

    def user_profile(self, user: str, at: datetime) -> UserProfile:
        """The profile of ``user`` from their reviews strictly before ``at``."""
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
            present = np.flatnonzero(np.bincount(labels, minlength=self._k))
            importance = m / m.sum()
            direction = sm / (m + st.prior)
            mean = np.divide(sm, m, out=np.zeros_like(sm), where=m > 0)
            weight = importance * direction
            ev = _latest_per_label(labels, idx, st.evidence)
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
                ids = tuple(f.sentence_id(j) for j in ev.get(a, ()))
                prefs.append(AspectPreference(aspect=a, weight=wa, mentions=ma, sentiment=sa,
                                              evidence=tuple(f.texts[i] for i in ids), evidence_ids=ids))
            pos = present[direction[present] > st.min_direction]
            neg = present[direction[present] < -st.min_direction]
            liked = tuple(int(a) for a in pos[np.lexsort((pos, -weight[pos]))][: st.top_n])
            disliked = tuple(int(a) for a in neg[np.lexsort((neg, weight[neg]))][: st.top_n])
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

    def item_profile(self, item: str, at: datetime) -> ItemProfile:
        """The community view of ``item`` from reviews strictly before ``at``."""
        t = _millis(at)
        i = self._item(item)
        lo, hi = int(self._ri_off[i]), int(self._ri_off[i + 1])
        n = int(np.searchsorted(self._ri_ts[lo:hi], t, side="left"))
        rating_mean = float((self._ri_csum[lo + n] - self._ri_csum[lo]) / n) if n else 0.0
        meta = self.corpus.items[item]
        aspects: list[AspectSentiment] = []
        grid = self._grid(i, t)
        if grid is not None:
            idx, cnt, sums, smoothed = grid
            mentions = cnt.sum(axis=1)
            trend = _slopes(cnt[:, -self.settings.trend_buckets :], sums[:, -self.settings.trend_buckets :])
            ev = _latest_per_label(self.facts.label[idx], idx, self.settings.evidence)
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
                ids = tuple(f.sentence_id(j) for j in ev.get(a, ()))
                aspects.append(AspectSentiment(aspect=a, sentiment=sa, mentions=na, trend=ta,
                                               evidence=tuple(f.texts[i] for i in ids), evidence_ids=ids))
        return ItemProfile(
            item=item,
            at=at,
            title=meta.title,
            category=meta.category,
            aspects=tuple(aspects),
            rating_mean=rating_mean,
            n_reviews=n,
        )

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
        return float(_slopes(cnt[aspect : aspect + 1, -r:], sums[aspect : aspect + 1, -r:])[0])

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

    def _grid(self, i: int, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """(sentence ids, counts[K, B], sums[K, B], smoothed[K, B]) over the item's buckets up to ``t``."""
        idx = self._item_window(i, t)
        if len(idx) == 0:
            return None
        b_first, b_last = self._grid_span(i, t)
        nb = b_last - b_first + 1
        key = self.facts.label[idx].astype(np.int64) * nb + (self._bucket[idx] - b_first)
        cnt = np.bincount(key, minlength=self._k * nb).reshape(self._k, nb)
        sums = np.bincount(
            key, weights=self.facts.sentiment[idx].astype(np.float64), minlength=self._k * nb
        ).reshape(self._k, nb)
        lam = self.settings.smoothing
        smoothed = np.zeros((self._k, nb))
        run_s = np.zeros(self._k)
        run_c = np.zeros(self._k)
        for b in range(nb):
            run_s = lam * run_s + sums[:, b]
            run_c = lam * run_c + cnt[:, b]
            smoothed[:, b] = np.divide(
                run_s, run_c, out=smoothed[:, b - 1].copy() if b else np.zeros(self._k), where=run_c > 0
            )
        return idx, cnt, sums, smoothed


def _slopes(cnt: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """Per row, the count-weighted least-squares slope of bucket means (sums / cnt); 0 if undefined."""
    x = np.arange(cnt.shape[1], dtype=np.float64)
    w = cnt.astype(np.float64)
    sw, sx, sxx = w.sum(1), w @ x, w @ (x * x)
    sy, sxy = sums.sum(1), sums @ x
    den = sw * sxx - sx * sx
    num = sw * sxy - sx * sy
    # den is 0 when all mentions fall in one bucket: no slope can be read from one point.
    return np.divide(num, den, out=np.zeros_like(num), where=den > 1e-9)


def _millis(at: datetime) -> int:
    if at.tzinfo is None:
        raise NaiveTimeError(f"profile time {at.isoformat()} has no time zone; pass an aware (UTC) datetime")
    return to_millis(at)
