"""Benchmark the scripted backend through the executor: fidelity acceptance and speed on the sample world.

Plays N sample-world seeds (a deterministic pick; all of them with --n 0) with the scripted realizer
and every rule validator, and prints the machine, then: dialogs accepted (every node passed every
validator, retries allowed), dialogs passing on the first attempt of every node, attempts and
rollbacks, failed verdicts per validator, and dialogs per second (stage 1 and planning not counted).
Run from the repository root:
    .venv/bin/python bench/bench_scripted_fidelity.py [--n 300] [--seed 0] [--user-persona default]
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
from profiling.errors import ConvRecError
from profiling.sample_world import load_sample_world


def _machine() -> str:
    import torch

    return (f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}, "
            f"torch {torch.__version__}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=300,
                   help="seeds to play, a deterministic pick (0 = every seed of the world; default 300)")
    p.add_argument("--seed", type=int, default=0, help="run seed of profiling, seeds and plans (default 0)")
    p.add_argument("--user-persona", default="default", help="user persona name (default 'default')")
    p.add_argument("--system-persona", default="default", help="system persona name (default 'default')")
    p.add_argument("--show-failures", type=int, default=5,
                   help="print the reason of this many failed dialogs (default 5)")
    return p


async def _play(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    corpus = load_sample_world()
    prepared = prepare_dialog_set(corpus, n=args.n or None, seed=args.seed, persona=args.user_persona)
    t_prep = time.perf_counter() - t0
    client = ScriptedClient()
    validators = default_validators()
    sink = MemorySink()
    results: list[DialogResult] = []
    t1 = time.perf_counter()
    for d in prepared.inputs:
        ex = prepared.executor(d, client, validators, sink, user_persona=args.user_persona,
                               system_persona=args.system_persona, clock=TickClock())
        results.append(await ex.run(d.plan, d.context))
    t_play = time.perf_counter() - t1
    n = len(results)
    status = Counter(r.status for r in results)
    first = sum(all(a.passed for a in r.attempts) for r in results)
    failed_verdicts = Counter(v.validator for r in results for v in r.verdicts if not v.passed)
    print(_machine())
    print(f"seeds in world: {prepared.n_seeds}; planned: {n}; not plannable (skipped, with reason): "
          f"{len(prepared.skipped)}")
    print(f"accepted (every node passed every validator): {status['accepted']}/{n} "
          f"= {status['accepted'] / max(n, 1):.1%}")
    print(f"accepted with no retry at all: {first}/{n} = {first / max(n, 1):.1%}")
    print(f"failed_fidelity: {status['failed_fidelity']}, failed_backend: {status['failed_backend']}")
    print(f"node attempts per dialog: {sum(len(r.attempts) for r in results) / max(n, 1):.2f}; "
          f"rollbacks: {sum(len(r.rollbacks) for r in results)}; trace events: {len(sink)}")
    print("failed verdicts by validator: " + (", ".join(f"{k}={v}" for k, v in failed_verdicts.most_common())
                                               or "none"))
    print(f"stage 1 + seeds + plans: {t_prep:.1f} s; playing: {t_play:.1f} s = {n / t_play:.1f} dialogs/s "
          + load_note())
    for r in [r for r in results if r.status != "accepted"][: args.show_failures]:
        print(f"  {r.dialog_key}: {r.reason}")
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
