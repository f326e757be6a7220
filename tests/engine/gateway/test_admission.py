"""The loop-lag gate (LagAdmission), the lag monitor (LoopLag) and the --loop-lag-target-ms setting.

The lag the gate reads is set by the test (a controlled source), round trips and CPU come from fake
clocks, and the monitor's sleeps advance a fake clock by a scripted lateness: nothing here waits or
times anything.
"""

from __future__ import annotations

from itertools import pairwise

import anyio
import pytest
from anyio import wait_all_tasks_blocked
from autogen_core.models import LLMMessage, UserMessage
from pydantic import ValidationError

from agents.backends import FakeChatClient
from engine.config import RunSettings
from engine.core.loop_lag import LoopLag
from engine.gateway import EndpointLimits, EndpointRegistry, LagAdmission, loop_lag
from tests.support.clocks import FakeTime, InFlight

MSG: list[LLMMessage] = [UserMessage(content="hello there", source="user")]
PACE_S = 0.002 / 0.95  # the admission interval at 2 ms of loop CPU per call (95% of the ceiling)


class Lag:
    """A lag the test sets: what the gate reads."""

    def __init__(self, target_s: float = 0.05) -> None:
        self.target_s = target_s
        self.value = 0.0

    def sustained(self) -> float:
        return self.value


