"""The LLM call gateway: every model call of a run passes one endpoint's limits, retries and timeout.

One :class:`Endpoint` per endpoint (key: where and which model, see :func:`endpoint_key`): the user
agent, the system agent and an LLM judge on the same server and model share its limits. A
:class:`ManagedClient` wraps a backend (a :class:`RecordingClient`) with its endpoint; its ``create``:

1. awaits the optional ``before_call`` hook (the trace store's backpressure);
2. waits out a pause the endpoint took after a 429 with Retry-After (one 429 pauses every caller of the
   endpoint, not only the one that got it: the limit is the server's, not the call's);
3. takes a slot of the endpoint's :class:`anyio.CapacityLimiter` (``max_concurrency``);
4. takes a request from the requests-per-minute bucket and the estimated tokens (request tokens
   counted offline + ``max_tokens``) from the tokens-per-minute bucket; the token estimate is
   corrected with the usage the call reports;
5. calls the backend under ``anyio.fail_after(timeout_s)``; a timeout becomes :class:`LLMTimeout`.

Steps 2-4 are the call's queued time. A retryable :class:`LLMError` (429, timeout, 5xx, dropped
connection) gives its slot back, sleeps, and tries again, up to ``max_retries`` times:

- without Retry-After: full jitter, ``uniform(0, min(backoff_max_s, backoff_base_s * 2**(retry-1)))``,
  drawn from a ``random.Random`` seeded by (run seed, request hash, retry), so a seeded run waits
  the same every time;
- with Retry-After: the server's figure is honoured, never shortened (retrying earlier only earns
  another 429), plus a jitter below ``backoff_base_s`` so a crowd of callers does not return at one
  instant. A Retry-After above ``retry_after_max_s`` is not waited for: the call fails at once,
  naming both figures (``backoff_max_s`` bounds our own guesses, not the server's explicit word).

Non-retryable errors and the last error after ``max_retries`` are raised as they are, with the retry
count added to their message. While the backend runs, :func:`current_call_stats` gives the call's
queued seconds and retries, so the executor's usage listener (which runs inside the backend's
``create``) can put them on the trace. Buckets and backoff read an injectable clock and sleep, so
tests of minute-scale limits run in milliseconds; the timeout is always real time.
"""

from __future__ import annotations

import contextvars
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import anyio
import structlog
from autogen_core import CancellationToken
from autogen_core.models import CreateResult, LLMMessage, RequestUsage
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel, ConfigDict, Field

from agents.backends.base import RecordingClient, UsageListener
from agents.backends.config import BackendConfig
from agents.errors import LLMError, LLMTimeout, RateLimited
from profiling.errors import ConvRecError

__all__ = [
    "CallStats",
    "ClusterGate",
    "Endpoint",
    "EndpointLimits",
    "EndpointRegistry",
    "EndpointStats",
    "GatewayConfigError",
    "ManagedClient",
    "TokenBucket",
    "current_call_stats",
    "endpoint_key",
]

log = structlog.get_logger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
BeforeCall = Callable[[], Awaitable[None]]


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


@dataclass(frozen=True, slots=True)
class CallStats:
    """What the gateway spent on the call now running: seconds queued and failed tries before it."""

    queued_s: float
    retries: int


_CALL_STATS: contextvars.ContextVar[CallStats | None] = contextvars.ContextVar(
    "convrec_gateway_call_stats", default=None)


def current_call_stats() -> CallStats | None:
    """The gateway's figures for the call in progress (None outside a managed call)."""
    return _CALL_STATS.get()


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
    queued_s: float = Field(description="total seconds calls waited for pause, limiter and buckets")


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


def endpoint_key(config: BackendConfig) -> str:
    """Where calls go and to which model: ``<base_url or backend kind>/<model>``."""
    return f"{config.base_url or config.kind}/{config.model}"


