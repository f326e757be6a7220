"""Active seed selection: each strategy's objective, determinism, budgets, approximations, the record."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

import profiling.selection as selection
from profiling.aspects import AspectConfig
from profiling.corpus import Corpus, Interaction, Item, to_millis
from profiling.pipeline import ProfilingConfig, ProfilingResult, run_profiling
from profiling.seeds import Seed, SeedConfig, make_seeds, split_seeds
from profiling.selection import (
    STRATEGIES,
    FeatureConfig,
    SeedFeatures,
    SeedNotInCorpusError,
    SelectionError,
    SelectionParams,
    UnknownStrategyError,
    build_seed_features,
    order_seeds,
    select_seeds,
    synthetic_features,
)
from profiling.selection.collaborative import implicit_factors
from profiling.selection.kmeans import kmeans, squared_distances
from profiling.selection.strategies import _distributions, _js_to, _Run

T0 = datetime(2022, 1, 1, tzinfo=UTC)
GREEDY = ("kcenter", "js", "hybrid")


class HashingEncoder:
    """A bag-of-words hashing encoder: the test's stand-in at the encoder seam (no model files)."""

    name = "test-hashing-64"
    dim = 64

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for k, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[k, h % self.dim] += 1.0 if h & 1 << 31 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


def _features(labels: np.ndarray, items: np.ndarray, n_categories: int, seed: int = 0) -> SeedFeatures:
    """Hand-made features: blob ``labels`` in both spaces, the given target items, category = label mod."""
    rng = np.random.default_rng(seed)
    k = int(labels.max()) + 1
    centres = rng.standard_normal((k, 16)).astype(np.float32) * 6
    x = centres[labels] + rng.standard_normal((len(labels), 16), dtype=np.float32) * 0.3
    review = x / np.linalg.norm(x, axis=1, keepdims=True)
    return SeedFeatures(
        keys=[f"k{j}" for j in range(len(labels))], combined=x, review=review,
        category=(labels % n_categories).astype(np.int32),
        categories=tuple(f"c{j}" for j in range(n_categories)),
        item=items.astype(np.int32), popularity=np.bincount(items)[items].astype(np.float32), source="test")


def _radius(x: np.ndarray, picks: np.ndarray) -> float:
    return float(np.sqrt(squared_distances(x, x[picks]).min(1).max()))


def test_public_names() -> None:
    assert set(selection.__all__) == {
        "BLOCKS", "STRATEGIES", "FeatureConfig", "SeedFeatures", "SeedNotInCorpusError", "Selection",
        "SelectionError", "SelectionParams", "StrategyName", "UnknownStrategyError", "build_seed_features",
        "item_features", "order_seeds", "select_seeds", "synthetic_features"}
    assert set(STRATEGIES) == {"random", "stratified", "kcenter", "js", "hybrid"}


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_deterministic_unique_and_prefix_consistent(strategy: str) -> None:
    feats = synthetic_features(1500, clusters=20, seed=3)
    a = select_seeds(feats, strategy, 150, seed=7)
    b = select_seeds(feats, strategy, 150, seed=7)
    assert a == b
    assert len(a.keys) == len(set(a.keys)) == 150
    assert a.n_candidates == 1500 and not a.whole_pool and not a.approximate
    other = select_seeds(feats, strategy, 150, seed=8)
    if strategy != "js":  # js has no random choice on a pool this small: its picks do not depend on the seed
        assert other.keys != a.keys
    if strategy != "stratified":  # greedy and random picks are prefixes of larger budgets
        assert select_seeds(feats, strategy, 300, seed=7).keys[:150] == a.keys


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_budget_edges(strategy: str) -> None:
    feats = synthetic_features(150, clusters=5, seed=1)
    whole = select_seeds(feats, strategy, 1000, seed=0)
    assert whole.whole_pool and sorted(whole.keys) == sorted(feats.keys)
    assert any("whole pool" in note for note in whole.notes)
    empty = select_seeds(feats, strategy, 0, seed=0)
    assert empty.keys == [] and not empty.whole_pool
    with pytest.raises(SelectionError, match="budget must be >= 0"):
        select_seeds(feats, strategy, -1, seed=0)


