"""Dataset quality metrics of a run: fidelity, groundedness, diversity, cost (per run and per persona).

Computed from the trace store alone (dataset lines, final plans, node attempts, verdicts, turns and
model calls), with the validators' own text signals (:mod:`agents.validators.signals`):

- fidelity: share of dialogs accepted, attempts per node type, rollbacks, the top failure reasons (the
  validators' reasons with quoted text and numbers masked, so that one kind of failure counts once);
- groundedness, over the turns of the dataset: a *preference statement* is a user clause in greet,
  elicit or clarify that names an aspect the node binds and takes a side (VADER stance outside the
  dead zone); it agrees when its side is the profile's polarity. A *system claim* is a system clause
  about an item (naming it, or speaking of "it" or its buyers, as the sentiment-claims validator reads
  clauses) that names an aspect whose community sentiment the node binds and takes a side; it is
  checkable when the community has a clear view (|sentiment| >= 0.15) and agrees when the signs match.
  A *target leak* is a turn before the first recommend_target turn that names the target;
- diversity: distinct-1 and distinct-2 over all turns, path and length distributions, aspect coverage
  (aspects the plans bind, and the share of bound aspects the text actually names);
- cost: tokens and USD per accepted dialog (every call of the run, failed attempts included, over the
  accepted dialogs), and the share of prompt tokens that are a shared prefix (see :func:`prefix_share`).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from statistics import mean
from typing import Any

from agents.backends.tokens import HeuristicCounter, TiktokenCounter, TokenCounter
from agents.personas import Persona
from agents.prompts import system_message
from agents.validators.signals import (
    AspectTerms,
    aspect_terms,
    clauses,
    item_referenced,
    mentioned_aspects,
    stance,
)
from engine.store.reader import DialogData, RunData
from planners.plan import CommunityFact, NodeBinding, UserAspectFact

__all__ = [
    "cost_metrics",
    "distinct_n",
    "diversity_metrics",
    "failure_template",
    "fidelity_metrics",
    "groundedness_metrics",
    "prefix_share",
    "quality_metrics",
    "run_quality",
    "sentiment_trajectories",
    "token_counter",
]

_STATING = ("greet", "elicit", "clarify")
_PREF_DEAD_ZONE = 0.25  # as behavioral.preference_polarity
_CLAIM_ZONE = 0.25  # as behavioral.sentiment_claims: |stance score| below this is no claim
_COMMUNITY_ZONE = 0.15  # as behavioral.sentiment_claims: |community sentiment| below this is no clear view
_WORD = re.compile(r"[a-z0-9']+")


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


# -- fidelity -------------------------------------------------------------------------------------------
# Single quotes only when they open and close a quotation, not apostrophes ("user's", "don't").
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|(?<![A-Za-z])'[^'\n]*'(?![A-Za-z])")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def failure_template(reason: str) -> str:
    """A validator reason with quoted text and numbers masked: one string per kind of failure."""
    return _NUMBER.sub("#", _QUOTED.sub("'…'", reason)).strip()[:160]


def fidelity_metrics(dialogs: Sequence[DialogData], *, top: int = 8) -> dict[str, Any]:
    """Share accepted, attempts per node type, rollbacks and the top failure reasons."""
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
    return {
        "dialogs": len(dialogs),
        "statuses": dict(statuses),
        "share_accepted": _share(statuses["accepted"], len(dialogs)),
        "attempts_per_node": {
            node: {
                "nodes": len(v),
                "mean_attempts": round(mean(v), 3),
                "max_attempts": max(v),
                "share_first_try": _share(sum(1 for x in v if x == 1), len(v)),
            }
            for node, v in sorted(per_node.items())
        },
        "node_attempts": sum(len(d.attempts) for d in dialogs),
        "rollbacks": sum(rollbacks),
        "share_dialogs_rolled_back": _share(sum(1 for x in rollbacks if x), len(dialogs)),
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


# -- groundedness ---------------------------------------------------------------------------------------
def _terms(aspect: int, name: str, cache: dict[tuple[int, str], AspectTerms]) -> AspectTerms:
    key = (aspect, name)
    if key not in cache:
        cache[key] = aspect_terms(None, aspect_id=aspect, names=[name])
    return cache[key]


def _stated_facts(node: NodeBinding) -> list[UserAspectFact]:
    facts = list(node.reveals)
    if node.clarification is not None:
        facts.append(node.clarification.user)
    return facts


def _community_facts(node: NodeBinding) -> list[CommunityFact]:
    facts = [
        node.negative.community if node.negative is not None else None,
        node.critique.community if node.critique is not None else None,
        node.inquiry.community if node.inquiry is not None else None,
        *(j.community for j in (node.target.justifications if node.target is not None else ())),
    ]
    return [f for f in facts if f is not None]


def _cut_titles(text: str, titles: Iterable[str]) -> str:
    # Another item sharing the target's brand and model words ("Fenwick S80 Drip" vs "Fenwick S80 Single
    # Serve") is not a mention of the target: its full title is cut out first, as the validator does.
    for title in sorted(titles, key=len, reverse=True):
        words = _WORD.findall(title.lower())
        if words:
            text = re.sub(r"\b" + r"\W+".join(map(re.escape, words)) + r"\b", " ", text, flags=re.I)
    return text


# As behavioral.sentiment_claims: a clause is about an item when it names one or speaks of "it" or of
# its buyers, not of the listener ("I will look for options with better padding for you" is no claim).
_ITEM_WORDS = re.compile(r"\b(?:it|its|it's|this one|that one|this model|buyers|reviewers|reviews|owners|"
                         r"customers|users|people|the community)\b", re.I)
_SECOND_PERSON = re.compile(r"\b(?:you|your|you're|you've)\b", re.I)


def _about_item(clause: str, titles: Sequence[str]) -> bool:
    if any(item_referenced(clause, t) for t in titles):
        return True
    return bool(_ITEM_WORDS.search(clause)) and not _SECOND_PERSON.search(clause)


def _dialog_grounding(d: DialogData, cache: dict[tuple[int, str], AspectTerms]) -> Counter[str]:
    """One dialog's counts: preference statements (and agreeing), claims (checkable, agreeing), leaks."""
    c: Counter[str] = Counter()
    nodes = d.plan.nodes
    title = next((n.target.title for n in nodes if n.target is not None), d.record["target"]["title"])
    others = [n["title"] for n in d.record["negatives"] if n["title"] != title]
    recommended = False
    for t in d.record["turns"]:
        if t["node"] == "recommend_target":
            recommended = True
        elif not recommended and item_referenced(_cut_titles(t["text"], others), title):
            c["leaks"] += 1
        node = nodes[t["node_index"]] if 0 <= t["node_index"] < len(nodes) else None
        if node is None:
            continue
        if t["speaker"] == "user" and node.type in _STATING:
            facts = _stated_facts(node)
            table = [_terms(f.aspect, f.name, cache) for f in facts]
            polarity = {f.aspect: f.polarity for f in facts}
            for clause in clauses(t["text"]):
                named = mentioned_aspects(clause, table)
                s = stance(clause, table, dead_zone=_PREF_DEAD_ZONE) if named else 0
                if named and s != 0:
                    c["statements"] += 1
                    c["agree"] += any(polarity[a] == s for a in named)
        elif t["speaker"] == "system":
            facts_c = _community_facts(node)
            table = [_terms(f.aspect, f.name, cache) for f in facts_c]
            by_aspect = {f.aspect: f for f in facts_c}
            slots = (node.negative, node.critique, node.inquiry, node.target)
            titles = [slot.title for slot in slots if slot is not None]
            for clause in clauses(t["text"]):
                named = mentioned_aspects(clause, table)
                s = stance(clause, table, dead_zone=_CLAIM_ZONE) if named else 0
                if not named or s == 0 or not _about_item(clause, titles):
                    continue
                c["claims"] += 1
                clear = [by_aspect[a] for a in named if abs(by_aspect[a].sentiment) >= _COMMUNITY_ZONE]
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
        "share_preferences_agree": _share(agree, statements),
        "system_claims": claims,
        "system_claims_checkable": checkable,
        "system_claims_agree": claims_agree,
        "share_claims_agree": _share(claims_agree, checkable),
        "target_leaks_in_accepted": leaks["accepted"],
        "target_leaks_in_failed": leaks["other"],
        "dialogs_with_leaks": leaking_dialogs[:20],
    }


