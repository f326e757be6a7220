"""Fidelity of a run: share accepted, attempts per node type, rollbacks, the top failure reasons.

Failure reasons are the validators' reasons with quoted text and numbers masked, so that one kind of
failure counts once.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from statistics import mean
from typing import Any

from engine.outputs.quality.shares import share
from engine.store import DialogData

__all__ = ["failure_template", "fidelity_metrics"]

# Single quotes only when they open and close a quotation, not apostrophes ("user's", "don't").
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|(?<![A-Za-z])'[^'\n]*'(?![A-Za-z])")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def failure_template(reason: str) -> str:
    """A validator reason with quoted text and numbers masked: one string per kind of failure."""
    return _NUMBER.sub("#", _QUOTED.sub("'…'", reason)).strip()[:160]


def fidelity_metrics(dialogs: Sequence[DialogData], *, top: int = 8) -> dict[str, Any]:
    """Share accepted, who realized the accepted turns (model, draft, scripted), attempts per node type,
    rollbacks and the top failure reasons."""
    statuses = Counter(d.status for d in dialogs)
    per_node: dict[str, list[int]] = defaultdict(list)
    for d in dialogs:
        counts: Counter[tuple[str, int, str]] = Counter(
            (a["plan_hash"], a["node_index"], a["node"]) for a in d.attempts
        )
        for (_, _, node), n in counts.items():
            per_node[node].append(n)
    by_validator: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for d in dialogs:
        for v in d.verdicts:
            if not v["passed"]:
                by_validator[v["validator"]] += 1
                for reason in v["reasons"] or ["(no reason given)"]:
                    reasons[failure_template(reason)] += 1
    rollbacks = [d.record["n_rollbacks"] for d in dialogs]
    # Who realized the accepted dialogs' turns (a line written before turns said so counts as none).
    realized = Counter(t.get("realizer") for d in dialogs if d.status == "accepted"
                       for t in d.record["turns"])
    n_turns = sum(realized.values())
    return {
        "dialogs": len(dialogs),
        "turns_model": realized["model"],
        "turns_draft": realized["draft"],
        "turns_scripted": realized["scripted"],
        "share_turns_model": share(realized["model"], n_turns),
        "statuses": dict(statuses),
        "share_accepted": share(statuses["accepted"], len(dialogs)),
        "attempts_per_node": {
            node: {
                "nodes": len(v),
                "mean_attempts": round(mean(v), 3),
                "max_attempts": max(v),
                "share_first_try": share(sum(1 for x in v if x == 1), len(v)),
            }
            for node, v in sorted(per_node.items())
        },
        "node_attempts": sum(len(d.attempts) for d in dialogs),
        "rollbacks": sum(rollbacks),
        "share_dialogs_rolled_back": share(sum(1 for x in rollbacks if x), len(dialogs)),
        "superseded_turns": sum(d.superseded_turns for d in dialogs),
        "failed_checks_by_validator": dict(by_validator.most_common()),
        "top_failure_reasons": [{"reason": r, "count": n} for r, n in reasons.most_common(top)],
        "dialog_failure_reasons": dict(
            Counter(
                failure_template((d.record["reason"] or "").split(";")[0])
                for d in dialogs
                if d.status != "accepted"
            ).most_common(top)
        ),
    }
