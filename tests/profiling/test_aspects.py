"""Aspect discovery on a small sample world with the real fast encoder, and the evaluation measures."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from pydantic import ValidationError
from sklearn.metrics import normalized_mutual_info_score

from profiling.aspect_eval import nmi, npmi_coherence
from profiling.aspect_names import name_of, top_phrases
from profiling.aspects import AspectConfig, AspectResult, discover_aspects
from profiling.encoders import get_encoder
from profiling.errors import ProfilingError
from profiling.sample_world import WorldConfig, ensure_sample_world, load_truth

# The first test to need the fast encoder distils it (about 30 s on 2 idle cores, several minutes when the
# cores are shared): more than the default per-test limit allows on a busy machine.
pytestmark = pytest.mark.timeout(900)

@dataclass
class World:
    texts: list[str]
    x: np.ndarray
    planted: np.ndarray  # aspect id of single-aspect sentences, -1 for off-topic, -2 for two aspects
    k: int


@pytest.fixture(scope="module")
def world(session_cache: None) -> World:
    config = WorldConfig(n_items=48, n_users=80, n_reviews=900, n_aspects=12)
    truth = load_truth(ensure_sample_world(config).truth)
    texts = [s.text for s in truth.sentences]
    planted = np.array([s.aspects[0] if len(s.aspects) == 1 else (-1 if not s.aspects else -2)
                        for s in truth.sentences])
    return World(texts, get_encoder("fast").encode(texts), planted, len(truth.aspects))


@pytest.fixture(scope="module")
def found(world: World) -> AspectResult:
    return discover_aspects(world.x, world.texts, AspectConfig(k=world.k, seed=3, method="contrastive"),
                            encoder="fast")


def _single_nmi(world: World, labels: np.ndarray) -> float:
    keep = world.planted >= 0
    return nmi(world.planted[keep], labels[keep])


@pytest.mark.slow
@pytest.mark.parametrize("method", ["kmeans", "spherical", "contrastive"])
def test_each_method_recovers_planted_aspects(world: World, method: str) -> None:
    result = discover_aspects(world.x, world.texts, AspectConfig(k=world.k, method=method, rounds=2))
    # A loose floor: chance level is near 0; the benchmark reports the real figures of each method.
    assert _single_nmi(world, result.labels) > 0.45
    assert result.config.method == method


@pytest.mark.slow
def test_same_seed_gives_identical_labels(world: World, found: AspectResult) -> None:
    again = discover_aspects(world.x, world.texts, AspectConfig(k=world.k, seed=3, method="contrastive"),
                             encoder="fast")
    assert np.array_equal(again.labels, found.labels)
    assert np.array_equal(again.similarity, found.similarity)
    assert [a.name for a in again.aspects] == [a.name for a in found.aspects]


@pytest.mark.slow
def test_assign_reproduces_the_fitted_labels(world: World, found: AspectResult) -> None:
    labels, sim = found.assign(world.x)
    assert np.array_equal(labels, found.labels)
    assert np.allclose(sim, found.similarity, atol=1e-5)
    assert labels.dtype == np.int32 and sim.dtype == np.float32


@pytest.mark.slow
def test_far_sentences_are_no_aspect(world: World, found: AspectResult) -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(50, world.x.shape[1])).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    labels, sim = found.assign(np.vstack([noise, np.zeros((1, world.x.shape[1]), np.float32)]))
    assert labels[-1] == -1 and sim[-1] == 0.0  # a text with no known token
    assert (labels[:-1] == -1).mean() > 0.9
    # Planted off-topic sentences are "no aspect" more often than on-topic ones.
    off = found.labels[world.planted == -1] == -1
    on = found.labels[world.planted >= 0] == -1
    assert off.mean() > on.mean()


@pytest.mark.slow
def test_aspect_table_describes_its_members(world: World, found: AspectResult) -> None:
    assert [a.id for a in found.aspects] == list(range(world.k))
    assert sum(a.size for a in found.aspects) == int((found.labels >= 0).sum())
    assert found.encoder == "fast"
    for a in found.aspects:
        members = {world.texts[i].lower() for i in np.flatnonzero(found.labels == a.id)}
        assert a.name and a.phrases
        assert set(a.examples) <= {world.texts[i] for i in np.flatnonzero(found.labels == a.id)}
        joined = " ".join(members)
        assert all(word in joined for p in a.phrases[:3] for word in p.split())


@pytest.mark.slow
def test_sentiments_fill_mean_sentiment(world: World) -> None:
    sentiments = np.linspace(-1, 1, len(world.texts)).astype(np.float32)
    result = discover_aspects(world.x, world.texts, AspectConfig(k=world.k, rounds=1, method="contrastive"),
                              sentiments=sentiments)
    for a in result.aspects:
        assert a.mean_sentiment == pytest.approx(float(sentiments[result.labels == a.id].mean()), abs=1e-6)


def test_bad_inputs_are_refused() -> None:
    x = np.eye(8, dtype=np.float32)
    with pytest.raises(ProfilingError, match="texts"):
        discover_aspects(x, ["a"] * 7)
    with pytest.raises(ProfilingError, match="too few"):
        discover_aspects(x, ["a"] * 8, AspectConfig(k=4, method="contrastive"))
    with pytest.raises(ProfilingError, match="NaN"):
        discover_aspects(np.full((8, 8), np.nan, np.float32), ["a"] * 8)
    with pytest.raises(ValidationError):
        AspectConfig(k=20, clusters=3)  # type: ignore[call-arg]


def test_nmi_matches_the_reference_implementation() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        a = rng.integers(0, rng.integers(1, 8), 300)
        b = np.where(rng.random(300) < 0.6, a, rng.integers(0, 6, 300))
        assert nmi(a, b) == pytest.approx(normalized_mutual_info_score(a, b), abs=1e-9)
    assert nmi([0, 0, 1, 1], [5, 5, 7, 7]) == pytest.approx(1.0)


def test_npmi_prefers_phrases_that_occur_together() -> None:
    docs = ["the battery life is long"] * 20 + ["fast shipping, good packaging"] * 20 + ["battery shipping"]
    coherent, mixed = npmi_coherence([["battery", "life"], ["battery", "packaging"]], docs)
    assert coherent > 0.5 > mixed
    assert mixed == -1.0  # never in the same document


def test_top_phrases_favour_words_typical_of_a_class() -> None:
    texts = ["the zipper broke fast"] * 5 + ["the zipper is sturdy"] * 5 + ["the color faded fast"] * 5
    labels = np.array([0] * 10 + [1] * 5)
    phrases = top_phrases(texts, labels, 2, n=3)
    assert phrases[0][0] == "zipper" and "color" in phrases[1][:2]
    assert name_of(["zipper broke", "zipper", "sturdy"], "x") == "zipper broke / sturdy"
