"""The openai backend against a real OpenAI-compatible HTTP server on 127.0.0.1 (tests.support).

Both clients of ``kind="openai"`` pass the same tests (``openai_client``: lean, aiohttp and the default,
and sdk); streaming is the SDK client's alone.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
import structlog
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import TextMessage
from autogen_core import CancellationToken
from autogen_core.models import CreateResult, SystemMessage, UserMessage, validate_model_info
from pydantic import BaseModel

from agents.backends import BackendConfig, CallUsage, ModelInfoConfig, make_client
from agents.backends.http_backend import HttpBackend
from agents.backends.openai_backend import OpenAIBackend, parse_retry_after
from agents.errors import (
    BackendConfigError,
    BadOutput,
    LLMRequestRejected,
    LLMServerError,
    LLMTimeout,
    RateLimited,
)
from tests.support.openai_server import Fault, OpenAITestServer


class Preference(BaseModel):
    aspect: str
    polarity: int


def _json_answer(body: dict[str, Any]) -> str:
    # The answer depends on the prompt: the aspect is the last word of the user's message.
    last = body["messages"][-1]["content"].split()[-1]
    return json.dumps({"aspect": last, "polarity": 1})


@pytest.fixture
def server() -> Iterator[OpenAITestServer]:
    with OpenAITestServer() as srv:
        yield srv


@pytest.fixture(params=["lean", "sdk"])
def kind(request: pytest.FixtureRequest) -> str:
    """The openai client under test (``BackendConfig.openai_client``)."""
    return str(request.param)


def _config(srv: OpenAITestServer, kind: str, **overrides: Any) -> BackendConfig:
    base: dict[str, Any] = {"kind": "openai", "model": "smollm2-test", "base_url": srv.base_url,
                            "price_input_per_1m": 2.0, "price_output_per_1m": 8.0, "openai_client": kind}
    return BackendConfig(**(base | overrides))


async def test_plain_completion_answers_from_the_prompt_and_records_usage(
        kind: str, server: OpenAITestServer) -> None:
    client = make_client(_config(server, kind))
    assert isinstance(client, HttpBackend if kind == "lean" else OpenAIBackend)
    seen: list[CallUsage] = []
    client.add_usage_listener(seen.append)
    messages = [SystemMessage(content="Be brief."), UserMessage(content="I like quiet cafes", source="user")]
    result = await client.create(messages)

    assert result.content == "You said: I like quiet cafes"
    assert result.finish_reason == "stop"
    body = server.requests[0].body
    assert body is not None
    assert body["model"] == "smollm2-test" and body["seed"] == 0 and body["max_tokens"] == 256
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    # The test server counts words; the backend must report the server's numbers, not its own.
    prompt_words = 2 + 4  # "Be brief." + "I like quiet cafes"
    answer_words = len(result.content.split())
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (prompt_words, answer_words)
    assert seen == [client.last_usage]
    usage = seen[0]
    assert not usage.tokens_estimated
    assert usage.cost_usd == pytest.approx((prompt_words * 2.0 + answer_words * 8.0) / 1e6)
    assert usage.response_model == "smollm2-test" and usage.latency_s > 0
    attrs = usage.otel_attributes()
    assert attrs["gen_ai.request.model"] == "smollm2-test"
    assert attrs["gen_ai.usage.input_tokens"] == prompt_words
    assert attrs["gen_ai.usage.output_tokens"] == answer_words
    assert attrs["server.address"] == server.base_url
    # extra_create_args override the config's sampling and pass anything else through.
    await client.create(messages, extra_create_args={"max_tokens": 9, "top_p": 0.5})
    override = server.requests[1].body
    assert override is not None and override["max_tokens"] == 9 and override["top_p"] == 0.5
    assert client.total_usage().prompt_tokens == prompt_words * 2 and len(seen) == 2
    await client.close()


async def test_json_object_with_schema_passes_through_in_the_request_body(kind: str) -> None:
    with OpenAITestServer(_json_answer) as srv:
        client = make_client(_config(srv, kind, json_mode="json_object_schema"))
        result = await client.create([UserMessage(content="rate the battery", source="user")],
                                     json_output=Preference)
        await client.close()
        body = srv.requests[0].body
    assert body is not None
    assert body["response_format"] == {"type": "json_object", "schema": Preference.model_json_schema()}
    assert isinstance(result.content, str)
    assert Preference.model_validate_json(result.content) == Preference(aspect="battery", polarity=1)


@pytest.mark.parametrize(("mode", "expected_type"),
                         [("json_schema", "json_schema"), ("json_object", "json_object")])
async def test_other_json_modes_send_their_own_shape(kind: str, mode: str, expected_type: str) -> None:
    with OpenAITestServer(_json_answer) as srv:
        client = make_client(_config(srv, kind, json_mode=mode))
        await client.create([UserMessage(content="rate the screen", source="user")], json_output=Preference)
        await client.close()
        body = srv.requests[0].body
    assert body is not None
    assert body["response_format"]["type"] == expected_type
    if mode == "json_schema":
        assert body["response_format"]["json_schema"]["schema"] == Preference.model_json_schema()


async def test_an_answer_that_is_not_the_requested_json_is_bad_output(
        kind: str, server: OpenAITestServer) -> None:
    client = make_client(_config(server, kind, json_mode="json_object_schema"))
    with pytest.raises(BadOutput) as info:
        await client.create([UserMessage(content="hello", source="user")], json_output=Preference)
    await client.close()
    assert info.value.content == "You said: hello"
    assert client.last_usage is not None  # the tokens were spent, so the call is still recorded


async def test_model_info_for_a_non_openai_model_drives_an_autogen_agent(
        kind: str, server: OpenAITestServer) -> None:
    info = ModelInfoConfig(family="smollm2", json_output=True, structured_output=False)
    client = make_client(_config(server, kind, model="SmolLM2-135M-Instruct", model_info=info))
    validate_model_info(client.model_info)
    assert client.model_info["family"] == "smollm2"
    assert client.model_info["structured_output"] is False
    agent = AssistantAgent("system_agent", model_client=client, system_message="Recommend a cafe.")
    response = await agent.on_messages([TextMessage(content="somewhere quiet", source="user")],
                                       CancellationToken())
    await client.close()
    assert isinstance(response.chat_message, TextMessage)
    assert response.chat_message.content == "You said: somewhere quiet"


async def test_count_tokens_works_with_no_network(kind: str, server: OpenAITestServer,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_client(_config(server, kind, model="gpt-4"))

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    messages = [SystemMessage(content="Be brief."), UserMessage(content="hello world", source="user")]
    n = client.count_tokens(messages)
    counter = client.token_counter
    assert counter.exact  # gpt-4 uses cl100k_base, which we ship offline
    # cl100k: "hello world" is 2 tokens, "Be brief." is 3; 3 per message and 3 for the reply.
    assert (counter.count("hello world"), counter.count("Be brief.")) == (2, 3)
    assert n == 2 + 3 + 2 * 3 + 3
    assert client.remaining_tokens(messages) == client.config.context_window - n
    assert not make_client(_config(server, kind, model="llama-3-8b")).token_counter.exact


async def test_the_api_key_never_appears_in_repr_or_logs(kind: str, server: OpenAITestServer,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-convrec-test-7f3a9c1e5b"
    monkeypatch.setenv("CONVREC_TEST_LLM_KEY", secret)
    config = _config(server, kind, api_key_env="CONVREC_TEST_LLM_KEY")
    caplog.set_level(logging.DEBUG)  # every stdlib logger (openai, httpx, aiohttp) at its most verbose
    with structlog.testing.capture_logs() as events:
        client = make_client(config)
        await client.create([UserMessage(content="hi", source="user")])
        await client.close()
    assert server.requests[0].headers["authorization"] == f"Bearer {secret}"  # the key was used...
    resolved = config.resolve_api_key()
    assert resolved is not None
    assert client.last_usage is not None
    texts = [repr(client), str(client), repr(config), config.model_dump_json(), repr(resolved),
             str(resolved), caplog.text, repr(events), client.last_usage.model_dump_json()]
    assert any("llm_call" in repr(e) for e in events)  # ...the call was logged...
    if kind == "sdk":  # ...with the SDK's debug lines (aiohttp, the lean client, logs no request line)...
        assert any(r.name.startswith("openai") for r in caplog.records)
    assert all(secret not in text for text in texts)  # ...and the key is in none of it


def test_a_missing_key_variable_is_named_in_the_error(kind: str, server: OpenAITestServer) -> None:
    with pytest.raises(BackendConfigError, match="CONVREC_TEST_MISSING_KEY"):
        make_client(_config(server, kind, api_key_env="CONVREC_TEST_MISSING_KEY"))


@pytest.mark.parametrize(("fault", "error", "check"), [
    (Fault("status", 429, {"Retry-After": "2"}), RateLimited, lambda e: e.retry_after == 2.0),
    (Fault("status", 429, {"retry-after-ms": "1500"}), RateLimited, lambda e: e.retry_after == 1.5),
    (Fault("status", 429), RateLimited, lambda e: e.retry_after is None),
    (Fault("status", 503), LLMServerError, lambda e: e.status == 503),
    (Fault("status", 500), LLMServerError, lambda e: e.status == 500),
    (Fault("status", 401), LLMRequestRejected, lambda e: e.status == 401 and not e.retryable),
    (Fault("hang", seconds=5.0), LLMTimeout, lambda e: e.retryable),
    (Fault("reset"), LLMServerError, lambda e: e.status is None),
    (Fault("truncate"), LLMServerError, lambda e: e.status is None),
])
async def test_server_faults_become_our_errors(
        kind: str, fault: Fault, error: type[Exception], check: Any) -> None:
    with OpenAITestServer(fault=lambda n, body: fault) as srv:
        client = make_client(_config(srv, kind, timeout_s=0.5))
        with pytest.raises(error) as info:
            await client.create([UserMessage(content="hi", source="user")])
        await client.close()
        assert len(srv.requests) == 1  # the SDK's own retries are off: the engine owns retries
    assert check(info.value)
    assert "smollm2-test" in str(info.value)


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = (now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after({"Retry-After": later}, now=now) == 30.0
    assert parse_retry_after({"Retry-After": "soon"}, now=now) is None
    assert parse_retry_after({}, now=now) is None


async def test_streaming_yields_chunks_then_the_result_with_usage(server: OpenAITestServer) -> None:
    client = make_client(_config(server, "sdk"))
    chunks: list[str | CreateResult] = [c async for c in client.create_stream(
        [UserMessage(content="a stream of words", source="user")])]
    await client.close()
    *texts, result = chunks
    assert isinstance(result, CreateResult)
    assert len(texts) > 1
    assert "".join(str(t) for t in texts) == result.content == "You said: a stream of words"
    assert server.requests[0].body is not None and server.requests[0].body["stream"] is True
    assert client.last_usage is not None and not client.last_usage.tokens_estimated
    assert result.usage.completion_tokens == 6  # words, as the test server counts


async def test_a_server_without_usage_gets_estimated_tokens(kind: str) -> None:
    with OpenAITestServer(report_usage=False) as srv:
        client = make_client(_config(srv, kind))
        result = await client.create([UserMessage(content="count these words please", source="user")])
        await client.close()
    usage = client.last_usage
    assert usage is not None and usage.tokens_estimated
    assert usage.otel_attributes()["convrec.usage_estimated"] is True
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0


async def test_concurrent_calls_reach_the_server_concurrently(kind: str) -> None:
    # The client must not serialise calls: limits belong to the engine's limiter, not here.
    with OpenAITestServer(delay_s=0.3) as srv:
        client = make_client(_config(srv, kind))
        async with anyio.create_task_group() as tg:
            for i in range(6):
                tg.start_soon(client.create, [UserMessage(content=f"call {i}", source="user")])
        await client.close()
        assert srv.max_in_flight == 6
    assert len(client.calls) == 6


async def test_the_lean_client_does_not_stream_but_create_stream_gives_the_whole_answer(
        server: OpenAITestServer) -> None:
    client = make_client(_config(server, "lean"))
    chunks: list[str | CreateResult] = [c async for c in client.create_stream(
        [UserMessage(content="a stream of words", source="user")])]
    await client.close()
    assert chunks[0] == "You said: a stream of words"
    assert isinstance(chunks[1], CreateResult) and chunks[1].content == chunks[0] and len(chunks) == 2
    body = server.requests[0].body
    assert body is not None and "stream" not in body


async def test_a_key_echoed_in_an_error_body_is_redacted(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-convrec-echo-91b2c3d4e5"
    monkeypatch.setenv("CONVREC_TEST_LLM_KEY", secret)
    fault = Fault("status", 400, echo_headers=True)
    with OpenAITestServer(fault=lambda n, body: fault) as srv:
        client = make_client(_config(srv, kind, api_key_env="CONVREC_TEST_LLM_KEY"))
        with pytest.raises(LLMRequestRejected) as info:
            await client.create([UserMessage(content="hi", source="user")])
        await client.close()
    assert info.value.status == 400 and "400" in str(info.value)
    assert secret not in str(info.value) and secret not in info.value.message
