"""Harvest the plan contexts of the natural-turn corpus from a scripted run on the sample world.

The corpus (tests/data/natural_turns/) stores, for each hand-written node attempt, the context the
validators judge it against. Those contexts come from here: the seeds, plans and profiles that
``python -m engine.run --backend scripted --seed 0`` prepares on the sample world (the same
``prepare_dialog_set`` call), each played once by the scripted realizer so that the earlier turns of
every node exist. The contexts are picked to cover the six categories and every node type; the aspect
table and the catalog titles go in ``world.json`` (once), each context on a line of ``contexts.jsonl``
(its seed's history cut to the last few interactions: no validator reads it).

Writing them again replaces the contexts the hand-written turns were written against: only do it
with a new corpus. Run from the repository root:
    .venv/bin/python bench/natural_contexts.py [--pool 400] [--per-category 6] [--out DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections import Counter
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.scripted import ScriptedClient
from agents.system_agent import SystemAgent
from agents.user_agent import UserAgent
from engine.core.dialog_inputs import DialogInput, prepare_dialog_set
from profiling.sample_world import load_sample_world
from tests.support.fault_clients import play_plan

HISTORY = 3
RARE = ("refine", "recommend_alternative", "clarify", "inquire_item")
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "natural_turns"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pool", type=int, default=400, help="planned seeds to pick from (default 400)")
    p.add_argument("--per-category", type=int, default=6, help="contexts per category (default 6)")
    p.add_argument("--seed", type=int, default=0, help="run seed (default 0, as engine.run's)")
    p.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    return p


def _gain(d: DialogInput, seen: Counter[str]) -> float:
    types = [n.type for n in d.plan.nodes]
    return sum(1.0 / (1 + seen[t]) for t in RARE if t in types) + 0.01 * len(types)


def pick(inputs: list[DialogInput], per_category: int) -> list[DialogInput]:
    """Per category, greedily the dialogs whose plans add the most of the rarer node types."""
    by_cat: dict[str, list[DialogInput]] = {}
    for d in inputs:
        by_cat.setdefault(d.context.target.category, []).append(d)
    chosen: list[DialogInput] = []
    for cat in sorted(by_cat):
        have: Counter[str] = Counter()
        pool = list(by_cat[cat])
        for _ in range(min(per_category, len(pool))):
            best = max(pool, key=lambda d, seen=have: _gain(d, seen))
            pool.remove(best)
            have.update({n.type for n in best.plan.nodes})
            chosen.append(best)
    return chosen


async def run(args: argparse.Namespace) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    prep = prepare_dialog_set(load_sample_world(), n=args.pool, seed=args.seed)
    chosen = pick(prep.inputs, args.per_category)
    contexts = []
    for k, d in enumerate(chosen):
        client = ScriptedClient()
        turns = await play_plan(d.plan, d.context, UserAgent(client), SystemAgent(client))
        ctx = d.context.model_dump(mode="json", exclude={"aspects"})
        # The last few interactions only: the validators never read the history, a reader may.
        ctx["seed"]["history"] = ctx["seed"]["history"][-HISTORY:]
        contexts.append({
            "id": f"c{k:02d}",
            "source": f"sample world, engine.run --backend scripted --seed {args.seed}: seed {d.key}, "
                      f"plan {d.plan.content_hash}",
            "plan": d.plan.model_dump(mode="json"),
            "context": ctx,
            "transcript": [{"node_index": t.node_index, "node": t.node, "speaker": t.speaker, "text": t.text}
                           for t in turns],
        })
    world = {
        "source": f"sample world (default sizes), stage 1 of engine.run --seed {args.seed}",
        "aspects": [a.model_dump(mode="json", exclude={"examples"}) for a in prep.profiling.profiles.aspects],
        "catalog": {i: {"title": it.title, "category": it.category}
                    for i, it in sorted(prep.catalog.items.items())},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "world.json").write_text(json.dumps(world, indent=1, sort_keys=True) + "\n")
    (args.out / "contexts.jsonl").write_text("".join(json.dumps(c) + "\n" for c in contexts))
    types = Counter(n.type for d in chosen for n in d.plan.nodes)
    print(f"wrote {len(contexts)} contexts to {args.out}; node types: {dict(types)}")


def main(argv: list[str] | None = None) -> int:
    asyncio.run(run(parser().parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
