"""Endpoint limits that hold across every process of a cluster run (the Ray executor's limiter).

On one machine each endpoint's limiter and buckets live in the run's :class:`engine.gateway.Endpoint`.
On a cluster every shard actor has its own gateway, so a per-process limit of 8 calls would let 100
actors send 800. :class:`ClusterLimits` holds the one budget per endpoint key: concurrency slots, the
requests- and tokens-per-minute buckets and the 429 pause. It runs inside one Ray actor
(:mod:`engine.cluster.runner`); each shard's gateway reaches it through a :class:`QuotaGate`.

A round trip to that actor per model call was measured to cost more than the call's own work (the
Ray path ran 1.67x the local one's time with it, 1.17x without; BENCHMARKS.md "Ray executor"), so
shards hold *quotas* instead of asking per call:

- Concurrency: a shard is granted its share of the slots (``max_concurrency // shards``, at least 1)
  on its first call and keeps them; a shard that needs more asks for one more at a time (one request
  outstanding) and gets it when a slot is free, which happens when a shard ends or dies (the driver
  then calls :meth:`ClusterLimits.release_holder`). Slots granted never exceed the limit, so calls in
  flight across the cluster never do either.
- Requests and tokens per minute: a shard draws from the cluster bucket in blocks of a quarter
  second's worth of its share of the rate (at least what the call needs) and spends them locally;
  what a call did not use goes back to the shard's balance. The cluster bucket's long-run rate holds.
- A 429 with Retry-After pauses the shard that got it at once and is sent to the limiter; the driver
  reads the pauses every poll (0.1 s) and hands them to every shard with the poll.

No Ray import: the classes are tested on their own with an in-process stand-in for the actor handle.
The gate needs asyncio (Ray's actors run on it) for its grant requests in flight.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import structlog

from engine.gateway import EndpointLimits, TokenBucket
from engine.gateway.limits import Clock, Sleep

__all__ = ["ClusterLimitStats", "ClusterLimits", "QuotaGate"]

Kind = Literal["requests", "tokens"]

log = structlog.get_logger(__name__)


@dataclass
class ClusterLimitStats:
    """One endpoint's cluster-wide figures."""

    key: str
    grants: int = 0
    granted: int = 0  # slots held by shards now
    max_granted: int = 0  # never above max_concurrency: the bound on calls in flight cluster-wide
    draws: int = 0
    requests_drawn: float = 0.0
    tokens_drawn: float = 0.0
    pauses: int = 0
    released_dead: int = 0
    waited_s: float = 0.0


class _EndpointState:
    def __init__(self, key: str, limits: EndpointLimits, clock: Clock, sleep: Sleep) -> None:
        self.capacity = limits.max_concurrency
        self.buckets: dict[str, TokenBucket] = {}
        if limits.rpm:
            self.buckets["requests"] = TokenBucket(limits.rpm, clock=clock, sleep=sleep)
        if limits.tpm:
            self.buckets["tokens"] = TokenBucket(limits.tpm, clock=clock, sleep=sleep)
        self.resume_at = float("-inf")
        self.freed = anyio.Event()
        self.stats = ClusterLimitStats(key)


