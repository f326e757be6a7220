"""autogen behind our own interface: one AssistantAgent per dialog agent, called directly per turn.

The executor owns the dialog (it supersedes failed attempts, rolls back), so the model must see
exactly the prompt we build, never autogen's memory of earlier calls. :class:`AutogenRunner` keeps
one :class:`AssistantAgent` with its own :class:`UnboundedChatCompletionContext`; each call clears that
context, loads our system message and mirrored transcript into it, and sends the instruction through
``on_messages`` with a fresh CancellationToken. No team, no runtime: DESIGN.md has the measured cost
of those. Calls on one runner are serialised by a lock, because the context is per agent; give each
dialog its own agents (they are cheap) to run dialogs concurrently.

The agent is built with ``system_message=None`` so our system message (in the context) is the only
one, and with no tools: our backends reject tool calls (agents.backends.base). autogen's answer drops
the model's finish reason, so the agent's client is a thin tap that keeps the last one: a reply that
stopped at the token limit is reported as cut off (the executor then fails the attempt).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import TextMessage
from autogen_core import CancellationToken
from autogen_core.model_context import UnboundedChatCompletionContext
from autogen_core.models import (
    ChatCompletionClient,
    CreateResult,
    LLMMessage,
    ModelCapabilities,  # pyright: ignore[reportDeprecated]
    ModelInfo,
    RequestUsage,
    SystemMessage,
)
from autogen_core.tools import Tool, ToolSchema

from agents.backends.base import RecordingClient
from agents.errors import BadOutput
from agents.prompts import DIRECTOR, Prompt

__all__ = ["AutogenRunner", "RunnerReply", "backend_label"]


def backend_label(client: ChatCompletionClient) -> str:
    """What produced a turn, for traces and exports: ``scripted`` or ``<provider>:<model>``."""
    # A wrapper (the engine's gateway, replay) names what it wraps or replays.
    label = getattr(client, "backend_label", None)
    if isinstance(label, str):
        return label
    client = getattr(client, "inner", client)
    if isinstance(client, RecordingClient):
        if client.provider == "scripted":
            return "scripted"
        return f"{client.provider}:{client.config.model}"
    return type(client).__name__


class _FinishTap(ChatCompletionClient):
    """Forwards every call to ``inner`` and keeps the finish reason of the last answer."""

    def __init__(self, inner: ChatCompletionClient) -> None:
        self.inner = inner
        self.finish: str | None = None

    async def create(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = (),
                     tool_choice: Any = "auto", json_output: Any = None,
                     extra_create_args: Mapping[str, Any] = {},
                     cancellation_token: CancellationToken | None = None) -> CreateResult:
        result = await self.inner.create(messages, tools=tools, tool_choice=tool_choice,
                                         json_output=json_output, extra_create_args=extra_create_args,
                                         cancellation_token=cancellation_token)
        self.finish = str(result.finish_reason)
        return result

    async def create_stream(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = (),
                            tool_choice: Any = "auto", json_output: Any = None,
                            extra_create_args: Mapping[str, Any] = {},
                            cancellation_token: CancellationToken | None = None
                            ) -> AsyncGenerator[str | CreateResult, None]:
        async for piece in self.inner.create_stream(
                messages, tools=tools, tool_choice=tool_choice, json_output=json_output,
                extra_create_args=extra_create_args, cancellation_token=cancellation_token):
            if isinstance(piece, CreateResult):
                self.finish = str(piece.finish_reason)
            yield piece

    async def close(self) -> None:
        """The wrapped client is the caller's to close."""

    def actual_usage(self) -> RequestUsage:
        return self.inner.actual_usage()

    def total_usage(self) -> RequestUsage:
        return self.inner.total_usage()

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = ()) -> int:
        return self.inner.count_tokens(messages, tools=tools)

    def remaining_tokens(self, messages: Sequence[LLMMessage], *,
                         tools: Sequence[Tool | ToolSchema] = ()) -> int:
        return self.inner.remaining_tokens(messages, tools=tools)

    @property
    def capabilities(self) -> ModelCapabilities:  # pyright: ignore[reportDeprecated]
        return self.inner.capabilities  # pyright: ignore[reportDeprecated]

    @property
    def model_info(self) -> ModelInfo:
        return self.inner.model_info


@dataclass(frozen=True, slots=True)
class RunnerReply:
    """The model's reply text and whether it stopped at the token limit (finish reason ``length``)."""

    text: str
    cut_off: bool


class AutogenRunner:
    """Runs a :class:`Prompt` through an autogen AssistantAgent and returns the reply."""

    def __init__(self, name: str, client: ChatCompletionClient) -> None:
        self.client = client
        self._tap = _FinishTap(client)
        self._context = UnboundedChatCompletionContext()
        self._agent = AssistantAgent(name, self._tap, model_context=self._context, system_message=None)
        self._lock = anyio.Lock()

    async def run(self, prompt: Prompt) -> RunnerReply:
        """The model's answer to ``prompt`` (context reset first; BadOutput if it is not text)."""
        # Uncontended (the usual case: one dialog drives its agents in turn) takes the lock without
        # the scheduling checkpoint that ``async with`` costs; contended calls wait their turn.
        try:
            self._lock.acquire_nowait()
        except anyio.WouldBlock:
            await self._lock.acquire()
        try:
            self._tap.finish = None
            await self._context.clear()
            await self._context.add_message(SystemMessage(content=prompt.system))
            for message in prompt.history:
                await self._context.add_message(message)
            response = await self._agent.on_messages(
                [TextMessage(content=prompt.instruction, source=DIRECTOR)], CancellationToken()
            )
            finish = self._tap.finish
        finally:
            self._lock.release()
        content = response.chat_message.to_model_text() if response.chat_message is not None else ""
        if not isinstance(content, str):
            raise BadOutput("the agent answered with something other than text", content=repr(content))
        return RunnerReply(content, cut_off=finish == "length")
