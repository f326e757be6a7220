"""LagAdmission: new model calls admitted under a limit on calls in flight that the event loop can read.

Why: with thousands of live dialogs and no limit of their own, every answer that comes back wakes a
dialog that spends a few ms of the loop's CPU on it (validators, trace rows, the next prompt). When
answers arrive faster than one core reads them they pile up in the event loop's ready queue, and one
pass over it takes seconds: every task, heartbeats and timeouts included, runs that late. Fewer calls
in flight cost no throughput once the loop is busy anyway.

How many: a call ties up a slot for its round trip ``rtt`` (admitted to ended) and costs the loop
``cpu`` seconds (loop-thread CPU per ended call, garbage collections included), so
``share * rtt / cpu`` calls in flight keep ``share`` of the loop busy reading answers. Both are
measured over stretches of at least a quarter second and 32 ended calls, each stretch weighing 1/4
in a running average; ``rtt`` is a stretch's mean round trip, taken only from stretches in which the
loop never lagged (when it lags, every answer is read late: counted in, the lag would pass for a
slower server, raise the limit and feed itself). A mean, not a shortest: answers of a real server
vary (a short verdict, a long turn), and the calls in flight it takes are the mean's. So the limit
follows a slow server or cheaper nodes within seconds, whatever the latency's scale.
``share`` follows the loop's lag (:class:`engine.core.loop_lag.LoopLag`, its sustained lag: one long
step or a garbage collection is not a pile-up), AIMD-style:

- a call that ends while the lag is over the target lowers it, once per round trip (only a call
  admitted after the last decrease may decrease it again: the calls in flight were sent under the old
  limit), to ``share * target / lag``, between 0.5x and 0.9x;
- a call that ends while the lag is at or under the target raises it by ``0.1 / limit`` (about 0.1
  per round trip), up to 1; it never falls below 0.05.

Admissions are also paced: one every ``cpu / 0.95`` seconds at most, so answers come back spread out
as they were sent, not in bursts. Without it calls released together (a raised limit, the first
second of a run) come back together a round trip later, and a server with a steady latency keeps
them in step: every round trip the loop gets a burst of a few hundred answers to read at once, the
lag of that pass, and is idle between. At 95% of the loop's measured ceiling the pace costs
throughput only where the loop would be saturated anyway.

Neither holds calls while fewer are in flight than the loop reads within the lag target if they all
end at once (``target / cpu``: 25 at 50 ms and 2 ms per call): against a fast server (a local model
answering in a few ms) ``share * rtt / cpu`` is one or two calls, which would leave the loop idle
between answers, and a burst of that floor cannot lag the loop past the target anyway.

Until the first stretch has been measured the limit is ``initial`` (and nothing is paced). It never
goes below 1: one call is always admitted, so the gate cannot deadlock; held calls wait in FIFO order (anyio's
CapacityLimiter), so no dialog is starved. It holds new calls only: a call in flight is never
recalled. It comes before the endpoint's own limits (:class:`engine.gateway.endpoint.Endpoint`), one
gate per process (the loop is one), shared by every endpoint of a registry. Per call it costs a
limiter slot (the endpoint's own borrower object), two clock readings and a few float operations.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import anyio

__all__ = ["LagAdmission", "LagReading"]


class LagReading(Protocol):
    """What the gate reads of the loop's lag (:class:`engine.core.loop_lag.LoopLag` is one)."""

    target_s: float

    def sustained(self) -> float: ...


_MOST_KEPT = 0.9  # the smallest decrease of the share (a lag just over the target)
_LEAST_KEPT = 0.5  # the largest (a pile-up)
_LOWEST_SHARE = 0.05
# The most: answers arriving as fast as the loop reads them.
_MOST_SHARE = 1.0
_RAISE = 0.1  # the share's rise per round trip while the loop keeps up
# A measurement's stretch: at least this long and _MEASURED ended calls (a node's first step or a
# garbage collection makes a shorter one read cheap or dear).
_STRETCH_S = 0.25
_MEASURED = 32
_PACE = 0.95  # of the loop's ceiling (1 / cpu per call): admissions at most this often


