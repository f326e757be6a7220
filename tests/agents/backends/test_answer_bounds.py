"""Bounded answers: an answer over the character or token limit is refused and recorded cut; a usage
figure the text makes implausible is replaced by our own count (what --tpm and --budget-usd see)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from autogen_core.models import CreateResult, LLMMessage, RequestUsage, UserMessage

from agents.backends import BackendConfig, FakeChatClient
from agents.backends.bounds import REFUSED_MARK, plausible, refused_reason
from agents.errors import AnswerTooLong, BadOutput
from engine.gateway import EndpointLimits, EndpointRegistry
from tests.support.clocks import FakeTime

MSG = [UserMessage(content="say something short", source="test")]


def _client(answer: str | CreateResult, **config: object) -> FakeChatClient:
    def handler(messages: Sequence[LLMMessage]) -> str | CreateResult:
        return answer

    return FakeChatClient(handler, config=BackendConfig(kind="scripted", model="fake", **config))  # type: ignore[arg-type]


async def test_an_answer_over_the_character_limit_is_refused_and_recorded_cut() -> None:
    client = _client("x" * 2_000_000, max_answer_chars=1000, max_tokens=10_000)
    with pytest.raises(AnswerTooLong) as info:
        await client.create(MSG)
    assert isinstance(info.value, BadOutput)  # a failed attempt for the executor, not a failed call
    assert "2,000,000 characters (the limit is 1,000)" in str(info.value)
    (call,) = client.calls
    assert call.response_text.startswith("x" * 1000 + REFUSED_MARK)
    assert len(call.response_text) < 1100
    assert refused_reason(call.response_text) == "2,000,000 characters (the limit is 1,000)"
    # Tokens of the whole answer, extrapolated from what was counted: what the tpm bucket is charged.
    assert call.output_tokens == 500_000 and call.tokens_estimated
    assert info.value.tokens_used == call.input_tokens + call.output_tokens


async def test_an_answer_over_the_token_limit_is_refused_even_under_the_character_limit() -> None:
    client = _client("word " * 200, max_tokens=64)  # 1,000 characters, 250 tokens > 2 x 64 + 32
    with pytest.raises(AnswerTooLong, match="250 tokens counted locally"):
        await client.create(MSG)
    ok = _client("word " * 20, max_tokens=64)
    assert (await ok.create(MSG)).content == "word " * 20


@pytest.mark.parametrize(("claimed", "kept"), [(1, False), (5_000, False), (190, True), (None, False)])
async def test_an_implausible_usage_figure_is_replaced_by_our_count(claimed: int | None, kept: bool) -> None:
    text = "a" * 800  # 200 tokens by the 4-characters rule of the fake's counter
    answer: str | CreateResult = text if claimed is None else CreateResult(
        finish_reason="stop", content=text, cached=False,
        usage=RequestUsage(prompt_tokens=5, completion_tokens=claimed))
    client = _client(answer, max_tokens=400)
    result = await client.create(MSG)
    (call,) = client.calls
    assert result.usage.completion_tokens == call.output_tokens == (claimed if kept else 200)
    assert call.tokens_estimated is not kept
    assert plausible(190, 800) and not plausible(1, 800) and not plausible(5_000, 800)


async def test_the_token_bucket_is_charged_what_a_refused_answer_spent() -> None:
    fake = FakeTime()
    registry = EndpointRegistry(clock=fake.clock, sleep=fake.sleep)
    client = registry.wrap(_client("y" * 40_000, max_answer_chars=4000, max_tokens=40),
                           EndpointLimits(tpm=600_000, max_retries=0))  # a 10,000-token bucket
    bucket = client.endpoint.tokens
    assert bucket is not None
    with pytest.raises(AnswerTooLong) as info:
        await client.create(MSG)
    # The estimate (prompt + max_tokens) was taken, then corrected to the 10,000 tokens really sent.
    assert info.value.tokens_used > 10_000
    assert bucket.level == pytest.approx(bucket.capacity - info.value.tokens_used)
    # A refused answer is not a failed call: the trace has its (cut) call already.
    assert client.endpoint.stats().errors == {"AnswerTooLong": 1}