class Clocks:
    """A wall clock and a CPU clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0
        self.cpu_s = 0.0

    def clock(self) -> float:
        return self.now

    def cpu(self) -> float:
        return self.cpu_s


def _gate(lag: Lag, clocks: Clocks, *, initial: int = 1, share: float = 0.9) -> LagAdmission:
    return LagAdmission(lag, initial=initial, share=share, clock=clocks.clock, cpu=clocks.cpu)


async def test_held_calls_go_in_arrival_order() -> None:
    gate = _gate(Lag(), Clocks(), initial=1)
    first = object()
    ticket = gate.admit_nowait(first)
    assert ticket >= 0 and gate.admit_nowait(object()) < 0  # the one slot is taken
    order: list[int] = []

    async def call(n: int) -> None:
        slot = object()
        t = await gate.admit(slot)
        order.append(n)
        gate.done(slot, t)

    async with anyio.create_task_group() as tg:
        for n in range(5):
            tg.start_soon(call, n)
            await wait_all_tasks_blocked()  # each is queued before the next arrives
        assert (gate.waiting, order) == (5, [])
        gate.done(first, ticket)
    assert order == [0, 1, 2, 3, 4]
    assert (gate.held, gate.waiting, gate.in_flight) == (5, 0, 0)


def _measure(gate: LagAdmission, clocks: Clocks, *, calls: int, rtt_s: float, cpu_s: float) -> None:
    """``calls`` calls admitted together, each taking ``rtt_s`` and ``cpu_s`` of loop CPU to end."""
    for _ in range(calls):
        slot = object()
        clocks.now += gate.cpu_s / 0.95  # the pace: one admission per interval
        ticket = gate.admit_nowait(slot)
        if ticket < 0:
            raise AssertionError("the test's calls should fit the limit")
        clocks.now += rtt_s
        clocks.cpu_s += cpu_s
        gate.done(slot, ticket)


async def test_the_limit_is_the_calls_the_loop_can_read_in_a_round_trip() -> None:
    clocks = Clocks()
    gate = _gate(Lag(), clocks, initial=1, share=0.5)
    # One call at a time, 40 stretches: 0.2 s round trips, 2 ms of loop CPU each.
    _measure(gate, clocks, calls=33 * 40, rtt_s=0.2, cpu_s=0.002)
    assert gate.rtt_s == pytest.approx(0.2)
    assert gate.cpu_s == pytest.approx(0.002)
    # The share rose from 0.5 to 1 while the loop kept up: 1 x 0.2 s / 2 ms = 100 calls in flight.
    assert gate.share == 1.0
    assert int(gate.limit) == 100


async def test_round_trips_are_a_mean_taken_while_the_loop_keeps_up() -> None:
    clocks, lag = Clocks(), Lag(target_s=0.05)
    gate = _gate(lag, clocks, share=1.0)
    _measure(gate, clocks, calls=33, rtt_s=0.2, cpu_s=0.002)
    assert gate.rtt_s == pytest.approx(0.2)
    # The loop lags: answers are read late, which says nothing about the server.
    lag.value = 0.1
    _measure(gate, clocks, calls=32, rtt_s=0.9, cpu_s=0.002)
    assert gate.rtt_s == pytest.approx(0.2)
    # Short and long answers: the calls in flight they take are their mean's.
    lag.value = 0.0
    for _ in range(16):
        _measure(gate, clocks, calls=1, rtt_s=0.05, cpu_s=0.002)
        _measure(gate, clocks, calls=1, rtt_s=0.95, cpu_s=0.002)
    assert gate.rtt_s == pytest.approx(0.2 + (0.5 - 0.2) / 4)


async def test_a_lagging_loop_lowers_the_limit_once_per_round_trip() -> None:
    clocks, lag = Clocks(), Lag(target_s=0.005)  # the floor, 2.5 calls of 2 ms, is not what holds here
    gate = _gate(lag, clocks, share=1.0)
    _measure(gate, clocks, calls=33 * 40, rtt_s=0.2, cpu_s=0.002)
    assert int(gate.limit) == 100
    lag.value = 0.5  # a hundred times the target: each decrease halves the share
    slots = [object() for _ in range(100)]
    tickets = []
    for s in slots:
        tickets.append(gate.admit_nowait(s))
        clocks.now += PACE_S  # admissions are paced: one per interval
    assert min(tickets) >= 0 and gate.admit_nowait(object()) < 0  # the limit is full
    clocks.now += 0.2
    for slot, ticket in zip(slots, tickets, strict=True):
        clocks.cpu_s += 0.002
        gate.done(slot, ticket)  # all sent before the first decrease: one decrease for the lot
    assert (gate.decreases, int(gate.limit)) == (1, 50)
    for _ in range(20):  # the loop lags on: one decrease per round trip, down to the lowest share
        _measure(gate, clocks, calls=1, rtt_s=0.2, cpu_s=0.002)
    assert gate.decreases == 21
    assert int(gate.limit) == 5  # 0.05 x 100


async def test_admissions_are_paced_at_the_loops_ceiling_in_order() -> None:
    clocks = Clocks()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clocks.now += seconds

    fresh = LagAdmission(Lag(), initial=2, clock=clocks.clock, cpu=clocks.cpu, sleep=sleep)
    assert fresh.admit_nowait(object()) >= 0 and fresh.admit_nowait(object()) >= 0  # not measured: no pace
    # A target under one call's CPU: every call past the first in flight is paced.
    gate = LagAdmission(Lag(target_s=0.001), initial=1, share=1.0, clock=clocks.clock, cpu=clocks.cpu,
                        sleep=sleep)
    _measure(gate, clocks, calls=33 * 40, rtt_s=0.2, cpu_s=0.002)
    assert int(gate.limit) == 100
    first = gate.admit_nowait(object())
    assert first >= 0 and gate.admit_nowait(object()) < 0  # room under the limit, but too soon
    clocks.now += PACE_S
    assert gate.admit_nowait(object()) >= 0
    # Calls arriving together go one interval apart, in arrival order.
    tickets: list[tuple[int, float]] = []

    async def call(n: int) -> None:
        tickets.append((n, await gate.admit(object())))

    async with anyio.create_task_group() as tg:
        for n in range(4):
            tg.start_soon(call, n)
    assert [n for n, _ in tickets] == [0, 1, 2, 3]
    assert slept == [pytest.approx(PACE_S)] * 4
    times = [t for _, t in tickets]
    assert [b - a for a, b in pairwise(times)] == [pytest.approx(PACE_S)] * 3


async def test_a_call_cancelled_while_paced_gives_its_slot_back() -> None:
    clocks = Clocks()

    async def sleep(_: float) -> None:
        await anyio.sleep_forever()

    gate = LagAdmission(Lag(target_s=0.001), initial=1, share=1.0, clock=clocks.clock, cpu=clocks.cpu,
                        sleep=sleep)
    _measure(gate, clocks, calls=33 * 40, rtt_s=0.2, cpu_s=0.002)
    assert gate.admit_nowait(object()) >= 0
    busy = gate._limiter.borrowed_tokens
    async with anyio.create_task_group() as tg:
        tg.start_soon(gate.admit, object())
        await wait_all_tasks_blocked()
        assert gate._limiter.borrowed_tokens == busy + 1  # its slot is granted; it waits for its turn
        tg.cancel_scope.cancel()
    assert (gate._limiter.borrowed_tokens, gate.waiting, gate.in_flight) == (busy, 0, busy)


async def test_calls_the_loop_reads_within_the_target_are_never_held_nor_paced() -> None:
    clocks, lag = Clocks(), Lag(target_s=0.05)
    gate = _gate(lag, clocks, share=1.0)
    # A fast server: 1 ms round trips, 2 ms of loop CPU per call; rtt / cpu alone would allow one call.
    _measure(gate, clocks, calls=33 * 10, rtt_s=0.001, cpu_s=0.002)
    assert gate.limit == pytest.approx(25)  # 50 ms of reading: 25 calls of 2 ms
    lag.value = 10.0
    _measure(gate, clocks, calls=33, rtt_s=0.001, cpu_s=0.002)
    assert gate.limit == pytest.approx(25)  # a lagging loop does not lower it below that
    slots = [object() for _ in range(int(gate.limit))]
    assert min(gate.admit_nowait(s) for s in slots) >= 0  # all at one instant: no pace under the floor
    assert gate.admit_nowait(object()) < 0


async def test_one_call_always_goes() -> None:
    clocks, lag = Clocks(), Lag(target_s=0.001)  # under one call's CPU: no floor above one call
    gate = _gate(lag, clocks, share=1.0)
    lag.value = 10.0
    # Calls dearer to read than their round trip, on a loop that lags: the limit bottoms out at 1.
    _measure(gate, clocks, calls=33 * 10, rtt_s=0.001, cpu_s=0.002)
    assert gate.limit == 1.0
    slot = object()
    clocks.now += gate.cpu_s / 0.95  # past the pace: only the limit holds calls now
    ticket = gate.admit_nowait(slot)
    clocks.now += gate.cpu_s / 0.95
    assert ticket >= 0 and gate.admit_nowait(object()) < 0
    gate.done(slot, ticket)
    assert gate.admit_nowait(object()) >= 0


async def test_held_calls_go_when_the_lag_falls() -> None:
    clocks, lag = Clocks(), Lag(target_s=0.005)
    gate = _gate(lag, clocks, share=1.0)
    _measure(gate, clocks, calls=33 * 40, rtt_s=0.2, cpu_s=0.002)
    lag.value = 10.0
    for _ in range(10):
        _measure(gate, clocks, calls=1, rtt_s=0.2, cpu_s=0.002)
    assert int(gate.limit) == 5
    first = [object() for _ in range(5)]
    tickets = []
    for s in first:
        tickets.append(gate.admit_nowait(s))
        clocks.now += PACE_S
    assert min(tickets) >= 0
    went: list[int] = []

    async def call(n: int) -> None:
        slot = object()
        t = await gate.admit(slot)
        went.append(n)
        clocks.now += 0.2
        clocks.cpu_s += 0.002
        gate.done(slot, t)

    async with anyio.create_task_group() as tg:
        for n in range(30):
            tg.start_soon(call, n)
        await wait_all_tasks_blocked()
        assert (went, gate.waiting) == ([], 30)  # held while the loop lags
        lag.value = 0.0
        for slot, ticket in zip(first, tickets, strict=True):
            gate.done(slot, ticket)
    assert went == list(range(30))  # released as the lag fell, in arrival order
    assert gate.limit > 5


async def test_the_monitor_reads_how_late_it_wakes_and_filters_lone_late_wake_ups() -> None:
    fake = FakeTime()
    late = [0.0, 0.2, 0.0, 0.3, 0.4]
    seen: list[tuple[float, float]] = []
    lag: LoopLag

    async def sleep(seconds: float) -> None:
        # What the monitor read after each wake-up, then a sleep that wakes late.
        if lag.samples:
            seen.append((round(lag.last_s, 6), round(lag.sustained(), 6)))
        if not late:
            await anyio.sleep_forever()
        fake.now += seconds + late.pop(0)

    lag = LoopLag(0.05, period_s=0.005, clock=fake.clock, sleep=sleep)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lag.run)
        await wait_all_tasks_blocked()
        tg.cancel_scope.cancel()
    # One late wake-up is a step, not a pile-up; two in a row are.
    assert seen == [(0.0, 0.0), (0.2, 0.0), (0.0, 0.0), (0.3, 0.0), (0.4, 0.3)]
    assert lag.worst_s == pytest.approx(0.4)
    assert (lag.running, lag.now(), lag.over()) == (False, 0.0, False)  # nobody measures: nothing held


async def test_an_overdue_sleeper_shows_the_lag_before_it_wakes() -> None:
    fake = FakeTime()
    seen: list[float] = []
    lag: LoopLag

    async def sleep(seconds: float) -> None:
        fake.now += seconds + 0.3  # the loop is 0.3 s into a long pass: the sleeper has not woken
        seen.append(lag.now())
        await anyio.sleep_forever()

    lag = LoopLag(0.05, period_s=0.005, clock=fake.clock, sleep=sleep)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lag.run)
        await wait_all_tasks_blocked()
        assert lag.over() and lag.samples == 0
        tg.cancel_scope.cancel()
    assert seen == [pytest.approx(0.3)]


async def test_off_means_no_gate() -> None:
    assert loop_lag(RunSettings(loop_lag_target_ms=0)) is None
    on = loop_lag(RunSettings())
    assert on is not None and on.target_s == pytest.approx(0.05)
    fake = FakeTime()
    slow = InFlight(fake)

    registry = EndpointRegistry(clock=fake.clock, sleep=fake.sleep, loop_lag=None)
    assert registry.admission is None
    client = registry.wrap(FakeChatClient(slow), EndpointLimits(max_concurrency=40))
    async with anyio.create_task_group() as tg:
        for _ in range(40):
            tg.start_soon(client.create, MSG)
    assert slow.most == 40  # only the endpoint's own limit
    assert client.endpoint.stats().held == 0


async def test_the_gate_holds_an_endpoints_calls_and_counts_the_time() -> None:
    fake = FakeTime()
    lag = LoopLag(0.05, clock=fake.clock, sleep=fake.sleep)  # not running: reads 0, never lags
    slow = InFlight(fake)

    registry = EndpointRegistry(clock=fake.clock, sleep=fake.sleep, loop_lag=lag)
    assert registry.admission is not None
    client = registry.wrap(FakeChatClient(slow), EndpointLimits(max_concurrency=40))
    async with anyio.create_task_group() as tg:
        for _ in range(40):
            tg.start_soon(client.create, MSG)
    stats = client.endpoint.stats()
    assert slow.most == 16  # the gate's starting limit, before the loop's CPU per call is known
    assert stats.succeeded == 40 and stats.held == 24 and stats.held_s > 0
    assert stats.held_s <= stats.queued_s


async def test_the_setting_is_checked() -> None:
    assert RunSettings().loop_lag_target_ms == 50.0
    with pytest.raises(ValidationError):
        RunSettings(loop_lag_target_ms=-1)
    assert RunSettings.merged(cli_values={"loop_lag_target_ms": 0}).loop_lag_target_ms == 0
    with pytest.raises(ValueError):
        LoopLag(0.0)
    with pytest.raises(ValueError):
        LagAdmission(Lag(), initial=0)
