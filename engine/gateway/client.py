"""ManagedClient: a backend behind its endpoint's limits, retries and timeout (the gateway's client).

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
count added to their message; a call that so got no answer is reported to the trace
(:func:`engine.core.attribution.report_failed_call`: a row of ``llm_calls`` with its error, retries and
queued time), unless the model did answer and the answer was refused (BadOutput: the backend recorded
that call already). While the backend runs, the call's queued seconds and retries are
in :func:`engine.core.attribution.current_call_stats`, so the executor's usage listener (which runs
inside the backend's ``create``) can put them on the trace. Buckets and backoff read an injectable
clock and sleep, so tests of minute-scale limits run in milliseconds; the timeout is always real time.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from autogen_core.models import CreateResult, LLMMessage, RequestUsage
from autogen_core.tools import Tool, ToolSchema

from agents.backends.base import ChatRequest, RecordingClient, UsageListener
from agents.errors import BadOutput, LLMError, RateLimited
from engine.core.attribution import FailedCall, report_failed_call
from engine.gateway.endpoint import Endpoint, Tally

__all__ = ["BeforeCall", "ManagedClient"]

log = structlog.get_logger(__name__)

BeforeCall = Callable[[], Awaitable[None]]


def _annotate(error: LLMError, retries: int, why: str) -> None:
    # The same exception object (its class and fields are what callers match on), its message
    # extended with what the gateway did.
    error.args = (f"{error.args[0] if error.args else error} [{why}; {retries} retries]",)


class ManagedClient(RecordingClient):
    """``inner`` behind its endpoint's limits, retries and timeout; everything else is ``inner``'s.

    A RecordingClient subclass (like the tests' FaultyClient) so the executor's call attribution and
    ``backend_label`` see the backend it wraps: ``provider``, ``config`` and the
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
        # On the backend, which records every call (and keeps each listener once).
        self.inner.add_usage_listener(listener)

    def _estimate(self, request: ChatRequest) -> int:
        max_tokens = request.extra_create_args.get("max_tokens", self.inner.config.max_tokens)
        return self.inner.count_tokens(request.messages) + int(max_tokens)

    async def _create(self, request: ChatRequest) -> CreateResult:
        ep = self.endpoint
        if self._before_call is not None:
            await self._before_call()
        ep.calls += 1
        counted = ep.tokens is not None or (ep.gate is not None and ep.gate.counts_tokens)
        estimate = self._estimate(request) if counted else 0
        tally = Tally()
        identity: str | None = None
        started = time.perf_counter()

        async def call() -> CreateResult:
            return await request.send(self.inner)

        while True:
            try:
                result = await ep.attempt(call, tally, estimate=estimate, model=self.inner.config.model)
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
                    identity = identity or self.inner.hash_request(request)
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
                    if not isinstance(exc, BadOutput):
                        self._report_failed(request, exc, tally, time.perf_counter() - started)
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

    def _report_failed(self, request: ChatRequest, exc: LLMError, tally: Tally, elapsed: float) -> None:
        c = self.inner.config
        report_failed_call(FailedCall(
            provider=self.inner.provider, request_model=c.model,
            request_hash=self.inner.hash_request(request),
            input_tokens=self.inner.count_tokens(request.messages), latency_s=elapsed,
            queued_s=tally.queued_s, retries=tally.retries, error=f"{type(exc).__name__}: {exc}",
            temperature=c.temperature, max_tokens=c.max_tokens, seed=c.seed, server_address=c.base_url))

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
