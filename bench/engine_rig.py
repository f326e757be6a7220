"""Shared set-up of the engine benches: planned scripted dialogs, a fake model, and the engine's wiring.

The wiring copies what ``engine.run`` does for a run (store, gateway, validators, executors,
scheduler, dataset line written to the store), through public APIs only, so a bench measures the
engine as a run drives it. The fake model answers with the scripted realizer's turn for the directive
in the prompt (so dialogs pass the validators, as with the scripted backend), after an optional
``anyio.sleep(latency)``: everything above the model runs for real.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import anyio
from autogen_core.models import LLMMessage

from agents.backends import FakeChatClient
from agents.backends.base import RecordingClient
from agents.backends.tokens import message_text
from agents.dialog import ValidationInput, Validator, Verdict
from agents.directive import parse_directive
from agents.personas import load_persona
from agents.scripted import realise
from agents.validators import default_validators
from engine.core.dialog_inputs import DialogInput, PreparedDialogs, prepare_dialog_set
from engine.core.executor import DialogResult
from engine.core.heap import settled_heap
from engine.core.loop_lag import LoopLag
from engine.core.records import dialog_record
from engine.core.scheduler import DialogScheduler
from engine.gateway import EndpointLimits, EndpointRegistry
from engine.store import RunInfo, SeedRow, TraceStore
from profiling.corpus import Corpus
from profiling.errors import ConvRecError
from profiling.pipeline import ProfilingConfig

__all__ = ["ModelClock", "Played", "TimedValidator", "add_world_arguments", "clone_inputs", "engine_play",
           "fake_model", "load_dialogs", "machine", "peak_rss_mib", "rss_mib", "scripted_answer"]

# The small world of tests/engine/test_engine_run.py (stage 1 takes seconds on it); "default" is the full
# sample world (profiles cached after the first use, a minute or two cold).
SMALL_WORLD = {"seed": 3, "n_items": 60, "n_users": 90, "n_reviews": 2200, "n_aspects": 14}


class BenchSetupError(ConvRecError):
    """Raised when the bench cannot get the dialogs it needs from the chosen world."""


def machine() -> str:
    """One line naming the machine and the interpreter."""
    return (f"machine: {platform.platform()} | cpus: {os.cpu_count()} | python {platform.python_version()} "
            f"| {_mem_total()}")


def _mem_total() -> str:
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
        return f"{kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        return "RAM unknown"


def rss_mib() -> float:
    """Resident set size now (Linux /proc), in MiB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    """The process's peak resident set size so far (ru_maxrss, KiB on Linux), in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def add_world_arguments(p: argparse.ArgumentParser, *, distinct: int | None) -> None:
    """--world and (unless ``distinct`` is None) --distinct: where the planned dialogs come from."""
    p.add_argument("--world", choices=("default", "small"), default="default",
                   help="sample world: default (15,000 reviews; stage 1 cached after the first use) or small "
                   "(the 2,200-review world of tests/engine/test_engine_run.py) (default: default)")
    if distinct is None:
        return
    p.add_argument("--distinct", type=int, default=distinct,
                   help=f"distinct seeds planned; larger dialog counts reuse them under new dialog ids "
                   f"(default: {distinct})")


def load_dialogs(world: str, n: int, *, seed: int = 0) -> tuple[Corpus, PreparedDialogs]:
    """The world's corpus and up to ``n`` planned dialogs of it (stage 1 cached as in a run)."""
    from profiling.sample_world import WorldConfig, load_sample_world

    config = WorldConfig(**SMALL_WORLD) if world == "small" else WorldConfig()  # type: ignore[arg-type]
    corpus = load_sample_world(config)
    prepared = prepare_dialog_set(corpus, n=n, profiling=ProfilingConfig(seed=seed), seed=seed)
    if not prepared.inputs:
        raise BenchSetupError(f"the {world} world gave no plannable seed")
    return corpus, prepared


def clone_inputs(inputs: Sequence[DialogInput], n: int) -> list[DialogInput]:
    """``n`` dialogs cycling over ``inputs``; copies after the first round get new dialog ids (``key~k``).

    A copy shares its profiles and plan bindings with the original (only the ids differ), so a bench
    of many dialogs does not need as many distinct seeds; the scripted phrasing, seeded by the dialog
    id, still differs.
    """
    out: list[DialogInput] = []
    for k in range(n):
        d = inputs[k % len(inputs)]
        copy = k // len(inputs)
        if copy:
            key = f"{d.key}~{copy}"
            ctx = d.context.model_copy(update={"seed": d.context.seed.model_copy(update={"key": key})})
            d = DialogInput(context=ctx, plan=d.plan.model_copy(update={"seed_key": key}))
        out.append(d)
    return out


def scripted_answer(messages: Sequence[LLMMessage]) -> str:
    """What the scripted backend would say to this request (the directive is in the last message)."""
    return realise(parse_directive(message_text(messages[-1])))


