"""The system agent: recommends from the catalog, following the node's acts, justified by community sentiment.

Before each recommend node it searches the catalog in code (agents.search: aspect match between
what the user said and items' community sentiment) and puts the hits into its prompt; the bound
item of the node is what it is told to recommend, and the justifications it is given are the
plan's, taken from the item's community sentiment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from autogen_core.models import ChatCompletionClient

from agents.autogen_adapter import AutogenRunner, backend_label
from agents.dialog import AgentReply, NodeRequest, Speaker
from agents.directive import build_directive
from agents.personas import Persona, load_persona
from agents.prompts import build_prompt
from agents.search import search_catalog
from profiling.profiles import CatalogEntry, ProfileSource

__all__ = ["SEARCH_NODES", "SystemAgent"]

# Only where the system recommends: search hits elsewhere would tempt a model to recommend early.
SEARCH_NODES = frozenset({"recommend_alternative", "recommend_target"})


class SystemAgent:
    """A DialogAgent of role ``system`` backed by any ChatCompletionClient through autogen."""

    role: Speaker = "system"

    def __init__(self, client: ChatCompletionClient, persona: Persona | str | Path = "default", *,
                 profiles: ProfileSource | None = None, catalog_items: Sequence[str] = (),
                 search_k: int = 3, embed_directive: bool = True, name: str = "system_agent",
                 memo: dict[Any, Any] | None = None) -> None:
        self.spec = persona if isinstance(persona, Persona) else load_persona(persona, "system")
        if self.spec.role != "system":
            raise ValueError(f"persona {self.spec.name!r} is a {self.spec.role} persona")
        self.persona = self.spec.name
        self.backend = backend_label(client)
        self._profiles = profiles
        self._items = tuple(catalog_items)
        self._k = search_k
        self._embed = embed_directive
        self._runner = AutogenRunner(name, client)
        # What its prompts reuse from turn to turn (one agent plays one dialog at a time; the dialog's
        # other agent may share it: its keys say whose).
        self._memo: dict[Any, Any] = memo if memo is not None else {}
        # The catalog at a seed's time, computed once: a dialog searches at one time, many times.
        self._catalog: tuple[datetime, list[CatalogEntry]] | None = None

    def _catalog_at(self, request: NodeRequest) -> list[CatalogEntry]:
        if self._profiles is None:
            return []
        at = request.context.seed.target.timestamp
        if self._catalog is None or self._catalog[0] != at:
            self._catalog = (at, self._profiles.catalog_view(self._items, at))
        return self._catalog[1]

    async def reply(self, request: NodeRequest) -> AgentReply:
        """The system's next message for ``request``."""
        hits = (search_catalog(request, k=self._k, catalog=self._catalog_at(request))
                if request.node.type in SEARCH_NODES else [])
        directive = build_directive(request, "system", self.spec, hits, memo=self._memo)
        prompt = build_prompt(directive, self.spec, request.transcript, embed_directive=self._embed,
                              memo=self._memo)
        out = await self._runner.run(prompt)
        return AgentReply(text=out.text.strip(), done=request.exchange + 1 >= request.node.min_turns,
                          backend=self.backend, cut_off=out.cut_off)
