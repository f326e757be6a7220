"""Aspect discovery in sentence embeddings by contrastive spherical k-means.

Three methods share one entry point, :func:`discover_aspects`, so they can be compared on the same embeddings:

``kmeans``
    Lloyd's k-means (Euclidean) on the raw embeddings, k-means++ seeding.
``spherical``
    Spherical k-means: the same, on unit vectors with cosine similarity; a centroid is the normalised mean
    of its members. k-means++ seeding uses ``1 - cos`` as the squared distance. ``n_init`` seedings, the one
    with the highest total cosine is kept. Lloyd iterations stop when fewer than 1 sentence in 2000 changes
    aspect (or after ``max_iter``).
``contrastive`` (default)
    Spherical k-means alternated with a projection head trained by InfoNCE (an iterated discriminant
    projection, in the spirit of LDA-k-means). The schedule:

    0. spherical k-means on the raw embeddings ``x`` gives labels ``y`` (as ``spherical`` above);
    1. for ``rounds`` rounds:
       a. the head ``z = normalize(W x + b)`` (``W``: ``projection_dim x dim``, initialised from the top
          principal directions of ``x`` on the first round, then kept) and one learnable prototype per
          aspect (initialised to the normalised mean ``z`` of its members) are trained for ``epochs`` epochs
          of mini-batches (Adam, ``learning_rate``) on the *confident* sentences (not "no aspect"), inputs
          perturbed by dropout ``input_dropout`` so the head cannot memorise single coordinates, with the
          InfoNCE objective::

              L = - mean_i log( exp(z_i . c_{y_i} / T) / sum_j exp(z_i . c_j / T) )

          which pulls each sentence toward its own aspect's prototype and pushes it away from every other
          (``T`` = ``temperature``);
       b. spherical k-means in the projected space, warm-started from the current labels' centroids, gives
          the new labels.

    The aim: the head learns which directions of the embedding separate aspects (topic words) and shrinks
    those that vary inside an aspect (sentiment, phrasing), and re-clustering in that space moves the
    sentences at the borders. It refines the partition it starts from; it cannot undo a template-driven
    cluster (sentences grouped by a shared phrase such as "Top marks for the ..."): see BENCHMARKS.md for
    what it gains over plain spherical k-means.

At most ``fit_sample`` sentences (a seeded sample) fit the model; every sentence is then assigned by it.

"No aspect": a sentence whose similarity to its nearest centroid falls more than ``no_aspect_mads`` robust
standard deviations (``1.4826 * MAD``) below the median similarity of that centroid's members, or below
``min_similarity``, is labelled ``-1``: it is far from every centroid and is not forced into one (off-topic
sentences such as "I bought it for my trip"). The per-aspect thresholds are learnt on the fitted sentences
and reused by :meth:`AspectResult.assign`. All-zero embeddings (texts without a known token) are always -1.

Determinism: every random choice (k-means++ seeding, sub-sampling, mini-batch order, dropout, head
initialisation) comes from generators seeded by ``seed``; torch's global generator is left untouched.
The same seed and inputs give identical labels on the same machine and thread count.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from profiling.aspect_names import name_of, top_phrases
from profiling.errors import ProfilingError
from profiling.profiles import Aspect

__all__ = ["AspectConfig", "AspectResult", "discover_aspects"]

_MAD_TO_SD = 1.4826  # MAD of a normal distribution times this is its standard deviation


class AspectConfig(BaseModel):
    """How aspects are found: method, K, seed and the contrastive schedule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    k: int = Field(20, ge=2, le=500, description="number of aspects")
    seed: int = Field(0, description="seeds every random choice")
    method: Literal["terms", "cat", "contrastive", "spherical", "kmeans"] = Field(
        "terms", description="terms = clusters of aspect terms with clause polarity (term_aspects); "
        "cat = one aspect per sentence by attention over its nouns; the others cluster sentence embeddings")
    n_init: int = Field(3, ge=1, description="k-means++ seedings tried; the best objective is kept")
    max_iter: int = Field(60, ge=1, description="Lloyd iterations per k-means run (stops early when stable)")
    rounds: int = Field(3, ge=0, description="contrastive rounds (head training + re-clustering)")
    epochs: int = Field(2, ge=1, description="passes over the confident sentences per round")
    batch_size: int = Field(512, ge=8)
    temperature: float = Field(0.1, gt=0, description="InfoNCE temperature")
    projection_dim: int = Field(128, ge=2, description="output size of the projection head (<= input dim)")
    learning_rate: float = Field(2e-3, gt=0)
    input_dropout: float = Field(0.1, ge=0, lt=1, description="dropout on inputs while training the head")
    no_aspect_mads: float = Field(2.5, gt=0, description="robust SDs below an aspect's median similarity "
                                  "beyond which a sentence is 'no aspect'")
    min_similarity: float = Field(0.0, ge=-1, le=1, description="absolute floor of similarity to belong to "
                                  "an aspect")
    fit_sample: int = Field(30_000, ge=100, description="at most this many sentences fit the model; all are "
                            "assigned")
    n_phrases: int = Field(10, ge=1, description="top TF-IDF phrases kept per aspect")
    n_examples: int = Field(5, ge=0, description="example sentences kept per aspect (the most central)")