# -- diversity ------------------------------------------------------------------------------------------
def distinct_n(texts: Iterable[str], n: int) -> float | None:
    """Distinct n-grams over all n-grams of ``texts`` (lower-cased words); None when there are none."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        words = _WORD.findall(text.lower())
        grams = [tuple(words[k : k + n]) for k in range(len(words) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return _share(len(seen), total)


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
        facts: list[tuple[int, str]] = [(f.aspect, f.name) for f in _stated_facts(node)]
        facts += [(f.aspect, f.name) for f in _community_facts(node)]
        if node.negative is not None:
            facts.append((node.negative.user.aspect, node.negative.user.name))
        if node.critique is not None:
            facts.append((node.critique.user.aspect, node.critique.user.name))
        text = " ".join(t["text"] for t in d.record["turns"] if t["node_index"] == node.index)
        for aspect, name in dict.fromkeys(facts):
            label = name.split(" / ")[0].strip()
            bound[label] += 1
            if text and mentioned_aspects(text, [_terms(aspect, name, cache)]):
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
        "share_bindings_realised": _share(sum(realised.values()), sum(bound.values())),
    }


# -- cost -----------------------------------------------------------------------------------------------
def token_counter(provider: str, model: str | None) -> TokenCounter:
    """The counter the run's backend used for estimates (scripted/fake: heuristic; others: cl100k)."""
    if provider.split("+")[0] in ("scripted", "fake"):  # "+fault": a wrapper over the scripted backend
        return HeuristicCounter()
    return TiktokenCounter(model or "")


