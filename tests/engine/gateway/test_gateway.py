"""The LLM call gateway: limits, buckets, retries, Retry-After and timeouts, on a fake and a real socket.

Fake-client tests use FakeChatClient (the model seam); the HTTP tests run the real openai backend
against tests/support/openai_server.py on 127.0.0.1 with injected faults. Limits, backoff and pauses
run on a fake clock injected into the endpoint (tests.support.clocks); only the per-call timeout is
real time, as it is in the gateway.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Sequence
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from autogen_core.models import CreateResult, LLMMessage, RequestUsage, UserMessage
from pydantic import ValidationError

from agents.autogen_adapter import backend_label
from agents.backends import BackendConfig, CallUsage, FakeChatClient, make_client
from agents.errors import LLMRequestRejected, LLMServerError, LLMTimeout, RateLimited
from agents.scripted import ScriptedClient
from engine.core.attribution import CallStats, current_call_stats
from engine.gateway import (
    Endpoint,
    EndpointLimits,
    EndpointRegistry,
    GatewayConfigError,
    ManagedClient,
    endpoint_key,
)
from tests.support.clocks import FakeTime, InFlight, ManualClock
from tests.support.openai_server import Fault, OpenAITestServer
from tests.support.worlds import WORLD

MSG: list[LLMMessage] = [UserMessage(content="hello there", source="user")]


def _fake_config(**overrides: Any) -> BackendConfig:
    return BackendConfig(**({"kind": "scripted", "model": "fake"} | overrides))


@pytest.fixture
def server() -> Iterator[OpenAITestServer]:
    with OpenAITestServer(delay_s=0.05) as srv:
        yield srv


def _openai(registry: EndpointRegistry, srv: OpenAITestServer, limits: EndpointLimits) -> ManagedClient:
    client = make_client(BackendConfig(kind="openai", model="test-model", base_url=srv.base_url))
    return registry.wrap(client, limits)


# -- concurrency ----------------------------------------------------------------------------------
async def test_concurrency_never_exceeds_the_limit_on_a_fake() -> None:
    fake = FakeTime()
    slow = InFlight(fake)

    registry = EndpointRegistry(clock=fake.clock, sleep=fake.sleep)
    client = registry.wrap(FakeChatClient(slow), EndpointLimits(max_concurrency=3))
    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(client.create, MSG)
    stats = client.endpoint.stats()
    assert slow.most == 3  # the limit is used and never exceeded
    assert (stats.max_in_flight, stats.in_flight) == (3, 0)
    assert (stats.calls, stats.succeeded, stats.attempts, stats.failed, stats.retries) == (20, 20, 20, 0, 0)
    assert stats.queued_s > 0  # 17 calls waited for a slot


@pytest.mark.slow  # the first openai client of a session imports the SDK: seconds on 2 shared cores
async def test_concurrency_never_exceeds_the_limit_over_http(server: OpenAITestServer) -> None:
    client = _openai(EndpointRegistry(), server, EndpointLimits(max_concurrency=4))
    results: list[str] = []

    async def one(k: int) -> None:
        r = await client.create([UserMessage(content=f"question {k}", source="user")])
        results.append(str(r.content))

    try:
        async with anyio.create_task_group() as tg:
            for k in range(12):
                tg.start_soon(one, k)
    finally:
        await client.close()
    assert sorted(results) == sorted(f"You said: question {k}" for k in range(12))
    assert server.max_in_flight <= 4
    assert client.endpoint.stats().max_in_flight == 4
    assert len(server.requests) == 12


# -- retries ----------------------------------------------------------------------------------------
async def test_retry_after_is_honoured_over_http(server: OpenAITestServer) -> None:
    server.fault = lambda n, body: Fault("status", 429, {"retry-after": "0.3"}) if n == 1 else None
    fake = FakeTime()
    client = _openai(EndpointRegistry(clock=fake.clock, sleep=fake.sleep), server,
                     EndpointLimits(backoff_base_s=0.01))
    try:
        result = await client.create(MSG)
    finally:
        await client.close()
    assert fake.sleeps and fake.sleeps[0] >= 0.3  # the server's figure, never shortened
    assert result.content == "You said: hello there"
    stats = client.endpoint.stats()
    assert (stats.retries, stats.errors, stats.succeeded, stats.attempts) == (1, {"RateLimited": 1}, 1, 2)
    assert len(server.requests) == 2


async def test_a_429_pauses_every_caller_of_the_endpoint() -> None:
    time = ManualClock()
    seen: list[tuple[str, float]] = []

    def handler(messages: Sequence[LLMMessage]) -> str:
        text = str(messages[-1].content)
        seen.append((text, time.now))
        if len(seen) == 1:
            raise RateLimited("slow down", retry_after=0.3)
        return "ok"

    registry = EndpointRegistry(clock=time.clock, sleep=time.sleep)
    client = registry.wrap(FakeChatClient(handler), EndpointLimits(backoff_base_s=0.01))
    async with anyio.create_task_group() as tg:
        tg.start_soon(client.create, [UserMessage(content="first", source="user")])
        await anyio.wait_all_tasks_blocked()  # the first call got its 429 and waits it out
        # A second caller, after the 429 and before its Retry-After ends, waits for the pause too.
        tg.start_soon(client.create, [UserMessage(content="second", source="user")])
        await anyio.wait_all_tasks_blocked()
        assert [text for text, _ in seen] == ["first"]
        time.advance(0.3)
        await anyio.wait_all_tasks_blocked()
        time.advance(0.01)  # the first call's jitter, below backoff_base_s
    second = [t for text, t in seen if text == "second"]
    assert second and second[0] >= 0.3


async def test_429_without_retry_after_and_dropped_connections_back_off_and_retry(
    server: OpenAITestServer,
) -> None:
    faults = {1: Fault("status", 429), 2: Fault("reset"), 3: Fault("status", 503)}
    server.fault = lambda n, body: faults.get(n)
    client = _openai(EndpointRegistry(), server, EndpointLimits(backoff_base_s=0.01, backoff_max_s=0.05))
    try:
        result = await client.create(MSG)
    finally:
        await client.close()
    assert result.content == "You said: hello there"
    stats = client.endpoint.stats()
    assert stats.retries == 3 and stats.succeeded == 1 and stats.failed == 0
    assert stats.errors == {"RateLimited": 1, "LLMServerError": 2}


async def test_retries_are_bounded_and_the_last_error_names_them(server: OpenAITestServer) -> None:
    server.fault = lambda n, body: Fault("status", 503)
    client = _openai(EndpointRegistry(), server, EndpointLimits(max_retries=2, backoff_base_s=0.01))
    try:
        with pytest.raises(LLMServerError, match=r"gave up after max_retries=2; 2 retries") as info:
            await client.create(MSG)
    finally:
        await client.close()
    assert info.value.status == 503
    assert len(server.requests) == 3  # the first try and two retries
    stats = client.endpoint.stats()
    assert (stats.retries, stats.failed, stats.succeeded, stats.errors) == (2, 1, 0, {"LLMServerError": 3})


async def test_non_retryable_errors_are_not_retried() -> None:
    calls: list[int] = []

    def handler(_: Sequence[LLMMessage]) -> str:
        calls.append(1)
        raise LLMRequestRejected("bad key", status=401)

    client = EndpointRegistry().wrap(FakeChatClient(handler), EndpointLimits(backoff_base_s=0.01))
    with pytest.raises(LLMRequestRejected, match="LLMRequestRejected is not retryable; 0 retries"):
        await client.create(MSG)
    assert len(calls) == 1
    stats = client.endpoint.stats()
    assert (stats.failed, stats.retries, stats.errors) == (1, 0, {"LLMRequestRejected": 1})


async def test_a_retry_after_beyond_the_limit_fails_at_once() -> None:
    calls: list[int] = []

    def handler(_: Sequence[LLMMessage]) -> str:
        calls.append(1)
        raise RateLimited("come back in an hour", retry_after=3600)

    client = EndpointRegistry().wrap(FakeChatClient(handler), EndpointLimits(retry_after_max_s=1.0))
    with pytest.raises(RateLimited, match=r"Retry-After 3600.* exceeds retry_after_max_s=1"):
        await client.create(MSG)
    assert len(calls) == 1


# -- timeouts ---------------------------------------------------------------------------------------
async def test_a_hung_call_times_out_as_llm_timeout() -> None:
    async def hang(_: Sequence[LLMMessage]) -> str:
        await anyio.sleep(30)
        return "too late"

    client = EndpointRegistry().wrap(FakeChatClient(hang), EndpointLimits(timeout_s=0.1, max_retries=0))
    started = time.perf_counter()
    with pytest.raises(LLMTimeout, match=r"no answer within 0\.1 s"):
        await client.create(MSG)
    assert time.perf_counter() - started >= 0.1
    stats = client.endpoint.stats()
    assert (stats.failed, stats.in_flight, stats.errors) == (1, 0, {"LLMTimeout": 1})


async def test_a_hung_server_times_out_and_the_retry_succeeds(server: OpenAITestServer) -> None:
    server.fault = lambda n, body: Fault("hang", seconds=3.0) if n == 1 else None
    client = _openai(EndpointRegistry(), server,
                     EndpointLimits(timeout_s=0.3, max_retries=1, backoff_base_s=0.01))
    try:
        result = await client.create(MSG)
    finally:
        await client.close()
    assert result.content == "You said: hello there"
    stats = client.endpoint.stats()
    assert (stats.retries, stats.errors, stats.succeeded) == (1, {"LLMTimeout": 1}, 1)


# -- buckets (fake clock) ---------------------------------------------------------------------------
async def test_the_rpm_bucket_spaces_requests() -> None:
    fake = FakeTime()
    sent: list[float] = []

    def handler(_: Sequence[LLMMessage]) -> str:
        sent.append(fake.now)
        return "ok"

    registry = EndpointRegistry(clock=fake.clock, sleep=fake.sleep)
    client = registry.wrap(FakeChatClient(handler), EndpointLimits(rpm=60))
    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(client.create, MSG)
    assert sent[0] == 0.0
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert len(gaps) == 4 and all(g >= 1.0 - 1e-9 for g in gaps)  # 60 per minute: one a second
    # Call k (0-based) waited k seconds for its request.
    assert client.endpoint.stats().queued_s == pytest.approx(sum(range(5)))


async def test_the_tpm_bucket_bounds_tokens_and_is_corrected_by_actual_usage() -> None:
    async def run(reported: int | None) -> tuple[float, int]:
        fake = FakeTime()
        used = 0

        def handler(messages: Sequence[LLMMessage]) -> CreateResult:
            nonlocal used
            n = reported if reported is not None else client.count_tokens(messages) + 40
            used += n
            return CreateResult(finish_reason="stop", content="ok", cached=False,
                                usage=RequestUsage(prompt_tokens=n - 1, completion_tokens=1))

        registry = EndpointRegistry(clock=fake.clock, sleep=fake.sleep)
        client = registry.wrap(FakeChatClient(handler, config=_fake_config(max_tokens=40)),
                               EndpointLimits(tpm=600))  # 10 tokens a second
        for _ in range(6):
            await client.create(MSG)
        return fake.now, used

    elapsed, used = await run(None)  # each call uses what was estimated
    capacity, rate = 10.0, 10.0
    # Never faster than tpm allows: what the first five used was granted by the time the sixth began.
    assert used * 5 / 6 <= capacity + rate * elapsed + 1e-9
    cheap_elapsed, cheap_used = await run(2)  # each call uses far less than estimated
    assert cheap_used < used and cheap_elapsed < elapsed  # the estimate was given back


# -- determinism, stats on the trace, registry --------------------------------------------------------
async def test_backoff_is_full_jitter_and_reproducible() -> None:
    limits = EndpointLimits(backoff_base_s=0.5, backoff_max_s=4.0)
    a, b, c = (Endpoint("k", limits, seed=s) for s in (7, 7, 8))
    err = LLMServerError("boom")
    waits = [a.backoff(err, r, "req") for r in range(1, 8)]
    assert waits == [b.backoff(err, r, "req") for r in range(1, 8)]
    assert waits != [c.backoff(err, r, "req") for r in range(1, 8)]
    for r, w in enumerate(waits, start=1):
        assert w is not None and 0.0 <= w <= min(4.0, 0.5 * 2 ** (r - 1))
    limited = a.backoff(RateLimited("slow", retry_after=2.0), 1, "req")
    assert limited is not None and 2.0 <= limited < 2.5
    fixed = Endpoint("k", limits.model_copy(update={"jitter": False}))
    assert [fixed.backoff(err, r, "req") for r in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]


async def test_a_seeded_run_waits_the_same_and_the_listener_sees_queue_and_retries() -> None:
    async def run() -> tuple[list[float], list[CallStats | None]]:
        fake = FakeTime()
        tries = {"n": 0}

        def handler(_: Sequence[LLMMessage]) -> str:
            tries["n"] += 1
            if tries["n"] <= 2:
                raise LLMServerError("flaky", status=500)
            return "ok"

        inner = FakeChatClient(handler)
        seen: list[CallStats | None] = []

        def listener(_: CallUsage) -> None:
            seen.append(current_call_stats())

        inner.add_usage_listener(listener)
        registry = EndpointRegistry(seed=3, clock=fake.clock, sleep=fake.sleep)
        client = registry.wrap(inner, EndpointLimits(rpm=60))
        await client.create(MSG)
        return fake.sleeps, seen

    sleeps, seen = await run()
    assert (sleeps, seen) == await run()
    assert seen[0] is not None and seen[0].retries == 2
    # Sleeps: backoff 1, the bucket's refill before try 2, backoff 2, the refill before try 3.
    # The refills (a request a second, less the backoff already slept) are the call's queued time.
    assert len(sleeps) == 4 and sleeps[0] + sleeps[1] == pytest.approx(1.0)
    assert seen[0].queued_s == pytest.approx(sleeps[1] + sleeps[3])
    assert current_call_stats() is None


async def test_registry_shares_an_endpoint_per_server_and_model() -> None:
    registry = EndpointRegistry()
    a = FakeChatClient(lambda m: "a", config=_fake_config(base_url="http://h:1/v1", model="m1"))
    b = FakeChatClient(lambda m: "b", config=_fake_config(base_url="http://h:1/v1", model="m1"))
    c = FakeChatClient(lambda m: "c", config=_fake_config(base_url="http://h:1/v1", model="m2"))
    limits = EndpointLimits(max_concurrency=2)
    ma, mb, mc = registry.wrap(a, limits), registry.wrap(b), registry.wrap(c, limits)
    assert ma.endpoint is mb.endpoint and ma.endpoint is not mc.endpoint
    assert endpoint_key(a.config) == "http://h:1/v1/m1"
    assert [s.key for s in registry.stats()] == ["http://h:1/v1/m1", "http://h:1/v1/m2"]
    with pytest.raises(GatewayConfigError, match="already has limits"):
        registry.wrap(b, EndpointLimits(max_concurrency=3))
    assert registry.wrap(ma).inner is a  # re-wrapping wraps the backend, not the wrapper
    with pytest.raises(ValidationError):
        EndpointLimits(max_concurrency=0)
    with pytest.raises(ValidationError):
        EndpointLimits(burst=3)  # type: ignore[call-arg]


async def test_the_managed_client_is_its_backend_for_everything_else() -> None:
    inner = FakeChatClient(lambda m: "hi there")
    client = EndpointRegistry().wrap(inner)
    usages: list[CallUsage] = []
    client.add_usage_listener(usages.append)
    client.add_usage_listener(usages.append)  # once only
    chunks = [c async for c in client.create_stream(MSG)]
    assert chunks[0] == "hi there" and isinstance(chunks[-1], CreateResult)
    assert len(usages) == 1 and usages[0].provider == "fake"
    assert client.total_usage() == inner.total_usage() and client.last_usage is inner.last_usage
    assert client.count_tokens(MSG) == inner.count_tokens(MSG)
    assert client.model_info == inner.model_info and client.config is inner.config
    assert client.requests is inner.requests  # the backend's own attributes
    scripted = EndpointRegistry().wrap(ScriptedClient())
    assert backend_label(scripted) == "scripted"  # turns are labelled by the backend, not the wrapper
    await client.close()


# -- through the executor ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def prepared_world(session_cache: None) -> Any:
    # The small world of the engine tests and the session's cache: its profiles are computed once.
    from engine.core import prepare_dialog_set
    from profiling.sample_world import load_sample_world

    return prepare_dialog_set(load_sample_world(WORLD), n=2, seed=0)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_a_dialog_through_the_gateway_is_traced_as_a_direct_one(prepared_world: Any) -> None:
    from agents.validators import default_validators
    from engine.core.events import LLMCallRecorded, MemorySink, TickClock

    d = prepared_world.inputs[0]

    async def play(client: Any) -> tuple[Any, MemorySink]:
        sink = MemorySink()
        ex = prepared_world.executor(d, client, default_validators(), sink, clock=TickClock())
        return await ex.run(d.plan, d.context), sink

    direct, direct_sink = await play(ScriptedClient())
    managed = EndpointRegistry().wrap(ScriptedClient(), EndpointLimits(max_concurrency=1))
    via, via_sink = await play(managed)
    assert via.all_turns == direct.all_turns  # backend labels included: "scripted", not the wrapper
    calls = via_sink.of(LLMCallRecorded)
    assert [c.request_hash for c in calls] == [c.request_hash for c in direct_sink.of(LLMCallRecorded)]
    stats = managed.endpoint.stats()
    assert stats.calls == stats.succeeded == len(calls) == via.n_llm_calls > 0
