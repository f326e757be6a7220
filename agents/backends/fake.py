"""FakeChatClient: the unit-test seam, a ChatCompletionClient whose answer is a function of the prompt.

Like httpx's ``MockTransport(handler)``: everything above the client (agents, executor, engine) runs
for real, only the model is replaced. The handler may return text, a full CreateResult (its usage is
then taken as exact), an awaitable of either, or raise an LLMError to simulate a failing endpoint.
Usage is recorded like any backend's, with tokens counted by :class:`HeuristicCounter` (approximate).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

from autogen_core import CancellationToken
from autogen_core.models import CreateResult, LLMMessage
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from agents.backends.base import RecordingClient
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
        self._check_request(messages, tools, json_output)
        started = time.perf_counter()
        self.requests.append(list(messages))
        answer = self._handler(messages)
        if inspect.isawaitable(answer):
            answer = await answer
        req_hash = self._hash(messages, json_output, extra_create_args)
        if isinstance(answer, CreateResult):
            if not isinstance(answer.content, str):
                raise UnsupportedRequest("a fake answer must be text (tool calls are not supported)",
                                         model=self._config.model)
            return self._finish(
                messages=messages, content=answer.content, finish=answer.finish_reason,
                input_tokens=answer.usage.prompt_tokens, output_tokens=answer.usage.completion_tokens,
                started=started, req_hash=req_hash, response_model=self._config.model,
                json_output=json_output)
        return self._finish(messages=messages, content=answer, finish="stop", input_tokens=None,
                            output_tokens=None, started=started, req_hash=req_hash,
                            response_model=self._config.model, json_output=json_output)

    async def close(self) -> None:
        """Nothing to release."""
