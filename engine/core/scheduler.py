"""The dialog scheduler: plays many dialogs at once, bounded, drains on Ctrl-C, and shows live figures.

Dialogs start one by one as slots of the live-dialog limiter free up (so 100,000 planned dialogs cost
100,000 small inputs, not 100,000 waiting tasks), each in its own task of one anyio task group. Model
calls are bounded separately, per endpoint, by the gateway (:mod:`engine.gateway`). Every dialog's
events go to the trace sink; when it ends, ``on_result`` gets it (engine.run writes the dataset line to
the store there). With ``budget_usd``, no dialog starts once the calls made cost that much.

With ``loop_lag`` (:class:`engine.core.loop_lag.LoopLag`, the run's ``--loop-lag-target-ms``), the
scheduler measures the event loop's lag while it plays, and while the lag is over the target it starts
at most one dialog per lag period: thousands of dialogs started at once would otherwise each run their
first step (the catalog, the first prompt) in one pass of the loop and stay in step from node to node.
Starts never stop (a lag from elsewhere only slows them); which dialogs start, and in which order, is
unchanged, so a seeded run's dataset is the same. The gateway holds new model calls by the same
measure (:mod:`engine.gateway.admission`).

Ctrl-C (SIGINT) or SIGTERM drains: no new dialog starts, running dialogs finish (their calls complete
or fail as usual); a second signal cancels them at once (cancelled dialogs leave no dataset line, and
resume plays them again). ``run`` then returns with ``interrupted`` set.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import anyio
import structlog
from rich.console import Console

from engine.core.dialog_inputs import DialogInput
from engine.core.events import LLMCallRecorded, RolledBack, TraceEvent, TraceSink, TurnRecorded
from engine.core.executor import DialogExecutor, DialogResult
from engine.core.loop_lag import LoopLag
from engine.core.progress import ProgressDisplay
from engine.core.signals import watch_signals

__all__ = ["DialogScheduler", "LiveCounts", "SchedulerOutcome"]

log = structlog.get_logger(__name__)


@dataclass
class LiveCounts:
    """Running totals shown on the progress line (fed by the events as they pass)."""

    done: int = 0
    accepted: int = 0
    failed: int = 0
    running: int = 0
    turns: int = 0
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    retries: int = 0
    rollbacks: int = 0
    cost_usd: float = 0.0
    started: float = field(default_factory=time.perf_counter)

    # The figures that add up across processes (the Ray executor sums its shards' growth of them).
    ADDITIVE = ("accepted", "failed", "turns", "llm_calls", "input_tokens", "output_tokens", "retries",
                "rollbacks", "cost_usd")

    def line(self) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        return (f"accepted {self.accepted} · failed {self.failed} · running {self.running} · "
                f"{self.turns / elapsed:.1f} turns/s · {self.input_tokens + self.output_tokens:,} tokens · "
                f"{self.retries} retries · {self.rollbacks} rollbacks")


class _CountingSink:
    """Passes events on to the real sink, counting what the progress line shows."""

    def __init__(self, sink: TraceSink, counts: LiveCounts) -> None:
        self._sink = sink
        self._counts = counts

    def emit(self, event: TraceEvent) -> None:
        c = self._counts
        if isinstance(event, TurnRecorded):
            c.turns += 1
        elif isinstance(event, LLMCallRecorded):
            c.llm_calls += 1
            c.input_tokens += event.input_tokens
            c.output_tokens += event.output_tokens
            c.retries += event.retries
            c.cost_usd += event.cost_usd
        elif isinstance(event, RolledBack):
            c.rollbacks += 1
        self._sink.emit(event)


@dataclass
class SchedulerOutcome:
    """How the scheduling ended: dialogs finished now, and whether a signal cut it short."""

    finished: int
    interrupted: bool
    cancelled_running: bool


class DialogScheduler:
    """Plays ``DialogInput``s with at most ``concurrency`` live at once; see the module doc."""

    def __init__(self, make_executor: Callable[[DialogInput, TraceSink], DialogExecutor], sink: TraceSink, *,
                 concurrency: int, on_result: Callable[[DialogInput, DialogResult], Awaitable[None] | None],
                 console: Console | None = None, progress: bool = True, handle_signals: bool = True,
                 budget_usd: float | None = None, loop_lag: LoopLag | None = None) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self._make = make_executor
        self.counts = LiveCounts()
        self._sink = _CountingSink(sink, self.counts)
        self._limit = concurrency
        self._on_result = on_result
        self._console = console or Console()
        self._progress = progress
        self._signals = handle_signals
        self.draining = False
        self.budget_usd = budget_usd
        self.budget_reached = False
        self._cancel_running = anyio.CancelScope()
        self.loop_lag = loop_lag
        self.starts_held = 0  # dialog starts that waited a lag period
        self.start_held_s = 0.0

    def drain(self) -> None:
        """Stop starting dialogs (what the first Ctrl-C does)."""
        self.draining = True

    def cancel_running(self) -> None:
        """Cancel the running dialogs too (what the second Ctrl-C does); they leave no dataset line."""
        self.draining = True
        self._cancel_running.cancel()

    async def run(self, dialogs: Sequence[DialogInput], *, already_done: int = 0) -> SchedulerOutcome:
        """Play ``dialogs`` (the ones still to do; ``already_done`` only offsets the progress bar)."""
        limiter = anyio.Semaphore(self._limit)
        finished = 0
        cancelled = False

        async def one(dialog: DialogInput) -> None:
            nonlocal finished
            try:
                with structlog.contextvars.bound_contextvars(dialog_id=dialog.key):
                    self.counts.running += 1
                    try:
                        result = await self._make(dialog, self._sink).run(dialog.plan, dialog.context)
                    finally:
                        self.counts.running -= 1
                    self.counts.done += 1
                    if result.status == "accepted":
                        self.counts.accepted += 1
                    else:
                        self.counts.failed += 1
                    maybe = self._on_result(dialog, result)
                    if maybe is not None:
                        await maybe
                    finished += 1
                    if self.budget_usd is not None and self.counts.cost_usd >= self.budget_usd \
                            and not self.draining:
                        # Spent: start no more dialogs; the running ones finish (resume continues).
                        self.budget_reached = True
                        self.drain()
                        log.warning("budget_reached", cost_usd=round(self.counts.cost_usd, 6),
                                    budget_usd=self.budget_usd)
            finally:
                limiter.release()

        display = ProgressDisplay(self._console, enabled=self._progress, total=already_done + len(dialogs),
                                  already_done=already_done,
                                  figures=lambda: (self.counts.done, self.counts.line()))
        with display:
            async with anyio.create_task_group() as outer:
                if self._signals:
                    outer.start_soon(watch_signals, self._on_signal)
                outer.start_soon(display.refresh)
                lag = self.loop_lag
                if lag is not None:
                    outer.start_soon(lag.run)
                with self._cancel_running:
                    async with anyio.create_task_group() as tg:
                        for dialog in dialogs:
                            await limiter.acquire()
                            if lag is not None and lag.over():
                                await self._held_start(lag)
                            if self.draining:
                                limiter.release()
                                break
                            tg.start_soon(one, dialog)
                cancelled = self._cancel_running.cancelled_caught
                outer.cancel_scope.cancel()
        return SchedulerOutcome(finished=finished, interrupted=self.draining, cancelled_running=cancelled)

    async def _held_start(self, lag: LoopLag) -> None:
        # One lag period (which lasts as long as the loop lags) before the next start.
        held_from = time.perf_counter()
        await lag.step()
        self.starts_held += 1
        self.start_held_s += time.perf_counter() - held_from

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if not self.draining:
            self.draining = True
            log.warning("draining", signal=name, running=self.counts.running)
            self._console.print(f"[yellow]{name}: no new dialogs; waiting for {self.counts.running} running "
                                "ones (again to cancel them)[/]")
        else:
            log.warning("cancelling_running", running=self.counts.running)
            self._console.print("[yellow]cancelling running dialogs[/]")
            self._cancel_running.cancel()
