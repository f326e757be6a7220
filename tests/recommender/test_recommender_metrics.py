"""Ranking metrics and both protocols, checked against hand-computed values and a random ranker."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from recommender.metrics import (
    chance_levels,
    full_ranks,
    metrics_from_ranks,
    sampled_candidates,
    sampled_ranks,
)


def test_metrics_of_known_ranks() -> None:
    m = metrics_from_ranks(np.array([0, 4, 9, 30]))
    assert m["hit@1"] == 0.25 and m["hit@5"] == 0.5 and m["hit@10"] == 0.75
    assert m["ndcg@5"] == pytest.approx((1 + 1 / math.log2(6)) / 4)
    assert m["ndcg@10"] == pytest.approx((1 + 1 / math.log2(6) + 1 / math.log2(11)) / 4)
    assert m["mrr"] == pytest.approx((1 + 1 / 5 + 1 / 10 + 1 / 31) / 4)


def test_chance_levels_of_the_sampled_protocol() -> None:
    c = chance_levels(25)
    assert c["hit@10"] == pytest.approx(0.40) and c["hit@1"] == pytest.approx(0.04)
    assert c["mrr"] == pytest.approx(sum(1 / r for r in range(1, 26)) / 25)


def test_full_ranks_count_better_items_and_break_ties_at_random() -> None:
    scores = torch.tensor([[0.1, 0.9, 0.5, 0.3], [1.0, 1.0, 1.0, 1.0]])
    rng = np.random.default_rng(0)
    assert full_ranks(scores[:1], torch.tensor([2]), rng).tolist() == [1]
    # Four-way tie: every place equally likely, so the mean rank tends to 1.5.
    ties = full_ranks(scores[1:].expand(4000, -1), torch.zeros(4000, dtype=torch.long), rng)
    assert set(ties.tolist()) == {0, 1, 2, 3} and abs(ties.mean() - 1.5) < 0.06


def test_sampled_candidates_hold_the_target_once_and_are_the_same_for_every_model() -> None:
    ids = [f"d{k}" for k in range(300)]
    targets = np.arange(300) % 40
    cand = sampled_candidates(ids, targets, n_items=40, n_candidates=25, seed=3)
    assert cand.shape == (300, 25)
    assert (cand[:, 0] == targets).all()
    assert all(len(set(row)) == 25 and row[0] not in row[1:] for row in cand.tolist())
    assert cand.min() >= 0 and cand.max() < 40
    assert (cand == sampled_candidates(ids, targets, 40, 25, seed=3)).all()
    assert not (cand == sampled_candidates(ids, targets, 40, 25, seed=4)).all()
    # A catalog smaller than the candidate count ranks among every item.
    assert sampled_candidates(ids[:2], targets[:2], n_items=10, n_candidates=25, seed=0).shape == (2, 10)


def test_a_random_ranker_scores_chance_under_the_sampled_protocol() -> None:
    n, items = 4000, 300
    gen = torch.Generator().manual_seed(0)
    scores = torch.rand(n, items, generator=gen)
    targets = torch.randint(0, items, (n,), generator=gen)
    ids = [f"d{k}" for k in range(n)]
    rng = np.random.default_rng(1)
    sampled = metrics_from_ranks(
        sampled_ranks(scores, sampled_candidates(ids, targets.numpy(), items, 25, 0), rng)
    )
    assert abs(sampled["hit@10"] - 0.40) < 0.03 and abs(sampled["hit@1"] - 0.04) < 0.01
    full = metrics_from_ranks(full_ranks(scores, targets, rng))
    assert abs(full["hit@10"] - 10 / items) < 0.01


def test_no_ranks_give_nan_not_zero() -> None:
    assert all(math.isnan(v) for v in metrics_from_ranks(np.array([])).values())