class Endpoint:
    """One endpoint's limiter, buckets, 429 pause and counters, shared by every client that calls it."""

    def __init__(self, key: str, limits: EndpointLimits, *, seed: int = 0, clock: Clock = time.monotonic,
                 sleep: Sleep = anyio.sleep, gate: ClusterGate | None = None) -> None:
        self.key = key
        self.gate = gate  # cluster-wide limits on top of this process's (engine.cluster.limits)
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

    def stats(self) -> EndpointStats:
        """The counters now."""
        return EndpointStats(key=self.key, calls=self.calls, succeeded=self.succeeded, failed=self.failed,
                             attempts=self.attempts, retries=self.retries, errors=dict(self.errors),
                             in_flight=self.in_flight, max_in_flight=self.max_in_flight,
                             queued_s=self.queued_s)

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

    async def _attempt(self, call: Callable[[], Awaitable[CreateResult]], tally: _Tally, *, estimate: int,
                      model: str) -> CreateResult:
        """One try of ``call`` within the limits; its queued seconds go into ``tally``, failed or not."""
        started = self.clock()
        await self._wait_pause()
        slot = object()  # a borrower per try: a task may make nested managed calls without clashing
        try:
            # Uncontended, the slot is taken without the two scheduling checkpoints the await costs.
            self.limiter.acquire_on_behalf_of_nowait(slot)
        except anyio.WouldBlock:
            await self.limiter.acquire_on_behalf_of(slot)
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
            stats = _CALL_STATS.set(CallStats(tally.queued_s, tally.retries))
            try:
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
                _CALL_STATS.reset(stats)
                self.in_flight -= 1
        except BaseException:
            if lease is not None:
                self.gate.release(self.key, lease, 0)  # type: ignore[union-attr]
            raise
        finally:
            self.limiter.release_on_behalf_of(slot)
        used = result.usage.prompt_tokens + result.usage.completion_tokens
        if self.tokens is not None:
            self.tokens.give_back(estimate - used)
        if lease is not None:
            self.gate.release(self.key, lease, estimate - used)  # type: ignore[union-attr]
        return result


@dataclass(slots=True)
class _Tally:
    queued_s: float = 0.0
    retries: int = 0


def _annotate(error: LLMError, retries: int, why: str) -> None:
    # The same exception object (its class and fields are what callers match on), its message
    # extended with what the gateway did.
    error.args = (f"{error.args[0] if error.args else error} [{why}; {retries} retries]",)


