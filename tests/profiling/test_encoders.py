"""The real encoders (packaged MiniLM, the fast static model distilled from it) and the cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from profiling.cache_dir import cache_dir
from profiling.encoders import FAST_NAME, MINILM_NAME, CachedEncoder, Encoder, get_encoder
from profiling.errors import ProfilingError

# The first test to need the fast encoder distils it (about 30 s on 2 idle cores, several minutes when the
# cores are shared): more than the default per-test limit allows on a busy machine.
pytestmark = pytest.mark.timeout(900)

SENTENCES = [
    "The battery lasts all day.",
    "Battery life is excellent, it runs for hours.",
    "The shipping was slow and the box arrived damaged.",
    "Delivery took three weeks.",
    "😍",
]


@pytest.fixture(scope="module")
def minilm(session_cache: None) -> Encoder:
    return get_encoder("minilm", cache=False)


@pytest.fixture(scope="module")
def fast(session_cache: None) -> Encoder:
    # Distilled once per test session: CONVREC_CACHE_DIR is one session-wide temp folder.
    return get_encoder("fast", cache=False)


def _check_rows(x: np.ndarray, n: int, dim: int) -> None:
    assert x.dtype == np.float32 and x.shape == (n, dim)
    norms = np.linalg.norm(x, axis=1)
    assert np.all((np.abs(norms - 1) < 1e-4) | (norms == 0))


def _topic_structure(x: np.ndarray) -> None:
    """Same-topic sentences are closer than cross-topic ones."""
    sim = x @ x.T
    assert sim[0, 1] > max(sim[0, 2], sim[0, 3], sim[1, 2], sim[1, 3])
    assert sim[2, 3] > max(sim[0, 2], sim[1, 3])


@pytest.mark.slow
def test_minilm_is_the_packaged_model(minilm: Encoder) -> None:
    assert minilm.name == MINILM_NAME and minilm.dim == 384
    x = minilm.encode(SENTENCES)
    _check_rows(x, len(SENTENCES), 384)
    _topic_structure(x)
    assert minilm.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_fast_is_distilled_from_minilm_and_agrees_with_it(fast: Encoder, minilm: Encoder) -> None:
    assert fast.name == FAST_NAME and fast.dim == 256
    x = fast.encode(SENTENCES)
    _check_rows(x, len(SENTENCES), 256)
    _topic_structure(x[:4])
    # The emoji alone has no token in the vocabulary: a row of zeros, said so by the interface.
    assert np.linalg.norm(x[4]) == 0
    # The student ranks sentence pairs much as its teacher does.
    teacher = minilm.encode(SENTENCES[:4])
    iu = np.triu_indices(4, 1)
    rank_s = np.argsort(np.argsort((x[:4] @ x[:4].T)[iu]))
    rank_t = np.argsort(np.argsort((teacher @ teacher.T)[iu]))
    assert np.corrcoef(rank_s, rank_t)[0, 1] > 0.5
    folder = next(cache_dir("encoders").glob(f"{FAST_NAME}-v*"))
    assert {"vectors.npy", "tokenizer.json", "meta.json"} <= {p.name for p in folder.iterdir()}


@pytest.mark.slow
def test_cache_returns_identical_rows_and_stores_new_texts_once(fast: Encoder, tmp_path: Path) -> None:
    cached = CachedEncoder(fast, tmp_path)
    first = cached.encode(SENTENCES[:3] + SENTENCES[:1])
    assert (cached.hits, cached.misses) == (0, 3)  # a repeated text is encoded once
    assert np.array_equal(first, fast.encode(SENTENCES[:3] + SENTENCES[:1]))
    again = cached.encode(SENTENCES)
    assert (cached.hits, cached.misses) == (3, 5)
    assert np.array_equal(again[:3], first[:3])
    # A fresh cache object (another process) reads the shards back bit for bit.
    other = CachedEncoder(fast, tmp_path)
    assert np.array_equal(other.encode(SENTENCES), again)
    assert (other.hits, other.misses) == (5, 0)
    assert len(list(tmp_path.glob("*.keys.npy"))) == 2


@pytest.mark.slow
def test_get_encoder_caches_under_the_cache_dir_and_names_the_encoder(fast: Encoder) -> None:
    enc = get_encoder("fast")
    assert isinstance(enc, CachedEncoder) and enc.name == fast.name
    assert enc is get_encoder("fast")  # one index per folder per process
    x = enc.encode(["A sentence for the cache."])
    assert np.array_equal(x, fast.encode(["A sentence for the cache."]))
    assert enc.folder.parent == cache_dir("embeddings")


def test_unknown_encoder_is_refused_not_replaced() -> None:
    with pytest.raises(ProfilingError, match="unknown encoder"):
        get_encoder("bert-large")  # type: ignore[arg-type]