def test_unknown_strategy_names_the_known_ones() -> None:
    with pytest.raises(UnknownStrategyError, match="kcenter"):
        select_seeds(synthetic_features(10), "best", 3, seed=0)


def test_stratified_matches_category_and_popularity_mix() -> None:
    labels = np.repeat([0, 1, 2], [600, 300, 100])
    rng = np.random.default_rng(0)
    # Item popularity: a few head items and a long tail, inside each category.
    items = np.array([lab * 1000 + (rng.integers(3) if rng.random() < 0.5 else 3 + rng.integers(200))
                      for lab in labels])
    feats = _features(labels, items, n_categories=3)
    sel = select_seeds(feats, "stratified", 100, seed=0, params=SelectionParams(popularity_bins=2))
    idx = np.array([int(k[1:]) for k in sel.keys])
    assert Counter(feats.category[idx].tolist()) == {0: 60, 1: 30, 2: 10}
    # Every prefix is close to proportional too (interleaved order).
    assert Counter(feats.category[idx[:10]].tolist()) == {0: 6, 1: 3, 2: 1}
    # Popularity bands of equal seed mass: half of the picks from the head band of each category.
    head = feats.popularity[idx] >= np.median(feats.popularity)
    assert 40 <= int(head.sum()) <= 60
    assert sel.params["strata"] == 6


def test_kcenter_follows_its_objective_and_covers_better_than_random() -> None:
    feats = synthetic_features(400, clusters=30, seed=5)
    sel = select_seeds(feats, "kcenter", 40, seed=0)
    idx = np.array([int(k[1:]) for k in sel.keys])
    d = squared_distances(feats.combined, feats.combined)
    for t in range(1, len(idx)):  # each pick is the farthest candidate from the picks before it
        nearest = d[:, idx[:t]].min(1)
        assert nearest[idx[t]] == pytest.approx(nearest.max(), rel=1e-4)
    rand = np.array([int(k[1:]) for k in select_seeds(feats, "random", 40, seed=0).keys])
    assert _radius(feats.combined, idx) < _radius(feats.combined, rand)


@pytest.mark.parametrize("strategy", ["kcenter", "hybrid"])
def test_cell_pruning_is_exact(strategy: str) -> None:
    feats = synthetic_features(3000, clusters=12, seed=8)
    plain = select_seeds(feats, strategy, 100, seed=2, params=SelectionParams(cells=1))
    pruned = select_seeds(feats, strategy, 100, seed=2, params=SelectionParams(cells=24))
    assert pruned.keys == plain.keys and not pruned.approximate
    assert pruned.params["cells_used"] == 24
    assert pruned.params["cells_updated_per_pick"] < 24  # cells were skipped, yet nothing changed


def test_js_first_pick_max_entropy_then_max_divergence() -> None:
    feats = synthetic_features(300, clusters=8, seed=2)
    sel = select_seeds(feats, "js", 5, seed=4)
    idx = [int(k[1:]) for k in sel.keys]
    run = _Run("js", 4, SelectionParams())  # the same generator state the selection started from
    p = _distributions(feats.review, run)
    assert run.resolved["temperature_used"] == sel.params["temperature_used"]
    entropy = -(p * np.log(p + 1e-12)).sum(1)
    assert idx[0] == int(np.argmax(entropy))
    for t in range(1, len(idx)):
        rest = np.setdiff1d(np.arange(len(p)), idx[:t])
        js = _js_to(p[rest], entropy[rest], p[idx[:t]].mean(0))
        assert idx[t] == int(rest[np.argmax(js)])
    # The closed form agrees with the definition 0.5 KL(p||a) + 0.5 KL(m||a).
    a = 0.5 * (p[0] + p[1])
    direct = 0.5 * (p[0] * np.log(p[0] / a)).sum() + 0.5 * (p[1] * np.log(p[1] / a)).sum()
    assert _js_to(p[:1], entropy[:1], p[1])[0] == pytest.approx(direct, abs=1e-5)


def test_js_and_kcenter_cover_more_clusters_than_random() -> None:
    rng = np.random.default_rng(1)
    labels = rng.choice(40, size=4000, p=rng.dirichlet(np.full(40, 0.3)))
    feats = _features(labels, rng.integers(0, 500, size=4000), n_categories=4)
    covered = {}
    for strategy in ("random", "kcenter", "js"):
        idx = [int(k[1:]) for k in select_seeds(feats, strategy, 40, seed=0,
                                                params=SelectionParams(clusters=40)).keys]
        covered[strategy] = len(set(labels[idx].tolist()))
    assert covered["kcenter"] > covered["random"]
    assert covered["js"] > covered["random"]


