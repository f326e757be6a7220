"""Benchmark the scripted realizer's text: diversity, repeated turns and validator pass rates.

Plays N sample-world seeds (a deterministic pick) with the scripted backend through the executor and
every rule validator, then prints the machine and, over the accepted dialogs' turns:

- distinct-1 and distinct-2 (distinct word n-grams over all n-grams, ``engine.outputs.quality``'s
  definition), and the share of turn texts that are distinct;
- the turn texts outside greet and close found in the most dialogs, with the share of dialogs each
  is in (the aim: none in more than 2%);
- per validator, the share of node attempts it passed, and the dialogs accepted.

Run from the repository root:
    .venv/bin/python bench/bench_scripted_diversity.py [--n 1000] [--seed 0] [--top 8]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

import anyio
import structlog
from machine import load_note

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.scripted import ScriptedClient
from agents.validators import default_validators
from engine.core.dialog_inputs import prepare_dialog_set
from engine.core.events import MemorySink, TickClock
from engine.core.executor import DialogResult
from engine.outputs.quality import distinct_n
from profiling.errors import ConvRecError
from profiling.sample_world import load_sample_world

# Greetings and farewells may repeat: every shop says hello the same few ways.
_EXEMPT_NODES = ("greet", "close")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000, help="dialogs to play, a deterministic pick (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="run seed of profiling, seeds and plans (default 0)")
    p.add_argument("--top", type=int, default=8, help="most repeated turn texts to print (default 8)")
    p.add_argument("--user-persona", default="default", help="user persona (default 'default')")
    p.add_argument("--system-persona", default="default", help="system persona (default 'default')")
    return p


def diversity_figures(results: list[DialogResult], top: int) -> list[str]:
    """The printed lines: distinct-n, distinct texts, most repeated non-greeting turn texts."""
    accepted = [r for r in results if r.status == "accepted"]
    texts = [t.text for r in accepted for t in r.turns]
    in_dialogs: Counter[str] = Counter()
    for r in accepted:
        in_dialogs.update({t.text for t in r.turns if t.node not in _EXEMPT_NODES})
    n = max(len(accepted), 1)
    lines = [f"turns: {len(texts)}; distinct-1 {distinct_n(texts, 1):.1%}; "
             f"distinct-2 {distinct_n(texts, 2):.1%}; "
             f"distinct turn texts {len(set(texts)) / max(len(texts), 1):.1%}"]
    worst = in_dialogs.most_common(top)
    share = worst[0][1] / n if worst else 0.0
    over = sum(1 for c in in_dialogs.values() if c / n > 0.02)
    lines.append(f"most repeated turn text outside greet/close: in {share:.1%} of dialogs; "
                 f"texts in more than 2% of dialogs: {over}")
    lines += [f"  {c / n:6.1%}  {text!r}" for text, c in worst]
    return lines


async def _play(args: argparse.Namespace) -> int:
    prepared = prepare_dialog_set(load_sample_world(), n=args.n, seed=args.seed, persona=args.user_persona)
    client = ScriptedClient()
    validators = default_validators()
    sink = MemorySink()
    results: list[DialogResult] = []
    started = time.perf_counter()
    for d in prepared.inputs:
        ex = prepared.executor(d, client, validators, sink, user_persona=args.user_persona,
                               system_persona=args.system_persona, clock=TickClock())
        results.append(await ex.run(d.plan, d.context))
        sink.events.clear()
    elapsed = time.perf_counter() - started
    n = len(results)
    status = Counter(r.status for r in results)
    attempts = [a for r in results for a in r.attempts]
    failed = Counter(v.validator for a in attempts for v in a.verdicts if not v.passed)
    names = [v.validator for v in attempts[0].verdicts] if attempts else []
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}")
    print(f"dialogs: {n}; accepted {status['accepted']} ({status['accepted'] / max(n, 1):.1%}); "
          f"node attempts {len(attempts)}; {n / elapsed:.1f} dialogs/s; " + load_note())
    for line in diversity_figures(results, args.top):
        print(line)
    print("node attempts passed, per validator (aim >= 99.5%):")
    for name in names:
        print(f"  {name}: {1 - failed[name] / max(len(attempts), 1):.2%}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        return anyio.run(_play, args)
    except ConvRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
