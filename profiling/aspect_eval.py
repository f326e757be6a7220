"""How good found aspects are: NMI against planted labels, NPMI coherence of their top phrases.

* :func:`nmi` is normalised mutual information with the arithmetic-mean normaliser
  ``I(A; B) / ((H(A) + H(B)) / 2)`` (the convention of scikit-learn's default), in nats.
* :func:`npmi_coherence` scores each aspect's top phrases by how often they occur together in the
  same document: ``NPMI(a, b) = log(p(a, b) / (p(a) p(b))) / -log p(a, b)``, in [-1, 1] (-1 when they never
  co-occur), averaged over the pairs of an aspect's top ``n`` phrases. Higher means the phrases describe
  one topic as people write about it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations

import numpy as np

from profiling.aspect_names import phrases_of, tokenize

__all__ = ["nmi", "npmi_coherence"]


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def nmi(labels_true: Sequence[int] | np.ndarray, labels_pred: Sequence[int] | np.ndarray) -> float:
    """Normalised mutual information of two labelings of the same items (1.0 when both are one class)."""
    a = np.asarray(labels_true)
    b = np.asarray(labels_pred)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"labelings must be 1-d and of equal length, got {a.shape} and {b.shape}")
    if len(a) == 0:
        return 1.0
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1), dtype=np.float64)
    np.add.at(table, (ai, bi), 1.0)
    ha, hb = _entropy(table.sum(axis=1)), _entropy(table.sum(axis=0))
    if ha == 0.0 and hb == 0.0:
        return 1.0
    n = table.sum()
    nz = table > 0
    outer = np.outer(table.sum(axis=1), table.sum(axis=0))
    mi = float((table[nz] / n * np.log(table[nz] * n / outer[nz])).sum())
    return max(0.0, mi / ((ha + hb) / 2)) if (ha + hb) > 0 else 0.0


def npmi_coherence(topics: Sequence[Sequence[str]], documents: Sequence[str], n: int = 10) -> list[float]:
    """Mean pairwise NPMI of each topic's top ``n`` phrases over ``documents`` (document co-occurrence)."""
    wanted = {p for t in topics for p in t[:n]}
    postings: dict[str, set[int]] = {p: set() for p in wanted}
    for d, doc in enumerate(documents):
        for p in set(phrases_of(tokenize(doc))) & wanted:
            postings[p].add(d)
    total = len(documents)
    scores = []
    for topic in topics:
        top = list(topic[:n])
        pairs = []
        for a, b in combinations(top, 2):
            na, nb = len(postings[a]), len(postings[b])
            nab = len(postings[a] & postings[b])
            if nab == 0 or na == 0 or nb == 0:
                pairs.append(-1.0)
                continue
            pab = nab / total
            if pab >= 1.0:
                pairs.append(1.0)
                continue
            pairs.append(math.log(pab / ((na / total) * (nb / total))) / -math.log(pab))
        scores.append(float(np.mean(pairs)) if pairs else 0.0)
    return scores
