"""One endpoint's limiter, buckets, 429 pause, backoff and counters (see :mod:`engine.gateway.client`).

An endpoint is where calls go and to which model (:func:`engine.gateway.registry.endpoint_key`): the
user agent, the system agent and an LLM judge on the same server and model share its limits. On a
cluster, a :class:`ClusterGate` adds the limits every process shares (:mod:`engine.cluster.limits`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import anyio
from autogen_core.models import CreateResult
from pydantic import BaseModel, ConfigDict, Field

from agents.errors import AnswerTooLong, LLMError, LLMTimeout, RateLimited
from engine.core.attribution import CallStats, gateway_call
from engine.gateway.admission import LagAdmission
from engine.gateway.limits import Clock, EndpointLimits, Sleep, TokenBucket

__all__ = ["ClusterGate", "Endpoint", "EndpointStats", "Tally"]


class ClusterGate(Protocol):
    """Limits shared by every process of a cluster run (see :mod:`engine.cluster.limits`).

    ``acquire`` waits for a concurrency slot, a request and ``estimate`` tokens of the endpoint ``key``
    (and out any 429 pause), and returns a lease; ``release`` gives the slot back with the token
    estimate's error (``estimate - used``); ``pause`` holds the endpoint for every process.
    ``counts_tokens``: whether it has a tokens-per-minute limit (else calls skip the token estimate).
    """

    counts_tokens: bool

    async def acquire(self, key: str, estimate: int) -> int: ...

    def release(self, key: str, lease: int, correction: int) -> None: ...

    def pause(self, key: str, seconds: float) -> None: ...


class EndpointStats(BaseModel):
    """A snapshot of one endpoint's counters."""

    model_config = ConfigDict(frozen=True)

    key: str
    calls: int = Field(description="create() calls started")
    succeeded: int
    failed: int = Field(description="calls that raised (not retryable, or out of retries)")
    attempts: int = Field(description="tries sent to the backend")
    retries: int
    errors: dict[str, int] = Field(description="failed tries by error class")
    in_flight: int
    max_in_flight: int
    queued_s: float = Field(description="total seconds calls waited for pause, lag gate, limiter and buckets")
    held: int = Field(default=0, description="tries held by the loop-lag gate (--loop-lag-target-ms)")
    held_s: float = Field(default=0.0, description="total seconds tries were held there (part of queued_s)")



@dataclass(slots=True)
class Tally:
    """What one call spent over its tries: seconds queued and retries so far."""

    queued_s: float = 0.0
    retries: int = 0