class _Forget(list):  # type: ignore[type-arg]
    """A request log that keeps nothing (the fake's own log would hold every prompt of the bench)."""

    def append(self, item: object) -> None:
        pass


@dataclass
class ModelClock:
    """CPU seconds the fake model's realizer spent (it stands in for the model: not engine work)."""

    cpu_s: float = 0.0
    calls: int = 0


def fake_model(latency_s: float, clock: ModelClock | None = None) -> FakeChatClient:
    """A FakeChatClient answering like the scripted backend after ``latency_s`` of sleep (0: none)."""
    meter = clock if clock is not None else ModelClock()

    def answer(messages: Sequence[LLMMessage]) -> str:
        started = time.thread_time()
        text = scripted_answer(messages)
        meter.cpu_s += time.thread_time() - started
        meter.calls += 1
        return text

    if latency_s > 0:
        async def slow(messages: Sequence[LLMMessage]) -> str:
            await anyio.sleep(latency_s)
            return answer(messages)

        client = FakeChatClient(slow, model="fake-scripted")
    else:
        client = FakeChatClient(answer, model="fake-scripted")
    client.requests = _Forget()
    return client


class TimedValidator:
    """A validator timed into ``meter`` (thread CPU: rule validators never wait, so it is all theirs)."""

    def __init__(self, inner: Validator, meter: ModelClock) -> None:
        self.inner = inner
        self.name = inner.name
        self.kind = inner.kind
        self._meter = meter

    async def check(self, data: ValidationInput) -> Verdict:
        started = time.thread_time()
        try:
            return await self.inner.check(data)
        finally:
            self._meter.cpu_s += time.thread_time() - started
            self._meter.calls += 1


@dataclass
class Played:
    """What engine_play leaves for the bench to read: the scheduler (live counts) and the gateway."""

    scheduler: DialogScheduler
    registry: EndpointRegistry
    run_id: str
    results: list[DialogResult]


async def engine_play(store: TraceStore, corpus: Corpus, prepared: PreparedDialogs,
                      dialogs: Sequence[DialogInput], inner: RecordingClient, *, concurrency: int,
                      llm_concurrency: int, run_id: str = "bench", backend: str = "fake",
                      keep_results: bool = False, started: list[Played] | None = None,
                      validators: Sequence[Validator] | None = None, loop_lag_target_ms: float = 0.0
                      ) -> Played:
    """Play ``dialogs`` as engine.run does: store run + seeds, gateway, validators, scheduler.

    ``started`` (if given) receives the Played before the scheduler runs, so a monitor task can read
    live counts while dialogs play. ``loop_lag_target_ms`` > 0: the loop-lag gate and start pacing
    as engine.run's ``--loop-lag-target-ms`` (0, the default here: off).
    """
    seeds = [SeedRow(dialog_id=d.key, position=k, user_id=d.context.seed.user, split=d.context.seed.split,
                     target_item=d.context.seed.target.item,
                     target_time=d.context.seed.target.timestamp.isoformat(),
                     n_history=len(d.context.seed.history), negatives=tuple(d.context.seed.negatives),
                     plan_hash=d.plan.content_hash, plan_path=d.plan.path, plan_json=d.plan.to_json())
             for k, d in enumerate(dialogs)]
    personas = {role: ("default", load_persona("default", role).model_dump(mode="json"))
                for role in ("user", "system")}
    await store.begin_run(RunInfo(run_id=run_id, status="running", started_at=datetime.now(UTC).isoformat(),
                            seed=0, backend=backend, model=inner.config.model, n_dialogs=len(seeds),
                            config={"bench": True}), seeds, personas)
    lag = LoopLag(loop_lag_target_ms / 1e3) if loop_lag_target_ms else None
    registry = EndpointRegistry(seed=0, loop_lag=lag)
    client = registry.wrap(inner, EndpointLimits(max_concurrency=llm_concurrency),
                           before_call=store.backpressure)
    if validators is None:
        validators = default_validators()
    results: list[DialogResult] = []

    def make_executor(dialog: DialogInput, sink: Any) -> Any:
        return prepared.executor(dialog, client, validators, sink, embed_directive=True, run_id=run_id)

    def on_result(dialog: DialogInput, result: DialogResult) -> None:
        store.finish_dialog(run_id, dialog.key, dialog_record(
            result, dialog.context, corpus, backend=backend, user_persona="default", system_persona="default",
            run_seed=0))
        if keep_results:
            results.append(result)

    scheduler = DialogScheduler(make_executor, store, concurrency=concurrency, on_result=on_result,
                                progress=False, handle_signals=False, loop_lag=registry.loop_lag)
    played = Played(scheduler, registry, run_id, results)
    if started is not None:
        started.append(played)
    with settled_heap():  # as engine.run plays them
        await scheduler.run(dialogs)
    return played
