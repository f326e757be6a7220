"""Ranking metrics under the two protocols: full ranking over every item, and target plus sampled items.

Ranks are 0-based. Ties are broken uniformly at random (seeded), so a model that scores many items
equally (popularity on unseen items) gets the rank a random order would give it, neither the best
nor the worst place among its ties.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from profiling.seeds import seed_rng

__all__ = [
    "METRICS",
    "chance_levels",
    "full_ranks",
    "metrics_from_ranks",
    "sampled_candidates",
    "sampled_ranks",
]

METRICS = ("hit@1", "hit@5", "hit@10", "ndcg@5", "ndcg@10", "mrr")


def _tie_break(greater: np.ndarray, ties: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # A uniform place among the target and the items it ties with.
    return greater + np.floor(rng.random(len(greater)) * (ties + 1)).astype(np.int64)


def full_ranks(scores: torch.Tensor, targets: torch.Tensor, rng: np.random.Generator) -> np.ndarray:
    """Rank of each target among all items; ``scores`` is [batch, items], ``targets`` column indices."""
    t = scores.gather(1, targets.view(-1, 1))
    greater = (scores > t).sum(1).cpu().numpy()
    ties = (scores == t).sum(1).cpu().numpy() - 1
    return _tie_break(greater, ties, rng)


def sampled_candidates(
    dialog_ids: Sequence[str], targets: np.ndarray, n_items: int, n_candidates: int, seed: int
) -> np.ndarray:
    """[batch, n_candidates] item columns: the target first, then others drawn uniformly without replacement.

    The draw depends on (seed, dialog id) only, so every model is ranked against the same candidates.
    """
    k = min(n_candidates, n_items) - 1
    out = np.empty((len(dialog_ids), k + 1), dtype=np.int64)
    for row, (did, tgt) in enumerate(zip(dialog_ids, targets, strict=True)):
        drawn = seed_rng(seed, f"sampled|{did}").choice(n_items - 1, size=k, replace=False)
        drawn[drawn >= tgt] += 1  # skip the target: draw from the other n_items - 1
        out[row, 0] = tgt
        out[row, 1:] = drawn
    return out


def sampled_ranks(scores: torch.Tensor, candidates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rank of the target (column 0 of ``candidates``) among its candidates."""
    cand = scores.gather(1, torch.as_tensor(candidates, device=scores.device))
    t = cand[:, :1]
    greater = (cand[:, 1:] > t).sum(1).cpu().numpy()
    ties = (cand[:, 1:] == t).sum(1).cpu().numpy()
    return _tie_break(greater, ties, rng)


def metrics_from_ranks(ranks: np.ndarray) -> dict[str, float]:
    """Hit@1/5/10, NDCG@5/10 and MRR of 0-based ranks (one relevant item per example)."""
    if len(ranks) == 0:
        return dict.fromkeys(METRICS, float("nan"))
    r = np.asarray(ranks, dtype=np.float64)
    gain = 1.0 / np.log2(r + 2.0)
    return {
        "hit@1": float((r < 1).mean()),
        "hit@5": float((r < 5).mean()),
        "hit@10": float((r < 10).mean()),
        "ndcg@5": float(np.where(r < 5, gain, 0.0).mean()),
        "ndcg@10": float(np.where(r < 10, gain, 0.0).mean()),
        "mrr": float((1.0 / (r + 1.0)).mean()),
    }


def chance_levels(n_candidates: int) -> dict[str, float]:
    """What a random ranker scores in expectation over ``n_candidates`` (e.g. Hit@10 over 25 = 0.40)."""
    c = n_candidates
    return {
        "hit@1": min(1, c) / c,
        "hit@5": min(5, c) / c,
        "hit@10": min(10, c) / c,
        "ndcg@5": sum(1 / math.log2(r + 2) for r in range(min(5, c))) / c,
        "ndcg@10": sum(1 / math.log2(r + 2) for r in range(min(10, c))) / c,
        "mrr": sum(1 / (r + 1) for r in range(c)) / c,
    }
