"""Who realized a dataset line's turns: the per-turn fields and the per-dialog counts every layout carries."""

from __future__ import annotations

from typing import Any

__all__ = ["REALIZERS", "realizer_counts", "turn_extras"]

REALIZERS = ("model", "draft", "scripted")  # a model; a polish refused (the scripted draft); the realizer

_TURN_EXTRAS = ("realizer", "draft")  # who realized a turn, and (polish mode) the draft it was made from


def turn_extras(turn: dict[str, Any]) -> dict[str, Any]:
    """The turn's realizer fields that are set (a line written before they existed has none)."""
    return {k: turn[k] for k in _TURN_EXTRAS if turn.get(k) is not None}


def realizer_counts(turns: list[dict[str, Any]]) -> dict[str, int]:
    """Turns by who realized them: ``model``, ``draft`` (polish refused) and ``scripted``."""
    counts = dict.fromkeys(REALIZERS, 0)
    for t in turns:
        if t.get("realizer") in counts:
            counts[t["realizer"]] += 1
    return counts
