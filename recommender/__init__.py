"""The downstream recommender trained on exported dialog datasets.

Five models (popularity, history-only, dialog-only, naive fusion, cross-attention), trained with
``python -m recommender.train`` and evaluated with ``python -m recommender.evaluate`` under full
ranking and the sampled protocol. In code: ``load_recommender(folder).recommend(history, dialog, k)``,
and ``run_experiment(train, validation, test, model=...)`` for one in-process run.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recommender.checkpoint import Recommender, load_recommender
    from recommender.config import MODEL_NAMES, ModelConfig, TrainConfig
    from recommender.errors import CheckpointError, EmptySplitError, RecommenderError, UnknownModelError
    from recommender.experiment import run_experiment

__all__ = [
    "MODEL_NAMES",
    "CheckpointError",
    "EmptySplitError",
    "ModelConfig",
    "Recommender",
    "RecommenderError",
    "TrainConfig",
    "UnknownModelError",
    "load_recommender",
    "run_experiment",
]

# torch loads when a model is first needed, not on `import recommender` (the CLIs' --help stays fast).
_HOME = {
    "Recommender": "checkpoint",
    "load_recommender": "checkpoint",
    "MODEL_NAMES": "config",
    "ModelConfig": "config",
    "TrainConfig": "config",
    "CheckpointError": "errors",
    "EmptySplitError": "errors",
    "RecommenderError": "errors",
    "UnknownModelError": "errors",
    "run_experiment": "experiment",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'recommender' has no attribute {name!r}")
    return getattr(import_module(f"recommender.{_HOME[name]}"), name)
