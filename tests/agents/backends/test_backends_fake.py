"""The fake client: a real ChatCompletionClient whose answer is a function of the prompt."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import TextMessage
from autogen_core import CancellationToken
from autogen_core.models import CreateResult, LLMMessage, RequestUsage, SystemMessage, UserMessage
from pydantic import BaseModel

from agents.backends import FakeChatClient
from agents.errors import BadOutput, RateLimited, UnsupportedRequest


class Verdict(BaseModel):
    ok: bool
    reasons: list[str]


def shout(messages: Sequence[LLMMessage]) -> str:
    last = messages[-1].content
    assert isinstance(last, str)
    return last.upper()


async def test_the_answer_depends_on_the_prompt() -> None:
    client = FakeChatClient(shout)
    a = await client.create([UserMessage(content="quiet cafe", source="user")])
    b = await client.create([UserMessage(content="loud bar", source="user")])
    assert (a.content, b.content) == ("QUIET CAFE", "LOUD BAR")
    assert [m[-1].content for m in client.requests] == ["quiet cafe", "loud bar"]
    # Usage is recorded like any backend's, counted by the heuristic (and labelled so).
    assert len(client.calls) == 2 and all(c.tokens_estimated for c in client.calls)
    assert client.total_usage().completion_tokens == sum(c.output_tokens for c in client.calls) > 0
    assert a.usage.completion_tokens == client.token_counter.count("QUIET CAFE")


async def test_a_create_result_from_the_handler_keeps_its_usage() -> None:
    def handler(messages: Sequence[LLMMessage]) -> CreateResult:
        return CreateResult(finish_reason="length", content="cut", cached=False,
                            usage=RequestUsage(prompt_tokens=11, completion_tokens=7))

    client = FakeChatClient(handler)
    result = await client.create([UserMessage(content="x", source="user")])
    assert result.finish_reason == "length"
    usage = client.last_usage
    assert usage is not None and (usage.input_tokens, usage.output_tokens) == (11, 7)
    assert not usage.tokens_estimated


async def test_async_handlers_and_raised_errors_pass_through() -> None:
    async def limited(messages: Sequence[LLMMessage]) -> str:
        raise RateLimited("slow down", model="fake", retry_after=1.0)

    with pytest.raises(RateLimited):
        await FakeChatClient(limited).create([UserMessage(content="x", source="user")])


async def test_json_output_is_validated_like_a_real_backend() -> None:
    def judge(messages: Sequence[LLMMessage]) -> str:
        text = str(messages[-1].content)
        if "broken" in text:
            return "{not json"
        return json.dumps({"ok": "target" not in text, "reasons": [text]})

    client = FakeChatClient(judge)
    result = await client.create([UserMessage(content="names the target", source="v")], json_output=Verdict)
    assert Verdict.model_validate_json(str(result.content)) == Verdict(ok=False, reasons=["names the target"])
    with pytest.raises(BadOutput) as info:
        await client.create([UserMessage(content="broken", source="v")], json_output=True)
    assert info.value.content == "{not json"


async def test_unsupported_requests_fail_before_the_handler_runs() -> None:
    client = FakeChatClient(shout)
    with pytest.raises(UnsupportedRequest, match="tool"):
        await client.create([UserMessage(content="x", source="u")],
                            tools=[{"name": "search", "description": "d", "parameters": {}}])
    with pytest.raises(UnsupportedRequest, match="at least one message"):
        await client.create([])
    assert client.requests == []


async def test_it_drives_an_autogen_assistant_agent() -> None:
    client = FakeChatClient(lambda ms: f"{len(ms)} messages, last: {ms[-1].content}")
    agent = AssistantAgent("user_agent", model_client=client, system_message="You are a shopper.")
    response = await agent.on_messages([TextMessage(content="hello", source="system_agent")],
                                       CancellationToken())
    assert isinstance(response.chat_message, TextMessage)
    assert response.chat_message.content == "2 messages, last: hello"
    assert isinstance(client.requests[0][0], SystemMessage)


async def test_streaming_ends_with_the_result() -> None:
    client = FakeChatClient(shout)
    chunks = [c async for c in client.create_stream([UserMessage(content="abc", source="u")])]
    assert chunks[0] == "ABC"
    assert isinstance(chunks[-1], CreateResult) and chunks[-1].content == "ABC"
