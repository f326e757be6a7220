"""Time buckets and the per-key orderings profiles are read from: sorting, latest rows, trend slopes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import numpy as np

__all__ = ["Bucket", "bucket_index", "bucket_slopes", "bucket_start", "latest_per_label", "sort_by_key_time"]

Bucket = Literal["month", "quarter", "year"]
_MONTHS = {"month": 1, "quarter": 3, "year": 12}


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


def sort_by_key_time(keys: np.ndarray, ts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Order by (key, time); ties keep input order, so results do not depend on the sort algorithm.
    order = np.lexsort((np.arange(len(keys)), ts, keys))
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=offsets[1:])
    sorted_ts = ts[order]
    return order, offsets, sorted_ts


def latest_per_label(labels: np.ndarray, positions: np.ndarray, per: int) -> dict[int, list[int]]:
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


def bucket_slopes(cnt: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """Per row, the count-weighted least-squares slope of bucket means (sums / cnt); 0 if undefined."""
    x = np.arange(cnt.shape[1], dtype=np.float64)
    w = cnt.astype(np.float64)
    sw, sx, sxx = w.sum(1), w @ x, w @ (x * x)
    sy, sxy = sums.sum(1), sums @ x
    den = sw * sxx - sx * sx
    num = sw * sxy - sx * sy
    # den is 0 when all mentions fall in one bucket: no slope can be read from one point.
    return np.divide(num, den, out=np.zeros_like(num), where=den > 1e-9)