class Endpoint:
    """One endpoint's limiter, buckets, 429 pause and counters, shared by every client that calls it."""

    def __init__(self, key: str, limits: EndpointLimits, *, seed: int = 0, clock: Clock = time.monotonic,
                 sleep: Sleep = anyio.sleep, gate: ClusterGate | None = None,
                 admission: LagAdmission | None = None) -> None:
        self.key = key
        self.gate = gate  # cluster-wide limits on top of this process's (engine.cluster.limits)
        self.admission = admission  # the process's loop-lag gate, before this endpoint's limits
        self.limits = limits
        self.seed = seed
        self.clock = clock
        self.sleep = sleep
        self.limiter = anyio.CapacityLimiter(limits.max_concurrency)
        self.requests = TokenBucket(limits.rpm, clock=clock, sleep=sleep) if limits.rpm else None
        self.tokens = TokenBucket(limits.tpm, clock=clock, sleep=sleep) if limits.tpm else None
        self._resume_at = float("-inf")
        self.calls = self.succeeded = self.failed = self.attempts = self.retries = 0
        self.errors: dict[str, int] = {}
        self.in_flight = self.max_in_flight = 0
        self.queued_s = 0.0
        self.held = 0
        self.held_s = 0.0

    def stats(self) -> EndpointStats:
        """The counters now."""
        return EndpointStats(key=self.key, calls=self.calls, succeeded=self.succeeded, failed=self.failed,
                             attempts=self.attempts, retries=self.retries, errors=dict(self.errors),
                             in_flight=self.in_flight, max_in_flight=self.max_in_flight,
                             queued_s=self.queued_s, held=self.held, held_s=self.held_s)

    def pause(self, seconds: float) -> None:
        """Holds back every new try of this endpoint for ``seconds`` (after a 429 with Retry-After)."""
        self._resume_at = max(self._resume_at, self.clock() + seconds)
        if self.gate is not None:
            self.gate.pause(self.key, seconds)

    async def _wait_pause(self) -> None:
        while (left := self._resume_at - self.clock()) > 0:
            await self.sleep(left)

    def backoff(self, error: LLMError, retry: int, identity: str) -> float | None:
        """Seconds to wait before retry number ``retry`` (1-based); None: do not wait (give up)."""
        lim = self.limits
        rng = random.Random(f"{self.seed}|{identity}|{retry}")
        if isinstance(error, RateLimited) and error.retry_after is not None:
            if error.retry_after > lim.retry_after_max_s:
                return None
            return error.retry_after + (rng.uniform(0.0, lim.backoff_base_s) if lim.jitter else 0.0)
        ceiling = min(lim.backoff_max_s, lim.backoff_base_s * 2.0 ** (retry - 1))
        return rng.uniform(0.0, ceiling) if lim.jitter else ceiling

    async def attempt(self, call: Callable[[], Awaitable[CreateResult]], tally: Tally, *, estimate: int,
                      model: str) -> CreateResult:
        """One try of ``call`` within the limits; its queued seconds go into ``tally``, failed or not."""
        started = self.clock()
        await self._wait_pause()
        slot = object()  # a borrower per try: a task may make nested managed calls without clashing
        admission = self.admission
        ticket = -1.0
        if admission is not None and (ticket := admission.admit_nowait(slot)) < 0:
            held_from = self.clock()
            ticket = await admission.admit(slot)
            self.held += 1
            self.held_s += self.clock() - held_from
        try:
            # Uncontended, the slot is taken without the two scheduling checkpoints the await costs.
            self.limiter.acquire_on_behalf_of_nowait(slot)
        except anyio.WouldBlock:
            try:
                await self.limiter.acquire_on_behalf_of(slot)
            except BaseException:
                if admission is not None:
                    admission.done(slot, ticket)
                raise
        lease: int | None = None
        try:
            if self.requests is not None:
                await self.requests.take(1)
            if self.tokens is not None:
                await self.tokens.take(estimate)
            if self.gate is not None:
                lease = await self.gate.acquire(self.key, estimate)
            waited = self.clock() - started
            tally.queued_s += waited
            self.queued_s += waited
            self.attempts += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                with gateway_call(CallStats(tally.queued_s, tally.retries)):
                    timeout = self.limits.timeout_s
                    if timeout is None:
                        result = await call()
                    else:
                        # A bare CancelScope rather than fail_after, which wraps one in a generator-based
                        # context manager: about 16 vs 24 us per call measured on the 2-core dev machine.
                        result = None
                        with anyio.CancelScope(deadline=anyio.current_time() + timeout) as scope:
                            result = await call()
                        if scope.cancelled_caught or result is None:
                            raise LLMTimeout(f"no answer within {timeout:g} s (gateway timeout)", model=model)
            finally:
                self.in_flight -= 1
        except BaseException as exc:
            # An answer refused as too long still spent its tokens: the buckets are charged for them.
            used = getattr(exc, "tokens_used", 0) if isinstance(exc, AnswerTooLong) else 0
            if used and self.tokens is not None:
                self.tokens.give_back(estimate - used)
            if lease is not None:
                self.gate.release(self.key, lease, estimate - used if used else 0)  # type: ignore[union-attr]
            raise
        finally:
            self.limiter.release_on_behalf_of(slot)
            if admission is not None:
                admission.done(slot, ticket)
        used = result.usage.prompt_tokens + result.usage.completion_tokens
        if self.tokens is not None:
            self.tokens.give_back(estimate - used)
        if lease is not None:
            self.gate.release(self.key, lease, estimate - used)  # type: ignore[union-attr]
        return result
