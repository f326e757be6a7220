"""Benchmark the rule validators: false positives on clean scripted dialogs, detection of planted faults.

Plays sample-world seeds (a deterministic pick) once each, one attempt per node and no retries, with
the scripted realizer, and runs every rule validator on every node attempt:

- clean: the share of node attempts each validator fails (all of them false positives, as far as
  the scripted realizer is faithful: read the printed examples), and dialogs with no failure at all;
- per planted fault (tests/support/fault_clients.py, around the same realizer): of the node attempts the
  fault corrupted, the share its expected validator caught, and the share where some OTHER
  validator failed too;
- milliseconds of validation per node attempt.

Prints the machine it ran on first. Run from the repository root:
    .venv/bin/python bench/bench_validators.py [--n 200] [--fault-n 60] [--seed 0]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

import structlog
from machine import load_note
from rich.progress import track

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.dialog import Validator, Verdict
from agents.scripted import ScriptedClient
from agents.system_agent import SystemAgent
from agents.user_agent import UserAgent
from agents.validators import default_validators, run_validators
from engine.core.dialog_inputs import DialogInput, PreparedDialogs, prepare_dialog_set
from profiling.errors import ConvRecError
from profiling.sample_world import load_sample_world
from tests.support.fault_clients import EXPECTED, FAULTS, Fault, FaultyClient, play_plan, validation_inputs

PERSONAS = (("default", "default"), ("terse", "concise"), ("chatty", "explanatory"),
            ("expert", "enthusiastic"), ("indecisive", "default"), ("budget_minded", "concise"))


def machine() -> str:
    import torch

    return (f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}, "
            f"torch {torch.__version__}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200, help="clean dialogs to play (default 200)")
    p.add_argument("--fault-n", type=int, default=60,
                   help="dialogs per planted fault, among seeds whose plan has the fault's node (default 60)")
    p.add_argument("--seed", type=int, default=0, help="run seed of profiling, seeds and plans (default 0)")
    p.add_argument("--examples", type=int, default=3,
                   help="print the first reason of this many failing clean node attempts (default 3)")
    return p


class Timer:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.attempts = 0


async def judge(prep: PreparedDialogs, d: DialogInput, validators: list[Validator], k: int,
                fault: Fault | None, timer: Timer) -> tuple[list[tuple[int, list[Verdict]]], set[int]]:
    up, sp = PERSONAS[k % len(PERSONAS)]
    inner = ScriptedClient()
    user_client, system_client = inner, inner
    faulty = None
    if fault is not None:
        others = [i for i in prep.category_items(d.context.target.category or "") if i != d.plan.target]
        faulty = FaultyClient(inner, fault, target_title=prep.catalog.title(d.plan.target),
                              catalog_title=prep.catalog.title(others[0] if others else d.plan.target))
        if EXPECTED[fault][0] == "user":
            user_client = faulty
        else:
            system_client = faulty
    # No catalog search in the system agent: the scripted realizer writes from the plan's bindings,
    # and the search costs ~10x the rest of a dialog.
    turns = await play_plan(d.plan, d.context, UserAgent(user_client, up), SystemAgent(system_client, sp))
    out = []
    for node, vi in validation_inputs(d.plan, d.context, turns, prep.catalog):
        t = time.perf_counter()
        verdicts = await run_validators(validators, vi)
        timer.seconds += time.perf_counter() - t
        timer.attempts += 1
        out.append((node.index, verdicts))
    corrupted = {idx for _, idx, _ in faulty.corrupted} if faulty is not None else set()
    return out, corrupted


async def run(args: argparse.Namespace) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    prep = prepare_dialog_set(load_sample_world(), n=max(args.n, args.fault_n * 3), seed=args.seed)
    validators = default_validators()
    names = [v.name for v in validators]
    timer = Timer()
    fails: Counter[str] = Counter()
    n_attempts = clean_dialogs = 0
    examples: list[str] = []
    dialogs = prep.inputs[:args.n]
    for k, d in enumerate(track(dialogs, description="clean dialogs")):
        verdicts, _ = await judge(prep, d, validators, k, None, timer)
        ok = True
        for _, vs in verdicts:
            n_attempts += 1
            for v in vs:
                if not v.passed:
                    ok = False
                    fails[v.validator] += 1
                    if len(examples) < args.examples:
                        examples.append(f"{v.validator}: {v.reasons[0]}")
        clean_dialogs += ok
    detect: dict[str, tuple[int, int, int]] = {}
    for fault in FAULTS:
        kinds, expected = EXPECTED[fault][1], EXPECTED[fault][2]
        pool = [d for d in prep.inputs if any(n.type in kinds for n in d.plan.nodes)][:args.fault_n]
        caught = collateral = total = 0
        for k, d in enumerate(track(pool, description=f"fault {fault}")):
            verdicts, corrupted = await judge(prep, d, validators, k, fault, timer)
            for idx, vs in verdicts:
                if idx not in corrupted:
                    continue
                total += 1
                failed = {v.validator for v in vs if not v.passed}
                caught += expected in failed
                collateral += bool(failed - {expected})
        detect[fault] = (caught, collateral, total)
    print(machine())
    print(load_note())
    print(f"sample world seed {args.seed}: {len(dialogs)} clean scripted dialogs, {n_attempts} node "
          f"attempts, one attempt per node, personas rotated over {len(PERSONAS)} pairs")
    print(f"clean dialogs with no failed verdict: {clean_dialogs}/{len(dialogs)} "
          f"= {clean_dialogs / max(1, len(dialogs)):.1%}")
    print("\n| validator | failed node attempts on clean dialogs (false-positive rate) |\n| --- | --- |")
    for name in names:
        print(f"| {name} | {fails[name]}/{n_attempts} = {fails[name] / max(1, n_attempts):.2%} |")
    print("\n| planted fault | expected validator | caught | another validator failed too |")
    print("| --- | --- | --- | --- |")
    for fault, (caught, coll, total) in detect.items():
        print(f"| {fault} | {EXPECTED[fault][2]} | {caught}/{total} = {caught / max(1, total):.1%} | "
              f"{coll}/{total} = {coll / max(1, total):.1%} |")
    print(f"\nvalidation time: {1000 * timer.seconds / max(1, timer.attempts):.2f} ms per node attempt "
          f"(all {len(validators)} rule validators, {timer.attempts} node attempts)")
    for e in examples:
        print("clean failure example:", e)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        asyncio.run(run(args))
    except ConvRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
