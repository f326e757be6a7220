"""FakeChatClient: the unit-test seam, a ChatCompletionClient whose answer is a function of the prompt.

Like httpx's ``MockTransport(handler)``: everything above the client (agents, executor, engine) runs
for real, only the model is replaced. The handler may return text, a full CreateResult (its usage is
then taken as exact), an awaitable of either, or raise an LLMError to simulate a failing endpoint.
Usage is recorded like any backend's, with tokens counted by :class:`HeuristicCounter` (approximate).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence

from autogen_core.models import CreateResult, LLMMessage

from agents.backends.base import ChatRequest, Completion, RecordingClient
from agents.backends.config import BackendConfig
from agents.backends.tokens import HeuristicCounter, TokenCounter
from agents.errors import UnsupportedRequest

__all__ = ["FakeChatClient", "FakeHandler"]

FakeAnswer = str | CreateResult
FakeHandler = Callable[[Sequence[LLMMessage]], FakeAnswer | Awaitable[FakeAnswer]]


class FakeChatClient(RecordingClient):
    """A model whose answer is ``handler(messages)``; every request is kept in ``requests``."""

    provider = "fake"

    def __init__(self, handler: FakeHandler, *, model: str = "fake", config: BackendConfig | None = None,
                 counter: TokenCounter | None = None) -> None:
        # kind "scripted" only because a fake needs some kind; make_client never builds a FakeChatClient.
        super().__init__(config or BackendConfig(kind="scripted", model=model), counter or HeuristicCounter())
        self._handler = handler
        self.requests: list[list[LLMMessage]] = []

    async def _complete(self, request: ChatRequest) -> Completion:
        self.requests.append(list(request.messages))
        answer = self._handler(request.messages)
        if inspect.isawaitable(answer):
            answer = await answer
        if isinstance(answer, CreateResult):
            if not isinstance(answer.content, str):
                raise UnsupportedRequest("a fake answer must be text (tool calls are not supported)",
                                         model=self._config.model)
            return Completion(answer.content, answer.finish_reason, answer.usage.prompt_tokens,
                              answer.usage.completion_tokens, self._config.model)
        return Completion(answer, "stop", response_model=self._config.model)

    async def close(self) -> None:
        """Nothing to release."""
