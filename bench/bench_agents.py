"""Benchmark the agents: autogen's per-call overhead, and scripted dialogs end to end (agents + realizer).

Prints the machine it ran on, then one line per figure. Run from the repository root:
    .venv/bin/python bench/bench_agents.py [--calls N] [--dialogs N] [--source synthetic|world]

``--source world`` plays seeds of the sample world (profiling runs once and is cached; cold, that
takes minutes); ``synthetic`` uses the hand-built planner test context with varied seed keys.
The grounding counts are this script's own catalog checks (target named only from recommend_target
on, only catalog items the plan binds), not the validators of agents/validators.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import structlog
from autogen_core.models import AssistantMessage, UserMessage
from machine import load_note
from rich.progress import track

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.autogen_adapter import AutogenRunner
from agents.backends import FakeChatClient
from agents.catalog import Catalog
from agents.dialog import NodeRequest, Turn
from agents.prompts import Prompt
from agents.scripted import ScriptedClient
from agents.system_agent import SystemAgent
from agents.user_agent import UserAgent
from planners import NoFeasiblePathError, SamplingPlanner
from planners.context import PlanContext
from profiling.corpus import Item
from profiling.errors import ConvRecError


def machine() -> str:
    import torch

    return (f"machine: {platform.platform()} | cpus: {os.cpu_count()} | python {platform.python_version()} "
            f"| torch {torch.__version__}")


async def bench_overhead(calls: int) -> str:
    client = FakeChatClient(lambda ms: "ok")
    runner = AutogenRunner("probe", client)
    history = tuple(UserMessage(content=f"m{i}", source="user") if i % 2 else
                    AssistantMessage(content=f"m{i}", source="system") for i in range(10))
    prompt = Prompt("system text", history, "instruction")
    msgs = prompt.messages()
    for _ in range(50):
        await runner.run(prompt)
    direct, via = [], []
    for _ in range(5):  # interleaved rounds: load from other processes hits both alike
        t = time.perf_counter()
        for _ in range(calls):
            await client.create(msgs)
        direct.append((time.perf_counter() - t) / calls)
        t = time.perf_counter()
        for _ in range(calls):
            await runner.run(prompt)
        via.append((time.perf_counter() - t) / calls)
    # The part that is ours: clearing and refilling the agent's context (no model call).
    ctx = runner._context  # the bench looks inside on purpose
    t = time.perf_counter()
    for _ in range(calls):
        await ctx.clear()
        for m in msgs[:-1]:
            await ctx.add_message(m)
    reset = (time.perf_counter() - t) / calls
    d, v = statistics.median(direct), statistics.median(via)
    return (f"autogen on_messages overhead: {(v - d) * 1e6:.0f} us per call (median of 5 rounds x {calls}; "
            f"direct create {d * 1e6:.0f} us, via AssistantAgent with context reset {v * 1e6:.0f} us, "
            f"of which the context reset {reset * 1e6:.0f} us; 12-message prompt, zero-latency fake client)")


def synthetic_contexts(n: int) -> Iterator[tuple[PlanContext, Catalog]]:
    from tests.support.planner_strategies import rich_context

    for k in range(n):
        ctx = rich_context(key=f"{k:016x}")
        profs = (ctx.target, *ctx.negatives)
        yield ctx, Catalog({p.item: Item(id=p.item, title=p.title) for p in profs})


def world_contexts(n: int) -> Iterator[tuple[PlanContext, Catalog]]:
    from profiling.pipeline import load_or_run_profiling
    from profiling.sample_world import load_sample_world
    from profiling.seeds import make_seeds

    corpus = load_sample_world()
    result = load_or_run_profiling(corpus, progress=True)
    seeds = make_seeds(corpus)
    table = {a.id: a for a in result.aspects}
    catalog = Catalog(corpus.items)
    for seed in random.Random(0).sample(seeds, min(n, len(seeds))):
        yield PlanContext.from_source(seed, result.profiles, aspects=table), catalog


async def bench_dialogs(contexts: list[tuple[PlanContext, Catalog]]) -> list[str]:
    planner = SamplingPlanner()
    n_dialogs = n_turns = infeasible = flagged = 0
    texts: set[str] = set()
    words: list[int] = []
    elapsed = 0.0
    for ctx, catalog in track(contexts, description="scripted dialogs"):
        try:
            plan = planner.plan(ctx)
        except NoFeasiblePathError:
            infeasible += 1
            continue
        started = time.perf_counter()
        client = ScriptedClient()
        user, system = UserAgent(client), SystemAgent(client)
        turns: list[Turn] = []
        for node in plan.nodes:
            for agent in ((system, user) if node.opener == "system" else (user, system)):
                req = NodeRequest(plan=plan, context=ctx, node=node, attempt=1, exchange=0,
                                  transcript=tuple(turns))
                reply = await agent.reply(req)
                turns.append(Turn(index=len(turns), node_index=node.index, node=node.type, attempt=1,
                                  speaker=agent.role, text=reply.text, backend=reply.backend))
        elapsed += time.perf_counter() - started
        n_dialogs += 1
        n_turns += len(turns)
        allowed = {ctx.seed.target.item, *(n.negative.item for n in plan.nodes if n.negative is not None)}
        allowed_titles = {catalog.title(i) for i in allowed if i in catalog}
        recommended = False
        bad = False
        for t in turns:
            texts.add(t.text)
            words.append(len(t.text.split()))
            named = catalog.mentions(t.text)
            recommended |= t.node == "recommend_target" and t.speaker == "system"
            # Titles, not ids: the sample world has a few items sharing a title.
            titles = {catalog.title(i) for i in named}
            target_title = catalog.title(ctx.seed.target.item) if ctx.seed.target.item in catalog else ""
            bad |= (not recommended and target_title in titles) or bool(titles - allowed_titles)
        flagged += bad
    if not n_dialogs:
        raise ConvRecError("no seed could be planned: nothing to measure")
    return [
        f"scripted dialogs: {n_dialogs} played ({infeasible} seeds had no feasible plan), {n_turns} turns, "
        f"{elapsed / n_turns * 1e3:.2f} ms per turn (directive + prompt + autogen + realizer), "
        f"{n_dialogs / elapsed:.1f} dialogs/s on one task",
        f"variety: {len(texts)} distinct turn texts of {n_turns} ({len(texts) / n_turns:.0%}), "
        f"{statistics.mean(words):.1f} words per turn",
        f"grounding (this script's catalog checks): {flagged} of {n_dialogs} dialogs flagged "
        f"({flagged / n_dialogs:.1%})",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000,
                        help="calls per round for the autogen overhead figure (default: 1000)")
    parser.add_argument("--dialogs", type=int, default=300, help="seeds to play (default: 300)")
    parser.add_argument("--source", choices=("synthetic", "world"), default="synthetic",
                        help="synthetic: the planner tests' hand-built context; world: sample-world seeds "
                        "(profiling cached after the first run) (default: synthetic)")
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        print(machine())
        print(load_note())
        print(asyncio.run(bench_overhead(args.calls)))
        source = world_contexts if args.source == "world" else synthetic_contexts
        contexts = list(source(args.dialogs))
        for line in asyncio.run(bench_dialogs(contexts)):
            print(line)
    except ConvRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
