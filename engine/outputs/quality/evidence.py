"""What the accepted dialogs' claims rest on: mentions behind community claims, real declines, scores.

From the dataset lines' provenance (:mod:`engine.core.provenance`): the community claims the turns
were asked to make and the fewest mentions any rests on, the declines and the share the user's own
low rating backs, and the judge's naturalness and faithfulness scores (none when no judge ran).
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median
from typing import Any

from engine.core.provenance import decline_figures, judge_figures
from engine.store import DialogData

__all__ = ["evidence_metrics"]


def evidence_metrics(dialogs: Sequence[DialogData], *, min_mentions: int = 5) -> dict[str, Any]:
    """Claims, declines and judge scores over ``dialogs`` (the accepted ones of a run or persona)."""
    records = [d.record for d in dialogs]
    claims = [g for r in records for t in r["turns"] for g in t.get("grounding") or ()
              if g["kind"] != "preference"]
    mentions = [g["mentions"] for g in claims]
    return {
        "community_claims": len(claims),
        "claims_below_min_mentions": sum(m < min_mentions for m in mentions),
        "claims_fewest_mentions": min(mentions) if mentions else None,
        "claims_median_mentions": median(mentions) if mentions else None,
        **decline_figures(records),
        **judge_figures(records),
    }
