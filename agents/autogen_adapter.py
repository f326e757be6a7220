"""autogen behind our own interface: one AssistantAgent per dialog agent, called directly per turn.

The executor owns the dialog (it supersedes failed attempts, rolls back), so the model must see
exactly the prompt we build, never autogen's memory of earlier calls. :class:`AutogenRunner` keeps
one :class:`AssistantAgent` with its own :class:`UnboundedChatCompletionContext`; each call clears that
context, loads our system message and mirrored transcript into it, and sends the instruction through
``on_messages`` with a fresh CancellationToken. No team, no runtime: DESIGN.md has the measured cost
of those. Calls on one runner are serialised by a lock, because the context is per agent; give each
dialog its own agents (they are cheap) to run dialogs concurrently.

The agent is built with ``system_message=None`` so our system message (in the context) is the only
one, and with no tools: our backends reject tool calls (agents.backends.base).
"""

from __future__ import annotations

import anyio
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import TextMessage
from autogen_core import CancellationToken
from autogen_core.model_context import UnboundedChatCompletionContext
from autogen_core.models import ChatCompletionClient, SystemMessage

from agents.backends.base import RecordingClient
from agents.errors import BadOutput
from agents.prompts import DIRECTOR, Prompt

__all__ = ["AutogenRunner", "backend_label"]


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


class AutogenRunner:
    """Runs a :class:`Prompt` through an autogen AssistantAgent and returns the reply text."""

    def __init__(self, name: str, client: ChatCompletionClient) -> None:
        self.client = client
        self._context = UnboundedChatCompletionContext()
        self._agent = AssistantAgent(name, client, model_context=self._context, system_message=None)
        self._lock = anyio.Lock()

    async def run(self, prompt: Prompt) -> str:
        """The model's answer to ``prompt`` (context reset first; BadOutput if it is not text)."""
        # Uncontended (the usual case: one dialog drives its agents in turn) takes the lock without
        # the scheduling checkpoint that ``async with`` costs; contended calls wait their turn.
        try:
            self._lock.acquire_nowait()
        except anyio.WouldBlock:
            await self._lock.acquire()
        try:
            await self._context.clear()
            await self._context.add_message(SystemMessage(content=prompt.system))
            for message in prompt.history:
                await self._context.add_message(message)
            response = await self._agent.on_messages(
                [TextMessage(content=prompt.instruction, source=DIRECTOR)], CancellationToken()
            )
        finally:
            self._lock.release()
        content = response.chat_message.to_model_text() if response.chat_message is not None else ""
        if not isinstance(content, str):
            raise BadOutput("the agent answered with something other than text", content=repr(content))
        return content
