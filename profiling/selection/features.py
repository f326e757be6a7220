"""Seed features for active selection: what a seed is about, who asks, which item, and its neighbours.

:func:`build_seed_features` turns a pool of seeds into one row each, from non-conversational signals only
(nothing here reads a generated dialog):

* ``review``: the fast encoder's embedding of the target review (title and text), unit length. The
  Jensen-Shannon strategy clusters these, as the selection paper does.
* ``profile``: the mean embedding of the user's history reviews before the target (the same window as
  the seed's history), and the user's aspect profile from stage 1: the share of their history sentences
  on each discovered aspect and their mean sentiment on it.
* ``aspects``: the same share and sentiment for the target review alone.
* ``item``: the target item's category (one-hot), its popularity in the pool (log count of pool seeds with
  that target) and the target rating (standardised over the pool).
* ``collaborative``: user and item factors of a rank-r factorisation of the implicit user-item matrix
  (see :mod:`profiling.selection.collaborative`), fitted on interactions no later than the pool's latest
  target, so a train pool never sees validation or test interactions.

Each block is L2-normalised per row and scaled by the square root of its weight, so a block's share of
a squared distance is its weight whatever its width; the concatenation is reduced to ``dim`` dimensions
by PCA fitted on a seeded subsample (``combined``, float32), which keeps k-center's per-step cost at
``n * dim``. :func:`synthetic_features` makes clustered features of any size for the scale bench.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from profiling.corpus import Corpus, to_millis
from profiling.seeds import Seed, seed_rng
from profiling.selection.collaborative import implicit_factors
from profiling.selection.errors import SeedNotInCorpusError, SelectionError

if TYPE_CHECKING:
    from profiling.encoders import Encoder
    from profiling.pipeline import ProfilingResult

__all__ = ["BLOCKS", "FeatureConfig", "SeedFeatures", "build_seed_features", "item_features",
           "synthetic_features"]

BLOCKS = ("review", "profile", "aspects", "item", "collaborative")


class FeatureConfig(BaseModel):
    """How seed features are built; one place for their defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    encoder: Literal["fast", "minilm"] = Field("fast", description="sentence encoder of the review texts")
    weights: dict[str, float] = Field(
        default_factory=lambda: dict.fromkeys(BLOCKS, 1.0),
        description="weight of each block in the combined features (its share of a squared distance)")
    dim: int = Field(64, ge=2, description="dimensions of the combined features after PCA")
    cf_rank: int = Field(16, ge=1, description="rank of the collaborative factorisation")
    max_history: int = Field(50, ge=1, description="history reviews averaged into the profile embedding")
    pca_rows: int = Field(20_000, ge=100, description="rows (seeded subsample) the PCA is fitted on")
    seed: int = 0


@dataclass(frozen=True)
class SeedFeatures:
    """One row per candidate seed (row order = the order of ``keys``)."""

    keys: list[str]
    combined: np.ndarray  # float32 (n, d): the space k-center covers; may have d = 0 (not built)
    review: np.ndarray  # float32 (n, e): the embeddings the Jensen-Shannon strategy clusters
    category: np.ndarray  # int32 code into ``categories``
    categories: tuple[str, ...]
    item: np.ndarray  # int32 code of the target item (equal codes = same target item)
    popularity: np.ndarray  # float32: pool seeds whose target is this seed's target item
    blocks: dict[str, int] = field(default_factory=dict)  # width of each block before PCA
    source: str = ""  # what made the embeddings (an encoder name, or "synthetic")

    def __post_init__(self) -> None:
        n = len(self.keys)
        for name in ("combined", "review", "category", "item", "popularity"):
            if len(getattr(self, name)) != n:
                rows = len(getattr(self, name))
                raise SelectionError(f"seed features: {name} has {rows} rows for {n} keys")

    def __len__(self) -> int:
        return len(self.keys)

    def describe(self) -> dict[str, object]:
        """What the features hold, for a run record."""
        return {"source": self.source, "n": len(self), "combined_dim": int(self.combined.shape[1]),
                "review_dim": int(self.review.shape[1]), "blocks": dict(self.blocks),
                "categories": len(self.categories)}


