"""Seed selection end to end: features of a pool of seeds, a strategy's picks, and the run record."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from profiling.corpus import Corpus
from profiling.seeds import Seed
from profiling.selection.errors import UnknownStrategyError
from profiling.selection.features import FeatureConfig, build_seed_features, item_features
from profiling.selection.strategies import STRATEGIES, SelectionParams, select_seeds

if TYPE_CHECKING:
    from profiling.encoders import Encoder
    from profiling.pipeline import ProfilingResult

__all__ = ["order_seeds"]

# Strategies that only read category, item and popularity: no embeddings to compute.
_METADATA_ONLY = ("random", "stratified")


def order_seeds(corpus: Corpus, result: ProfilingResult, seeds: Sequence[Seed], strategy: str, budget: int,
                seed: int, *, params: SelectionParams | None = None, features: FeatureConfig | None = None,
                encoder: Encoder | None = None, progress: bool = False
                ) -> tuple[list[Seed], dict[str, Any]]:
    """Up to ``budget`` of ``seeds`` chosen by ``strategy``, in pick order, and a JSON-able record of it.

    ``seeds`` is the candidate pool (e.g. the train split); ``result`` is stage 1 on ``corpus``. The record
    holds the Selection (keys in order, strategy, parameters, budget, candidates, approximate, notes), what
    the features were built from, and a digest of the ordered keys. Deterministic for ``seed``.
    """
    if strategy not in STRATEGIES:
        raise UnknownStrategyError(f"unknown selection strategy {strategy!r}; "
                                   f"choose one of {list(STRATEGIES)}")
    if strategy in _METADATA_ONLY:
        feats = item_features(corpus, seeds)
    else:
        cfg = features or FeatureConfig(seed=seed)
        feats = build_seed_features(corpus, result, seeds, cfg, encoder=encoder, progress=progress)
    selection = select_seeds(feats, strategy, budget, seed, params)
    by_key = {s.key: s for s in seeds}
    chosen = [by_key[k] for k in selection.keys]
    record: dict[str, Any] = selection.model_dump(mode="json")
    record["features"] = feats.describe()
    record["keys_sha256"] = hashlib.sha256("\n".join(selection.keys).encode()).hexdigest()
    return chosen, record
