"""The cluster-wide endpoint limits (engine.cluster.limits), without Ray: the limiter the Ray executor
runs in an actor and the quota gates of two shards, driven through real gateways. Time is a fake
clock, and "it waits" is seen by every task being blocked, not by sleeping."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from anyio import wait_all_tasks_blocked
from autogen_core.models import LLMMessage, UserMessage

from agents.backends import FakeChatClient
from agents.errors import RateLimited
from engine.cluster.limits import ClusterLimits, QuotaGate
from engine.gateway import EndpointLimits, EndpointRegistry, ManagedClient
from tests.support.clocks import FakeTime, ManualClock, blocks

MSG = [UserMessage(content="hello there", source="user")]


class _Method:
    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)  # a coroutine for async methods (awaited by the caller)


class InProcessActor:
    """``limiter.method.remote(...)`` as a Ray actor handle offers it, minus the process boundary."""

    def __init__(self, target: ClusterLimits) -> None:
        self.target = target

    def __getattr__(self, name: str) -> _Method:
        return _Method(getattr(self.target, name))


def _shards(limits: EndpointLimits, n: int, time: FakeTime | ManualClock | None = None
            ) -> tuple[ClusterLimits, list[QuotaGate]]:
    time = time or FakeTime()
    cluster = ClusterLimits(limits, shards=n, clock=time.clock, sleep=time.sleep)
    actor = InProcessActor(cluster)
    return cluster, [QuotaGate(actor, f"shard-{i}", limits=limits, shards=n, clock=time.clock,
                               sleep=time.sleep) for i in range(n)]


def _client(gate: QuotaGate, reply: Callable[[Sequence[LLMMessage]], Any], limits: EndpointLimits,
            time: FakeTime | ManualClock | None = None) -> ManagedClient:
    # What a shard does: its own gateway with only a concurrency cap, the cluster gate on top.
    time = time or FakeTime()
    local = limits.model_copy(update={"rpm": None, "tpm": None})
    return EndpointRegistry(gate=gate, clock=time.clock, sleep=time.sleep).wrap(FakeChatClient(reply), local)


async def test_two_shards_share_one_concurrency_limit() -> None:
    limits = EndpointLimits(max_concurrency=3)
    cluster, gates = _shards(limits, 2)
    now = {"in": 0, "max": 0}

    async def slow(_: Sequence[LLMMessage]) -> str:
        now["in"] += 1
        now["max"] = max(now["max"], now["in"])
        for _ in range(3):  # the other calls run meanwhile
            await anyio.lowlevel.checkpoint()
        now["in"] -= 1
        return "ok"

    # Each shard's own gateway allows 3 at once; only the cluster's slots keep the sum at 3.
    clients = [_client(g, slow, limits) for g in gates]
    async with anyio.create_task_group() as tg:
        for _ in range(15):
            for c in clients:
                tg.start_soon(c.create, MSG)
    [stats] = cluster.stats()
    assert 2 <= now["max"] <= 3 and stats.max_granted == 3
    assert sum(c.endpoint.stats().succeeded for c in clients) == 30
    assert all(c.endpoint.stats().succeeded == 15 for c in clients)  # neither shard was starved
    # Quotas: the first share and a few growth requests (one in flight per shard), not one per call.
    assert sum(g.round_trips for g in gates) <= 6
    for g in gates:
        g.close()  # a growth request still waiting at the limiter


async def test_a_late_shard_gets_its_share_and_a_dead_ones_is_kept_for_it() -> None:
    cluster = ClusterLimits(EndpointLimits(max_concurrency=4), shards=2)
    assert await cluster.grant("shard-0", "ep", 4) == 2  # shard-1's share is kept for it
    assert await blocks(lambda: cluster.grant("shard-0", "ep", 1))  # growing into it waits
    assert await cluster.grant("shard-1", "ep", 2) == 2
    assert cluster.release_holder("shard-1", died=True) == 2
    assert await blocks(lambda: cluster.grant("shard-0", "ep", 1))  # the dead shard's share waits
    assert await cluster.grant("shard-1.1", "ep", 2) == 2  # the restarted worker (a new name)
    assert await cluster.grant("shard-1", "ep", 2) == 0  # a grant for the dead one gets nothing
    assert cluster.release_holder("shard-1.1") == 2  # ended: its slots may now go to shard-0
    assert await cluster.grant("shard-0", "ep", 2) == 2
    [stats] = cluster.stats()
    assert (stats.granted, stats.max_granted, stats.released_dead) == (4, 4, 2)


async def test_fewer_slots_than_shards_is_first_come_first_served() -> None:
    cluster = ClusterLimits(EndpointLimits(max_concurrency=1), shards=3)
    assert await cluster.grant("shard-2", "ep", 1) == 1
    got: list[int] = []

    async def other() -> None:
        got.append(await cluster.grant("shard-0", "ep", 1))

    async with anyio.create_task_group() as tg:
        tg.start_soon(other)
        await wait_all_tasks_blocked()
        assert got == []
        cluster.release_holder("shard-2")
    assert got == [1]


async def test_requests_per_minute_hold_across_shards() -> None:
    limits = EndpointLimits(rpm=60)  # one request per second, a bucket of one
    time = ManualClock()
    _cluster, gates = _shards(limits, 2, time)
    await gates[0].acquire("ep", 0)
    assert await blocks(lambda: gates[1].acquire("ep", 0))  # the other shard finds the bucket empty
    assert gates[1]._quota("ep").in_use == 0  # the cancelled acquire holds no slot
    time.advance(1.0)  # a second later the bucket has the next request
    await gates[1].acquire("ep", 0)


async def test_a_429_anywhere_pauses_every_shard() -> None:
    limits = EndpointLimits(max_concurrency=4, backoff_base_s=0.0)
    time = ManualClock()
    cluster, gates = _shards(limits, 2, time)
    calls = {"n": 0}

    def first_is_429(_: Sequence[LLMMessage]) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RateLimited("slow down", retry_after=0.5)
        return "ok"

    shard0 = _client(gates[0], first_is_429, limits, time)
    shard1 = _client(gates[1], lambda _: "ok", limits, time)
    await shard1.create(MSG)  # shard 1 has its slot already
    async with anyio.create_task_group() as tg:
        tg.start_soon(shard0.create, MSG)  # a 429 with Retry-After 0.5 s: waits it out, then succeeds
        await wait_all_tasks_blocked()
        assert cluster.stats()[0].pauses == 1
        assert cluster.pauses() == {shard0.endpoint.key: 0.5}
        gates[1].apply_pauses(cluster.pauses())  # what the driver's next poll hands to shard 1
        # Shard 1 never saw the 429, yet waits: the pause is the cluster's.
        assert await blocks(lambda: shard1.create(MSG))
        time.advance(0.5)
    assert calls["n"] == 2
    await shard1.create(MSG)  # the pause is over


async def test_tokens_are_drawn_in_blocks_and_unused_ones_kept() -> None:
    limits = EndpointLimits(tpm=600_000)  # 10,000 a second: a draw covers 2,500
    cluster, [gate] = _shards(limits, 1)
    client = _client(gate, lambda _: "ok", limits)
    for _ in range(10):
        await client.create(MSG, extra_create_args={"max_tokens": 50})
    [stats] = cluster.stats()
    assert stats.draws == 1 and stats.tokens_drawn == 2500
    quota = gate._quota(client.endpoint.key)
    used = sum(c.input_tokens + c.output_tokens for c in client.calls)
    assert quota.balance["tokens"] == 2500 - used  # estimates corrected by what the calls used
    assert gate.round_trips == 2  # one grant, one draw, for ten calls


def test_limits_come_as_json_too() -> None:
    limits = ClusterLimits({"max_concurrency": 5, "rpm": 120}).limits
    assert limits == EndpointLimits(max_concurrency=5, rpm=120)
    with pytest.raises(ValueError):
        ClusterLimits({"max_concurrency": 0})
