"""Diversity of a run's dialogs: distinct-1/2, path and length distributions, aspect coverage (the
aspects the plans bind, and the share of bound aspects the text actually names)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from agents.validators.signals import AspectTerms, mentioned_aspects
from agents.validators.view import community_facts
from engine.outputs.quality.grounding import aspect_terms_of, stated_facts
from engine.outputs.quality.shares import share
from engine.store import DialogData

__all__ = ["distinct_n", "diversity_metrics"]

_WORD = re.compile(r"[a-z0-9']+")

def distinct_n(texts: Iterable[str], n: int) -> float | None:
    """Distinct n-grams over all n-grams of ``texts`` (lower-cased words); None when there are none."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        words = _WORD.findall(text.lower())
        grams = [tuple(words[k : k + n]) for k in range(len(words) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return share(len(seen), total)


def _histogram(values: Iterable[int]) -> dict[str, int]:
    # String keys: the metrics are written as JSON.
    return {str(k): n for k, n in sorted(Counter(values).items())}


def _dialog_aspects(
    d: DialogData, cache: dict[tuple[int, str], AspectTerms]
) -> tuple[Counter[str], Counter[str]]:
    """Aspect labels one dialog's plan binds, and those its node's turns actually name."""
    bound: Counter[str] = Counter()
    realised: Counter[str] = Counter()
    for node in d.plan.nodes:
        facts: list[tuple[int, str]] = [(f.aspect, f.name) for f in stated_facts(node)]
        facts += [(f.aspect, f.name) for f in community_facts(node)]
        if node.negative is not None:
            facts.append((node.negative.user.aspect, node.negative.user.name))
        if node.critique is not None:
            facts.append((node.critique.user.aspect, node.critique.user.name))
        text = " ".join(t["text"] for t in d.record["turns"] if t["node_index"] == node.index)
        for aspect, name in dict.fromkeys(facts):
            label = name.split(" / ")[0].strip()
            bound[label] += 1
            if text and mentioned_aspects(text, [aspect_terms_of(aspect, name, cache)]):
                realised[label] += 1
    return bound, realised


def diversity_metrics(
    dialogs: Sequence[DialogData],
    *,
    top: int = 10,
    memo: dict[str, tuple[Counter[str], Counter[str]]] | None = None,
) -> dict[str, Any]:
    """distinct-1/2 (all, per side), path and length distributions, aspect coverage."""
    turns = [t for d in dialogs for t in d.record["turns"]]
    paths = Counter(" > ".join(d.record["plan"]["path"]) for d in dialogs)
    cache: dict[tuple[int, str], AspectTerms] = {}
    bound: Counter[str] = Counter()
    realised: Counter[str] = Counter()
    for d in dialogs:
        if memo is not None and d.dialog_id in memo:
            b, r = memo[d.dialog_id]
        else:
            b, r = _dialog_aspects(d, cache)
            if memo is not None:
                memo[d.dialog_id] = (b, r)
        bound += b
        realised += r
    return {
        "distinct_1": distinct_n((t["text"] for t in turns), 1),
        "distinct_2": distinct_n((t["text"] for t in turns), 2),
        "distinct_2_user": distinct_n((t["text"] for t in turns if t["speaker"] == "user"), 2),
        "distinct_2_system": distinct_n((t["text"] for t in turns if t["speaker"] == "system"), 2),
        "distinct_paths": len(paths),
        "top_paths": [{"path": p, "dialogs": n} for p, n in paths.most_common(top)],
        "turns_per_dialog": _histogram(len(d.record["turns"]) for d in dialogs),
        "nodes_per_plan": _histogram(len(d.record["plan"]["path"]) for d in dialogs),
        "node_types": dict(Counter(n for d in dialogs for n in d.record["plan"]["path"]).most_common()),
        "aspects_bound": len(bound),
        "aspect_bindings": dict(bound.most_common()),
        "share_bindings_realised": share(sum(realised.values()), sum(bound.values())),
    }
