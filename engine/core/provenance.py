"""The grounding each turn was asked to express, and the alternatives a dialog declined, with provenance.

A dataset turn carries ``grounding``: for every stated preference and every community claim its prompt
asked for, the aspect (id and name), the polarity, the number of mentions and the stage-1 sentence ids
behind it (the user's own sentences for a preference, other buyers' for a community claim), all from
reviews strictly before the seed's time. A reader can follow any claim to the text it rests on: the
ids index stage 1's sentence table, where ``profiling.tag`` or the stored ``mentions.parquet`` show
the aspect each sentence mentions.

Every entry has the same keys (``GROUNDING_KEYS``; those that do not apply are None), so the Parquet
export stores them as one struct type:

- ``kind``: ``preference`` (the user's own view), ``community`` (what other buyers say: ``stance``
  positive, negative or mixed) or ``trend`` (other buyers' view is getting worse lately);
- ``polarity``: +1 / -1 (a preference; a community stance, 0 when mixed; -1 for a falling trend);
- ``mentions``, ``positive``, ``negative``: the mentions behind it and how many are of each sign;
- ``trend_before`` / ``trend_after``: for a trend, the mentions on each side of its time cut;
- ``sentence_ids`` (every sentence behind it, latest first) and ``evidence_ids`` (the quoted ones).
"""

from __future__ import annotations

from collections.abc import Iterable
from statistics import mean
from typing import Any

from agents.dialog import Speaker
from planners.plan import CommunityFact, DialogPlan, NodeBinding, UserAspectFact

__all__ = ["DECLINE_KEYS", "GROUNDING_KEYS", "decline_figures", "declined_alternatives", "judge_figures",
           "turn_grounding"]

GROUNDING_KEYS = ("kind", "item", "aspect", "name", "polarity", "stance", "mentions", "positive", "negative",
                  "trend_before", "trend_after", "sentence_ids", "evidence_ids")
DECLINE_KEYS = ("item", "title", "source", "rated_low", "reason", "aspect", "name", "complaint_ids",
                "own_review")
_SIGN = {"positive": 1, "negative": -1, "mixed": 0}


def _preference(f: UserAspectFact) -> dict[str, Any]:
    return {"kind": "preference", "item": None, "aspect": f.aspect, "name": f.name, "polarity": f.polarity,
            "stance": None, "mentions": f.count, "positive": None, "negative": None, "trend_before": None,
            "trend_after": None, "sentence_ids": list(f.sentence_ids), "evidence_ids": list(f.evidence_ids)}


def _community(f: CommunityFact, *, trend: bool = False) -> dict[str, Any]:
    return {"kind": "trend" if trend else "community", "item": f.item, "aspect": f.aspect, "name": f.name,
            "polarity": -1 if trend else _SIGN[f.stance], "stance": f.stance, "mentions": f.mentions,
            "positive": f.positive, "negative": f.negative, "trend_before": f.trend_before,
            "trend_after": f.trend_after, "sentence_ids": list(f.sentence_ids),
            "evidence_ids": list(f.evidence_ids)}


def turn_grounding(node: NodeBinding, speaker: Speaker) -> list[dict[str, Any]]:
    """What a turn of ``speaker`` in ``node`` was asked to express, each with its provenance."""
    out: list[dict[str, Any]] = []
    if speaker == "user":
        out += [_preference(f) for f in node.reveals]
        if node.clarification is not None:
            out.append(_preference(node.clarification.user))
        if (n := node.negative) is not None:
            out += [_preference(n.user), _community(n.community, trend=n.reason == "worsening")]
        if node.critique is not None:
            out.append(_preference(node.critique.user))
        if node.inquiry is not None and node.inquiry.user is not None:
            out.append(_preference(node.inquiry.user))
        if node.acceptance is not None and node.acceptance.decisive is not None:
            d = node.acceptance.decisive
            out.append(_preference(d.user) if d.user is not None else _community(d.community))
    else:
        if node.negative is not None and node.negative.praise is not None:
            out.append(_community(node.negative.praise))
        if node.target is not None:
            for j in node.target.justifications:
                out.append(_community(j.community))
                if j.user is not None:
                    out.append(_preference(j.user))
        if node.inquiry is not None:
            out.append(_community(node.inquiry.community))
    return out


def declined_alternatives(plan: DialogPlan) -> list[dict[str, Any]]:
    """The alternatives the dialog declines: which item, whether the user really rated it low, and why."""
    return [
        {"item": n.item, "title": n.title, "source": n.source, "rated_low": n.source == "rated_low",
         "reason": n.reason, "aspect": n.user.aspect, "name": n.user.name,
         "complaint_ids": list(n.complaint_ids), "own_review": n.own_review}
        for n in (x.negative for x in plan.nodes) if n is not None
    ]


def decline_figures(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Declines in these dataset lines: how many, and how many the user's own low rating backs."""
    declines = [x for r in records for x in r.get("declines") or ()]
    low = sum(bool(x["rated_low"]) for x in declines)
    return {"declines": len(declines), "declines_own_low_rating": low,
            "share_declines_own_low_rating": round(low / len(declines), 4) if declines else None,
            "declines_complaint_about_that_item": sum(bool(x["own_review"]) for x in declines)}


def judge_figures(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The judge's scores over these dataset lines (means over the scored ones; None when none was)."""
    judged = [r.get("judge") for r in records]
    scored = [j for j in judged if j is not None and j.get("naturalness") is not None]
    return {
        "judge_scored": len(scored),
        "judge_unreadable": sum(1 for j in judged if j is not None and j.get("error")),
        "judge_not_run": sum(1 for j in judged if j is None),
        "judge_naturalness": round(mean(j["naturalness"] for j in scored), 3) if scored else None,
        "judge_faithfulness": round(mean(j["faithfulness"] for j in scored), 3) if scored else None,
    }
