"""The local backend: SmolLM2-135M run by llama.cpp in process, and the same model over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from autogen_core.models import CreateResult, SystemMessage, UserMessage
from pydantic import BaseModel, Field

from agents.backends import BackendConfig, ModelInfoConfig, make_client
from agents.backends.http_backend import HttpBackend
from agents.backends.local import LocalBackend
from agents.backends.openai_backend import OpenAIBackend
from agents.errors import BackendConfigError, LLMRequestRejected, UnsupportedRequest

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed: pip install '.[local]'")

MESSAGES = [SystemMessage(content="You are a shopping assistant. Answer in one sentence."),
            UserMessage(content="Suggest a gift for someone who likes hiking.", source="user")]


class Gift(BaseModel):
    # Length limits go into the grammar: a 135M model would otherwise ramble past max_tokens.
    item: str = Field(max_length=40)
    reason: str = Field(max_length=80)


def _local(**overrides: object) -> LocalBackend:
    settings: dict[str, Any] = {"kind": "local", "temperature": 0.0, "max_tokens": 32}
    client = make_client(BackendConfig(**(settings | overrides)))
    assert isinstance(client, LocalBackend)
    return client


@pytest.fixture(scope="module")
def local() -> Iterator[LocalBackend]:
    """One model for the module: each llama context pays a slow first call, once is enough."""
    client = _local()
    yield client
    anyio.run(client.close)


@pytest.mark.slow
async def test_a_real_completion_runs_in_a_thread_and_never_blocks_the_loop(local: LocalBackend) -> None:
    await local.load()  # loading is not what this test measures
    ticks: list[float] = []
    done = anyio.Event()

    async def ticker() -> None:
        while not done.is_set():
            ticks.append(time.perf_counter())
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        await anyio.sleep(0)  # let the ticker start
        started = time.perf_counter()
        result = await local.create(MESSAGES)
        finished = time.perf_counter()
        done.set()
    during = [t for t in ticks if started < t < finished]
    # A blocked loop would show no tick at all while the model generates.
    assert len(during) >= 3, f"{len(during)} ticks in {finished - started:.2f} s"

    assert isinstance(result.content, str) and result.content.strip()
    usage = local.last_usage
    assert usage is not None and usage.provider == "llama_cpp" and not usage.tokens_estimated
    assert 0 < usage.output_tokens <= 32
    # count_tokens renders the GGUF's chat template: it agrees exactly with llama.cpp's own count.
    assert local.count_tokens(MESSAGES) == usage.input_tokens
    assert local.token_counter.exact


@pytest.mark.slow
async def test_the_same_seed_gives_the_same_answer_and_json_follows_the_schema(local: LocalBackend) -> None:
    sampled = {"temperature": 0.9, "seed": 7, "max_tokens": 16}
    a = await local.create(MESSAGES, extra_create_args=sampled)
    b = await local.create(MESSAGES, extra_create_args=sampled)
    assert a.content == b.content
    result = await local.create(
        [UserMessage(content="Suggest a gift for a hiker as JSON with item and reason.", source="user")],
        json_output=Gift, extra_create_args={"max_tokens": 64})
    assert isinstance(result.content, str)
    gift = Gift.model_validate_json(result.content)  # the grammar made the schema hold
    assert gift.item


@pytest.mark.slow
async def test_streaming_in_process_yields_pieces_then_the_result(local: LocalBackend) -> None:
    chunks = [c async for c in local.create_stream(MESSAGES)]
    *texts, result = chunks
    assert isinstance(result, CreateResult) and len(texts) > 1
    assert "".join(str(t) for t in texts) == result.content
    plain = await local.create(MESSAGES)  # temperature 0: streaming changes nothing in the answer
    assert plain.content == result.content
    assert local.calls[-2].tokens_estimated  # llama.cpp reports no usage when streaming


@pytest.mark.slow
async def test_a_prompt_beyond_the_context_window_is_rejected_not_retried(local: LocalBackend) -> None:
    too_long = [UserMessage(content="hiking boots " * 1500, source="user")]
    assert local.count_tokens(too_long) > local.config.context_window
    with pytest.raises(LLMRequestRejected, match="context window") as info:
        await local.create(too_long)
    assert not info.value.retryable
    with pytest.raises(UnsupportedRequest, match="no_such_option"):
        await local.create(MESSAGES, extra_create_args={"no_such_option": 1})


def test_a_missing_gguf_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(BackendConfigError, match="not found"):
        _local(model_path=tmp_path / "absent.gguf")


@pytest.mark.slow
async def test_the_model_over_http_through_llama_cpp_server(llama_server: str) -> None:
    config = BackendConfig(kind="openai", model="smollm2", base_url=llama_server, temperature=0.0,
                           max_tokens=48, json_mode="json_object_schema",
                           model_info=ModelInfoConfig(family="smollm2"))
    client = make_client(config)
    assert isinstance(client, HttpBackend)  # the lean client, the default of kind openai
    result = await client.create(MESSAGES)
    assert isinstance(result.content, str) and result.content.strip()
    usage = client.last_usage
    assert usage is not None and not usage.tokens_estimated and usage.output_tokens > 0
    # The server accepts {"type": "json_object", "schema": ...} and constrains the answer with it.
    gift = await client.create(
        [UserMessage(content="Suggest a gift for a hiker as JSON with item and reason.", source="user")],
        json_output=Gift, extra_create_args={"max_tokens": 64})
    assert isinstance(gift.content, str)
    assert set(json.loads(gift.content)) == {"item", "reason"}
    await client.close()
    # Streaming is the SDK client's.
    sdk = make_client(config.model_copy(update={"openai_client": "sdk"}))
    assert isinstance(sdk, OpenAIBackend)
    chunks = [c async for c in sdk.create_stream(MESSAGES, extra_create_args={"max_tokens": 16})]
    assert len(chunks) > 2 and isinstance(chunks[-1], CreateResult)
    await sdk.close()