def prefix_share(
    calls: Sequence[dict[str, Any]],
    turns: Sequence[dict[str, Any]],
    system_tokens: dict[str, int],
    counter: TokenCounter,
    *,
    per_message: int = 3,
) -> dict[str, Any]:
    """Share of prompt tokens a prefix cache can reuse, estimated from the trace (prompts are not stored).

    A prompt is [system message of the role's persona] + [transcript so far] + [this turn's
    instruction]. Reusable: the system message (shared by every call of that role and persona after
    the first one of the run) plus the transcript the same role's previous call in the dialog already
    sent (the common prefix of the two transcripts: a retried node resends the transcript from before
    the failed attempt). The instruction and the turns new since that call are not reusable. Tokens of
    the pieces are counted with ``counter`` plus ``per_message`` template tokens per message; each
    call's reusable part is capped at its recorded input tokens. Validator (judge) calls count in the
    total with nothing reusable.
    """
    by_dialog: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in turns:
        by_dialog[t["dialog_id"]].append(t)
    tokens: dict[tuple[str, int], int] = {
        (t["dialog_id"], t["seq"]): counter.count(t["text"]) + per_message for t in turns
    }
    total = system_part = history_part = 0
    seen_roles: set[str] = set()
    previous: dict[tuple[str, str], list[int]] = {}
    for c in sorted(calls, key=lambda c: (c["dialog_id"], c["seq"])):
        total += c["input_tokens"]
        role = c["role"]
        if role not in system_tokens:
            continue
        key = (c["plan_hash"], c["node_index"], c["attempt"])
        visible = [
            t["seq"]
            for t in by_dialog[c["dialog_id"]]
            if t["seq"] < c["seq"]
            and (not t["superseded"] or (t["plan_hash"], t["node_index"], t["attempt"]) == key)
        ]
        before = previous.get((c["dialog_id"], role), [])
        common = 0
        while common < min(len(before), len(visible)) and before[common] == visible[common]:
            common += 1
        sys_part = system_tokens[role] if role in seen_roles else 0
        hist_part = sum(tokens[(c["dialog_id"], s)] for s in visible[:common])
        reusable = min(c["input_tokens"], sys_part + hist_part)
        system_part += min(sys_part, reusable)
        history_part += reusable - min(sys_part, reusable)
        seen_roles.add(role)
        previous[(c["dialog_id"], role)] = visible
    return {
        "prompt_tokens": total,
        "reusable_system_message": system_part,
        "reusable_transcript": history_part,
        "share_shared_prefix": _share(system_part + history_part, total),
        "share_system_message_only": _share(system_part, total),
        "counter": counter.name,
    }


