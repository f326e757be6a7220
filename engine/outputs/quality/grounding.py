"""Groundedness of a run's dialogs, judged with the validators' own signals, thresholds and definitions.

Over the turns of the dataset: a *preference statement* is a user clause in the nodes where the user
states preferences (:data:`agents.validators.behavioral.STATING_NODES`) that names an aspect the node
binds and takes a side (a stance outside :class:`PolarityValidator`'s dead zone); it agrees when its
side is the profile's polarity. A *system claim* is a system clause about an item
(:func:`agents.validators.mentions.speaks_of_item`) that names an aspect whose community sentiment
the node binds and takes a side (outside :class:`SentimentClaimsValidator`'s claim zone); it is
checkable when the community has a clear view (outside that validator's dead zone) and agrees when
the signs match. A *target leak* is a turn before the first recommend_target turn that names the
target (:func:`agents.validators.mentions.names_item`, the other items' titles cut out first).
Also here: the community sentiment trajectories the plans bound, for the report's plot.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from agents.validators.behavioral import STATING_NODES, PolarityValidator, SentimentClaimsValidator
from agents.validators.mentions import names_item, speaks_of_item
from agents.validators.signals import AspectTerms, aspect_terms, clauses, mentioned_aspects, stance
from agents.validators.view import community_facts
from engine.outputs.quality.shares import share
from engine.store import DialogData
from planners.plan import NodeBinding, UserAspectFact

__all__ = ["aspect_terms_of", "groundedness_metrics", "sentiment_trajectories", "stated_facts"]

def aspect_terms_of(aspect: int, name: str, cache: dict[tuple[int, str], AspectTerms]) -> AspectTerms:
    """The terms of a bound aspect fact (memoised in ``cache``)."""
    key = (aspect, name)
    if key not in cache:
        cache[key] = aspect_terms(None, aspect_id=aspect, names=[name])
    return cache[key]


def stated_facts(node: NodeBinding) -> list[UserAspectFact]:
    """The user facts a node has the user state: its reveals and its clarification."""
    facts = list(node.reveals)
    if node.clarification is not None:
        facts.append(node.clarification.user)
    return facts


def _dialog_grounding(d: DialogData, cache: dict[tuple[int, str], AspectTerms]) -> Counter[str]:
    """One dialog's counts: preference statements (and agreeing), claims (checkable, agreeing), leaks."""
    c: Counter[str] = Counter()
    nodes = d.plan.nodes
    title = next((n.target.title for n in nodes if n.target is not None), d.record["target"]["title"])
    others = [n["title"] for n in d.record["negatives"]]
    recommended = False
    for t in d.record["turns"]:
        if t["node"] == "recommend_target":
            recommended = True
        elif not recommended and names_item(t["text"], title, others):
            c["leaks"] += 1
        node = nodes[t["node_index"]] if 0 <= t["node_index"] < len(nodes) else None
        if node is None:
            continue
        if t["speaker"] == "user" and node.type in STATING_NODES:
            facts = stated_facts(node)
            table = [aspect_terms_of(f.aspect, f.name, cache) for f in facts]
            polarity = {f.aspect: f.polarity for f in facts}
            for clause in clauses(t["text"]):
                named = mentioned_aspects(clause, table)
                s = stance(clause, table, dead_zone=PolarityValidator.dead_zone) if named else 0
                if named and s != 0:
                    c["statements"] += 1
                    c["agree"] += any(polarity[a] == s for a in named)
        elif t["speaker"] == "system":
            facts_c = community_facts(node)
            table = [aspect_terms_of(f.aspect, f.name, cache) for f in facts_c]
            by_aspect = {f.aspect: f for f in facts_c}
            slots = (node.negative, node.critique, node.inquiry, node.target)
            titles = [slot.title for slot in slots if slot is not None]
            for clause in clauses(t["text"]):
                named = mentioned_aspects(clause, table)
                s = stance(clause, table, dead_zone=SentimentClaimsValidator.claim_zone) if named else 0
                if not named or s == 0 or not speaks_of_item(clause, titles):
                    continue
                c["claims"] += 1
                clear = [by_aspect[a] for a in named
                         if abs(by_aspect[a].sentiment) >= SentimentClaimsValidator.dead_zone]
                if clear:
                    c["checkable"] += 1
                    c["claims_agree"] += any((f.sentiment > 0) == (s > 0) for f in clear)
    return c


def groundedness_metrics(
    dialogs: Sequence[DialogData], memo: dict[str, Counter[str]] | None = None
) -> dict[str, Any]:
    """Preference statements agreeing with the profile, claims agreeing with the community, target leaks.

    ``memo`` (dialog id -> counts) lets several groupings of the same dialogs share the text analysis.
    """
    cache: dict[tuple[int, str], AspectTerms] = {}
    total: Counter[str] = Counter()
    leaks: dict[str, int] = {"accepted": 0, "other": 0}
    leaking_dialogs: list[str] = []
    for d in dialogs:
        if memo is None or d.dialog_id not in memo:
            counts = _dialog_grounding(d, cache)
            if memo is not None:
                memo[d.dialog_id] = counts
        else:
            counts = memo[d.dialog_id]
        total += counts
        if counts["leaks"]:
            leaks["accepted" if d.status == "accepted" else "other"] += counts["leaks"]
            leaking_dialogs.append(d.dialog_id)
    statements, agree = total["statements"], total["agree"]
    claims, checkable, claims_agree = total["claims"], total["checkable"], total["claims_agree"]
    return {
        "preference_statements": statements,
        "preference_agree": agree,
        "share_preferences_agree": share(agree, statements),
        "system_claims": claims,
        "system_claims_checkable": checkable,
        "system_claims_agree": claims_agree,
        "share_claims_agree": share(claims_agree, checkable),
        "target_leaks_in_accepted": leaks["accepted"],
        "target_leaks_in_failed": leaks["other"],
        "dialogs_with_leaks": leaking_dialogs[:20],
    }


def sentiment_trajectories(dialogs: Sequence[DialogData], *, items: int = 4) -> list[dict[str, Any]]:
    """Community sentiment of (item, aspect) pairs as the plans bound it, by seed time: the profiles'
    trajectories as the run saw them, for the pairs bound at the most distinct times (at least 2)."""
    points: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    titles: dict[str, str] = {}
    for d in dialogs:
        when = d.record["target"]["date"][:10]
        for node in d.plan.nodes:
            for f in community_facts(node):
                label = f.name.split(" / ")[0].strip()
                points[(f.item, label)][when] = f.sentiment
            for slot in (node.negative, node.critique, node.inquiry, node.target):
                if slot is not None:
                    titles[slot.item] = slot.title
    ranked = sorted(((k, v) for k, v in points.items() if len(v) >= 2), key=lambda kv: (-len(kv[1]), kv[0]))
    return [
        {"item": item, "title": titles.get(item, item), "aspect": aspect, "points": sorted(series.items())}
        for (item, aspect), series in ranked[:items]
    ]
