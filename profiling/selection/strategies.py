"""Seed selection strategies behind one call: ``select_seeds(features, strategy, budget, seed)``.

Each strategy returns up to ``budget`` candidate keys *in order*: any prefix of a selection is itself the
strategy's choice for that smaller budget (greedy strategies by construction, stratified by interleaving),
so a caller that cannot use a pick (e.g. a seed with no feasible dialog plan) takes the next one.

Objectives (``n`` candidates, ``B`` the budget, ``S`` the picks so far):

* ``random``: a uniform random B-subset (a seeded permutation). The baseline.
* ``stratified``: proportional allocation over strata = target category x popularity band (the items
  sorted by how many seeds target them, cut into ``popularity_bins`` bands of equal seed mass), with
  largest-remainder rounding and a uniform draw inside each stratum. Matches the pool's category and
  popularity mix exactly, up to rounding.
* ``kcenter``: greedy k-center (the coreset of Sener and Savarese 2018) on the combined features:
  each step picks ``argmax_i min_{j in S} ||x_i - x_j||``, which is within a factor 2 of the smallest
  radius covering the pool with B balls. The first pick is a seeded uniform draw.
* ``js``: Jensen-Shannon information (arXiv 2504.15476). K-means (``clusters``) on the review embeddings;
  each seed gets ``p_i = softmax(-d(x_i, c_k) / T)`` over the centroids; the first pick maximises the
  entropy ``H(p_i)``; each next pick maximises ``JS(p_i || m_S)`` where ``m_S`` is the mean of the
  picked seeds' distributions, i.e. the seed whose topic mix the selection covers least.
* ``hybrid``: both, minus a popularity-debiasing term. Each step maximises
  ``a * d_i / max_j d_j + (1 - a) * JS(p_i || m_S) / ln 2 - l * log1p(pop_i) / log1p(max pop)``
  with ``d_i`` the k-center distance, ``a = kcenter_weight``, ``l = popularity_weight``; ``pop_i`` counts
  pool seeds with the same target item, so long-tail targets are preferred at equal informativeness.
  The first pick maximises ``H(p_i) / ln K - l * log1p(pop_i) / log1p(max pop)``.

Exact speed-up: k-center distances (``kcenter``, ``hybrid``) are kept with cell pruning by the triangle
inequality (:mod:`profiling.selection.cover`): same picks as the plain O(n * d) update, far fewer rows
touched per pick once the picks spread out.

Approximations (each flagged in the Selection, with a note, and measured in bench/bench_selection_scale.py):

* pool subsampling: with more than ``max_pool`` (default 1,000,000) candidates, the greedy strategies run
  on a seeded uniform subsample of ``max_pool`` of them. Picks can only come from the subsample, so
  k-center's covering radius on the whole pool grows (the bench measures by how much: a lot, since the
  radius is set by the farthest candidate, which a subsample is likely to miss).
* per-step candidates: the Jensen-Shannon score of ``js`` and ``hybrid`` is evaluated each step on
  ``per_step`` seeded random unpicked candidates (when more remain), so a step costs O(per_step * K);
  the pick is the best of those, not of all. k-center distances are still kept for the whole pool.
* greedy steps: at most ``max_greedy_steps`` picks are greedy; the rest of a larger budget is a seeded
  random draw from the unpicked candidates.
* mini-batch k-means above 50,000 pool rows (see :mod:`profiling.selection.kmeans`); float32 throughout.

A budget at least the pool size returns the whole pool (still in the strategy's order) and says so.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from profiling.seeds import seed_rng
from profiling.selection.cover import Cover
from profiling.selection.errors import SelectionError, UnknownStrategyError
from profiling.selection.features import SeedFeatures
from profiling.selection.kmeans import kmeans, squared_distances

__all__ = ["STRATEGIES", "Selection", "SelectionParams", "StrategyName", "select_seeds"]

StrategyName = Literal["random", "stratified", "kcenter", "js", "hybrid"]

# One line each, for --help texts.
STRATEGIES: dict[str, str] = {
    "random": "a seeded uniform random subset (the baseline)",
    "stratified": "proportional over target category x popularity band, random inside each stratum",
    "kcenter": "greedy k-center coreset on the combined seed features (covers the feature space)",
    "js": "Jensen-Shannon information over k-means topics of the review embeddings (arXiv 2504.15476)",
    "hybrid": "k-center + Jensen-Shannon score minus a popularity-debiasing term (prefers long-tail items)",
}

_EPS = 1e-12


class SelectionParams(BaseModel):
    """The knobs of the strategies; each names the strategies it affects."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    popularity_bins: int = Field(3, ge=1, description="stratified: popularity bands of equal seed mass")
    clusters: int = Field(32, ge=2, description="js, hybrid: k-means clusters of the review embeddings")
    temperature: float | None = Field(
        None, gt=0, description="js, hybrid: softmax temperature on centroid distances; None = the median "
        "over seeds of the spread (std) of their distances to the centroids")
    cells: int | None = Field(None, ge=1, description="kcenter, hybrid: cells of the exact pruned distance "
                              "update (profiling.selection.cover); None = 1 below 20,000 candidates, else "
                              "sqrt(n)/2 up to 1024")
    max_pool: int = Field(1_000_000, ge=1, description="greedy strategies: above this many candidates, "
                          "run on a seeded subsample of this size")
    per_step: int = Field(16_384, ge=1, description="js, hybrid: candidates scored per step when more remain")
    max_greedy_steps: int = Field(20_000, ge=1, description="greedy picks at most; the rest are random")
    kcenter_weight: float = Field(0.5, ge=0, le=1, description="hybrid: weight a of the k-center term")
    popularity_weight: float = Field(0.5, ge=0, description="hybrid: weight l of the popularity penalty")


