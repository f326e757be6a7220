"""Endpoint limits that hold across every process of a cluster run (the Ray executor's limiter).

On one machine each endpoint's limiter and buckets live in the run's :class:`engine.gateway.Endpoint`.
On a cluster every shard actor has its own gateway, so a per-process limit of 8 calls would let 100
actors send 800. :class:`ClusterLimits` holds the one set per endpoint key (concurrency slots, the
requests- and tokens-per-minute buckets, the 429 pause) and hands out *leases*; it runs inside one
Ray actor (:mod:`engine.ray_runner`) and each shard's gateway reaches it through :class:`RayGate`.

Leases are tagged with their holder (a shard). A shard that dies holding leases would keep their slots
forever, so the driver calls :meth:`ClusterLimits.release_holder` when it sees the death (and when a
shard ends, for a lease whose acquire was cancelled after it was granted).

Pure anyio, no Ray import: the class is tested on its own and runs in Ray's asyncio loop unchanged.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import anyio

from engine.gateway import EndpointLimits, TokenBucket

__all__ = ["ClusterLimitStats", "ClusterLimits", "RayGate"]


@dataclass
class ClusterLimitStats:
    """One endpoint's cluster-wide figures."""

    key: str
    leases: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    queued_s: float = 0.0
    pauses: int = 0
    released_dead: int = 0


@dataclass
class _Lease:
    holder: str
    key: str
    borrower: object = field(default_factory=object)


class _EndpointState:
    def __init__(self, key: str, limits: EndpointLimits) -> None:
        self.limiter = anyio.CapacityLimiter(limits.max_concurrency)
        self.requests = TokenBucket(limits.rpm) if limits.rpm else None
        self.tokens = TokenBucket(limits.tpm) if limits.tpm else None
        self.resume_at = float("-inf")
        self.stats = ClusterLimitStats(key)


class ClusterLimits:
    """Concurrency, rpm, tpm and 429 pauses per endpoint key, shared by every shard of a run.

    Every endpoint gets ``limits`` (the run's one set of scheduling options, as on one machine).
    """

    def __init__(self, limits: EndpointLimits | dict[str, Any]) -> None:
        self.limits = limits if isinstance(limits, EndpointLimits) else EndpointLimits(**limits)
        self._endpoints: dict[str, _EndpointState] = {}
        self._leases: dict[int, _Lease] = {}
        self._ids = itertools.count(1)

    def _endpoint(self, key: str) -> _EndpointState:
        ep = self._endpoints.get(key)
        if ep is None:
            ep = self._endpoints[key] = _EndpointState(key, self.limits)
        return ep

    async def acquire(self, holder: str, key: str, estimate: int) -> int:
        """Waits out a pause, then for a slot, a request and ``estimate`` tokens; the lease id."""
        ep = self._endpoint(key)
        started = time.monotonic()
        while (left := ep.resume_at - time.monotonic()) > 0:
            await anyio.sleep(left)
        lease = _Lease(holder, key)
        await ep.limiter.acquire_on_behalf_of(lease.borrower)
        try:
            if ep.requests is not None:
                await ep.requests.take(1)
            if ep.tokens is not None and estimate:
                await ep.tokens.take(estimate)
        except BaseException:
            ep.limiter.release_on_behalf_of(lease.borrower)
            raise
        lease_id = next(self._ids)
        self._leases[lease_id] = lease
        s = ep.stats
        s.leases += 1
        s.in_flight += 1
        s.max_in_flight = max(s.max_in_flight, s.in_flight)
        s.queued_s += time.monotonic() - started
        return lease_id

    def release(self, lease_id: int, correction: int = 0) -> bool:
        """Gives the lease's slot back and ``correction`` tokens (estimate - used); False if unknown."""
        lease = self._leases.pop(lease_id, None)
        if lease is None:  # already released with its dead holder
            return False
        ep = self._endpoints[lease.key]
        ep.limiter.release_on_behalf_of(lease.borrower)
        ep.stats.in_flight -= 1
        if ep.tokens is not None and correction:
            ep.tokens.give_back(correction)
        return True

    def release_holder(self, holder: str) -> int:
        """Releases every lease ``holder`` still has (it died, or ended); how many there were."""
        ids = [i for i, lease in self._leases.items() if lease.holder == holder]
        for i in ids:
            key = self._leases[i].key
            self.release(i)
            self._endpoints[key].stats.released_dead += 1
        return len(ids)

    def pause(self, key: str, seconds: float) -> None:
        """Holds every new lease of ``key`` back for ``seconds`` (a 429 with Retry-After, anywhere)."""
        ep = self._endpoint(key)
        ep.resume_at = max(ep.resume_at, time.monotonic() + seconds)
        ep.stats.pauses += 1

    def stats(self) -> list[ClusterLimitStats]:
        """Each endpoint's figures, in the order they were first used."""
        return [ep.stats for ep in self._endpoints.values()]


class RayGate:
    """A shard's view of the limiter actor (an :class:`engine.gateway.ClusterGate`).

    ``acquire`` is one round trip; ``release`` and ``pause`` are sent without waiting for an answer,
    so a call pays one round trip to the limiter, not two.
    """

    def __init__(self, actor: Any, holder: str, *, counts_tokens: bool) -> None:
        self._actor = actor
        self.holder = holder
        self.counts_tokens = counts_tokens

    async def acquire(self, key: str, estimate: int) -> int:
        return int(await self._actor.acquire.remote(self.holder, key, estimate))

    def release(self, key: str, lease: int, correction: int) -> None:
        self._actor.release.remote(lease, correction)

    def pause(self, key: str, seconds: float) -> None:
        self._actor.pause.remote(key, seconds)