@dataclass
class _Space:
    """The space aspects live in: x -> normalize(x @ w.T + b) (or x itself), and the metric used there."""

    w: np.ndarray | None  # float32 (p, d) or None for the identity
    b: np.ndarray | None  # float32 (p,)
    euclidean: bool  # plain k-means: nearest centroid by Euclidean distance

    def project(self, x: np.ndarray) -> np.ndarray:
        if self.w is None:
            return np.ascontiguousarray(x, dtype=np.float32)
        return _unit(x @ self.w.T + self.b)


@dataclass
class AspectResult:
    """Found aspects: a label and a similarity per sentence, the aspect table, and how to label new ones."""

    labels: np.ndarray  # int32 per sentence, -1 = "no aspect"
    similarity: np.ndarray  # float32 cosine to the assigned (or nearest) centroid
    aspects: list[Aspect]  # ids 0..k-1
    config: AspectConfig
    encoder: str
    centroids: np.ndarray = field(repr=False)  # float32 (k, p) in the aspect space
    thresholds: np.ndarray = field(repr=False)  # float32 (k,) similarity below which a member is -1
    space: _Space = field(repr=False)

    def assign(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Labels (-1 = no aspect) and similarities for new sentence embeddings, by the fitted model."""
        x = _check(embeddings, self.centroids.shape[1] if self.space.w is None else self.space.w.shape[1])
        return _label(x, self.space, self.centroids, self.thresholds)


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norm, 1e-12)).astype(np.float32, copy=False)


def _check(embeddings: np.ndarray, dim: int | None = None) -> np.ndarray:
    x = np.asarray(embeddings)
    if x.ndim != 2 or (dim is not None and x.shape[1] != dim):
        raise ProfilingError(f"embeddings must be a 2-d array with {dim or 'd'} columns, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ProfilingError("embeddings contain NaN or infinite values")
    return np.ascontiguousarray(x, dtype=np.float32)


def _scores(z: np.ndarray, centroids: np.ndarray, euclidean: bool) -> np.ndarray:
    """Higher is nearer: cosine, or minus half the squared Euclidean distance (same argmax as nearest)."""
    s = z @ centroids.T
    if euclidean:
        s -= 0.5 * np.einsum("ij,ij->i", centroids, centroids)[None, :]
    return s


def _label(x: np.ndarray, space: _Space, centroids: np.ndarray,
           thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    empty = np.linalg.norm(x, axis=1) < 1e-6
    z = space.project(x)
    labels = _scores(z, centroids, space.euclidean).argmax(axis=1).astype(np.int32)
    sim = np.einsum("ij,ij->i", z, _unit(centroids)[labels]).astype(np.float32)
    sim[empty] = 0.0
    labels[(sim < thresholds[labels]) | empty] = -1
    return labels, sim


# -- k-means -----------------------------------------------------------------------------------------------

def _seed(z: np.ndarray, k: int, rng: np.random.Generator, euclidean: bool) -> np.ndarray:
    """k-means++ centroids: each next one drawn with probability proportional to its squared distance."""
    n = len(z)
    centroids = np.empty((k, z.shape[1]), dtype=np.float32)
    centroids[0] = z[rng.integers(n)]
    sq = np.einsum("ij,ij->i", z, z)

    def dist(c: np.ndarray) -> np.ndarray:
        d = sq - 2.0 * (z @ c) + float(c @ c) if euclidean else 1.0 - z @ c
        return np.maximum(d, 0.0)

    best = dist(centroids[0])
    for j in range(1, k):
        total = float(best.sum())
        idx = int(rng.integers(n)) if total <= 0 else int(rng.choice(n, p=best / total))
        centroids[j] = z[idx]
        best = np.minimum(best, dist(centroids[j]))
    return centroids


def _means(z: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster sums of rows and counts (a one-hot product: one BLAS call, no Python loop)."""
    counts = np.bincount(labels, minlength=k)
    onehot = np.zeros((k, len(z)), dtype=np.float32)
    onehot[labels, np.arange(len(z))] = 1.0
    # z.T @ onehot.T, not onehot @ z: OpenBLAS picks a kernel 50x slower for the (k, n) @ (n, d) shape.
    return np.ascontiguousarray((z.T @ onehot.T).T), counts


def _lloyd(z: np.ndarray, centroids: np.ndarray, max_iter: int,
           euclidean: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """Lloyd iterations from ``centroids``: (labels, centroids, objective; higher is better)."""
    k = len(centroids)
    labels = np.full(len(z), -1, dtype=np.int64)
    for _ in range(max_iter):
        s = _scores(z, centroids, euclidean)
        new = s.argmax(axis=1)
        # Stop when fewer than 1 in 2000 sentences move: the last iterations only shuffle a few borders.
        changed = int((new != labels).sum())
        labels = new
        if changed * 2000 < len(z):
            break
        sums, counts = _means(z, labels, k)
        empty = np.flatnonzero(counts == 0)
        if len(empty):
            # Refill an empty cluster with the sentences worst served by their centroid (stable order).
            fit = s[np.arange(len(z)), labels]
            worst = np.argsort(fit, kind="stable")[: len(empty)]
            for e, w in zip(empty, worst, strict=False):
                labels[w] = e
            sums, counts = _means(z, labels, k)
        mean = sums / np.maximum(counts, 1)[:, None]
        centroids = (mean if euclidean else _unit(mean)).astype(np.float32)
    s = _scores(z, centroids, euclidean)
    labels = s.argmax(axis=1)
    objective = float(s[np.arange(len(z)), labels].sum())
    return labels.astype(np.int32), centroids, objective


def _kmeans(z: np.ndarray, k: int, rng: np.random.Generator, cfg: AspectConfig,
            euclidean: bool) -> tuple[np.ndarray, np.ndarray]:
    best: tuple[np.ndarray, np.ndarray, float] | None = None
    for _ in range(cfg.n_init):
        run = _lloyd(z, _seed(z, k, rng, euclidean), cfg.max_iter, euclidean)
        if best is None or run[2] > best[2]:
            best = run
    assert best is not None
    return best[0], best[1]


def _warm(z: np.ndarray, labels: np.ndarray, k: int, cfg: AspectConfig) -> tuple[np.ndarray, np.ndarray]:
    sums, _ = _means(z, labels, k)
    labels, centroids, _ = _lloyd(z, _unit(sums).astype(np.float32), cfg.max_iter, euclidean=False)
    return labels, centroids


# -- the contrastive head ----------------------------------------------------------------------------------

def _pca_init(x: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) of the projection onto the top ``p`` principal directions, signs fixed for determinism."""
    import torch

    mean = x.mean(axis=0, dtype=np.float64)
    centred = torch.from_numpy(x - mean.astype(np.float32))
    # Eigenvectors of the d x d covariance (the SVD of the n x d matrix costs far more for the same result),
    # in torch on one thread: numpy's threaded LAPACK stalls for seconds on a busy 2-core machine.
    with _one_thread():
        _, vecs = torch.linalg.eigh((centred.T @ centred).double())
    w = vecs.numpy()[:, ::-1][:, :p].T.copy()
    w *= np.sign(w[np.arange(len(w)), np.abs(w).argmax(axis=1)])[:, None]
    return w.astype(np.float32), (-(mean @ w.T)).astype(np.float32)


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread for a while (process-wide: torch has no per-call setting)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _train_head(x: np.ndarray, labels: np.ndarray, keep: np.ndarray, w: np.ndarray, b: np.ndarray,
                k: int, cfg: AspectConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train (W, b) and prototypes with InfoNCE toward each sentence's own aspect; returns the new (W, b)."""
    import torch

    xs = torch.from_numpy(np.ascontiguousarray(x[keep]))
    ys = torch.from_numpy(labels[keep].astype(np.int64))
    # Small batches gain nothing from threads, and on a busy machine spinning OpenMP workers cost 10x.
    with _one_thread():
        return _fit_head(xs, ys, w, b, k, cfg, seed)


def _fit_head(xs: Any, ys: Any, w: np.ndarray, b: np.ndarray, k: int, cfg: AspectConfig,
              seed: int) -> tuple[np.ndarray, np.ndarray]:
    import torch
    import torch.nn.functional as F

    with torch.random.fork_rng(devices=[]):  # dropout draws from the global generator: keep it untouched
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        lin = torch.nn.Linear(xs.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
            z0 = F.normalize(lin(xs), dim=1)
            sums = torch.zeros(k, w.shape[0]).index_add_(0, ys, z0)
        protos = torch.nn.Parameter(F.normalize(sums, dim=1))
        opt = torch.optim.Adam([*lin.parameters(), protos], lr=cfg.learning_rate)
        for _ in range(cfg.epochs):
            perm = torch.randperm(len(xs), generator=gen)
            for lo in range(0, len(xs), cfg.batch_size):
                idx = perm[lo:lo + cfg.batch_size]
                z = F.normalize(lin(F.dropout(xs[idx], cfg.input_dropout)), dim=1)
                logits = z @ F.normalize(protos, dim=1).T / cfg.temperature
                loss = F.cross_entropy(logits, ys[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        return lin.weight.detach().numpy().copy(), lin.bias.detach().numpy().copy()


# -- no aspect ---------------------------------------------------------------------------------------------

def _thresholds(sim: np.ndarray, labels: np.ndarray, k: int, cfg: AspectConfig) -> np.ndarray:
    """Per aspect: median similarity minus ``no_aspect_mads`` robust SDs, never below ``min_similarity``."""
    out = np.full(k, cfg.min_similarity, dtype=np.float32)
    for c in range(k):
        s = sim[labels == c]
        if len(s) < 5:
            continue  # too few members to estimate a spread: only the absolute floor applies
        med = float(np.median(s))
        mad = float(np.median(np.abs(s - med)))
        out[c] = max(cfg.min_similarity, med - cfg.no_aspect_mads * _MAD_TO_SD * mad)
    return out


# -- the entry point ---------------------------------------------------------------------------------------

def discover_aspects(embeddings: np.ndarray, texts: Sequence[str], config: AspectConfig | None = None,
                     *, encoder: str = "", sentiments: np.ndarray | None = None,
                     progress: bool = False) -> AspectResult:
    """Aspects of these sentences: labels (-1 = no aspect), similarities, a named aspect table, a model.

    ``embeddings`` are the encoder's rows for ``texts`` (same order); ``sentiments`` (optional, in [-1, 1])
    fill each aspect's ``mean_sentiment``; ``encoder`` is recorded with the result.
    """
    cfg = config or AspectConfig()
    x = _check(embeddings)
    if len(texts) != len(x):
        raise ProfilingError(f"{len(x)} embeddings but {len(texts)} texts")
    if sentiments is not None and len(sentiments) != len(x):
        raise ProfilingError(f"{len(x)} embeddings but {len(sentiments)} sentiments")
    usable = np.flatnonzero(np.linalg.norm(x, axis=1) >= 1e-6)
    if len(usable) < cfg.k * 3:
        raise ProfilingError(f"too few sentences with a usable embedding ({len(usable)}) for k={cfg.k} "
                             "aspects; "
                             f"need at least {cfg.k * 3}")
    rng = np.random.default_rng([cfg.seed, 0xA5])
    fit_rows = usable if len(usable) <= cfg.fit_sample else np.sort(rng.choice(usable, cfg.fit_sample,
                                                                               replace=False))
    xf = x[fit_rows]
    if cfg.method in ("terms", "cat"):
        raise ProfilingError(f"method {cfg.method!r} works on tagged text, not embeddings: use run_profiling")
    euclidean = cfg.method == "kmeans"
    bar = _Bar(progress, 1 + (cfg.rounds if cfg.method == "contrastive" else 0), f"aspects ({cfg.method})")
    labels, centroids = _kmeans(xf, cfg.k, rng, cfg, euclidean)
    space = _Space(None, None, euclidean)
    bar.step()
    if cfg.method == "contrastive" and cfg.rounds:
        p = min(cfg.projection_dim, x.shape[1])
        w, b = _pca_init(xf, p)
        for r in range(cfg.rounds):
            sim = np.einsum("ij,ij->i", space.project(xf), centroids[labels])
            keep = sim >= _thresholds(sim, labels, cfg.k, cfg)[labels]
            w, b = _train_head(xf, labels, keep, w, b, cfg.k, cfg, seed=cfg.seed * 1009 + r)
            space = _Space(w, b, False)
            labels, centroids = _warm(space.project(xf), labels, cfg.k, cfg)
            bar.step()
    fit_sim = np.einsum("ij,ij->i", space.project(xf), _unit(centroids)[labels])
    thresholds = _thresholds(fit_sim, labels, cfg.k, cfg)
    all_labels, all_sim = _label(x, space, centroids, thresholds)
    bar.close()
    aspects = _describe(all_labels, all_sim, texts, sentiments, cfg)
    return AspectResult(all_labels, all_sim, aspects, cfg, encoder, centroids, thresholds, space)


def _describe(labels: np.ndarray, sim: np.ndarray, texts: Sequence[str], sentiments: np.ndarray | None,
              cfg: AspectConfig) -> list[Aspect]:
    phrases = top_phrases(texts, labels, cfg.k, n=cfg.n_phrases)
    out = []
    for c in range(cfg.k):
        members = np.flatnonzero(labels == c)
        examples: list[str] = []
        seen: set[str] = set()
        for i in members[np.argsort(-sim[members], kind="stable")]:
            key = " ".join(texts[i].lower().split())
            if key not in seen:
                seen.add(key)
                examples.append(texts[i])
            if len(examples) >= cfg.n_examples:
                break
        mean = float(np.mean(sentiments[members])) if sentiments is not None and len(members) else 0.0
        out.append(Aspect(id=c, name=name_of(phrases[c], f"aspect {c}"), phrases=tuple(phrases[c]),
                          size=len(members), mean_sentiment=mean, examples=tuple(examples)))
    return out


class _Bar:
    """A rich progress bar over the fitting steps, or nothing."""

    def __init__(self, on: bool, total: int, what: str) -> None:
        self._progress = None
        if on:
            from rich.progress import Progress

            self._progress = Progress(transient=True)
            self._progress.start()
            self._task = self._progress.add_task(what, total=total)

    def step(self) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
