"""The recommender's failures, under :class:`RecommenderError` (a bad dataset line is a
:class:`profiling.errors.DataError`). The whole tree of ConvRecError is drawn once, in ARCHITECTURE.md."""

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
    """Raised when a model name is not one of cross, fusion, history, dialog or popularity."""