class ClusterLimits:
    """Concurrency slots, rpm, tpm and 429 pauses per endpoint key, shared by every shard of a run.

    Every endpoint gets ``limits`` (the run's one set of scheduling options, as on one machine).
    """

    def __init__(self, limits: EndpointLimits | dict[str, Any], *, shards: int = 1,
                 clock: Clock = time.monotonic, sleep: Sleep = anyio.sleep) -> None:
        self.limits = limits if isinstance(limits, EndpointLimits) else EndpointLimits(**limits)
        # Injectable, as the gateway's: tests of pauses and buckets run on a fake clock.
        self._clock = clock
        self._sleep = sleep
        self.shards = max(1, shards)
        self._endpoints: dict[str, _EndpointState] = {}
        self._held: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._joined: dict[str, set[str]] = defaultdict(set)  # per key: holders that got their share
        self._closed: set[str] = set()  # holders released: a grant still pending for one gets nothing

    def _endpoint(self, key: str) -> _EndpointState:
        ep = self._endpoints.get(key)
        if ep is None:
            ep = self._endpoints[key] = _EndpointState(key, self.limits, self._clock, self._sleep)
        return ep

    def _available(self, ep: _EndpointState, holder: str, key: str) -> int:
        free = ep.capacity - ep.stats.granted
        if ep.capacity < self.shards:
            return free  # fewer slots than shards: first come, first served
        # The shares of shards that have not asked yet are kept for them, so an early shard cannot
        # grow into them and leave a later one waiting for the whole run.
        others = self.shards - len(self._joined[key] | {holder})
        return free - max(0, others) * (ep.capacity // self.shards)

    async def grant(self, holder: str, key: str, want: int) -> int:
        """Waits until a slot of ``key`` is free for ``holder``, then grants up to ``want``; how many."""
        ep = self._endpoint(key)
        s = ep.stats
        started = self._clock()
        while (available := self._available(ep, holder, key)) < 1:
            if holder in self._closed:
                return 0
            await ep.freed.wait()
        if holder in self._closed:
            return 0
        self._joined[key].add(holder)
        n = min(want, available)
        s.granted += n
        s.max_granted = max(s.max_granted, s.granted)
        s.grants += 1
        s.waited_s += self._clock() - started
        self._held[holder][key] += n
        return n

    async def draw(self, key: str, kind: Kind, amount: float) -> float:
        """Waits out a pause, then takes ``amount`` from the ``kind`` bucket of ``key``; ``amount``."""
        ep = self._endpoint(key)
        while (left := ep.resume_at - self._clock()) > 0:
            await self._sleep(left)
        bucket = ep.buckets.get(kind)
        if bucket is not None:
            await bucket.take(amount)
        s = ep.stats
        s.draws += 1
        if kind == "requests":
            s.requests_drawn += amount
        else:
            s.tokens_drawn += amount
        return amount

    def release_holder(self, holder: str, *, died: bool = False) -> int:
        """Frees every slot ``holder`` holds, for good; how many. An ended holder's slots go to whoever
        asks; a dead one's share is kept for its restarted worker (``died``; a new holder name)."""
        self._closed.add(holder)
        held = self._held.pop(holder, {})
        for key, ep in self._endpoints.items():
            n = held.get(key, 0)
            ep.stats.granted -= n
            if died:
                ep.stats.released_dead += n
                self._joined[key].discard(holder)
            ep.freed.set()  # also ends a grant the holder still has pending
            ep.freed = anyio.Event()
        return sum(held.values())

    def pause(self, key: str, seconds: float) -> None:
        """Holds ``key`` back for ``seconds`` (a 429 with Retry-After, anywhere in the cluster)."""
        ep = self._endpoint(key)
        ep.resume_at = max(ep.resume_at, self._clock() + seconds)
        ep.stats.pauses += 1

    def pauses(self) -> dict[str, float]:
        """Seconds each paused endpoint has left (what the driver hands to every shard)."""
        now = self._clock()
        return {k: ep.resume_at - now for k, ep in self._endpoints.items() if ep.resume_at > now}

    def stats(self) -> list[ClusterLimitStats]:
        """Each endpoint's figures, in the order they were first used."""
        return [ep.stats for ep in self._endpoints.values()]


@dataclass
class _Quota:
    held: int = 0
    in_use: int = 0
    asking: bool = False
    balance: dict[str, float] = field(default_factory=lambda: {"requests": 0.0, "tokens": 0.0})
    drawing: dict[str, bool] = field(default_factory=lambda: {"requests": False, "tokens": False})
    resume_at: float = float("-inf")
    changed: anyio.Event = field(default_factory=anyio.Event)

    def wake(self) -> None:
        self.changed.set()
        self.changed = anyio.Event()


class QuotaGate:
    """A shard's side of the cluster limits (an :class:`engine.gateway.ClusterGate`).

    ``limiter`` is the ClusterLimits actor handle (or anything with the same ``.method.remote`` calls).
    Calls within the shard's quota make no round trip; see the module doc.
    """

    BLOCK_S = 0.25  # a rate draw covers this many seconds of the shard's share of the rate

    def __init__(self, limiter: Any, holder: str, *, limits: EndpointLimits, shards: int,
                 clock: Clock = time.monotonic, sleep: Sleep = anyio.sleep) -> None:
        self._limiter = limiter
        self._clock = clock
        self._sleep = sleep
        self.holder = holder
        self.counts_tokens = limits.tpm is not None
        self._rates: dict[str, float] = {k: v / 60.0 for k, v in (("requests", limits.rpm),
                                                                   ("tokens", limits.tpm)) if v}
        self._share = max(1, limits.max_concurrency // max(1, shards))
        self._shards = max(1, shards)
        self._quotas: dict[str, _Quota] = {}
        self._requests: set[asyncio.Future[Any]] = set()  # grants in flight (held: not collected)
        self.round_trips = 0

    def _quota(self, key: str) -> _Quota:
        q = self._quotas.get(key)
        if q is None:
            q = self._quotas[key] = _Quota()
        return q

    async def acquire(self, key: str, estimate: int) -> int:
        q = self._quota(key)
        while (left := q.resume_at - self._clock()) > 0:
            await self._sleep(left)
        await self._slot(key, q)
        try:
            if "requests" in self._rates:
                await self._draw(key, q, "requests", 1.0)
            if "tokens" in self._rates and estimate:
                await self._draw(key, q, "tokens", float(estimate))
        except BaseException:
            q.in_use -= 1
            q.wake()
            raise
        return 0

    def release(self, key: str, lease: int, correction: int) -> None:
        q = self._quota(key)
        q.in_use -= 1
        if correction and "tokens" in self._rates:
            q.balance["tokens"] += correction
        q.wake()

    def pause(self, key: str, seconds: float) -> None:
        self.apply_pauses({key: seconds})
        self._limiter.pause.remote(key, seconds)

    def apply_pauses(self, pauses: dict[str, float]) -> None:
        """Pauses the driver read from the limiter (seconds left per endpoint key)."""
        now = self._clock()
        for key, left in pauses.items():
            q = self._quota(key)
            q.resume_at = max(q.resume_at, now + left)

    async def _slot(self, key: str, q: _Quota) -> None:
        while True:
            if q.in_use < q.held:
                q.in_use += 1
                return
            if not q.asking:
                # The request runs on its own: a call that frees a slot here meanwhile serves the
                # waiter at once, and a grant that comes later just adds to the quota.
                q.asking = True
                self.round_trips += 1
                want = self._share if not q.held else 1
                request = asyncio.ensure_future(self._limiter.grant.remote(self.holder, key, want))
                request.add_done_callback(lambda done, q=q: self._granted(q, done))
                self._requests.add(request)
            await q.changed.wait()

    def close(self) -> None:
        """Stops waiting for grants still pending (the shard is done; the driver frees its slots)."""
        for request in list(self._requests):
            request.cancel()

    def _granted(self, q: _Quota, done: asyncio.Future[Any]) -> None:
        self._requests.discard(done)
        q.asking = False
        if not done.cancelled() and done.exception() is None:
            q.held += int(done.result())
        elif not done.cancelled():
            log.warning("cluster_grant_failed", holder=self.holder, error=repr(done.exception()))
        q.wake()

    async def _draw(self, key: str, q: _Quota, kind: Kind, amount: float) -> None:
        while q.balance[kind] < amount:
            if q.drawing[kind]:
                await q.changed.wait()
                continue
            q.drawing[kind] = True
            try:
                share = math.ceil(self._rates[kind] * self.BLOCK_S / self._shards)
                block = max(amount - q.balance[kind], share)
                self.round_trips += 1
                q.balance[kind] += float(await self._limiter.draw.remote(key, kind, block))
            finally:
                q.drawing[kind] = False
                q.wake()
        q.balance[kind] -= amount
