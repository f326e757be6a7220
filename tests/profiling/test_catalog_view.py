"""The catalog view equals full item profiles to the bit: a search over it ranks items exactly as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from profiling import catalog_view
from profiling.corpus import Corpus
from profiling.profiler import ProfileSettings, TemporalProfiler
from profiling.profiles import CatalogEntry
from profiling.sample_world import load_sample_world
from tests.support.worlds import WORLD


@pytest.fixture(scope="module")
def world(session_cache: None) -> tuple[Corpus, TemporalProfiler]:
    from profiling.pipeline import ProfilingConfig, load_or_run_profiling

    corpus = load_sample_world(WORLD)
    return corpus, load_or_run_profiling(corpus, ProfilingConfig(seed=0)).profiles


def _times(corpus: Corpus, n: int) -> list[datetime]:
    """``n`` instants across the corpus's span, from before its first review to after its last."""
    ts = corpus.columns.ts
    lo, hi = int(ts.min()) - 86_400_000, int(ts.max()) + 86_400_000
    return [datetime.fromtimestamp(t / 1000, tz=UTC) for t in np.linspace(lo, hi, n).astype(np.int64)]


def _expected(prof: TemporalProfiler, items: list[str], at: datetime) -> list[CatalogEntry]:
    return [CatalogEntry.of(prof.item_profile(i, at, evidence=False)) for i in items]


@pytest.mark.parametrize("bucket", ["month", "quarter", "year"])
@pytest.mark.parametrize("smoothing", [0.0, 0.5, 0.9])
def test_equals_item_profiles_bit_for_bit(world: tuple[Corpus, TemporalProfiler], bucket: str,
                                          smoothing: float) -> None:
    corpus, base = world
    prof = TemporalProfiler(corpus, base.facts, base.aspects, encoder=base.encoder,
                            settings=ProfileSettings(bucket=bucket, smoothing=smoothing))  # type: ignore[arg-type]
    items = list(corpus.item_ids)
    compared = 0
    for at in _times(corpus, 12):
        got = prof.catalog_view(items, at)
        assert got == _expected(prof, items, at)
        compared += sum(len(e.aspects) for e in got)
    assert compared > 1000  # most items have aspects at most of these times: not an empty comparison


def test_chunked_equals_one_pass(world: tuple[Corpus, TemporalProfiler],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, prof = world
    items = list(reversed(corpus.item_ids))  # any order: entries come back in the order asked
    at = _times(corpus, 3)[1]
    whole = prof.catalog_view(items, at)
    monkeypatch.setattr(catalog_view, "_MAX_CELLS", 1)  # one item per chunk
    assert prof.catalog_view(items, at) == whole == _expected(prof, items, at)
    assert [e.item for e in whole] == items


def test_before_any_review_every_item_is_empty(world: tuple[Corpus, TemporalProfiler]) -> None:
    corpus, prof = world
    first = datetime.fromtimestamp(int(corpus.columns.ts.min()) / 1000, tz=UTC)
    entries = prof.catalog_view(list(corpus.item_ids), first - timedelta(days=1))
    assert entries and all(e.aspects == () for e in entries)
    assert prof.catalog_view([], first) == []
