"""How hard one endpoint may be driven (EndpointLimits, from the run's settings) and the token bucket.

Buckets read an injectable clock and sleep, so tests of minute-scale limits run in milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio
from pydantic import BaseModel, ConfigDict, Field

from engine.config import RunSettings
from engine.core.loop_lag import LoopLag
from profiling.errors import ConvRecError

__all__ = ["Clock", "EndpointLimits", "GatewayConfigError", "Sleep", "TokenBucket", "endpoint_limits",
           "loop_lag"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class GatewayConfigError(ConvRecError):
    """Raised when two clients of one endpoint ask for different limits (the endpoint has one set)."""


class EndpointLimits(BaseModel):
    """How hard one endpoint may be driven, and how its failed calls are retried."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_concurrency: int = Field(default=8, ge=1, description="calls in flight at once")
    rpm: float | None = Field(default=None, gt=0, description="requests per minute (None: no bucket)")
    tpm: float | None = Field(default=None, gt=0, description="tokens per minute (None: no bucket)")
    max_retries: int = Field(default=4, ge=0, description="retries of a retryable failure per call")
    backoff_base_s: float = Field(
        default=0.5, ge=0.0, description="first backoff ceiling (doubles each retry)")
    backoff_max_s: float = Field(default=30.0, ge=0.0, description="largest backoff ceiling")
    retry_after_max_s: float = Field(
        default=120.0, ge=0.0, description="longest server Retry-After waited for; longer fails the call")
    timeout_s: float | None = Field(default=120.0, gt=0, description="per attempt (None: no limit)")
    jitter: bool = Field(default=True, description="full jitter on backoff (seeded, so reproducible)")



def endpoint_limits(settings: RunSettings) -> EndpointLimits:
    """The per-endpoint limits the run's scheduling settings describe."""
    return EndpointLimits(max_concurrency=settings.llm_concurrency, rpm=settings.rpm, tpm=settings.tpm,
                          max_retries=settings.max_retries, timeout_s=settings.call_timeout)


def loop_lag(settings: RunSettings) -> LoopLag | None:
    """The loop-lag monitor the settings ask for (None: ``loop_lag_target_ms`` 0, no gate)."""
    target = settings.loop_lag_target_ms
    return LoopLag(target / 1e3) if target > 0 else None


class TokenBucket:
    """A token bucket refilled at ``per_minute / 60`` per second, holding one second's worth (at least 1).

    One second's worth rather than a minute's: providers enforce per-minute limits over shorter
    windows, so a full minute's burst at start would draw 429s. A take larger than the bucket waits
    for a full bucket and leaves it in debt, so the long-run rate still holds. Takers wait in FIFO
    order (anyio's Lock is fair).
    """

    def __init__(self, per_minute: float, *, clock: Clock = time.monotonic,
                 sleep: Sleep = anyio.sleep) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = anyio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self.level = min(self.capacity, self.level + (now - self._updated) * self.rate)
        self._updated = now

    async def take(self, amount: float) -> None:
        """Waits until ``amount`` (capped at the capacity) is available, then takes all of ``amount``."""
        need = min(amount, self.capacity)
        if not self._lock.locked():
            # Fast path, with no await between the check and the take (so no one can cut in): nobody
            # is queued and the bucket holds enough.
            self._refill()
            if self.level >= need:
                self.level -= amount
                return
        async with self._lock:
            self._refill()
            # The tolerance: a float sleep of exactly the shortfall can leave a shortfall of 1e-16,
            # and a sleep that small does not move a clock.
            while need - self.level > 1e-9:
                await self._sleep((need - self.level) / self.rate)
                self._refill()
            self.level -= amount

    def give_back(self, amount: float) -> None:
        """Returns ``amount`` (negative: takes more), e.g. an estimate corrected by actual usage."""
        self._refill()
        self.level = min(self.capacity, self.level + amount)
