"""How far the mentions behind a community claim support it: counts by sign, an interval, a stance.

A claim such as "buyers praise its fit" rests on the mentions of that aspect in other buyers' reviews.
Five positive mentions and no negative one say less than 400 to 100, and one mention says almost
nothing, so a stance is read from an estimate that accounts for how few mentions there are:

- a mention is **positive** when its clause polarity is above ``polar_threshold``, **negative** when
  below ``-polar_threshold``, neutral otherwise (neutral mentions count as mentions, not as votes);
- the share of positive mentions among the polar ones has the Beta posterior
  ``Beta(prior + positive, prior + negative)`` (``prior = 1``: uniform before any mention);
- its central credible interval at ``level`` (default 90%) gives the **stance**: ``positive`` when the
  whole interval lies above one half, ``negative`` when it lies below, else ``mixed``. With the
  defaults, 5 positive of 5 is a positive stance (interval 0.61..0.99), 4 of 5 is still mixed
  (0.42..0.94), 8 of 10 is positive (0.53..0.93).

A trend ("getting worse lately") compares the recent buckets of the trend window with the earlier ones,
so it needs mentions on both sides of that time cut: :func:`trend_sides` counts them.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaincinv

from profiling.profiles import Stance

__all__ = ["share_interval", "stance_of", "trend_sides"]


def share_interval(
    positive: np.ndarray, negative: np.ndarray, *, prior: float = 1.0, level: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of the central ``level`` credible interval of the positive share, per element."""
    a = np.asarray(positive, dtype=np.float64) + prior
    b = np.asarray(negative, dtype=np.float64) + prior
    tail = (1.0 - level) / 2.0
    return betaincinv(a, b, tail), betaincinv(a, b, 1.0 - tail)


def stance_of(low: float, high: float) -> Stance:
    """The stance an interval of the positive share supports: one side of one half, or mixed."""
    if low > 0.5:
        return "positive"
    if high < 0.5:
        return "negative"
    return "mixed"


def trend_sides(counts: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Mentions per row before and after the trend window's time cut (the window's second half).

    ``counts`` is mentions per (aspect, bucket), oldest bucket first; the window is its last ``window``
    buckets (fewer when the item is younger). The cut leaves ``window // 2`` buckets after it.
    """
    recent = max(1, window // 2)
    win = counts[:, -window:]
    after = win[:, -recent:].sum(axis=1)
    before = win[:, : max(0, win.shape[1] - recent)].sum(axis=1)
    return before.astype(np.int64), after.astype(np.int64)