def _target_rows(corpus: Corpus, seeds: Sequence[Seed]) -> np.ndarray:
    """The corpus row of each seed's target interaction."""
    c = corpus.columns
    out = np.empty(len(seeds), dtype=np.int64)
    for k, s in enumerate(seeds):
        try:
            rows = corpus.rows(s.user)
            item = corpus.item_index(s.target.item)
        except KeyError as exc:
            raise SeedNotInCorpusError(f"seed {s.key}: {exc.args[0]!r} is not in corpus "
                                       f"{corpus.source or '(unnamed)'}") from None
        t = to_millis(s.target.timestamp)
        lo = rows.start + int(np.searchsorted(c.ts[rows.start:rows.stop], t, side="left"))
        r = lo
        while r < rows.stop and c.ts[r] == t and c.item[r] != item:
            r += 1
        if r >= rows.stop or c.ts[r] != t:
            raise SeedNotInCorpusError(f"seed {s.key}: target ({s.user}, {s.target.item}, "
                                       f"{s.target.timestamp.isoformat()}) is not in corpus "
                                       f"{corpus.source or '(unnamed)'}")
        out[k] = r
    return out


def item_features(corpus: Corpus, seeds: Sequence[Seed]) -> SeedFeatures:
    """Features without embeddings (category, item, popularity): all that random and stratified need."""
    cats = [corpus.items[s.target.item].category if s.target.item in corpus.items else "" for s in seeds]
    categories = tuple(sorted(set(cats)))
    code = {c: k for k, c in enumerate(categories)}
    items: dict[str, int] = {}
    item = np.array([items.setdefault(s.target.item, len(items)) for s in seeds], dtype=np.int32)
    counts = np.bincount(item, minlength=len(items)) if len(item) else np.zeros(0, np.int64)
    n = len(seeds)
    return SeedFeatures(
        keys=[s.key for s in seeds], combined=np.zeros((n, 0), np.float32),
        review=np.zeros((n, 0), np.float32),
        category=np.array([code[c] for c in cats], dtype=np.int32), categories=categories, item=item,
        popularity=counts[item].astype(np.float32) if n else np.zeros(0, np.float32), source="metadata")


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def _aspect_rows(n_rows: int, n_aspects: int, rows: np.ndarray, labels: np.ndarray,
                 sentiments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per corpus row: sentences on each aspect, and the sum of their sentiments."""
    mentions = np.zeros((n_rows, n_aspects), dtype=np.float32)
    signed = np.zeros((n_rows, n_aspects), dtype=np.float32)
    keep = labels >= 0
    np.add.at(mentions, (rows[keep], labels[keep]), 1.0)
    np.add.at(signed, (rows[keep], labels[keep]), sentiments[keep])
    return mentions, signed


def _aspect_block(mentions: np.ndarray, signed: np.ndarray) -> np.ndarray:
    """[share of sentences per aspect, mean sentiment per aspect] of summed mention and sentiment rows."""
    total = mentions.sum(1, keepdims=True)
    share = mentions / np.where(total == 0, 1.0, total)
    mean = signed / np.where(mentions == 0, 1.0, mentions)
    return np.concatenate([share, mean], axis=1)


def _pca(x: np.ndarray, dim: int, rows: int, rng: np.random.Generator) -> np.ndarray:
    """``x`` projected on its top ``dim`` principal axes, fitted on a seeded subsample of ``rows``."""
    if x.shape[1] <= dim:
        return x.astype(np.float32)
    fit = x if len(x) <= rows else x[np.sort(rng.choice(len(x), size=rows, replace=False))]
    mean = fit.mean(0)
    _, _, vt = np.linalg.svd(fit - mean, full_matrices=False)
    axes = vt[:dim].T.astype(np.float32)
    # Signs of singular vectors are arbitrary: fix them so the same data always gives the same features.
    axes *= np.where(axes[np.abs(axes).argmax(0), np.arange(axes.shape[1])] < 0, -1.0, 1.0)
    return ((x - mean) @ axes).astype(np.float32)


def build_seed_features(corpus: Corpus, result: ProfilingResult, seeds: Sequence[Seed],
                        config: FeatureConfig | None = None, *, encoder: Encoder | None = None,
                        progress: bool = False) -> SeedFeatures:
    """Features of each seed (row order = ``seeds``) from the corpus and stage 1's result.

    ``result`` is stage 1's :class:`~profiling.pipeline.ProfilingResult` (its sentence table, aspect
    labels and sentiments); ``encoder`` overrides ``config.encoder`` (a seam for tests). Raises
    :class:`SeedNotInCorpusError` when a seed's target is not in ``corpus``.
    """
    cfg = config or FeatureConfig()
    unknown = sorted(set(cfg.weights) - set(BLOCKS))
    if unknown:
        raise SelectionError(f"feature weights name unknown blocks {unknown}; blocks are {list(BLOCKS)}")
    meta = item_features(corpus, seeds)
    n = len(seeds)
    if n == 0:
        return meta
    targets = _target_rows(corpus, seeds)
    c = corpus.columns
    user_of = c.user[targets].astype(np.int64)
    start = c.offsets[user_of]
    # The history window: the seed's own rule (strictly before the target time), capped at max_history.
    before = np.array([int(np.searchsorted(c.ts[start[k]:targets[k] + 1], c.ts[targets[k]], side="left"))
                       for k in range(n)], dtype=np.int64)
    hist_lo = start + np.maximum(0, before - cfg.max_history)
    hist_hi = start + before

    # Embed every row some seed reads (targets and histories), once.
    needed = np.zeros(len(corpus), dtype=bool)
    needed[targets] = True
    for u in np.unique(user_of):
        needed[c.offsets[u]:c.offsets[u + 1]] = True
    rows = np.flatnonzero(needed)
    position = np.full(len(corpus), -1, dtype=np.int64)
    position[rows] = np.arange(len(rows))
    if encoder is None:
        from profiling.encoders import get_encoder

        encoder = get_encoder(cfg.encoder)
    texts = [f"{corpus.titles[r]}. {corpus.texts[r]}".strip(". ") for r in rows]
    emb = np.asarray(encoder.encode(texts, progress=progress), dtype=np.float32)
    review = _unit(emb[position[targets]])

    # Aspect rows from stage 1 (sentence labels and sentiments), per corpus row.
    n_aspects = max(1, len(result.aspects))
    mentions, signed = _aspect_rows(len(corpus), n_aspects, np.asarray(result.table.row, dtype=np.int64),
                                    np.asarray(result.labels), np.asarray(result.sentiments))

    # History sums by per-user prefix sums (float64, one user at a time: small and exact enough).
    profile_emb = np.zeros((n, emb.shape[1]), dtype=np.float32)
    hist_m = np.zeros((n, n_aspects), dtype=np.float32)
    hist_s = np.zeros((n, n_aspects), dtype=np.float32)
    by_user: dict[int, list[int]] = defaultdict(list)
    for k, u in enumerate(user_of):
        by_user[int(u)].append(k)
    for u, ks in by_user.items():
        lo, hi = int(c.offsets[u]), int(c.offsets[u + 1])
        pre_e = np.zeros((hi - lo + 1, emb.shape[1]))
        np.cumsum(emb[position[lo:hi]], axis=0, out=pre_e[1:])
        pre_m = np.zeros((hi - lo + 1, n_aspects))
        np.cumsum(mentions[lo:hi], axis=0, out=pre_m[1:])
        pre_s = np.zeros((hi - lo + 1, n_aspects))
        np.cumsum(signed[lo:hi], axis=0, out=pre_s[1:])
        ks_a = np.asarray(ks)
        a, b = hist_lo[ks_a] - lo, hist_hi[ks_a] - lo
        count = np.maximum(b - a, 1)[:, None]
        profile_emb[ks_a] = (pre_e[b] - pre_e[a]) / count
        hist_m[ks_a] = pre_m[b] - pre_m[a]
        hist_s[ks_a] = pre_s[b] - pre_s[a]
    profile = np.concatenate([_unit(profile_emb), _unit(_aspect_block(hist_m, hist_s))], axis=1)
    aspects = _aspect_block(mentions[targets], signed[targets])

    rating = c.rating[targets].astype(np.float64)
    onehot = np.zeros((n, max(1, len(meta.categories))), dtype=np.float32)
    onehot[np.arange(n), meta.category] = 1.0
    pop = np.log1p(meta.popularity)
    item_block = np.concatenate([
        onehot,
        ((pop - pop.mean()) / (pop.std() or 1.0))[:, None],
        ((rating - rating.mean()) / (rating.std() or 1.0))[:, None],
    ], axis=1)

    # Collaborative factors on interactions up to the pool's latest target (no later period leaks in).
    rng = seed_rng(cfg.seed, "selection-features")
    upto = c.ts <= c.ts[targets].max()
    users_f, items_f, _ = implicit_factors(c.user[upto], c.item[upto], corpus.n_users, corpus.n_items,
                                           cfg.cf_rank, rng)
    collaborative = np.concatenate([_unit(users_f[user_of]), _unit(items_f[c.item[targets]])], axis=1)

    parts = {"review": review, "profile": profile, "aspects": aspects, "item": item_block,
             "collaborative": collaborative}
    scaled = [_unit(parts[b].astype(np.float32)) * np.float32(np.sqrt(cfg.weights.get(b, 0.0)))
              for b in BLOCKS if cfg.weights.get(b, 0.0) > 0]
    if not scaled:
        raise SelectionError("feature weights are all zero: nothing to select on")
    combined = _pca(np.concatenate(scaled, axis=1), cfg.dim, cfg.pca_rows, rng)
    return SeedFeatures(
        keys=meta.keys, combined=combined, review=review, category=meta.category, categories=meta.categories,
        item=meta.item, popularity=meta.popularity, blocks={b: int(parts[b].shape[1]) for b in BLOCKS},
        source=encoder.name)


def synthetic_features(n: int, *, dim: int = 64, review_dim: int = 64, clusters: int = 50,
                       n_categories: int = 6, n_items: int = 5000, seed: int = 0) -> SeedFeatures:
    """``n`` clustered seeds (Gaussian blobs of unequal size, Zipf item popularity), float32.

    For the scale bench and tests: the sizes and dtypes of real features without a corpus behind them.
    """
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(clusters, 0.5))
    label = rng.choice(clusters, size=n, p=weights)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32) * 3.0
    combined = centres[label] + rng.standard_normal((n, dim), dtype=np.float32)
    review_centres = rng.standard_normal((clusters, review_dim)).astype(np.float32)
    review = _unit(review_centres[label] + 0.5 * rng.standard_normal((n, review_dim), dtype=np.float32))
    ranks = np.arange(1, n_items + 1, dtype=np.float64)
    item = rng.choice(n_items, size=n, p=(1 / ranks) / (1 / ranks).sum()).astype(np.int32)
    counts = np.bincount(item, minlength=n_items)
    return SeedFeatures(
        keys=[f"s{k:08d}" for k in range(n)], combined=combined, review=review,
        category=(label % n_categories).astype(np.int32),
        categories=tuple(f"cat{k}" for k in range(n_categories)), item=item,
        popularity=counts[item].astype(np.float32), blocks={"synthetic": dim}, source="synthetic")
