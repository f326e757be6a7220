"""Engine CPU per agent turn, side by side with the same two agents in an autogen RoundRobinGroupChat.

Run from the repository root:
    .venv/bin/python bench/bench_engine_cpu.py [--dialogs N] [--concurrency N] [--world default|small]

Engine: scripted sample-world dialogs played by the engine as ``engine.run`` wires it (gateway,
DialogScheduler, DialogExecutor with the nine rule validators, every event and the dataset line written
into a real TraceStore file), on a zero-latency fake model that answers with the scripted realizer's
turn. An engine turn includes building the directive and the prompt, autogen's AssistantAgent call,
the validators of the node, and the trace rows; the realizer's own CPU (the "model") is measured
apart and shown both ways.

Team: per dialog, one ``RoundRobinGroupChat`` of two ``AssistantAgent``s on one fake client that
answers with that dialog's engine turn texts in order, ``max_turns`` = the engine's turn count for the
dialog (superseded turns included), so both sides produce the same number of turns with the same
texts. A team turn is autogen's machinery only (runtime, group chat manager, messages): no
directive, prompt, validation or storage. CPU is ``time.process_time`` (all threads of the process,
SQLite's writer thread included), so other processes on the machine do not count.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import anyio
import structlog
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core.models import LLMMessage
from engine_rig import (
    ModelClock,
    TimedValidator,
    add_world_arguments,
    clone_inputs,
    engine_play,
    fake_model,
    load_dialogs,
    machine,
)
from machine import load_note

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.backends import FakeChatClient
from agents.validators import default_validators
from engine.store import TraceStore
from profiling.errors import ConvRecError


class _CollectorClock:
    """A ``gc.callbacks`` entry adding up the CPU the garbage collector takes (its passes' start to stop)."""

    def __init__(self) -> None:
        self.cpu_s = 0.0
        self.passes = 0
        self._started = 0.0

    def __call__(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.cpu_s += time.process_time() - self._started
            self.passes += 1


def _replayer(texts: Sequence[str]) -> FakeChatClient:
    queue = list(texts)

    def answer(_messages: Sequence[LLMMessage]) -> str:
        # max_turns equals the number of texts: the team never asks for more.
        return queue.pop(0)

    return FakeChatClient(answer, model="fake-replay")


async def _team(texts: Sequence[str], system_messages: tuple[str, str]) -> int:
    client = _replayer(texts)
    agents = [AssistantAgent("user_agent", client, system_message=system_messages[0]),
              AssistantAgent("system_agent", client, system_message=system_messages[1])]
    team = RoundRobinGroupChat(agents, max_turns=len(texts))
    result = await team.run(task="Start the conversation.")
    return len(result.messages) - 1  # the task message is not a turn


async def bench(args: argparse.Namespace) -> list[str]:
    corpus, prepared = load_dialogs(args.world, args.distinct)
    dialogs = clone_inputs(prepared.inputs, args.dialogs)
    warm = clone_inputs(prepared.inputs, min(8, len(prepared.inputs)))
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "trace.db"
        async with TraceStore.open(db) as store:
            # Warm-up: lazy imports and first-use caches (VADER's lexicon, the grammar) are not per turn.
            await engine_play(store, corpus, prepared, warm, fake_model(0.0), concurrency=args.concurrency,
                              llm_concurrency=args.concurrency, run_id="warmup")
            await store.flush()
            model, checks = ModelClock(), ModelClock()
            validators = [TimedValidator(v, checks) for v in default_validators()]
            collector = _CollectorClock()
            gc.callbacks.append(collector)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            played = await engine_play(store, corpus, prepared, dialogs, fake_model(0.0, model),
                                       concurrency=args.concurrency, llm_concurrency=args.concurrency,
                                       run_id="engine", keep_results=True, validators=validators)
            await store.flush()
            engine_cpu, engine_wall = time.process_time() - cpu0, time.perf_counter() - wall0
            gc.callbacks.remove(collector)
            rows = store.rows_written
            if args.profile:
                lines += await _profile(store, corpus, prepared, dialogs, args.concurrency)
        size = db.stat().st_size
    results = played.results
    turns = sum(len(r.all_turns) for r in results)
    calls = played.registry.stats()[0].calls
    accepted = sum(r.status == "accepted" for r in results)
    attempts = sum(len(r.attempts) for r in results)
    if calls != turns:
        raise ConvRecError(f"engine made {calls} model calls for {turns} turns: the comparison assumes one "
                           "call per turn (no LLM judge)")

    systems = ("You are a shopper looking for a product. Answer briefly.",
               "You are a shop assistant recommending products. Answer briefly.")
    texts = [[t.text for t in r.all_turns] for r in results]
    await _team(texts[0], systems)  # warm-up
    limiter = anyio.Semaphore(args.concurrency)
    team_turns = 0

    async def one(t: Sequence[str]) -> None:
        nonlocal team_turns
        async with limiter:
            made = await _team(t, systems)  # not `+= await`: that reads the total before awaiting
        team_turns += made

    cpu0, wall0 = time.process_time(), time.perf_counter()
    async with anyio.create_task_group() as tg:
        for t in texts:
            tg.start_soon(one, t)
    team_cpu, team_wall = time.process_time() - cpu0, time.perf_counter() - wall0
    if team_turns != turns:
        raise ConvRecError(f"the teams made {team_turns} turns, the engine {turns}: not comparable")

    per_engine = engine_cpu / turns
    per_engine_no_model = (engine_cpu - model.cpu_s) / turns
    per_machinery = (engine_cpu - model.cpu_s - checks.cpu_s) / turns
    per_team = team_cpu / turns
    lines[:0] = [
        f"dialogs: {len(results)} ({len(prepared.inputs)} distinct seeds, {args.world} world), "
        f"{accepted} accepted, {turns} agent turns ({attempts} node attempts), "
        f"concurrency {args.concurrency}",
        f"engine: {engine_cpu:.2f} CPU s, {engine_wall:.2f} wall s; {rows:,} trace rows written "
        f"({size / 2**20:.1f} MiB file); realizer (the fake model) {model.cpu_s:.2f} CPU s",
        f"engine CPU per turn: {per_engine * 1e3:.3f} ms with the realizer, "
        f"{per_engine_no_model * 1e3:.3f} ms without (directive, prompt, autogen call, validators, "
        f"trace rows, dataset line)",
        f"of which the garbage collector {collector.cpu_s / turns * 1e3:.3f} ms "
        f"({collector.cpu_s / engine_cpu:.1%} of the engine's CPU; {collector.passes} passes)",
        f"of which the nine rule validators {checks.cpu_s / turns * 1e3:.3f} ms ({checks.calls:,} checks); "
        f"the rest (scheduler, executor, agents: directive, catalog search, prompt, autogen call; "
        f"gateway, trace rows, dataset line) {per_machinery * 1e3:.3f} ms",
        f"team:   {team_cpu:.2f} CPU s, {team_wall:.2f} wall s; RoundRobinGroupChat per dialog, two "
        f"AssistantAgents, same turn count and texts (autogen machinery only)",
        f"team CPU per turn:   {per_team * 1e3:.3f} ms",
        f"ratio team/engine: {per_team / per_engine:.2f}x (engine turn with realizer), "
        f"{per_team / per_engine_no_model:.2f}x (without), {per_team / per_machinery:.2f}x (without realizer "
        f"and validators); target >= 5x",
    ]
    return lines


# Where an engine turn's CPU goes: (label, file suffix, function), cumulative time of each.
_PARTS = [
    ("rule validators", "agents/validators/rule.py", "verdict"),
    ("system agent: catalog search", "agents/search.py", "search_catalog"),
    ("agents: directive", "agents/directive.py", "build_directive"),
    ("agents: prompt", "agents/prompts.py", "build_prompt"),
    ("agents: autogen on_messages (includes the model call)", "agents/autogen_adapter.py", "run"),
    ("gateway create (includes the model call)", "engine/gateway.py", "create"),
    ("fake model (realizer)", "agents/backends/fake.py", "create"),
    ("trace store writer (main-thread part)", "engine/store/trace_store.py", "_writer"),
    ("trace events built (executor emit)", "engine/core/executor.py", "emit"),
    ("dataset line (dialog_record)", "engine/core/records.py", "dialog_record"),
]


async def _profile(store: TraceStore, corpus, prepared, dialogs, concurrency: int) -> list[str]:  # type: ignore[no-untyped-def]
    """The engine run again under cProfile: each part's share of the main thread's time."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    await engine_play(store, corpus, prepared, dialogs, fake_model(0.0), concurrency=concurrency,
                      llm_concurrency=concurrency, run_id="profile")
    await store.flush()
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in stats.values())
    out = [f"profile (cProfile, main thread, {total:.1f} s profiled; shares overlap where parts nest):"]
    for label, path, func in _PARTS:
        cum = sum(ct for (file, _line, name), (_cc, _nc, _tt, ct, _c) in stats.items()
                  if file.endswith(path) and name == func)
        out.append(f"  {label}: {cum / total:.0%}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dialogs", type=int, default=300, help="dialogs played by each side (default: 300)")
    p.add_argument("--concurrency", type=int, default=16,
                   help="dialogs (engine) or teams (autogen) live at once (default: 16)")
    p.add_argument("--profile", action="store_true",
                   help="also play the dialogs once under cProfile and print where engine CPU goes "
                   "(default: off)")
    add_world_arguments(p, distinct=300)
    args = p.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(machine())
    print(load_note())
    try:
        for line in anyio.run(bench, args):
            print(line)
    except ConvRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(load_note())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
