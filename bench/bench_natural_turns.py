"""Benchmark the rule validators on natural text: the hand-written corpus of tests/data/natural_turns/.

Per validator: false rejections (its failed verdicts on the node attempts labelled as meeting their node,
aim <= 2%) and catches (its failed verdicts on the planted faults labelled with its name, aim >= 98%),
over the whole corpus and per batch: ``dev`` (the turns the rules were fixed on) and ``held_out`` (written
after the fixes, measured once before any further change; see tests/data/natural_turns.md). Also: faults
where another validator failed too, and milliseconds of validation per node attempt.

Prints the machine it ran on first. Run from the repository root:
    .venv/bin/python bench/bench_natural_turns.py [--show]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from machine import load_note

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.validators import default_validators
from agents.validators.rule import RuleValidator
from tests.support.natural_turns import CorpusItem, Tally, load_corpus, measure


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--show", action="store_true", help="list every false rejection and missed fault")
    p.add_argument("--repeat", type=int, default=3, help="timing repeats over the corpus (default 3)")
    return p


def _rate(num: int, den: int) -> str:
    return f"{num}/{den} = {num / den:.1%}" if den else "-"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    items = load_corpus()
    rules = [v for v in default_validators() if isinstance(v, RuleValidator)]
    batches: dict[str, list[CorpusItem]] = {"all": items}
    for b in ("dev", "held_out"):
        batches[b] = [i for i in items if i.batch == b]
    tallies: dict[str, Tally] = {b: measure(its, rules) for b, its in batches.items()}
    start = time.perf_counter()
    for _ in range(args.repeat):
        for item in items:
            for v in rules:
                v.verdict(item.data)
    per_attempt = 1000 * (time.perf_counter() - start) / (args.repeat * len(items))
    natural = [i for i in items if i.source == "natural"]
    turns = sum(len(i.data.turns) for i in natural)
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}")
    print(load_note())
    print(f"corpus: {len(items)} node attempts in {len({i.data.plan.seed_key for i in items})} sample-world "
          f"contexts; {len(natural)} natural ({turns} turns), all labelled as meeting their node: "
          f"{tallies['all'].meets}; planted faults: {sum(tallies['all'].faults.values())}; "
          f"held-out batch: {len(batches['held_out'])} attempts")
    print("\n| validator | false rejections (all) | dev | held-out | planted faults caught (all) | dev | "
          "held-out | another validator failed too |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for v in rules:
        n = v.name
        fr = [_rate(t.false_rejections[n], t.meets) for t in tallies.values()]
        caught = [_rate(t.caught[n], t.faults[n]) for t in tallies.values()]
        coll = _rate(tallies["all"].collateral[n], tallies["all"].faults[n])
        print(f"| {n} | {' | '.join(fr)} | {' | '.join(caught)} | {coll} |")
    print(f"\nvalidation time: {per_attempt:.2f} ms per node attempt (all {len(rules)} rule validators, "
          f"{args.repeat} x {len(items)} attempts)")
    if args.show:
        t = tallies["all"]
        for n, rows in t.rejected.items():
            for item, reason in rows:
                print(f"false rejection {n} {item}: {reason}")
        for n, missed in t.missed.items():
            for item in missed:
                print(f"missed {n} {item}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
