"""Active seed selection: spend a generation budget on the seeds that teach the most.

``order_seeds(corpus, result, seeds, strategy, budget, seed)`` builds seed features
(:mod:`profiling.selection.features`) and runs one of :data:`STRATEGIES`
(:mod:`profiling.selection.strategies`, whose docstring states each objective and each approximation).
"""

from profiling.selection.errors import SeedNotInCorpusError, SelectionError, UnknownStrategyError
from profiling.selection.features import (
    BLOCKS,
    FeatureConfig,
    SeedFeatures,
    build_seed_features,
    item_features,
    synthetic_features,
)
from profiling.selection.order import order_seeds
from profiling.selection.strategies import STRATEGIES, Selection, SelectionParams, StrategyName, select_seeds

__all__ = [
    "BLOCKS",
    "STRATEGIES",
    "FeatureConfig",
    "SeedFeatures",
    "SeedNotInCorpusError",
    "Selection",
    "SelectionError",
    "SelectionParams",
    "StrategyName",
    "UnknownStrategyError",
    "build_seed_features",
    "item_features",
    "order_seeds",
    "select_seeds",
    "synthetic_features",
]