class LagAdmission:
    """Admits new model calls under ``share * rtt / cpu`` calls in flight; see the module doc.

    ``clock`` times round trips (the endpoint's clock); ``cpu`` is the loop thread's CPU clock.
    """

    def __init__(self, lag: LagReading, *, initial: int = 16, share: float = 0.9,
                 clock: Callable[[], float] = time.perf_counter,
                 cpu: Callable[[], float] = time.thread_time,
                 sleep: Callable[[float], Awaitable[None]] = anyio.sleep) -> None:
        if initial < 1 or not 0 < share <= 1:
            raise ValueError(f"initial must be >= 1 and share in (0, 1], got {initial}, {share}")
        self.lag = lag
        self.share = share
        self.limit = float(initial)
        self._clock = clock
        self._cpu = cpu
        self._sleep = sleep
        self._next_at = float("-inf")  # the earliest the next call may be admitted (pacing)
        self._limiter = anyio.CapacityLimiter(initial)
        self.rtt_s = 0.0  # average round trip (0: none ended yet)
        self.cpu_s = 0.0  # average loop CPU per ended call (0: not measured yet)
        self._ended = 0  # calls ended in the stretch being measured
        self._rtt_sum = 0.0  # its round trips
        self._lagged = False  # whether the loop lagged in it
        self._stretch_at = -1.0  # when it began, by the clock (-1: at the next call's end)
        self._cpu_at = 0.0  # and by the CPU clock
        self._decreased_at = float("-inf")  # a call admitted before this does not lower the share again
        self.waiting = 0  # calls held at the gate now
        self.in_flight = 0
        self.held = 0  # calls that had to wait at the gate (counted once each)
        self.decreases = 0
        self.lowest = self.highest = initial  # the whole-number limit's range so far

    def admit_nowait(self, slot: object) -> float:
        """A ticket if the call may go now without waiting; -1 if it must wait (then :meth:`admit`)."""
        now = self._clock()
        if now < self._next_at and self.in_flight >= self._floor():
            return -1.0
        try:
            self._limiter.acquire_on_behalf_of_nowait(slot)
        except anyio.WouldBlock:
            return -1.0
        self.in_flight += 1
        self._next_at = now + self._interval()
        return now

    async def admit(self, slot: object) -> float:
        """Waits (FIFO) until the call may go; its ticket (when it was admitted), for :meth:`done`."""
        self.waiting += 1
        self.held += 1
        try:
            await self._limiter.acquire_on_behalf_of(slot)
            try:
                # Its turn in the pace, taken in the order the slots were granted.
                now = self._clock()
                at = max(now, self._next_at) if self.in_flight >= self._floor() else now
                self._next_at = at + self._interval()
                if at > now:
                    await self._sleep(at - now)
            except BaseException:
                self._limiter.release_on_behalf_of(slot)  # cancelled while paced: the slot goes back
                raise
        finally:
            self.waiting -= 1
        self.in_flight += 1
        return self._clock()

    def _floor(self) -> float:
        """Calls in flight the loop reads within the lag target even if they all end at once: never
        held below that, nor paced (0 until the loop's CPU per call has been measured)."""
        return self.lag.target_s / self.cpu_s if self.cpu_s > 0.0 else 0.0

    def _interval(self) -> float:
        """Seconds between two admissions (0 until the loop's CPU per call has been measured)."""
        return self.cpu_s / _PACE

    def done(self, slot: object, ticket: float) -> None:
        """The call admitted at ``ticket`` ended (answered, failed or cancelled): adjust, free its slot."""
        self.in_flight -= 1
        now = self._clock()
        lag = self.lag.sustained()
        target = self.lag.target_s
        if self._stretch_at < 0:
            self._stretch_at, self._cpu_at, self._ended = now, self._cpu(), 0
            self._rtt_sum, self._lagged = 0.0, False
        else:
            self._ended += 1
            self._rtt_sum += now - ticket
            self._lagged = self._lagged or lag > target
            if self._ended >= _MEASURED and now - self._stretch_at >= _STRETCH_S:
                # Garbage collections included: they are the loop's time too (a fifth of it with 2,000
                # dialogs' state), and a limit that left them out would let the answers pile up.
                cpu = self._cpu()
                per_call = (cpu - self._cpu_at) / self._ended
                self.cpu_s = per_call if self.cpu_s == 0.0 else self.cpu_s + (per_call - self.cpu_s) / 4
                if not self._lagged:
                    rtt = self._rtt_sum / self._ended
                    self.rtt_s = rtt if self.rtt_s == 0.0 else self.rtt_s + (rtt - self.rtt_s) / 4
                self._stretch_at, self._cpu_at, self._ended = now, cpu, 0
                self._rtt_sum, self._lagged = 0.0, False
        if lag > target:
            if ticket >= self._decreased_at:
                self.share = max(_LOWEST_SHARE, self.share * min(_MOST_KEPT, max(_LEAST_KEPT, target / lag)))
                self._decreased_at = now
                self.decreases += 1
        elif self.share < _MOST_SHARE:
            self.share = min(_MOST_SHARE, self.share + _RAISE / max(self.limit, 1.0))
        if self.cpu_s > 0.0 and self.rtt_s > 0.0:
            self.limit = max(1.0, self._floor(), self.share * self.rtt_s / self.cpu_s)
        tokens = int(self.limit)
        if tokens != self._limiter.total_tokens:
            # Raising it wakes as many held calls as it adds slots; lowering it lets the calls in
            # flight end before another is admitted.
            self._limiter.total_tokens = tokens
            self.lowest = min(self.lowest, tokens)
            self.highest = max(self.highest, tokens)
        self._limiter.release_on_behalf_of(slot)
