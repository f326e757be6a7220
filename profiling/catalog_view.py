"""Many items' community sentiment at once: what a catalog search reads, in a few array passes.

A dialog's system agent ranks its category's catalog at the seed's time. Per item it needs only the
mentions and the smoothed sentiment of each aspect before that time, the figures
``TemporalProfiler.item_profile(item, at, evidence=False)`` puts in ``aspects``; building a whole
profile per item (stances, trends, pydantic models) for them was a third of the engine's CPU per
turn. Here the items' (aspect, bucket) grids are stacked into one and smoothed together.

The figures are the profile's to the bit, not merely close: the same rows summed in the same order
per (item, aspect, bucket) cell, the same recurrence applied bucket by bucket (buckets before an
item's first mention hold zeros, which the recurrence carries unchanged), the same clipping. So a
search over this view ranks items exactly as one over full profiles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["aspect_summaries", "smooth"]

# Grid cells (items x aspects x buckets) stacked at once; more items are done in chunks of this size.
_MAX_CELLS = 1 << 21


def smooth(cnt: np.ndarray, sums: np.ndarray, lam: float, *, last_only: bool = False) -> np.ndarray:
    """Count-weighted exponential smoothing of bucket sentiment, per row of ``cnt`` / ``sums`` [R, B].

    ``S_b = lam * S_(b-1) + sums_b``, ``C_b = lam * C_(b-1) + cnt_b``, smoothed ``S_b / C_b``; a row
    with no mention yet keeps its previous value (0 at first). ``last_only``: only the last bucket's
    values [R] (what a snapshot reads), without keeping the others.
    """
    rows, nb = cnt.shape
    out = None if last_only else np.zeros((rows, nb))
    prev = np.zeros(rows)
    run_s = np.zeros(rows)
    run_c = np.zeros(rows)
    for b in range(nb):
        run_s = lam * run_s + sums[:, b]
        run_c = lam * run_c + cnt[:, b]
        prev = np.divide(run_s, run_c, out=prev.copy(), where=run_c > 0)
        if out is not None:
            out[:, b] = prev
    return prev if out is None else out


Summary = tuple[tuple[int, float, int], ...]


def aspect_summaries(windows: Sequence[np.ndarray], label: np.ndarray, sentiment: np.ndarray,
                     row_bucket: np.ndarray, last_bucket: int, k: int, lam: float) -> list[Summary]:
    """Per window (one item's fact rows before a time, oldest first): its aspects as
    ``(aspect, smoothed sentiment clipped to [-1, 1], mentions)``, most mentioned first, ties by id.

    ``label`` / ``sentiment`` / ``row_bucket``: per fact row; ``last_bucket``: the bucket of the last
    instant before the time (a bucket holding the time is cut there); ``k``: aspects; ``lam``: the
    smoothing carry-over.
    """
    out: list[Summary] = []
    firsts = [int(row_bucket[w[0]]) for w in windows if len(w)]
    span = last_bucket - min(firsts, default=last_bucket) + 1
    step = max(1, _MAX_CELLS // (k * span))
    for start in range(0, len(windows), step):
        out.extend(_chunk(windows[start:start + step], label, sentiment, row_bucket, last_bucket, k, lam))
    return out


def _chunk(windows: Sequence[np.ndarray], label: np.ndarray, sentiment: np.ndarray, row_bucket: np.ndarray,
           last_bucket: int, k: int, lam: float) -> list[Summary]:
    n = len(windows)
    lens = np.fromiter((len(w) for w in windows), dtype=np.int64, count=n)
    if not lens.sum():
        return [() for _ in windows]
    rows = np.concatenate(windows)
    cell = np.repeat(np.arange(n, dtype=np.int64), lens) * k + label[rows]
    b = row_bucket[rows]
    b0 = int(b.min())
    nb = last_bucket - b0 + 1
    cells = n * k
    # Bucket-major, so the recurrence reads contiguous columns; bincount adds each cell's rows in
    # input order, the order a single item's grid adds them.
    key = (b - b0) * cells + cell
    cnt = np.bincount(key, minlength=nb * cells).reshape(nb, cells).T
    weights = sentiment[rows].astype(np.float64)
    sums = np.bincount(key, weights=weights, minlength=nb * cells).reshape(nb, cells).T
    last = np.clip(smooth(cnt, sums, lam, last_only=True), -1, 1)
    mentions = cnt.sum(axis=1)
    # Every mentioned (item, aspect) cell at once, ordered by item, then mentions (most first), then
    # aspect id; then cut per item.
    present = np.flatnonzero(mentions)
    owner, aspect = np.divmod(present, k)
    order = np.lexsort((aspect, -mentions[present], owner))
    cells = present[order]
    rows_of = zip((cells % k).tolist(), last[cells].tolist(), mentions[cells].tolist(), strict=True)
    flat = list(rows_of)
    ends = np.cumsum(np.bincount(owner, minlength=n)).tolist()
    return [tuple(flat[a:b]) for a, b in zip([0, *ends[:-1]], ends, strict=True)]
