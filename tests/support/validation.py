"""One node attempt put together by hand and judged by the rule validators."""

from __future__ import annotations

from collections.abc import Sequence

from agents.catalog import Catalog
from agents.dialog import Turn, ValidationInput, Validator
from agents.validators import default_validators, run_validators
from planners import SamplingPlanner
from planners.context import PlanContext
from planners.plan import DialogPlan
from profiling.corpus import Item
from tests.support.planner_strategies import rich_context

__all__ = ["CATALOG", "CTX", "PLANNER", "RULES", "attempt_input", "failed", "plan_through"]

PLANNER = SamplingPlanner()
CTX = rich_context()
CATALOG = Catalog({i: Item(id=i, title=f"Title {i}") for i in ("T", "N0", "N1", "X1", "X2")})
RULES: list[Validator] = default_validators()


def plan_through(ctx: PlanContext, *types: str) -> DialogPlan:
    for path, _ in PLANNER.feasible_paths(ctx):
        if all(t in [PLANNER.grammar.type_of(s) for s in path] for t in types):
            return PLANNER.plan(ctx, path=path)
    raise AssertionError(f"no feasible path through {types}")


def attempt_input(
    plan: DialogPlan, node_type: str, lines: Sequence[tuple[str, str]], catalog: Catalog = CATALOG
) -> ValidationInput:
    node = next(n for n in plan.nodes if n.type == node_type)
    turns = tuple(
        Turn(index=k, node_index=node.index, node=node.type, attempt=1, speaker=s, text=t)  # type: ignore[arg-type]
        for k, (s, t) in enumerate(lines)
    )
    return ValidationInput(
        plan=plan, context=CTX, node=node, attempt=1, turns=turns, before=(), catalog=catalog
    )


async def failed(data: ValidationInput) -> dict[str, tuple[str, ...]]:
    return {v.validator: v.reasons for v in await run_validators(RULES, data) if not v.passed}
