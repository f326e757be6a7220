"""Stage 2: the super-node grammar and per-seed dialog plans.

``PlanContext`` (a seed with its profiles as of the target time) goes into a planner
(``SamplingPlanner``, or ``LLMPlanner`` with the sampler as fallback), which returns a ``DialogPlan``:
a path of the grammar with slot bindings grounded in the profiles. ``check_plan`` verifies any plan.
"""

from planners.binder import Choices
from planners.context import PlanContext
from planners.errors import (
    BindingError,
    ContextError,
    GrammarError,
    LLMPlanError,
    NoFeasiblePathError,
    PathError,
    PlanError,
)
from planners.grammar import Grammar, GrammarSpec, StateSpec, default_grammar, load_grammar
from planners.nodes import CATALOG, NodeType, Precondition, node_type
from planners.plan import (
    Acceptance,
    Clarification,
    CommunityFact,
    Critique,
    DialogPlan,
    Inquiry,
    Justification,
    NegativeSlot,
    NodeBinding,
    Replanning,
    SkippedNegative,
    TargetSlot,
    UserAspectFact,
)
from planners.planner import Planner
from planners.sampler import PlanConfig, PlanKnobs, SamplingPlanner
from planners.validate import check_plan

# The LLM planner imports autogen (about 0.5 s): loaded when first used, not with the package.
_LAZY = {"LLMPlanner": "planners.llm_planner", "LLMPlanAnswer": "planners.llm_planner"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'planners' has no attribute {name!r}")


__all__ = [
    "CATALOG",
    "Acceptance",
    "BindingError",
    "Choices",
    "Clarification",
    "CommunityFact",
    "ContextError",
    "Critique",
    "DialogPlan",
    "Grammar",
    "GrammarError",
    "GrammarSpec",
    "Inquiry",
    "Justification",
    "LLMPlanAnswer",
    "LLMPlanError",
    "LLMPlanner",
    "NegativeSlot",
    "NoFeasiblePathError",
    "NodeBinding",
    "NodeType",
    "PathError",
    "PlanConfig",
    "PlanContext",
    "PlanError",
    "PlanKnobs",
    "Planner",
    "Precondition",
    "Replanning",
    "SamplingPlanner",
    "SkippedNegative",
    "StateSpec",
    "TargetSlot",
    "UserAspectFact",
    "check_plan",
    "default_grammar",
    "load_grammar",
    "node_type",
]
