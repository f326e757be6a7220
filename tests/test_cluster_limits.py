"""The cluster-wide endpoint limits (engine.cluster_limits), without Ray: the limiter the Ray executor
runs in an actor, driven by two gateways as two shards would drive it."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import pytest
from autogen_core.models import LLMMessage, UserMessage

from agents.backends import FakeChatClient
from agents.errors import RateLimited
from engine.cluster_limits import ClusterLimits
from engine.gateway import EndpointLimits, EndpointRegistry

MSG = [UserMessage(content="hello there", source="user")]


class InProcessGate:
    """The ClusterGate a shard gets, minus the Ray round trip (same calls, same holder tagging)."""

    def __init__(self, limits: ClusterLimits, holder: str) -> None:
        self.limits = limits
        self.holder = holder
        self.counts_tokens = limits.limits.tpm is not None
        self.acquired = 0
        self.corrections: list[int] = []

    async def acquire(self, key: str, estimate: int) -> int:
        self.acquired += 1
        return await self.limits.acquire(self.holder, key, estimate)

    def release(self, key: str, lease: int, correction: int) -> None:
        self.corrections.append(correction)
        self.limits.release(lease, correction)

    def pause(self, key: str, seconds: float) -> None:
        self.limits.pause(key, seconds)


async def test_two_shards_share_one_concurrency_limit() -> None:
    cluster = ClusterLimits(EndpointLimits(max_concurrency=3))
    now = {"in": 0, "max": 0}

    async def slow(_: Sequence[LLMMessage]) -> str:
        now["in"] += 1
        now["max"] = max(now["max"], now["in"])
        await anyio.sleep(0.01)
        now["in"] -= 1
        return "ok"

    # Each shard's own gateway allows 3 at once; only the shared limiter keeps the sum at 3.
    gates = [InProcessGate(cluster, f"shard-{i}") for i in range(2)]
    clients = [EndpointRegistry(gate=g).wrap(FakeChatClient(slow), EndpointLimits(max_concurrency=3))
               for g in gates]
    async with anyio.create_task_group() as tg:
        for _ in range(15):
            for c in clients:
                tg.start_soon(c.create, MSG)
    [stats] = cluster.stats()
    assert now["max"] == 3 and stats.max_in_flight == 3
    assert stats.in_flight == 0 and stats.leases == 30 == sum(g.acquired for g in gates)
    assert sum(c.endpoint.stats().max_in_flight for c in clients) > 3  # each shard alone went further


async def test_a_dead_holders_leases_are_released() -> None:
    cluster = ClusterLimits(EndpointLimits(max_concurrency=2))
    a = [await cluster.acquire("shard-0", "ep", 0) for _ in range(2)]
    got: list[int] = []

    async def other() -> None:
        got.append(await cluster.acquire("shard-1", "ep", 0))

    async with anyio.create_task_group() as tg:
        tg.start_soon(other)
        await anyio.sleep(0.05)
        assert got == []  # both slots held by shard-0
        assert cluster.release_holder("shard-0") == 2  # it died
    assert len(got) == 1
    assert cluster.release(a[0]) is False  # a late release from the dead worker changes nothing
    [stats] = cluster.stats()
    assert (stats.in_flight, stats.released_dead, stats.leases) == (1, 2, 3)


async def test_requests_per_minute_are_counted_across_holders() -> None:
    cluster = ClusterLimits(EndpointLimits(rpm=60))  # one request per second, a bucket of one
    await cluster.acquire("shard-0", "ep", 0)
    with anyio.move_on_after(0.2) as scope:
        await cluster.acquire("shard-1", "ep", 0)  # the other shard finds the bucket empty
    assert scope.cancelled_caught
    [stats] = cluster.stats()
    assert stats.in_flight == 1  # the cancelled acquire holds no slot


async def test_a_429_anywhere_pauses_every_shard() -> None:
    cluster = ClusterLimits(EndpointLimits(max_concurrency=4, backoff_base_s=0.0))
    gates = [InProcessGate(cluster, f"shard-{i}") for i in range(2)]
    calls = {"n": 0}

    def first_is_429(_: Sequence[LLMMessage]) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RateLimited("slow down", retry_after=0.5)
        return "ok"

    limits = EndpointLimits(max_concurrency=4, backoff_base_s=0.0)
    shard0 = EndpointRegistry(gate=gates[0]).wrap(FakeChatClient(first_is_429), limits)
    shard1 = EndpointRegistry(gate=gates[1]).wrap(FakeChatClient(lambda _: "ok"), limits)
    async with anyio.create_task_group() as tg:
        tg.start_soon(shard0.create, MSG)  # a 429 with Retry-After 0.5 s: waits it out, then succeeds
        await anyio.sleep(0.05)
        assert cluster.stats()[0].pauses == 1
        with anyio.move_on_after(0.2) as scope:
            await shard1.create(MSG)  # shard 1 never saw the 429, yet waits: the pause is the cluster's
        assert scope.cancelled_caught
    assert calls["n"] == 2


async def test_the_token_estimate_is_corrected_by_what_the_call_used() -> None:
    cluster = ClusterLimits(EndpointLimits(tpm=600_000))
    gate = InProcessGate(cluster, "shard-0")
    client = EndpointRegistry(gate=gate).wrap(FakeChatClient(lambda _: "ok"), EndpointLimits())
    await client.create(MSG, extra_create_args={"max_tokens": 50})
    [correction] = gate.corrections
    assert 0 < correction <= 50  # estimate (prompt + max_tokens) minus what was used


def test_limits_come_as_json_too() -> None:
    limits = ClusterLimits({"max_concurrency": 5, "rpm": 120}).limits
    assert limits == EndpointLimits(max_concurrency=5, rpm=120)
    with pytest.raises(ValueError):
        ClusterLimits({"max_concurrency": 0})