class Selection(BaseModel):
    """The chosen candidate keys in pick order, and how they were chosen (JSON-able: the run record)."""

    keys: list[str]
    strategy: StrategyName
    params: dict[str, Any] = Field(description="SelectionParams plus values resolved at run time")
    budget: int = Field(description="the budget asked for")
    seed: int
    n_candidates: int = Field(description="candidates offered")
    n_considered: int = Field(description="candidates the strategy looked at (less when subsampled)")
    whole_pool: bool = Field(description="the budget covered the whole pool, so every candidate is chosen")
    approximate: bool = Field(description="an approximation of the module docstring was used (see notes)")
    notes: list[str] = Field(default_factory=list)


class _Run:
    """Mutable state of one selection: the generator, notes and flags the strategy leaves."""

    def __init__(self, strategy: str, seed: int, params: SelectionParams) -> None:
        self.rng = seed_rng(seed, f"seed-selection|{strategy}")
        self.params = params
        self.notes: list[str] = []
        self.resolved: dict[str, Any] = {}
        self.approximate = False
        self.considered = 0


def select_seeds(features: SeedFeatures, strategy: str, budget: int, seed: int,
                 params: SelectionParams | None = None) -> Selection:
    """Up to ``budget`` candidate keys chosen by ``strategy``, in pick order; deterministic for ``seed``."""
    if strategy not in STRATEGIES:
        raise UnknownStrategyError(f"unknown selection strategy {strategy!r}; "
                                   f"choose one of {list(STRATEGIES)}")
    if budget < 0:
        raise SelectionError(f"selection budget must be >= 0, got {budget}")
    p = params or SelectionParams()
    n = len(features)
    run = _Run(strategy, seed, p)
    run.considered = n
    whole = budget >= n
    take = n if whole else budget
    if whole and n:
        run.notes.append(f"budget {budget} >= pool of {n} candidates: the whole pool is selected")
    if n == 0:
        run.notes.append("no candidates to select from")
    if take == 0:
        order = np.zeros(0, dtype=np.int64)
    elif strategy == "random":
        order = run.rng.permutation(n)[:take]
    elif strategy == "stratified":
        order = _stratified(features, take, run)
    else:
        if strategy == "kcenter" and features.combined.shape[1] == 0:
            raise SelectionError("kcenter needs combined features (build them with build_seed_features)")
        if strategy in ("js", "hybrid") and features.review.shape[1] == 0:
            raise SelectionError(f"{strategy} needs review embeddings (build them with build_seed_features)")
        order = _greedy(features, strategy, take, run)
    if len(np.unique(order)) != len(order):  # a strategy bug, never a property of the data
        raise SelectionError(f"{strategy} picked a candidate twice")
    return Selection(
        keys=[features.keys[int(i)] for i in order], strategy=strategy,  # type: ignore[arg-type]
        params={**p.model_dump(), **run.resolved}, budget=budget, seed=seed, n_candidates=n,
        n_considered=run.considered, whole_pool=whole, approximate=run.approximate, notes=run.notes)


