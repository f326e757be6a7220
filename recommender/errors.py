"""The recommender's failures, all under :class:`profiling.errors.ConvRecError`::

ConvRecError
├── DataError (profiling)      a dataset line is unusable (names file, line and field)
└── RecommenderError           recommender: a model cannot be trained, saved, loaded or asked
    ├── EmptySplitError        a split needed for training or evaluation has no accepted dialog
    ├── CheckpointError        a checkpoint folder is missing, incomplete or of another version
    └── UnknownModelError      a model name that is not one of the five
"""

from __future__ import annotations

from profiling.errors import ConvRecError

__all__ = ["CheckpointError", "EmptySplitError", "RecommenderError", "UnknownModelError"]


class RecommenderError(ConvRecError):
    """Raised when the recommender cannot do what it was asked (see the subclasses)."""


class EmptySplitError(RecommenderError):
    """Raised when a split needed for training or evaluation holds no accepted dialog."""


class CheckpointError(RecommenderError):
    """Raised when a checkpoint folder is missing, incomplete, or was written by another format version."""


class UnknownModelError(RecommenderError):
    """Raised for a model name other than cross, fusion, history, dialog or popularity."""