def test_hybrid_prefers_long_tail_targets() -> None:
    feats = synthetic_features(3000, clusters=10, n_items=400, seed=6)

    def mean_pop(sel: selection.Selection) -> float:
        return float(np.mean(np.log1p(feats.popularity[[int(k[1:]) for k in sel.keys]])))

    strong = select_seeds(feats, "hybrid", 150, seed=0, params=SelectionParams(popularity_weight=2.0))
    none = select_seeds(feats, "hybrid", 150, seed=0, params=SelectionParams(popularity_weight=0.0))
    rand = select_seeds(feats, "random", 150, seed=0)
    assert mean_pop(strong) < mean_pop(none)
    assert mean_pop(strong) < mean_pop(rand)


@pytest.mark.parametrize("strategy", GREEDY)
def test_approximations_are_flagged_and_deterministic(strategy: str) -> None:
    feats = synthetic_features(3000, clusters=10, seed=9)
    params = SelectionParams(max_pool=1000, per_step=200, max_greedy_steps=60, clusters=8)
    sel = select_seeds(feats, strategy, 100, seed=1, params=params)
    assert sel == select_seeds(feats, strategy, 100, seed=1, params=params)
    assert sel.approximate and sel.n_considered == 1000
    assert len(sel.keys) == len(set(sel.keys)) == 100
    notes = " ".join(sel.notes)
    assert "pool subsampled" in notes and "60 greedy picks" in notes
    assert ("per-step candidates" in notes) == (strategy != "kcenter")


def test_missing_features_are_an_error_not_a_fallback() -> None:
    feats = synthetic_features(50)
    bare = SeedFeatures(keys=feats.keys, combined=np.zeros((50, 0), np.float32),
                        review=np.zeros((50, 0), np.float32), category=feats.category,
                        categories=feats.categories, item=feats.item, popularity=feats.popularity)
    for strategy in GREEDY:
        with pytest.raises(SelectionError, match="needs"):
            select_seeds(bare, strategy, 5, seed=0)
    with pytest.raises(SelectionError, match="rows"):
        SeedFeatures(keys=["a"], combined=bare.combined, review=bare.review, category=bare.category,
                     categories=(), item=bare.item, popularity=bare.popularity)


def test_kmeans_recovers_separated_blobs_on_both_paths() -> None:
    rng = np.random.default_rng(0)
    truth = np.array([[5, 0, 0], [0, 5, 0], [0, 0, 5]], dtype=np.float32)
    x = truth[rng.integers(3, size=3000)] + 0.1 * rng.standard_normal((3000, 3), dtype=np.float32)
    for limit in (50_000, 0):  # Lloyd, then mini-batch
        centres = kmeans(x, 3, np.random.default_rng(1), full_limit=limit, iterations=40, batch=256)
        assert squared_distances(truth, centres).min(1).max() < 0.05


def test_implicit_factors_reconstruct_a_low_rank_matrix() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random((60, 2)), rng.random((2, 40))
    target = (a @ b > 0.5).astype(int) * rng.integers(1, 3, size=(60, 40))  # repeated interactions
    users, items = np.nonzero(target)
    users, items = np.repeat(users, target[users, items]), np.repeat(items, target[users, items])
    u, v, s = implicit_factors(users, items, 60, 40, rank=40, rng=np.random.default_rng(1))
    assert np.allclose(u @ v.T, np.log1p(target), atol=1e-3)
    assert np.all(np.diff(s) <= 1e-6)


# -- end to end on a small corpus -------------------------------------------------------------------------
WORDS = {"phones": ["battery", "screen", "camera"], "shoes": ["fit", "sole", "laces"],
         "bags": ["zipper", "straps", "pocket"]}


