"""The engine at scale, on a fake model with latency: throughput at many concurrent dialogs, and the
memory and event-loop lag of 10,000 live dialogs.

Run from the repository root:
    .venv/bin/python bench/bench_engine_scale.py throughput [--concurrency 2000] [--latency 0.2]
        [--sweep 25,50,100,200,400] [--window 10]
    .venv/bin/python bench/bench_engine_scale.py live [--live 10000] [--latency 1.0] [--llm-concurrency 100]
        [--seconds 20]

Both play scripted sample-world dialogs through the engine as ``engine.run`` wires it (store, gateway,
validators, scheduler), the model replaced by a fake that sleeps ``--latency`` seconds and answers with
the scripted realizer's turn. Dialog counts beyond ``--distinct`` reuse planned seeds under new
dialog ids (engine_rig.clone_inputs). Runs are time-boxed: they stop (cancelling the live dialogs)
once the measurement window is over; the trace store is a real SQLite file in a temporary folder.

throughput: ideal calls/s = concurrency / latency (every live dialog always waiting on a call). Calls
are counted at the gateway in a window that opens once every dialog is live; the event-loop lag (a
task sleeping 10 ms in a loop, how late it wakes) is taken in the same window. When the CPU caps it,
the ceiling is 1 / (main-thread CPU per call): the event loop is one thread. ``--sweep`` finds the
concurrency at which 90% of the ideal is still reached.

live: 10,000 dialogs live at once, their model calls bounded by the endpoint limiter
(``--llm-concurrency``, as a real server would be). Peak RSS (sampled /proc and ru_maxrss), and the
event-loop lag: a task sleeps 10 ms in a loop and records how late it wakes.

``--loop-lag-target-ms`` (default: engine.run's) is the engine's loop-lag gate and start pacing, as
engine.run plays with them (0: off); the throughput line then says what the gate did in the window
(calls held and for how long on average, the range of its limit on calls in flight, starts held). The
ceiling is measured the same way with the gate on or off: the gate's monitor (a 5 ms sleeper) runs
on the main thread, so its CPU is in the CPU per call.

``--fast-acquire [--yield-every N]`` prototypes a change to engine/core/scheduler.py (patched in for the
run, nothing else changes): anyio's Semaphore yields to the loop once per slot it grants, so a busy
loop starts (and refills) one dialog per iteration; with ``fast_acquire=True`` it yields only when it
waits for a slot, and ``--yield-every N`` adds a checkpoint after every N starts so that starting
thousands of dialogs does not stall the loop in one iteration.
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import structlog
from anyio.lowlevel import checkpoint
from engine_rig import (
    Played,
    add_world_arguments,
    clone_inputs,
    engine_play,
    fake_model,
    load_dialogs,
    machine,
    peak_rss_mib,
    rss_mib,
)
from machine import load_note

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import RunSettings
from engine.core.dialog_inputs import PreparedDialogs
from engine.store import TraceStore, single_error
from profiling.corpus import Corpus
from profiling.errors import ConvRecError


@dataclass
class LagProbe:
    """Wakes every ``period_s`` and keeps how late each wake-up was (seconds), with when it happened."""

    period_s: float = 0.01
    lags: list[tuple[float, float]] = field(default_factory=list)

    async def run(self) -> None:
        while True:
            t = time.perf_counter()
            await anyio.sleep(self.period_s)
            now = time.perf_counter()
            self.lags.append((now, now - t - self.period_s))

    def between(self, start: float, end: float) -> list[float]:
        return [lag for at, lag in self.lags if start <= at <= end]


def pct(values: Sequence[float], q: float) -> float:
    """The q-quantile (0-1) by nearest rank; nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def _until(pred, timeout: float, step: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        if pred():
            return True
        await anyio.sleep(step)
    return pred()


# -- throughput ------------------------------------------------------------------------------------
@dataclass
class Throughput:
    concurrency: int
    latency_s: float
    live_mean: float
    calls: int
    window_s: float
    cpu_per_call_s: float
    main_cpu_per_call_s: float
    start_s: float
    cpu_share: float  # process CPU seconds per wall second in the window (1.0 = one core busy)
    started: int  # dialogs started when the window opened (all of them unless the start timed out)
    lag_p99_s: float = math.nan  # event-loop lag in the window (a 10 ms sleeper's late wake-ups)
    lag_max_s: float = math.nan
    llm_concurrency: int = 0  # the endpoint's limit on calls in flight (0: the dialog concurrency)
    gate: str = ""  # what the loop-lag gate did in the window (empty: off)

    @property
    def achieved(self) -> float:
        return self.calls / self.window_s

    @property
    def ideal(self) -> float:
        return min(self.concurrency, self.llm_concurrency or self.concurrency) / self.latency_s

    @property
    def ceiling(self) -> float:
        """The one-core ceiling: 1 / main-thread CPU per call (the event loop is one thread)."""
        return 1.0 / self.main_cpu_per_call_s if self.main_cpu_per_call_s else math.inf

    @property
    def bound(self) -> float:
        """What the aim is measured against: the ideal or the one-core ceiling, whichever is lower."""
        return min(self.ideal, self.ceiling)

    def line(self) -> str:
        ceiling = 1.0 / self.main_cpu_per_call_s if self.main_cpu_per_call_s else math.inf
        main_ms = self.main_cpu_per_call_s * 1e3
        return (f"concurrency {self.concurrency:>5}: {self.achieved:8.1f} calls/s of ideal {self.ideal:8.1f} "
                f"= {self.achieved / self.ideal:6.1%}; live {self.live_mean:7.1f} on average; "
                f"CPU/call {self.cpu_per_call_s * 1e3:.2f} ms (main thread {main_ms:.2f} ms -> ceiling "
                f"{ceiling:.0f} calls/s); process CPU {self.cpu_share:.0%} of a core; "
                + (f"all started after {self.start_s:.1f} s" if self.started >= self.concurrency else
                   f"only {self.started} started after {self.start_s:.0f} s")
                + f"; {self.achieved / self.bound:.1%} of min(ideal, ceiling); loop lag p99 "
                f"{self.lag_p99_s * 1e3:.1f} ms, max {self.lag_max_s * 1e3:.0f} ms"
                + (f"; {self.gate}" if self.gate else ""))


def _gate_figures(played: Played, before: tuple[int, float, int, float], limits: list[int]) -> str:
    """What the loop-lag gate and the start pacing did since ``before`` (see _gate_counts)."""
    held, held_s, starts, start_s = (a - b for a, b in zip(_gate_counts(played), before, strict=True))
    adm = played.registry.admission
    assert adm is not None
    return (f"lag gate: {held:,} calls held {held_s / max(held, 1) * 1e3:.0f} ms on average, limit on "
            f"calls in flight {min(limits)}-{max(limits)} (mean {statistics.mean(limits):.0f}, "
            f"{adm.decreases} decreases since start; at the window's end share {adm.share:.2f}, round trip "
            f"{adm.rtt_s * 1e3:.0f} ms, loop CPU per call {adm.cpu_s * 1e3:.2f} ms); {starts} dialog starts "
            f"held {start_s:.1f} s in all")


def _gate_counts(played: Played) -> tuple[int, float, int, float]:
    ep = played.registry.endpoints[0]
    return ep.held, ep.held_s, played.scheduler.starts_held, played.scheduler.start_held_s


async def throughput(corpus: Corpus, prepared: PreparedDialogs, concurrency: int, latency: float,
                     window: float, settle: float, start_timeout: float, llm: int = 0,
                     lag_target_ms: float = 0.0) -> Throughput:
    dialogs = clone_inputs(prepared.inputs, concurrency * 4)
    holder: list[Played] = []
    result: list[Throughput] = []
    probe = LagProbe()
    with tempfile.TemporaryDirectory() as tmp:
        async with TraceStore.open(Path(tmp) / "trace.db") as store, anyio.create_task_group() as tg:

            async def measure() -> None:
                t0 = time.perf_counter()
                await _until(lambda: bool(holder), 60)
                counts = holder[0].scheduler.counts
                # Every slot filled once (running alone dips below the limit while a slot changes hands);
                # when that takes too long, the window opens anyway and the line says so.
                await _until(lambda: counts.running + counts.done >= concurrency, start_timeout)
                start_s = time.perf_counter() - t0
                started = counts.running + counts.done
                await anyio.sleep(settle)
                ep = holder[0].registry.endpoints[0]
                adm = holder[0].registry.admission
                gate0 = _gate_counts(holder[0])
                c0, w0 = ep.succeeded, time.perf_counter()
                cpu0, main0 = time.process_time(), time.thread_time()
                live: list[int] = []
                limits: list[int] = []
                while time.perf_counter() - w0 < window:
                    await anyio.sleep(0.25)
                    live.append(counts.running)
                    if adm is not None:
                        limits.append(int(adm.limit))
                calls = ep.succeeded - c0
                w = time.perf_counter() - w0
                cpu, main = time.process_time() - cpu0, time.thread_time() - main0
                lags = probe.between(w0, w0 + w)
                result.append(Throughput(concurrency, latency, statistics.mean(live), calls, w,
                                         cpu / max(calls, 1), main / max(calls, 1), start_s, cpu / w,
                                         min(started, concurrency), pct(lags, .99),
                                         max(lags, default=math.nan), llm,
                                         _gate_figures(holder[0], gate0, limits) if adm is not None else ""))
                tg.cancel_scope.cancel()

            tg.start_soon(probe.run)
            tg.start_soon(measure)
            await engine_play(store, corpus, prepared, dialogs, fake_model(latency), concurrency=concurrency,
                              llm_concurrency=llm or concurrency, started=holder,
                              loop_lag_target_ms=lag_target_ms)
            raise ConvRecError(f"all {len(dialogs)} dialogs ended before the window closed: "
                               "shorten --window or --settle")
    return result[0]


async def bench_throughput(args: argparse.Namespace) -> list[str]:
    corpus, prepared = load_dialogs(args.world, args.distinct)
    lines = [f"fake model latency {args.latency * 1e3:.0f} ms; scheduler semaphore fast_acquire="
             f"{args.fast_acquire} (yield every {args.yield_every}); llm concurrency per endpoint "
             f"{args.llm_concurrency or '= dialog concurrency'}; loop-lag target "
             f"{args.loop_lag_target_ms:g} ms (0: off); {len(prepared.inputs)} distinct seeds "
             f"({args.world} world); window "
             f"{args.window:g} s, opened {args.settle:g} s after every slot was filled (or --start-timeout)"]
    results = []
    for c in [*args.sweep, args.concurrency]:
        r = await throughput(corpus, prepared, c, args.latency, args.window, args.settle, args.start_timeout,
                             args.llm_concurrency, args.loop_lag_target_ms)
        results.append(r)
        print(r.line(), flush=True)
    ok = [r for r in results if r.achieved >= 0.9 * r.ideal]
    best = max(ok, key=lambda r: r.concurrency) if ok else None
    main = results[-1]
    lines.append(f"at {main.concurrency} concurrent dialogs: {main.achieved:.1f} calls/s = "
                 f"{main.achieved / main.ideal:.1%} of the ideal {main.ideal:.0f}, "
                 f"{main.achieved / main.bound:.1%} of min(ideal, one-core ceiling {main.ceiling:.0f}) "
                 f"(target >= 90%); event-loop lag in the window p99 {main.lag_p99_s * 1e3:.1f} ms, "
                 f"max {main.lag_max_s * 1e3:.0f} ms (target p99 <= 100 ms)")
    lines.append(f"CPU-bound ceiling (1 / main-thread CPU per call at {main.concurrency}): "
                 f"{1 / main.main_cpu_per_call_s:.0f} calls/s; whole-process CPU per call "
                 f"{main.cpu_per_call_s * 1e3:.2f} ms")
    lines.append("90% of the ideal reached up to concurrency " + (
        f"{best.concurrency} ({best.achieved:.0f} calls/s)" if best else "none of those tried"))
    return lines


# -- live dialogs ----------------------------------------------------------------------------------
async def bench_live(args: argparse.Namespace) -> list[str]:
    corpus, prepared = load_dialogs(args.world, args.distinct)
    dialogs = clone_inputs(prepared.inputs, args.live)
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    base = rss_mib()
    probe = LagProbe()
    holder: list[Played] = []
    out: dict[str, float] = {}
    samples: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with TraceStore.open(Path(tmp) / "trace.db") as store, anyio.create_task_group() as tg:

            async def measure() -> None:
                t0 = time.perf_counter()
                await _until(lambda: bool(holder), 60)
                counts = holder[0].scheduler.counts
                peak_live = 0
                pending = 0

                def sample() -> None:
                    nonlocal peak_live, pending
                    peak_live = max(peak_live, counts.running)
                    pending = max(pending, store.pending)
                    samples.append(rss_mib())

                end = t0 + args.start_timeout
                while counts.running + counts.done < args.live and time.perf_counter() < end:
                    sample()
                    await anyio.sleep(0.25)
                started = time.perf_counter()
                out["start_s"] = started - t0
                while time.perf_counter() - started < args.seconds:
                    sample()
                    await anyio.sleep(0.25)
                sample()
                ep = holder[0].registry.endpoints[0]
                out.update(t0=t0, steady=started, end=time.perf_counter(), peak_live=peak_live,
                           calls=ep.succeeded, done=counts.done, pending=pending,
                           max_in_flight=ep.max_in_flight)
                tg.cancel_scope.cancel()

            tg.start_soon(probe.run)
            tg.start_soon(measure)
            await engine_play(store, corpus, prepared, dialogs, fake_model(args.latency),
                              concurrency=args.live, llm_concurrency=args.llm_concurrency, started=holder,
                              loop_lag_target_ms=args.loop_lag_target_ms)
    traced = ""
    if args.tracemalloc:
        import tracemalloc

        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        traced = f"; tracemalloc peak {peak / 2**20:.0f} MiB of Python allocations"
    start_lags = probe.between(out["t0"], out["steady"])
    steady_lags = probe.between(out["steady"], out["end"])
    peak = max(samples)
    live = int(out["peak_live"])
    return [
        f"{args.live:,} dialogs ({len(prepared.inputs)} distinct seeds, {args.world} world); scheduler "
        f"semaphore fast_acquire={args.fast_acquire} (yield every {args.yield_every}); fake latency "
        f"{args.latency * 1e3:.0f} ms; llm concurrency {args.llm_concurrency}, loop-lag target "
        f"{args.loop_lag_target_ms:g} ms (max in flight "
        f"{int(out['max_in_flight'])})",
        f"peak live dialogs {live:,}, "
        + (f"all live after {out['start_s']:.1f} s" if live >= args.live else
           f"not all live: {live:,} by the --start-timeout ({out['start_s']:.0f} s)")
        + f"; then {args.seconds:g} s measured; "
        f"{int(out['calls']):,} model calls, {int(out['done'])} dialogs finished; store queue peak "
        f"{int(out['pending']):,} items",
        f"memory: RSS {base:.0f} MiB before the dialogs, peak {peak:.0f} MiB sampled, ru_maxrss "
        f"{peak_rss_mib():.0f} MiB (target <= 2048 MiB); {(peak - base) * 1024 / max(live, 1):.0f} KiB per "
        f"live dialog{traced}",
        f"event-loop lag while starting ({len(start_lags)} probes): p50 {pct(start_lags, .5) * 1e3:.1f} ms, "
        f"p99 {pct(start_lags, .99) * 1e3:.1f} ms, max {max(start_lags, default=math.nan) * 1e3:.0f} ms",
        f"event-loop lag steady ({len(steady_lags)} probes): p50 {pct(steady_lags, .5) * 1e3:.1f} ms, "
        f"p99 {pct(steady_lags, .99) * 1e3:.1f} ms, max {max(steady_lags, default=math.nan) * 1e3:.0f} ms "
        "(target p99 <= 100 ms)",
    ]


class _StartSemaphore:
    """The scheduler's live-dialog semaphore, prototyped: anyio's fast path, a checkpoint every ``every``."""

    def __init__(self, value: int, every: int) -> None:
        self._sem = anyio.Semaphore(value, fast_acquire=True)
        self._every = every
        self._n = 0

    async def acquire(self) -> None:
        await self._sem.acquire()  # yields only when it has to wait for a slot
        self._n += 1
        if self._every and self._n % self._every == 0:
            await checkpoint()  # bounds how many dialogs start (and run a first step) per loop iteration

    def release(self) -> None:
        self._sem.release()


class _PrototypeAnyio:
    """anyio as engine.core.scheduler sees it, except for Semaphore (a prototype of a scheduler change)."""

    def __init__(self, every: int) -> None:
        self._every = every

    def __getattr__(self, name: str) -> object:
        return getattr(anyio, name)

    def Semaphore(self, value: int) -> _StartSemaphore:  # the name scheduler.py calls
        return _StartSemaphore(value, self._every)


def _patch_scheduler_semaphore(every: int) -> None:
    # DialogScheduler.run calls anyio.Semaphore(limit), whose acquire yields to the loop once per
    # acquired slot: under a busy loop the scheduler starts one dialog per loop iteration.
    import engine.core.scheduler

    engine.core.scheduler.anyio = _PrototypeAnyio(every)  # type: ignore[assignment]


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    t = sub.add_parser("throughput", help="calls/s at many concurrent dialogs vs concurrency / latency")
    t.add_argument("--concurrency", type=int, default=2000, help="dialogs live at once (default: 2000)")
    t.add_argument("--latency", type=float, default=0.2, help="seconds per fake model call (default: 0.2)")
    t.add_argument("--llm-concurrency", type=int, default=0,
                   help="the endpoint's limit on calls in flight, as a server's (0: the dialog concurrency; "
                   "the ideal is then min(dialogs, limit) / latency) (default: 0)")
    t.add_argument("--sweep", type=_ints, default=[25, 50, 100, 200, 400],
                   help="smaller concurrencies measured first, comma-separated (default: 25,50,100,200,400)")
    t.add_argument("--window", type=float, default=10.0, help="seconds counted (default: 10)")
    t.add_argument("--settle", type=float, default=3.0,
                   help="seconds between all dialogs being live and the window (default: 3)")
    t.add_argument("--start-timeout", type=float, default=120.0,
                   help="most seconds to wait for every dialog to start; then the window opens anyway "
                   "(default: 120)")
    add_world_arguments(t, distinct=300)
    live = sub.add_parser("live", help="memory and event-loop lag with 10,000 live dialogs")
    live.add_argument("--live", type=int, default=10_000, help="dialogs live at once (default: 10000)")
    live.add_argument("--latency", type=float, default=1.0, help="seconds per fake model call (default: 1.0)")
    live.add_argument("--llm-concurrency", type=int, default=100,
                      help="model calls in flight at once (the endpoint limiter) (default: 100)")
    live.add_argument("--seconds", type=float, default=20.0,
                      help="seconds measured once every dialog is live (default: 20)")
    live.add_argument("--start-timeout", type=float, default=600.0,
                      help="most seconds to wait for every dialog to be live (default: 600)")
    live.add_argument("--tracemalloc", action="store_true",
                      help="also trace Python allocations (slows the run a lot) (default: off)")
    add_world_arguments(live, distinct=300)
    lag_default = RunSettings.model_fields["loop_lag_target_ms"].default
    for sp in (t, live):
        sp.add_argument("--loop-lag-target-ms", type=float, default=lag_default,
                        help="engine.run's --loop-lag-target-ms: new model calls and dialog starts held "
                        f"while the event loop lags more (0: off) (default: {lag_default:g}, engine.run's)")
        sp.add_argument("--fast-acquire", action="store_true",
                        help="prototype: the scheduler's live-dialog semaphore with fast_acquire=True, so "
                        "the scheduler does not yield once per dialog it starts (default: off)")
        sp.add_argument("--yield-every", type=int, default=0,
                        help="with --fast-acquire: the scheduler still yields after every N dialogs it "
                        "starts (0: only when it waits for a slot) (default: 0)")
    args = p.parse_args(argv)
    if args.fast_acquire:
        _patch_scheduler_semaphore(args.yield_every)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(machine())
    print(load_note())
    try:
        try:
            lines = anyio.run(bench_throughput if args.mode == "throughput" else bench_live, args)
        except BaseExceptionGroup as group:
            raise single_error(group) from None
    except ConvRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    print(load_note())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