def cost_metrics(dialogs: Sequence[DialogData], calls: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Tokens and cost in all, per accepted dialog, and by role."""
    accepted = {d.dialog_id for d in dialogs if d.status == "accepted"}
    ids = {d.dialog_id for d in dialogs}
    mine = [c for c in calls if c["dialog_id"] in ids]
    inp = sum(c["input_tokens"] for c in mine)
    out = sum(c["output_tokens"] for c in mine)
    cost = sum(c["cost_usd"] for c in mine)
    in_accepted = [c for c in mine if c["dialog_id"] in accepted]
    roles: dict[str, dict[str, float]] = defaultdict(
        lambda: {"calls": 0, "input_tokens": 0, "output_tokens": 0}
    )
    for c in mine:
        r = roles[c["role"].split(":")[0]]
        r["calls"] += 1
        r["input_tokens"] += c["input_tokens"]
        r["output_tokens"] += c["output_tokens"]
    n = len(accepted)
    return {
        "llm_calls": len(mine),
        "input_tokens": inp,
        "output_tokens": out,
        "cost_usd": round(cost, 6),
        "share_tokens_estimated": _share(sum(1 for c in mine if c["tokens_estimated"]), len(mine)),
        "accepted_dialogs": n,
        "tokens_per_accepted_dialog": round((inp + out) / n, 1) if n else None,
        "cost_usd_per_accepted_dialog": round(cost / n, 6) if n else None,
        "tokens_within_accepted_dialogs": sum(c["input_tokens"] + c["output_tokens"] for c in in_accepted),
        "calls_per_accepted_dialog": round(len(mine) / n, 2) if n else None,
        "by_role": {k: dict(v) for k, v in sorted(roles.items())},
        "latency_s_mean": round(mean(c["latency_s"] for c in mine), 4) if mine else None,
    }


def quality_metrics(
    dialogs: Sequence[DialogData],
    calls: Sequence[dict[str, Any]],
    turns: Sequence[dict[str, Any]],
    system_tokens: dict[str, int],
    counter: TokenCounter,
    memo: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """All four groups for one set of dialogs (groundedness and diversity over the accepted ones).

    ``memo`` keeps per-dialog text analysis across calls on overlapping sets (run, then each persona).
    """
    memo = memo if memo is not None else {}
    accepted = [d for d in dialogs if d.status == "accepted"]
    ids = {d.dialog_id for d in dialogs}
    grounding = memo.setdefault("grounding", {})
    grounded = groundedness_metrics(accepted, grounding)
    grounded["target_leaks_in_failed"] = groundedness_metrics(
        [d for d in dialogs if d.status != "accepted"], grounding
    )["target_leaks_in_failed"]
    cost = cost_metrics(dialogs, calls)
    cost["prefix_cache"] = prefix_share(
        [c for c in calls if c["dialog_id"] in ids],
        [t for t in turns if t["dialog_id"] in ids],
        system_tokens,
        counter,
    )
    return {
        "fidelity": fidelity_metrics(dialogs),
        "groundedness": grounded,
        "diversity": diversity_metrics(accepted, memo=memo.setdefault("aspects", {})),
        "cost": cost,
    }


def run_quality(
    run: RunData, calls: Sequence[dict[str, Any]], turns: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Metrics of the whole run and of each user and system persona in it."""
    provider = next((c["gen_ai_provider_name"] for c in calls), run.backend)
    counter = token_counter(provider, run.model)
    system_tokens: dict[str, int] = {}
    for role, spec in run.personas.items():
        persona = Persona.model_validate({k: v for k, v in spec.items() if k in Persona.model_fields})
        system_tokens[role] = counter.count(system_message(role, persona)) + 3  # type: ignore[arg-type]
    memo: dict[str, dict[str, Any]] = {}
    out: dict[str, Any] = {
        "run_id": run.run_id,
        "backend": run.backend,
        "model": run.model,
        "planned": run.n_planned,
        "complete": len(run.dialogs),
        "run": quality_metrics(run.dialogs, calls, turns, system_tokens, counter, memo),
        "per_persona": {},
    }
    for role in ("user", "system"):
        groups: dict[str, list[DialogData]] = defaultdict(list)
        for d in run.dialogs:
            groups[str(d.record[f"{role}_persona"])].append(d)
        for name, ds in sorted(groups.items()):
            out["per_persona"][f"{role}:{name}"] = quality_metrics(
                ds, calls, turns, system_tokens, counter, memo
            )
    return out


def sentiment_trajectories(dialogs: Sequence[DialogData], *, items: int = 4) -> list[dict[str, Any]]:
    """Community sentiment of (item, aspect) pairs as the plans bound it, by seed time: the profiles'
    trajectories as the run saw them, for the pairs bound at the most distinct times (at least 2)."""
    points: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    titles: dict[str, str] = {}
    for d in dialogs:
        when = d.record["target"]["date"][:10]
        for node in d.plan.nodes:
            for f in _community_facts(node):
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
