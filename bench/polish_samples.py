"""Write real SmolLM2-135M rewrites of scripted drafts, to be labelled by hand (tests/data/).

Plays sample-world dialogs with the scripted realizer (every user and system persona in turn), picks
turns at random (seeded), and asks the embedded model for one rewrite of each with the polish mode's
own prompt (agents.polish.polish_messages, unframe), half at the polish temperature and half at 0.7
(a later try's spread). Each line holds the draft, the turn before it, the rewrite and how it was made;
no verdict of the meaning check, so whoever labels the lines is not led by it. Beside it,
``<out>_world.json`` holds the aspect table and catalog titles the meaning check needs. Run from the
repository root (it takes a few minutes; run it under the heavy lock):
    .venv/bin/python bench/polish_samples.py [--n 240] [--seed 11] [--out tests/data/polish_rewrites.jsonl]
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from pathlib import Path

import anyio
import orjson
import structlog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.backends import BackendConfig, make_client
from agents.personas import list_personas
from agents.polish import POLISH_TEMPERATURE, polish_messages, unframe, voice_for
from agents.scripted import ScriptedClient
from agents.validators import default_validators
from engine.core.dialog_inputs import prepare_dialog_set
from engine.core.events import MemorySink, TickClock
from profiling.sample_world import load_sample_world


async def _play(args: argparse.Namespace) -> int:
    prepared = prepare_dialog_set(load_sample_world(), n=args.dialogs, seed=args.seed)
    users, systems = list_personas("user"), list_personas("system")
    candidates = []
    for k, d in enumerate(prepared.inputs):
        up, sp = users[k % len(users)], systems[k % len(systems)]
        ex = prepared.executor(d, ScriptedClient(), default_validators(), MemorySink(), user_persona=up,
                               system_persona=sp, clock=TickClock())
        r = await ex.run(d.plan, d.context)
        if r.status != "accepted":
            continue
        slots = [s for n in r.plan.nodes for s in (n.negative, n.critique, n.inquiry) if s is not None]
        items = {r.plan.target} | {s.item for s in slots}
        titles = sorted({prepared.catalog.title(i) for i in items if i in prepared.catalog})
        for j, t in enumerate(r.turns):
            persona = ex.user.spec if t.speaker == "user" else ex.system.spec  # type: ignore[attr-defined]
            candidates.append((d.key, t, r.turns[j - 1].text if j else "", persona, titles))
    rng = random.Random(args.seed)
    picked = rng.sample(candidates, min(args.n, len(candidates)))
    client = make_client(BackendConfig(kind="local", max_tokens=64, temperature=POLISH_TEMPERATURE))
    lines = []
    try:
        for i, (key, t, before, persona, titles) in enumerate(picked):
            temperature = POLISH_TEMPERATURE if i % 2 == 0 else 0.7
            cap = min(64, int(len(t.text.split()) * 1.6) + 16)
            extra = {"seed": 1000 + i, "max_tokens": cap, "stop": ["\n"], "temperature": temperature}
            messages = polish_messages(t, (), voice=voice_for(persona))
            result = await client.create(messages, extra_create_args=extra)
            lines.append({"id": f"r{i:03d}", "dialog": key, "node": t.node, "speaker": t.speaker,
                          "persona": persona.name, "before": before, "draft": t.text,
                          "rewrite": unframe(str(result.content)), "finish": result.finish_reason,
                          "temperature": temperature, "titles": titles})
            print(f"{i + 1}/{len(picked)}", end="\r", file=sys.stderr)
    finally:
        await client.close()
    out = Path(args.out)
    out.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    # What the meaning check reads besides each line: the run's aspect table and the catalog's titles.
    world = {"aspects": [{"id": a.id, "name": a.name, "phrases": list(a.phrases)}
                         for a in prepared.profiling.profiles.aspects],
             "titles": sorted({prepared.catalog.title(i) for i in prepared.catalog.items})}
    out.with_name(out.stem + "_world.json").write_bytes(orjson.dumps(world, option=orjson.OPT_INDENT_2))
    print(f"wrote {len(lines)} rewrites to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=240, help="rewrites to write (default 240)")
    p.add_argument("--dialogs", type=int, default=120, help="scripted dialogs to draw from (default 120)")
    p.add_argument("--seed", type=int, default=11, help="seed of the dialogs and the pick (default 11)")
    p.add_argument("--out", default="tests/data/polish_rewrites.jsonl", help="output JSONL")
    args = p.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    return anyio.run(_play, args)


if __name__ == "__main__":
    raise SystemExit(main())