# -- stratified ---------------------------------------------------------------------------------------
def _popularity_bands(features: SeedFeatures, bins: int) -> np.ndarray:
    """Band of each seed: items by seed count (most first, ties by code) cut into equal seed mass."""
    counts = np.bincount(features.item)
    items = np.flatnonzero(counts)
    items = items[np.lexsort((items, -counts[items]))]
    before = np.cumsum(counts[items]) - counts[items]
    band = np.zeros(len(counts), dtype=np.int64)
    band[items] = np.minimum(bins - 1, before * bins // len(features.item))
    return band[features.item]


def _stratified(features: SeedFeatures, take: int, run: _Run) -> np.ndarray:
    bins = run.params.popularity_bins
    stratum = features.category.astype(np.int64) * bins + _popularity_bands(features, bins)
    codes, sizes = np.unique(stratum, return_counts=True)
    n = len(stratum)
    quota = take * sizes / n
    alloc = np.floor(quota).astype(np.int64)
    spare = take - int(alloc.sum())
    # Largest remainder (Hamilton); ties go to the lower stratum code, so the result is deterministic.
    alloc[np.lexsort((codes, -(quota - alloc)))[:spare]] += 1
    picks, keys, ranks = [], [], []
    for code, size, a in zip(codes, sizes, alloc, strict=True):
        members = np.flatnonzero(stratum == code)
        chosen = members[run.rng.permutation(len(members))[:a]]
        picks.append(chosen)
        # Interleave: the j-th pick of a stratum holding share s of the pool sits at (j + 0.5) / s, so every
        # prefix of the order is (close to) proportional too.
        keys.append((np.arange(a) + 0.5) * n / size)
        ranks.append(np.full(a, code))
    allp, allk, allr = np.concatenate(picks), np.concatenate(keys), np.concatenate(ranks)
    run.resolved["strata"] = len(codes)
    return allp[np.lexsort((allr, allk))]


# -- greedy strategies -----------------------------------------------------------------------------------
def _distributions(review: np.ndarray, run: _Run) -> np.ndarray:
    """Each row's softmax over negative distances to the k-means centroids (float32, rows sum to 1)."""
    centres = kmeans(review, run.params.clusters, run.rng)
    d = np.sqrt(squared_distances(review, centres))
    t = run.params.temperature
    if t is None:
        t = float(np.median(d.std(axis=1))) or 1.0
    run.resolved.update(temperature_used=t, clusters_used=len(centres))
    logits = -(d - d.min(axis=1, keepdims=True)) / t
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    return p.astype(np.float32)


def _js_to(p: np.ndarray, entropy: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (nats) of each row of ``p`` (entropies ``entropy``) from one ``m``.

    ``JS(p, m) = H((p + m) / 2) - (H(p) + H(m)) / 2``: one logarithm per entry, with H(p) computed once.
    """
    a = 0.5 * (p + m[None, :])
    h_mid = -(a * np.log(a + _EPS)).sum(1)
    h_m = -float((m * np.log(m + _EPS)).sum())
    return h_mid - 0.5 * (entropy + h_m)


def _candidates(taken: np.ndarray, remaining: int, per_step: int, rng: np.random.Generator) -> np.ndarray:
    if remaining <= per_step:
        return np.flatnonzero(~taken)
    draw = rng.integers(0, len(taken), size=per_step)
    draw = draw[~taken[draw]]  # a repeated candidate scores the same twice: harmless, and cheaper than unique
    return draw if len(draw) else np.flatnonzero(~taken)


def _greedy(features: SeedFeatures, strategy: str, take: int, run: _Run) -> np.ndarray:
    p = run.params
    n = len(features)
    pool = np.arange(n)
    if n > p.max_pool:
        pool = np.sort(run.rng.choice(n, size=p.max_pool, replace=False))
        run.approximate = True
        run.notes.append(f"pool subsampled: greedy ran on {p.max_pool} of {n} candidates (seeded uniform)")
    run.considered = len(pool)
    steps = min(take, len(pool), p.max_greedy_steps)
    if strategy == "kcenter":
        picks = _kcenter(features.combined[pool], steps, int(run.rng.integers(len(pool))), p.cells, run)
    else:
        picks = _js_greedy(features, pool, steps, strategy == "hybrid", run)
    order = pool[picks]
    if len(order) < take:
        rest = np.setdiff1d(np.arange(n), order)
        order = np.concatenate([order, rest[run.rng.permutation(len(rest))[:take - len(order)]]])
        run.approximate = True
        run.notes.append(f"{steps} greedy picks; the other {take - steps} are a seeded random draw "
                         f"(max_greedy_steps={p.max_greedy_steps}, pool {len(pool)})")
    return order


def _kcenter(x: np.ndarray, steps: int, first: int, cells: int | None, run: _Run) -> np.ndarray:
    cover = Cover(x, cells)
    picks = np.empty(steps, dtype=np.int64)
    cur = first
    for t in range(steps):
        picks[t] = cur
        cover.add(cur)
        if t + 1 < steps:
            cur = cover.farthest()
    _note_cells(cover, steps, run)
    return picks


def _note_cells(cover: Cover, steps: int, run: _Run) -> None:
    cells = len(cover.centres)
    run.resolved["cells_used"] = cells
    if cells > 1 and steps:
        run.resolved["cells_updated_per_pick"] = round(cover.cells_updated / steps, 1)


def _js_greedy(features: SeedFeatures, pool: np.ndarray, steps: int, hybrid: bool, run: _Run) -> np.ndarray:
    p = run.params
    dist = _distributions(features.review[pool], run)
    entropy = -(dist * np.log(dist + _EPS)).sum(1)
    k = dist.shape[1]
    pop = np.log1p(features.popularity[pool].astype(np.float64))
    pop_term = p.popularity_weight * pop / (pop.max() or 1.0) if hybrid else np.zeros(len(pool))
    cover = Cover(features.combined[pool], p.cells) if hybrid else None
    first = int(np.argmax(entropy / math.log(max(k, 2)) - pop_term))
    taken = np.zeros(len(pool), dtype=bool)
    picks = np.empty(steps, dtype=np.int64)
    total = np.zeros(k, dtype=np.float64)
    cur = first
    sampled = False
    for t in range(steps):
        picks[t] = cur
        taken[cur] = True
        total += dist[cur]
        if cover is not None:
            cover.add(cur)
        if t + 1 == steps:
            break
        cand = _candidates(taken, len(pool) - t - 1, p.per_step, run.rng)
        sampled |= len(pool) - t - 1 > p.per_step
        score = _js_to(dist[cand], entropy[cand], (total / (t + 1)).astype(np.float32))
        if cover is not None:
            reach = np.sqrt(np.maximum(cover.of(cand), 0.0))
            far = math.sqrt(max(cover.largest(), 0.0)) or 1.0
            score = (p.kcenter_weight * reach / far + (1 - p.kcenter_weight) * score / math.log(2)
                     - pop_term[cand])
        cur = int(cand[int(np.argmax(score))])
    if cover is not None:
        _note_cells(cover, steps, run)
    if sampled:
        run.approximate = True
        run.notes.append(f"per-step candidates: the Jensen-Shannon score was evaluated on {p.per_step} "
                         "seeded random unpicked candidates per step")
    return picks
