"""The natural-turn corpus (tests/data/natural_turns/): hand-written node attempts as validator inputs.

Each line of ``turns.jsonl`` is one node attempt written by hand as a capable model would write it, with
its label: ``meets`` (it does what the node and the plan ask) or a planted fault with the validator that
must catch it (``must_catch``). The attempt is judged against a context harvested from a scripted run on
the sample world (``contexts.jsonl``: plan, profiles, the scripted turns before it; ``world.json``: the
aspect table and catalog titles), so the corpus depends on no stage-1 run. How it was made and by which
rules: ``tests/data/natural_turns.md``.

:func:`measure` runs validators on every item and counts, per validator, false rejections (failed verdicts
on items labelled ``meets``) and catches (failed verdicts on the faults it must catch).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from agents.catalog import Catalog
from agents.dialog import Turn, ValidationInput
from agents.validators.rule import RuleValidator
from planners.context import PlanContext
from planners.plan import DialogPlan
from profiling.corpus import Item
from profiling.profiles import Aspect

__all__ = ["CORPUS", "CorpusItem", "Tally", "load_corpus", "measure"]

CORPUS = Path(__file__).resolve().parents[1] / "data" / "natural_turns"


@dataclass(frozen=True)
class CorpusItem:
    """One labelled node attempt and the validator input it becomes."""

    id: str
    node: str
    source: Literal["natural", "planted"]
    batch: Literal["dev", "held_out"]
    meets: bool
    must_catch: tuple[str, ...]
    note: str
    data: ValidationInput


@cache
def _world(folder: Path) -> tuple[Catalog, dict[int, Aspect]]:
    world = json.loads((folder / "world.json").read_text())
    catalog = Catalog({i: Item(id=i, title=v["title"], categories=(v["category"],))
                       for i, v in world["catalog"].items()})
    return catalog, {a["id"]: Aspect.model_validate(a) for a in world["aspects"]}


@cache
def _contexts(folder: Path) -> dict[str, tuple[DialogPlan, PlanContext, tuple[Turn, ...]]]:
    _, aspects = _world(folder)
    out = {}
    for line in (folder / "contexts.jsonl").read_text().splitlines():
        c = json.loads(line)
        plan = DialogPlan.model_validate(c["plan"])
        ctx = PlanContext.model_validate({**c["context"], "aspects": aspects})
        turns = tuple(Turn(index=k, node_index=t["node_index"], node=t["node"], attempt=1,
                           speaker=t["speaker"], text=t["text"], backend="scripted")
                      for k, t in enumerate(c["transcript"]))
        out[c["id"]] = (plan, ctx, turns)
    return out


def load_corpus(folder: Path = CORPUS) -> list[CorpusItem]:
    """Every item of the corpus in ``folder``, as validator inputs (earlier turns: the scripted run's)."""
    catalog, _ = _world(folder)
    contexts = _contexts(folder)
    items = []
    for line in (folder / "turns.jsonl").read_text().splitlines():
        row = json.loads(line)
        plan, ctx, transcript = contexts[row["context"]]
        node = plan.nodes[row["node_index"]]
        before = tuple(t for t in transcript if t.node_index < node.index)
        turns = tuple(Turn(index=len(before) + k, node_index=node.index, node=node.type, attempt=1,
                           speaker=t["speaker"], text=t["text"], backend="hand-written")
                      for k, t in enumerate(row["turns"]))
        data = ValidationInput(plan=plan, context=ctx, node=node, attempt=1, turns=turns, before=before,
                               catalog=catalog)
        items.append(CorpusItem(id=row["id"], node=row["node"], source=row["source"], batch=row["batch"],
                                meets=row["meets"],
                                must_catch=tuple(row["must_catch"]), note=row["note"], data=data))
    return items


@dataclass
class Tally:
    """Per validator: rejections of items that meet their node, catches of the faults it must catch."""

    meets: int = 0
    false_rejections: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    caught: Counter[str] = field(default_factory=Counter)
    collateral: Counter[str] = field(default_factory=Counter)  # faults where another validator failed too
    rejected: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # validator -> (item, reason)
    missed: dict[str, list[str]] = field(default_factory=dict)  # validator -> fault items it let pass

    def false_rejection_rate(self, validator: str) -> float:
        """Share of the items that meet their node which ``validator`` failed."""
        return self.false_rejections[validator] / max(1, self.meets)

    def catch_rate(self, validator: str) -> float:
        """Share of the faults ``validator`` must catch that it failed (1.0 when it has none)."""
        return self.caught[validator] / self.faults[validator] if self.faults[validator] else 1.0


def measure(items: Sequence[CorpusItem], validators: Sequence[RuleValidator]) -> Tally:
    """Run ``validators`` on every item and tally false rejections and catches per validator."""
    tally = Tally()
    for item in items:
        verdicts = [v.verdict(item.data) for v in validators]
        failed = {v.validator: v.reasons for v in verdicts if not v.passed}
        if item.meets:
            tally.meets += 1
            for name, reasons in failed.items():
                tally.false_rejections[name] += 1
                tally.rejected.setdefault(name, []).append((item.id, reasons[0]))
            continue
        for name in item.must_catch:
            tally.faults[name] += 1
            if name in failed:
                tally.caught[name] += 1
            else:
                tally.missed.setdefault(name, []).append(item.id)
            tally.collateral[name] += bool(set(failed) - set(item.must_catch))
    return tally
