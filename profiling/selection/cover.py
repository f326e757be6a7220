"""Every candidate's distance to its nearest pick, kept exactly as picks are added, with cell pruning.

Greedy k-center needs, after each pick ``z``, ``nearest_i = min(nearest_i, ||x_i - z||^2)`` for every
candidate: O(n * d) per pick, the whole cost at a million candidates. The candidates are grouped once
into cells (k-means centres ``c``, each with radius ``r_c``, the largest distance of a member to its
centre) and each cell remembers its largest ``nearest``. By the triangle inequality no member of a cell
can get closer to ``z`` than ``||z - c|| - r_c``; when that is at least the square root of the cell's
largest ``nearest``, no member's distance can shrink and the cell is skipped. Nothing is approximated:
the distances are the ones the plain update computes (a small margin keeps rounding on the safe side).
Once picks cover the space, a pick only touches the few cells around it, so later steps cost
O(cells * d) plus the cells near the pick instead of O(n * d). The grouping costs one k-means and one
assignment pass (O(n * cells * d), chunked).
"""

from __future__ import annotations

import math

import numpy as np

from profiling.selection.kmeans import kmeans, squared_distances

__all__ = ["Cover"]

# Pruning needs cells worth skipping: below this many candidates one cell (the plain update) is as fast.
_PRUNE_FROM = 20_000


def _matvec(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    # einsum runs on one thread: a threaded BLAS matvec on a busy 2-core machine spends more time handing
    # out a few MB of work than computing it (measured 16x slower for a 10,000-row pool).
    return np.einsum("ij,j->i", x, v)


class Cover:
    """Squared distances of rows of ``x`` to their nearest pick (picked rows hold -inf)."""

    def __init__(self, x: np.ndarray, cells: int | None = None) -> None:
        x = np.ascontiguousarray(x, dtype=np.float32)
        n = len(x)
        if cells is None:
            cells = 1 if n < _PRUNE_FROM else int(min(1024, max(2, math.isqrt(n) // 2)))
        cells = max(1, min(cells, n))
        if cells == 1:
            label = np.zeros(n, dtype=np.int64)
            centres = x.mean(0, keepdims=True) if n else np.zeros((1, x.shape[1]), np.float32)
        else:
            # A fixed generator: the cells are a device of computation, not a choice of the selection.
            centres = kmeans(x, cells, np.random.default_rng(0), full_limit=0, iterations=20, init="random")
            label = np.empty(n, dtype=np.int64)
            for lo in range(0, n, 65_536):
                label[lo:lo + 65_536] = squared_distances(x[lo:lo + 65_536], centres).argmin(1)
        self.order = np.argsort(label, kind="stable")  # row in sorted position -> original row
        self.position = np.empty(n, dtype=np.int64)  # original row -> sorted position
        self.position[self.order] = np.arange(n)
        self.x = x[self.order]
        self.sq = np.einsum("ij,ij->i", self.x, self.x)
        counts = np.bincount(label, minlength=len(centres))
        self.counts = counts
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        self.centres = centres.astype(np.float32)
        self.cell = label[self.order]
        radius = np.zeros(len(centres), dtype=np.float64)
        for c in np.flatnonzero(counts):
            lo, hi = self.offsets[c], self.offsets[c + 1]
            radius[c] = math.sqrt(float(squared_distances(self.x[lo:hi], self.centres[c:c + 1]).max()))
        self.radius = radius
        self.nearest = np.full(n, np.inf, dtype=np.float32)
        self.cell_max = np.where(counts > 0, np.inf, -np.inf)
        self.cells_updated = 0  # cells whose members were recomputed, summed over picks (for benches)

    def add(self, row: int) -> None:
        """Record original row ``row`` as a pick and update every distance it can shrink."""
        i = int(self.position[row])
        z = self.x[i]
        dz = np.sqrt(np.maximum(((self.centres - z) ** 2).sum(1), 0.0))
        bound = np.sqrt(np.maximum(self.cell_max, 0.0))
        # Skip a cell only when even its closest possible member is farther than its farthest nearest
        # (with margin for float32 rounding); cells at +inf (nothing picked yet) are always visited.
        hit = np.flatnonzero((dz - self.radius <= bound * (1 + 1e-4) + 1e-4) & (self.counts > 0))
        sq_z = self.sq[i]
        for c in hit:
            lo, hi = self.offsets[c], self.offsets[c + 1]
            seg = self.nearest[lo:hi]
            np.minimum(seg, self.sq[lo:hi] - 2.0 * _matvec(self.x[lo:hi], z) + sq_z, out=seg)
            if c != self.cell[i]:
                self.cell_max[c] = seg.max()
        self.cells_updated += len(hit)
        self.nearest[i] = -np.inf
        c = self.cell[i]
        self.cell_max[c] = self.nearest[self.offsets[c]:self.offsets[c + 1]].max()

    def farthest(self) -> int:
        """The original row farthest from every pick (ties: the lowest row, as ``np.argmax`` would)."""
        top = self.cell_max.max()
        best = len(self.order)
        for c in np.flatnonzero(self.cell_max == top):  # usually one cell; ties go to the lowest row
            lo, hi = self.offsets[c], self.offsets[c + 1]
            best = min(best, int(self.order[lo + np.flatnonzero(self.nearest[lo:hi] == top)].min()))
        return best

    def largest(self) -> float:
        """The largest squared distance of an unpicked row to its nearest pick."""
        return float(self.cell_max.max())

    def of(self, rows: np.ndarray) -> np.ndarray:
        """Squared distances to the nearest pick of original rows ``rows``."""
        return self.nearest[self.position[rows]]
