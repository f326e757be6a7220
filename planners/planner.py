"""The interface every planner implements (the sampler, the LLM planner), as the executor sees it."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol, runtime_checkable

from planners.context import PlanContext
from planners.plan import DialogPlan

__all__ = ["Planner"]


@runtime_checkable
class Planner(Protocol):
    """Makes a plan per seed, and another path from a node on when a node cannot be realised."""

    name: str

    async def aplan(self, context: PlanContext) -> DialogPlan:
        """The plan of one seed."""
        ...

    def replan(
        self, plan: DialogPlan, completed_nodes: int, avoid: Collection[str] | str, *, context: PlanContext
    ) -> DialogPlan | None:
        """The plan kept up to ``completed_nodes`` and finished on a path without ``avoid``; None if none."""
        ...