def _corpus(late_item: str | None = None) -> Corpus:
    items = [Item(id=f"{cat}{k}", title=f"{cat} {k}", categories=("Store", cat))
             for cat in WORDS for k in range(5)]
    rng = np.random.default_rng(0)
    inter = []
    for u in range(10):
        for j in range(9):
            cat = list(WORDS)[(u + j) % 3]
            word = WORDS[cat][int(rng.integers(3))]
            good = rng.random() < 0.7
            item = f"{cat}{int(rng.integers(5))}"
            if late_item is not None and j == 8:
                item = late_item
            verdict, feeling = ("great and solid", "love") if good else ("awful and weak", "hate")
            inter.append(Interaction(
                user=f"u{u}", item=item, rating=5.0 if good else 1.0,
                timestamp=T0 + timedelta(days=20 * j + u),
                # The number keeps every review distinct (no duplicate is dropped); the encoder ignores it.
                text=f"The {word} is {verdict}. I {feeling} the {WORDS[cat][(j + 1) % 3]}. #{u}-{j}"))
    return Corpus.from_interactions(items, inter, source="selection-toy")


def _profiled(corpus: Corpus) -> ProfilingResult:
    cfg = ProfilingConfig(aspects=AspectConfig(k=4, rounds=0, n_init=1, method="spherical"),
                          sentiment="vader")
    return run_profiling(corpus, cfg, encoder=HashingEncoder())


@pytest.fixture(scope="module")
def toy() -> tuple[Corpus, ProfilingResult, list[Seed]]:
    corpus = _corpus()
    seeds, _ = split_seeds(make_seeds(corpus, SeedConfig(min_history=2)))
    return corpus, _profiled(corpus), [s for s in seeds if s.split == "train"]


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_order_seeds_end_to_end(toy: tuple[Corpus, ProfilingResult, list[Seed]], strategy: str) -> None:
    corpus, result, pool = toy
    chosen, record = order_seeds(corpus, result, pool, strategy, 12, seed=3, encoder=HashingEncoder())
    assert [s.key for s in chosen] == record["keys"] and len(chosen) == 12
    assert all(s.split == "train" for s in chosen)
    assert json.loads(json.dumps(record)) == record
    assert record["strategy"] == strategy and record["n_candidates"] == len(pool)
    assert record["features"]["source"] == ("metadata" if strategy in ("random", "stratified")
                                            else HashingEncoder.name)
    again, record2 = order_seeds(corpus, result, pool, strategy, 12, seed=3, encoder=HashingEncoder())
    assert record2 == record and [s.key for s in again] == record["keys"]


def test_seed_features_blocks_and_no_later_interaction_leaks(
        toy: tuple[Corpus, ProfilingResult, list[Seed]]) -> None:
    corpus, result, pool = toy
    cfg = FeatureConfig(dim=16)
    feats = build_seed_features(corpus, result, pool, cfg, encoder=HashingEncoder())
    assert feats.combined.shape == (len(pool), 16) and feats.combined.dtype == np.float32
    assert np.allclose(np.linalg.norm(feats.review, axis=1), 1.0, atol=1e-5)
    rank = min(16, corpus.n_users, corpus.n_items)  # the factorisation rank is capped by the matrix size
    assert feats.blocks["item"] == 3 + 2 and feats.blocks["collaborative"] == 2 * rank
    counts = Counter(s.target.item for s in pool)
    assert feats.popularity.tolist() == [counts[s.target.item] for s in pool]
    # Each user's last interaction is after every train target: moving it to another item must not
    # change any feature of the train pool (the factorisation only reads interactions up to the pool).
    last = max(to_millis(s.target.timestamp) for s in pool)
    assert all(to_millis(i.timestamp) > last for u in corpus.users for i in corpus.history(u)[-1:])
    moved = _corpus(late_item="bags4")
    feats2 = build_seed_features(moved, result, pool, cfg, encoder=HashingEncoder())
    assert np.allclose(feats.combined, feats2.combined, atol=1e-5)


def test_a_seed_of_another_corpus_is_refused(toy: tuple[Corpus, ProfilingResult, list[Seed]]) -> None:
    corpus, result, pool = toy
    stranger = pool[0].model_copy(update={"target": pool[0].target.model_copy(
        update={"timestamp": pool[0].target.timestamp + timedelta(seconds=1)})})
    with pytest.raises(SeedNotInCorpusError, match=stranger.key):
        build_seed_features(corpus, result, [*pool[:3], stranger], encoder=HashingEncoder())
