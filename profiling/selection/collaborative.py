"""Collaborative signals for seed features: a rank-r factorisation of the user-item matrix, numpy only.

The matrix is implicit (1 per interaction, repeated interactions add up, then log1p so heavy users do
not dominate) and held as COO triples; a randomised SVD (Halko, Martinsson and Tropp 2011: a Gaussian
sketch, two power iterations, QR, then the SVD of the small projected matrix) gives user and item factors
``U sqrt(S)`` and ``V sqrt(S)``. Sparse products are ``np.add.at``-free bincounts, so the cost is
O(nnz * r) per product and no dense n_users x n_items matrix is ever built.
"""

from __future__ import annotations

import numpy as np

__all__ = ["implicit_factors"]


def _matmul(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int,
            dense: np.ndarray) -> np.ndarray:
    """(sparse A with A[rows, cols] = vals) @ dense, one bincount per column of ``dense``."""
    out = np.empty((n_rows, dense.shape[1]), dtype=np.float64)
    for j in range(dense.shape[1]):
        out[:, j] = np.bincount(rows, weights=vals * dense[cols, j], minlength=n_rows)
    return out


def implicit_factors(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int, rank: int,
                     rng: np.random.Generator, power_iterations: int = 2
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user factors (n_users, r), item factors (n_items, r), singular values (r,)) of the log1p counts.

    ``r`` is ``rank`` capped by the matrix size; rows of users or items without interactions are zero.
    """
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    r = max(1, min(rank, n_users, n_items))
    if len(users) == 0:
        return (np.zeros((n_users, r), np.float32), np.zeros((n_items, r), np.float32),
                np.zeros(r, np.float32))
    # Collapse repeated (user, item) pairs into one entry holding log1p(count).
    pair = users * n_items + items
    uniq, counts = np.unique(pair, return_counts=True)
    u, i = uniq // n_items, uniq % n_items
    v = np.log1p(counts.astype(np.float64))
    sketch = min(n_items, r + 8)  # oversampling keeps the top-r subspace accurate
    q = _matmul(u, i, v, n_users, rng.standard_normal((n_items, sketch)))
    q, _ = np.linalg.qr(q)
    for _ in range(power_iterations):
        z, _ = np.linalg.qr(_matmul(i, u, v, n_items, q))  # A^T q
        q, _ = np.linalg.qr(_matmul(u, i, v, n_users, z))  # A z
    b = _matmul(i, u, v, n_items, q).T  # (sketch, n_items) = q^T A
    ub, s, vt = np.linalg.svd(b, full_matrices=False)
    left = (q @ ub)[:, :r]
    right = vt[:r].T
    # A singular pair's sign is arbitrary (it depends on the sketch): make each item vector's largest
    # entry positive, so the same matrix gives the same factors whatever the order of its items.
    flip = np.where(right[np.abs(right).argmax(0), np.arange(r)] < 0, -1.0, 1.0)
    root = np.sqrt(s[:r])
    return ((left * flip * root).astype(np.float32), (right * flip * root).astype(np.float32),
            s[:r].astype(np.float32))
