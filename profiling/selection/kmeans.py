"""Seeded k-means for seed selection: Lloyd's algorithm on small pools, mini-batch k-means on large ones.

Both start from k-means++ on a seeded subsample. Lloyd runs when the pool has at most ``full_limit`` rows
(exact, a few passes over the data); above it, mini-batch k-means (Sculley 2010: each centre moves toward
the batch points assigned to it with a per-centre rate 1/count) costs ``iterations * batch`` rows instead
of passes over millions, at the price of centres that are close to, not exactly at, a Lloyd optimum.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["kmeans", "squared_distances"]


def squared_distances(x: np.ndarray, centres: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """Squared Euclidean distances (n, k) float32, computed in row chunks so memory stays at chunk * k."""
    x = np.asarray(x, dtype=np.float32)
    centres = np.asarray(centres, dtype=np.float32)
    out = np.empty((len(x), len(centres)), dtype=np.float32)
    c_sq = (centres * centres).sum(1)
    for lo in range(0, len(x), chunk):
        part = x[lo:lo + chunk]
        d = (part * part).sum(1)[:, None] - 2.0 * (part @ centres.T) + c_sq[None, :]
        np.maximum(d, 0.0, out=d)  # rounding can make a zero distance slightly negative
        out[lo:lo + chunk] = d
    return out


def _plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centres = np.empty((k, x.shape[1]), dtype=np.float32)
    centres[0] = x[int(rng.integers(len(x)))]
    best = squared_distances(x, centres[:1])[:, 0]
    for j in range(1, k):
        total = float(best.sum())
        # All points coincide with a centre: any point will do, so take a uniform one.
        idx = int(rng.integers(len(x))) if total <= 0 else int(rng.choice(len(x), p=best / total))
        centres[j] = x[idx]
        np.minimum(best, squared_distances(x, centres[j:j + 1])[:, 0], out=best)
    return centres


def kmeans(x: np.ndarray, k: int, rng: np.random.Generator, *, full_limit: int = 50_000,
           iterations: int = 60, batch: int = 4096, init_rows: int = 20_000,
           init: Literal["++", "random"] = "++") -> np.ndarray:
    """``k`` centres (float32) of the rows of ``x``; deterministic for the state of ``rng``.

    ``k`` is lowered to the number of rows when there are fewer rows than centres. ``init="random"``
    starts from ``k`` distinct random rows instead of k-means++ (k passes over the sample: slow for
    hundreds of centres, and not needed when the centres only group points).
    """
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    k = max(1, min(k, n))
    sample = x if n <= init_rows else x[np.sort(rng.choice(n, size=init_rows, replace=False))]
    if init == "random":
        centres = sample[np.sort(rng.choice(len(sample), size=k, replace=False))].copy()
    else:
        centres = _plus_plus(sample, k, rng)
    if n <= full_limit:
        labels = np.full(n, -1, dtype=np.int64)
        for _ in range(iterations):
            new = squared_distances(x, centres).argmin(1)
            if np.array_equal(new, labels):
                break
            labels = new
            for j in range(k):
                members = x[labels == j]
                if len(members):  # an empty cluster keeps its centre rather than vanishing
                    centres[j] = members.mean(0)
        return centres
    counts = np.zeros(k, dtype=np.float64)
    for _ in range(iterations):
        part = x[rng.integers(0, n, size=batch)]
        labels = squared_distances(part, centres).argmin(1)
        for j in np.unique(labels):
            members = part[labels == j]
            counts[j] += len(members)
            rate = len(members) / counts[j]
            centres[j] = (1.0 - rate) * centres[j] + rate * members.mean(0)
    return centres