class ManagedClient(RecordingClient):
    """``inner`` behind its endpoint's limits, retries and timeout; everything else is ``inner``'s.

    A RecordingClient subclass (like tests/fault_clients.FaultyClient) so the executor's
    ``watch_client`` and ``backend_label`` see the backend it wraps: ``provider``, ``config`` and the
    usage log are ``inner``'s, and usage listeners are added to ``inner``, which records every call.
    """

    def __init__(self, inner: RecordingClient, endpoint: Endpoint, *, before_call: BeforeCall | None = None
                 ) -> None:
        super().__init__(inner.config, inner.token_counter)
        self.inner = inner
        self.endpoint = endpoint
        self.provider = inner.provider
        self.calls = inner.calls
        self._before_call = before_call

    def __getattr__(self, name: str) -> Any:
        # Only reached for names this class lacks: the rest of the backend (a fake's ``requests``, ...).
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"ManagedClient({self.inner!r}, endpoint={self.endpoint.key!r})"

    def add_usage_listener(self, listener: UsageListener) -> None:
        # Once: the executor may watch both this client and the one it wraps.
        if listener not in self.inner._listeners:  # our own base class
            self.inner.add_usage_listener(listener)

    def _estimate(self, messages: Sequence[LLMMessage], extra_create_args: Mapping[str, Any]) -> int:
        max_tokens = extra_create_args.get("max_tokens", self.inner.config.max_tokens)
        return self.inner.count_tokens(messages) + int(max_tokens)

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = (),
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        ep = self.endpoint
        if self._before_call is not None:
            await self._before_call()
        ep.calls += 1
        counted = ep.tokens is not None or (ep.gate is not None and ep.gate.counts_tokens)
        estimate = self._estimate(messages, extra_create_args) if counted else 0
        tally = _Tally()
        identity: str | None = None

        async def call() -> CreateResult:
            return await self.inner.create(messages, tools=tools, tool_choice=tool_choice,
                                           json_output=json_output, extra_create_args=extra_create_args,
                                           cancellation_token=cancellation_token)

        while True:
            try:
                result = await ep._attempt(call, tally, estimate=estimate, model=self.inner.config.model)
            except LLMError as exc:
                name = type(exc).__name__
                ep.errors[name] = ep.errors.get(name, 0) + 1
                why: str | None = None
                wait = 0.0
                if not exc.retryable:
                    why = f"{name} is not retryable"
                elif tally.retries >= ep.limits.max_retries:
                    why = f"gave up after max_retries={ep.limits.max_retries}"
                else:
                    identity = identity or self.inner._hash(messages, json_output, extra_create_args)
                    backoff = ep.backoff(exc, tally.retries + 1, identity)
                    if backoff is None:
                        after = exc.retry_after if isinstance(exc, RateLimited) else None
                        why = (f"Retry-After {after} s exceeds "
                               f"retry_after_max_s={ep.limits.retry_after_max_s:g}")
                    else:
                        wait = backoff
                if why is not None:
                    ep.failed += 1
                    _annotate(exc, tally.retries, why)
                    raise
                if isinstance(exc, RateLimited) and exc.retry_after is not None:
                    ep.pause(exc.retry_after)
                tally.retries += 1
                ep.retries += 1
                log.info("llm_retry", endpoint=ep.key, error=name, retry=tally.retries, wait_s=round(wait, 3))
            else:
                ep.succeeded += 1
                return result
            # Outside the except block, so the slot is free and the error's traceback is let go.
            await ep.sleep(wait)

    async def create_stream(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = (),
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        """Through :meth:`create` (retrying a half-streamed answer would repeat text): the text, then
        the result."""
        result = await self.create(messages, tools=tools, tool_choice=tool_choice, json_output=json_output,
                                   extra_create_args=extra_create_args, cancellation_token=cancellation_token)
        if isinstance(result.content, str) and result.content:
            yield result.content
        yield result

    def actual_usage(self) -> RequestUsage:
        return self.inner.actual_usage()

    def total_usage(self) -> RequestUsage:
        return self.inner.total_usage()

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = ()) -> int:
        return self.inner.count_tokens(messages, tools=tools)

    def remaining_tokens(self, messages: Sequence[LLMMessage], *,
                         tools: Sequence[Tool | ToolSchema] = ()) -> int:
        return self.inner.remaining_tokens(messages, tools=tools)

    async def close(self) -> None:
        """Closes the wrapped backend."""
        await self.inner.close()


class EndpointRegistry:
    """One :class:`Endpoint` per key for a run; :meth:`wrap` puts a backend behind its endpoint."""

    def __init__(self, *, seed: int = 0, clock: Clock = time.monotonic, sleep: Sleep = anyio.sleep,
                 gate: ClusterGate | None = None) -> None:
        self.seed = seed
        self._clock = clock
        self._sleep = sleep
        self._gate = gate
        self._endpoints: dict[str, Endpoint] = {}

    def endpoint(self, key: str, limits: EndpointLimits | None = None) -> Endpoint:
        """The endpoint of ``key``, made on first use (GatewayConfigError if ``limits`` differ from its)."""
        ep = self._endpoints.get(key)
        if ep is None:
            ep = Endpoint(key, limits or EndpointLimits(), seed=self.seed, clock=self._clock,
                          sleep=self._sleep, gate=self._gate)
            self._endpoints[key] = ep
        elif limits is not None and limits != ep.limits:
            raise GatewayConfigError(f"endpoint {key} already has limits {ep.limits.model_dump()}; "
                                     f"a client asked for {limits.model_dump()}")
        return ep

    def wrap(self, client: RecordingClient, limits: EndpointLimits | None = None, *,
             before_call: BeforeCall | None = None) -> ManagedClient:
        """``client`` behind the endpoint of its config (already managed: re-wrapped around its inner)."""
        inner = client.inner if isinstance(client, ManagedClient) else client
        endpoint = self.endpoint(endpoint_key(inner.config), limits)
        return ManagedClient(inner, endpoint, before_call=before_call)

    @property
    def endpoints(self) -> list[Endpoint]:
        return list(self._endpoints.values())

    def stats(self) -> list[EndpointStats]:
        """Every endpoint's counters, in the order they were made."""
        return [ep.stats() for ep in self._endpoints.values()]
