"""What a run writes per dialog: one JSON line of the dataset.

The dataset line holds the seed (user, history before the target, target, negatives), the plan (path
and content hash), the accepted turns with their node, who realized each (``realizer``: model, draft
or scripted; in polish mode the ``draft`` the text was made from) and the grounding each was asked to
express (with the stage-1 sentence ids behind it, :mod:`engine.core.provenance`), the alternatives
declined (and whether the user really rated them low), the judge's scores when a judge ran, the outcome
and what produced the text, so a reader never needs the trace to use the dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents.dialog import Turn
from engine.core.executor import DialogResult
from engine.core.provenance import declined_alternatives, turn_grounding
from planners.context import PlanContext
from planners.plan import NodeBinding
from profiling.corpus import Corpus, Interaction

__all__ = ["dialog_record"]


def _interaction(corpus: Corpus, it: Interaction) -> dict[str, Any]:
    item = corpus.items.get(it.item)
    return {"item": it.item, "title": item.title if item else it.item, "rating": it.rating,
            "date": it.timestamp.isoformat()}


def _turn(t: Turn, nodes: Sequence[NodeBinding]) -> dict[str, Any]:
    line: dict[str, Any] = {"speaker": t.speaker, "text": t.text, "node": t.node, "node_index": t.node_index,
                            "attempt": t.attempt, "grounding": turn_grounding(nodes[t.node_index], t.speaker),
                            "realizer": t.realizer}
    if t.draft is not None:
        line["draft"] = t.draft  # polish mode: what the model rewrote (the text itself when kept)
    return line


def dialog_record(result: DialogResult, context: PlanContext, corpus: Corpus, *, backend: str,
                  user_persona: str, system_persona: str, run_seed: int) -> dict[str, Any]:
    """One dataset line: seed, plan, accepted turns and outcome (superseded turns stay in the trace)."""
    seed = context.seed
    nodes = result.plan.nodes
    return {
        "dialog_id": result.dialog_key,
        "status": result.status,
        "reason": result.reason,
        "user_id": seed.user,
        "split": seed.split,
        "history": [_interaction(corpus, h) for h in seed.history],
        "target": _interaction(corpus, seed.target),
        "negatives": [{"item": n, "title": corpus.items[n].title if n in corpus.items else n, "source": s}
                      for n, s in zip(seed.negatives, seed.negative_sources, strict=True)],
        "plan": {"hash": result.plan.content_hash, "path": list(result.plan.path),
                 "replanned": bool(result.rollbacks)},
        "turns": [_turn(t, nodes) for t in result.turns],
        "declines": declined_alternatives(result.plan),
        "judge": result.score.model_dump(mode="json") if result.score is not None else None,
        "n_attempts": len(result.attempts),
        "n_rollbacks": len(result.rollbacks),
        "n_llm_calls": result.n_llm_calls,
        "backend": backend,
        "user_persona": user_persona,
        "system_persona": system_persona,
        "run_seed": run_seed,
    }
