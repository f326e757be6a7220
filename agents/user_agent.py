"""The user agent: plays a persona over the seed's profile, with the target hidden until it is recommended.

It reveals preferences as the plan binds them (the directive of each turn carries only the current
node's slots, so the model is never told the target before the recommend_target node), declines
alternatives for the bound reason and accepts the target. Its ``done`` claim is only "the node's
minimum number of exchanges is reached": validators decide what really happened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autogen_core.models import ChatCompletionClient

from agents.autogen_adapter import AutogenRunner, backend_label
from agents.dialog import AgentReply, NodeRequest, Speaker
from agents.directive import build_directive
from agents.personas import Persona, load_persona
from agents.prompts import build_prompt

__all__ = ["UserAgent"]


class UserAgent:
    """A DialogAgent of role ``user`` backed by any ChatCompletionClient through autogen."""

    role: Speaker = "user"

    def __init__(self, client: ChatCompletionClient, persona: Persona | str | Path = "default", *,
                 embed_directive: bool = True, name: str = "user_agent",
                 memo: dict[Any, Any] | None = None) -> None:
        self.spec = persona if isinstance(persona, Persona) else load_persona(persona, "user")
        if self.spec.role != "user":
            raise ValueError(f"persona {self.spec.name!r} is a {self.spec.role} persona")
        self.persona = self.spec.name
        self.backend = backend_label(client)
        self._embed = embed_directive
        self._runner = AutogenRunner(name, client)
        # What its prompts reuse from turn to turn (one agent plays one dialog at a time; the dialog's
        # other agent may share it: its keys say whose).
        self._memo: dict[Any, Any] = memo if memo is not None else {}

    async def reply(self, request: NodeRequest) -> AgentReply:
        """The user's next message for ``request``."""
        directive = build_directive(request, "user", self.spec, memo=self._memo)
        prompt = build_prompt(directive, self.spec, request.transcript, embed_directive=self._embed,
                              memo=self._memo)
        out = await self._runner.run(prompt)
        return AgentReply(text=out.text.strip(), done=request.exchange + 1 >= request.node.min_turns,
                          backend=self.backend, cut_off=out.cut_off)
