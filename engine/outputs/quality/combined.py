"""All groups of quality metrics for a set of dialogs, and for a run and each of its personas."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from agents.backends.tokens import TokenCounter
from agents.personas import Persona
from agents.prompts import system_message
from engine.outputs.quality.cost import cost_metrics, prefix_share, token_counter
from engine.outputs.quality.diversity import diversity_metrics
from engine.outputs.quality.evidence import evidence_metrics
from engine.outputs.quality.fidelity import fidelity_metrics
from engine.outputs.quality.grounding import groundedness_metrics
from engine.store import DialogData, RunData

__all__ = ["quality_metrics", "run_quality"]

def quality_metrics(
    dialogs: Sequence[DialogData],
    calls: Sequence[dict[str, Any]],
    turns: Sequence[dict[str, Any]],
    system_tokens: dict[str, int],
    counter: TokenCounter,
    memo: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Every group for one set of dialogs (groundedness, evidence, diversity over the accepted ones).

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
        "evidence": evidence_metrics(accepted),
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
        # What the run did not produce, said as plainly as what it did.
        "run_status": run.status,
        "dialogs_by_status": {
            **{s: sum(d.status == s for d in run.dialogs) for s in ("accepted", "failed_fidelity",
                                                                    "failed_backend")},
            "not_ended": max(0, run.n_planned - len(run.dialogs)),
        },
        "failed_calls": run.failed_calls,
        "input": run.input,
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
