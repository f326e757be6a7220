"""Benchmark SmolLM2-135M through the executor: how often the small model's dialogs pass the validators.

Plays N sample-world seeds (a deterministic pick) with SmolLM2-135M-Instruct in process (llama.cpp)
as both agents and every rule validator, with the full retry path (4 attempts a node, rollbacks while
the grammar has alternatives). Prints the machine, then: dialogs accepted, node attempts that passed,
failed verdicts per validator, model calls, tokens and seconds per dialog. Run from the repository root:
    .venv/bin/python bench/bench_smollm2_acceptance.py [--n 10] [--max-tokens 48] [--max-attempts 4]
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
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.backends import BackendConfig, make_client
from agents.validators import default_validators
from engine.core.dialog_inputs import prepare_dialog_set
from engine.core.events import LLMCallRecorded, MemorySink
from engine.core.executor import DialogResult
from profiling.errors import ConvRecError
from profiling.sample_world import load_sample_world


def _machine() -> str:
    import llama_cpp
    import torch

    return (f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}, "
            f"torch {torch.__version__}, llama-cpp-python {llama_cpp.__version__}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10, help="dialogs to play, a deterministic pick (default 10)")
    p.add_argument("--seed", type=int, default=0, help="run seed of profiling, seeds and plans (default 0)")
    p.add_argument("--max-tokens", type=int, default=48, help="cap on generated tokens per call (default 48)")
    p.add_argument("--max-attempts", type=int, default=4, help="attempts per node (default 4)")
    p.add_argument("--temperature", type=float, default=0.2, help="sampling temperature (default 0.2)")
    p.add_argument("--threads", type=int, default=None, help="llama.cpp CPU threads (default: llama.cpp's)")
    p.add_argument("--user-persona", default="terse", help="user persona (default 'terse': short answers)")
    p.add_argument("--system-persona", default="concise", help="system persona (default 'concise')")
    return p


async def _play(args: argparse.Namespace) -> int:
    prepared = prepare_dialog_set(load_sample_world(), n=args.n, seed=args.seed, persona=args.user_persona)
    client = make_client(BackendConfig(kind="local", temperature=args.temperature, max_tokens=args.max_tokens,
                                       n_threads=args.threads))
    validators = default_validators()
    sink = MemorySink()
    results: list[DialogResult] = []
    started = time.perf_counter()
    try:
        with Progress() as progress:
            task = progress.add_task("SmolLM2 dialogs", total=len(prepared.inputs))
            for d in prepared.inputs:
                ex = prepared.executor(d, client, validators, sink, user_persona=args.user_persona,
                                       system_persona=args.system_persona, max_attempts=args.max_attempts,
                                       embed_directive=False, run_id="bench-smollm2")
                results.append(await ex.run(d.plan, d.context))
                progress.advance(task)
    finally:
        await client.close()
    elapsed = time.perf_counter() - started
    n = len(results)
    status = Counter(r.status for r in results)
    attempts = [a for r in results for a in r.attempts]
    calls = sink.of(LLMCallRecorded)
    failed = Counter(v.validator for r in results for v in r.verdicts if not v.passed)
    print(_machine())
    print(f"dialogs: {n}; accepted: {status['accepted']} ({status['accepted'] / max(n, 1):.0%}); "
          f"failed_fidelity: {status['failed_fidelity']}; failed_backend: {status['failed_backend']}")
    print(f"node attempts: {len(attempts)}, passed: {sum(a.passed for a in attempts)} "
          f"({sum(a.passed for a in attempts) / max(len(attempts), 1):.0%}); "
          f"nodes accepted per dialog: {sum(len({a.node_index for a in r.attempts if a.passed}) for r in results) / max(n, 1):.1f}; "  # noqa: E501
          f"rollbacks: {sum(len(r.rollbacks) for r in results)}")
    print("failed verdicts by validator: " + ", ".join(f"{k}={v}" for k, v in failed.most_common()))
    print(f"model calls: {len(calls)}; output tokens: {sum(c.output_tokens for c in calls)}; "
          f"{elapsed / max(n, 1):.1f} s per dialog; " + load_note())
    for r in results:
        if r.status != "accepted":
            print(f"  {r.dialog_key}: {(r.reason or '')[:200]}")
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
