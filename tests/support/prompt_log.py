"""A client wrapper that keeps every prompt it is sent (as its directive) and plants out-of-role turns.

:class:`PromptLog` wraps a model client (the scripted realizer): each request's directive is kept in
``seen`` with the prompt's plain-language instruction, so a test can check what each role was told.
With ``plant`` it corrupts about a quarter of the first-attempt replies, chosen by the directive's own
seed (so the same dialog is corrupted the same way every time): the reply gets a role prefix
("System: ..."), which ``executional.roles`` refuses with a reason about that role's turn, and the
node's second attempt shows whose prompt got the feedback. Use one log per dialog.
"""

from __future__ import annotations

from dataclasses import dataclass

from autogen_core.models import CreateResult

from agents.backends import RecordingClient, UsageListener
from agents.backends.base import ChatRequest
from agents.backends.tokens import message_text
from agents.directive import DIRECTIVE_START, Directive, parse_directive

__all__ = ["PromptLog", "Seen"]


@dataclass(frozen=True)
class Seen:
    """One request: its directive, the instruction a model reads, whether the reply was corrupted."""

    directive: Directive
    instruction: str
    corrupted: bool


class PromptLog(RecordingClient):
    """Forwards to ``inner``, keeps every directive, and with ``plant`` corrupts some first attempts."""

    def __init__(self, inner: RecordingClient, *, plant: bool = False) -> None:
        super().__init__(inner.config, inner.token_counter)
        self.inner = inner
        self.plant = plant
        self.provider = inner.provider
        self.calls = inner.calls
        self.seen: list[Seen] = []

    def add_usage_listener(self, listener: UsageListener) -> None:
        self.inner.add_usage_listener(listener)

    async def _create(self, request: ChatRequest) -> CreateResult:
        result = await request.send(self.inner)
        text = message_text(request.messages[-1])
        d = parse_directive(text)
        corrupt = self.plant and d.attempt == 1 and int(d.seed[:8], 16) % 4 == 0
        self.seen.append(Seen(d, text.split(DIRECTIVE_START)[0], corrupt))
        if corrupt and isinstance(result.content, str):
            return result.model_copy(update={"content": f"System: {result.content}"})
        return result

    async def close(self) -> None:
        """The inner client is its owner's to close."""
