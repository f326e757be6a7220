"""LoopLag: how late the event loop runs, measured continuously, against a target.

One event loop plays every dialog of a process, so when thousands of dialogs are ready at once, one pass
over the ready queue is the delay every task (a model answer waiting to be read, a heartbeat, the
progress line) sees. :meth:`LoopLag.run` is a task that sleeps ``period_s`` in a loop and notes how late
it wakes; :meth:`LoopLag.now` is that lag, or longer while the sleeper is overdue (a loop stuck in a long
pass shows its lag before the sleeper gets to run).

Time the garbage collector spent while the sleeper slept is taken out of its lag (``gc.callbacks``
add it up while the task runs): a full collection of a heap holding thousands of dialogs stops the loop
for 100-300 ms about once a second, whatever is in flight, so holding calls back for it would only
lower the throughput (it is counted apart, in ``gc_s``). The scheduler runs the task beside the dialogs and
holds dialog starts while the lag is over the target; the gateway's admission
(:mod:`engine.gateway.admission`) holds new model calls. Clock and sleep are injectable so tests drive
it without waiting.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Awaitable, Callable

import anyio

__all__ = ["LoopLag"]


class LoopLag:
    """The event loop's lag (seconds) against ``target_s``; :meth:`run` measures it while it runs."""

    def __init__(self, target_s: float, *, period_s: float = 0.005,
                 clock: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], Awaitable[None]] = anyio.sleep) -> None:
        if target_s <= 0 or period_s <= 0:
            raise ValueError(f"target_s and period_s must be > 0, got {target_s}, {period_s}")
        self.target_s = target_s
        self.period_s = period_s
        self._clock = clock
        self._sleep = sleep
        self.last_s = 0.0  # how late the last wake-up was
        self.prev_s = 0.0  # and the one before
        self.worst_s = 0.0  # the largest lag seen while running
        self.samples = 0
        self._due = math.inf  # when the sleeper should wake (inf: nobody measures)
        self._running = False
        self.gc_s = 0.0  # seconds of garbage collection seen while running
        self._gc_at_sleep = 0.0  # gc_s when the sleeper went to sleep
        self._gc_started = 0.0

    @property
    def running(self) -> bool:
        return self._running

    async def run(self) -> None:
        """Measures until cancelled. A second caller while one measures returns at once (one sleeper
        is enough); while nobody measures, the lag reads 0 (nothing is held back)."""
        if self._running:
            return
        self._running = True
        gc.callbacks.append(self._on_gc)
        try:
            while True:
                self._gc_at_sleep = self.gc_s
                self._due = self._clock() + self.period_s
                await self._sleep(self.period_s)
                lag = max(0.0, self._clock() - self._due - (self.gc_s - self._gc_at_sleep))
                self.prev_s, self.last_s = self.last_s, lag
                self.worst_s = max(self.worst_s, lag)
                self.samples += 1
        finally:
            gc.callbacks.remove(self._on_gc)
            self._running = False
            self._due = math.inf
            self.last_s = self.prev_s = 0.0

    def _on_gc(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = self._clock()
        else:
            self.gc_s += self._clock() - self._gc_started

    def now(self) -> float:
        """The lag now: the last wake-up's, or how overdue the sleeper is if that is more."""
        return max(self.last_s, self._clock() - self._due - (self.gc_s - self._gc_at_sleep))

    def sustained(self) -> float:
        """The lag that lasts: the smaller of the last wake-up's and :meth:`now`. One long step (a
        dialog's first, with its catalog) makes one late wake-up; answers arriving faster than the
        loop reads them make every wake-up late."""
        return min(self.prev_s, self.now())

    def over(self) -> bool:
        """Whether the loop runs later than the target now."""
        return self.now() > self.target_s

    async def step(self) -> None:
        """Sleeps one period: a pacing step for whoever holds work back while the loop lags."""
        await self._sleep(self.period_s)
