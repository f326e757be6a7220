"""Seeds: strict history, documented negatives rule, determinism, chronological split."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from profiling.corpus import Corpus, Interaction, Item
from profiling.seeds import SeedConfig, make_seeds, split_seeds

T0 = datetime(2022, 1, 1, tzinfo=UTC)


def _corpus() -> Corpus:
    items = [Item(id=f"{cat}{k}", title=f"{cat} {k}", categories=("Store", cat))
             for cat in ("phone", "shoe") for k in range(8)]
    inter = []
    for u in range(6):
        for j in range(7):
            item = f"{'phone' if (u + j) % 2 else 'shoe'}{(u + 2 * j) % 8}"
            rating = 1.0 if (u + j) % 5 == 0 else 5.0
            inter.append(Interaction(user=f"u{u}", item=item, rating=rating,
                                     timestamp=T0 + timedelta(days=10 * j + u), text=f"r {u} {j}"))
    # u0 reviews two items at the same instant: neither may be in the other's history.
    for item, text in (("phone7", "x"), ("shoe7", "y")):
        at = T0 + timedelta(days=200)
        inter.append(Interaction(user="u0", item=item, rating=4, timestamp=at, text=text))
    return Corpus.from_interactions(items, inter, source="toy")


def test_history_is_strictly_before_the_target() -> None:
    seeds = make_seeds(_corpus(), SeedConfig(min_history=2))
    assert seeds
    for s in seeds:
        assert all(h.timestamp < s.target.timestamp for h in s.history)
        assert len(s.history) >= 2
    same_instant = [s for s in seeds if s.user == "u0" and s.target.item in ("phone7", "shoe7")]
    assert len(same_instant) == 2
    for s in same_instant:
        assert {h.item for h in s.history}.isdisjoint({"phone7", "shoe7"})


def test_negatives_prefer_real_low_ratings_then_same_category() -> None:
    corpus = _corpus()
    seeds = make_seeds(corpus, SeedConfig(min_history=2, n_negatives=3))
    for s in seeds:
        assert s.target.item not in s.negatives
        assert len(set(s.negatives)) == len(s.negatives) == 3
        low = {i.item for i in corpus.history(s.user) if i.rating <= 2.0}
        for neg, src in zip(s.negatives, s.negative_sources, strict=True):
            if src == "rated_low":
                assert neg in low
            elif src == "same_category":
                assert corpus.items[neg].category == corpus.items[s.target.item].category
                assert neg not in {h.item for h in s.history}
        # Rule order: same-category low ratings, same-category draws, other low ratings, catalog.
        target_cat = corpus.items[s.target.item].category

        def rank(neg: str, src: str, cat: str = target_cat) -> int:
            if src == "rated_low":
                return 0 if corpus.items[neg].category == cat else 2
            return 1 if src == "same_category" else 3

        ranks = [rank(n, src) for n, src in zip(s.negatives, s.negative_sources, strict=True)]
        assert ranks == sorted(ranks)
    assert any(src == "rated_low" for s in seeds for src in s.negative_sources)
    assert any(src == "same_category" for s in seeds for src in s.negative_sources)


def test_negative_scope_any_puts_every_real_rejection_first() -> None:
    corpus = _corpus()
    seeds = make_seeds(corpus, SeedConfig(min_history=2, n_negatives=3, negative_scope="any"))
    for s in seeds:
        kinds = list(s.negative_sources)
        assert kinds == sorted(kinds, key=lambda k: k != "rated_low")
    scoped = make_seeds(corpus, SeedConfig(min_history=2, n_negatives=3))
    assert [s.negatives for s in seeds] != [s.negatives for s in scoped]


def test_seeds_are_deterministic_and_keys_unique() -> None:
    a = make_seeds(_corpus(), SeedConfig(min_history=1, seed=7))
    b = make_seeds(_corpus(), SeedConfig(min_history=1, seed=7))
    assert [s.model_dump() for s in a] == [s.model_dump() for s in b]
    assert len({s.key for s in a}) == len(a)
    last = make_seeds(_corpus(), SeedConfig(min_history=1, targets="last"))
    assert len(last) == 6


def test_split_uses_global_cut_points() -> None:
    seeds, cuts = split_seeds(make_seeds(_corpus(), SeedConfig(min_history=1)))
    by = {k: [s.target.timestamp for s in seeds if s.split == k] for k in ("train", "validation", "test")}
    assert all(by.values())
    assert max(by["train"]) < min(by["validation"]) <= max(by["validation"]) < min(by["test"])
    assert sum(cuts.counts.values()) == len(seeds)
    with pytest.raises(ValueError, match="sum to 1"):
        split_seeds(seeds, (0.5, 0.1, 0.1))
