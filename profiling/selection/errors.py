"""The failures of seed selection, under :class:`~profiling.errors.ConvRecError`::

    ConvRecError
    └── SelectionError            a selection cannot run as asked (bad budget, bad parameters)
        ├── UnknownStrategyError  the strategy name is not one of STRATEGIES
        └── SeedNotInCorpusError  a seed's target interaction is not in the corpus given
"""

from __future__ import annotations

from profiling.errors import ConvRecError

__all__ = ["SeedNotInCorpusError", "SelectionError", "UnknownStrategyError"]


class SelectionError(ConvRecError):
    """Raised when a seed selection cannot run as asked (a negative budget, features that do not match)."""


class UnknownStrategyError(SelectionError):
    """Raised when a strategy name is not one of the known strategies (the message lists them)."""


class SeedNotInCorpusError(SelectionError):
    """Raised when a seed's target interaction cannot be found in the corpus its features are built from."""
