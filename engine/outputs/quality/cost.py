"""Cost of a run: tokens and USD per accepted dialog (every call of the run, failed attempts included,
over the accepted dialogs), by role, and the share of prompt tokens a prefix cache can reuse."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from statistics import mean
from typing import Any

from agents.backends.tokens import HeuristicCounter, TiktokenCounter, TokenCounter
from engine.outputs.quality.shares import share
from engine.store import DialogData

__all__ = ["cost_metrics", "prefix_share", "token_counter"]

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
        "share_shared_prefix": share(system_part + history_part, total),
        "share_system_message_only": share(system_part, total),
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
        "share_tokens_estimated": share(sum(1 for c in mine if c["tokens_estimated"]), len(mine)),
        "accepted_dialogs": n,
        "tokens_per_accepted_dialog": round((inp + out) / n, 1) if n else None,
        "cost_usd_per_accepted_dialog": round(cost / n, 6) if n else None,
        "tokens_within_accepted_dialogs": sum(c["input_tokens"] + c["output_tokens"] for c in in_accepted),
        "calls_per_accepted_dialog": round(len(mine) / n, 2) if n else None,
        "by_role": {k: dict(v) for k, v in sorted(roles.items())},
        "latency_s_mean": round(mean(c["latency_s"] for c in mine), 4) if mine else None,
    }
