"""Shares as the metrics report them: rounded to four places, None when there is nothing to share."""

from __future__ import annotations

__all__ = ["share"]


def share(part: float, whole: float) -> float | None:
    """``part / whole`` rounded to 4 places; None when ``whole`` is 0."""
    return round(part / whole, 4) if whole else None
