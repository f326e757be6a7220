"""The errors of stage 2: invalid grammars, invalid plans and seeds that cannot be planned.

Every error carries ``rule``, a short stable tag naming the rule that failed (``acyclic``,
``elicit_before_recommend``, ``aspect_not_in_profile``, ...), so callers and tests can branch on it
and the LLM planner can record it as its fallback reason::

    ConvRecError
    └── PlanError                     a grammar or a plan breaks a rule (``rule``)
        ├── GrammarError              a grammar cannot be built: bad file, graph or path (``path``)
        ├── PathError                 a path is not a start-to-end path of the grammar
        ├── BindingError              a slot binding refers to a fact the seed's profiles lack
        ├── ContextError              a plan context is inconsistent (profiles of another user/item/time)
        ├── NoFeasiblePathError       no path of the grammar can be bound for this seed
        └── LLMPlanError              an LLM's plan cannot be parsed (bad JSON or shape)
"""

from __future__ import annotations

from collections.abc import Sequence

from profiling.errors import ConvRecError

__all__ = [
    "BindingError",
    "ContextError",
    "GrammarError",
    "LLMPlanError",
    "NoFeasiblePathError",
    "PathError",
    "PlanError",
]


class PlanError(ConvRecError):
    """Raised when a grammar or a plan breaks a rule; ``rule`` names it, ``path`` shows where."""

    def __init__(self, rule: str, message: str, *, path: Sequence[str] | None = None) -> None:
        self.rule = rule
        self.message = message
        self.path = tuple(path) if path is not None else None
        where = f" (path: {' > '.join(self.path)})" if self.path else ""
        super().__init__(f"[{rule}] {message}{where}")


class GrammarError(PlanError):
    """Raised when a grammar (built in code or loaded from a file) breaks a grammar rule."""


class PathError(PlanError):
    """Raised when a sequence of states is not a start-to-end path of the grammar."""


class BindingError(PlanError):
    """Raised when a binding names an aspect, item or fact that is not in the seed's profiles."""


class ContextError(PlanError):
    """Raised when a plan context mixes profiles of another user, item or a later time than the seed."""


class NoFeasiblePathError(PlanError):
    """Raised when the seed's profiles cannot fill the slots of any path of the grammar."""


class LLMPlanError(PlanError):
    """Raised when an LLM's answer is not a JSON plan of the expected shape."""
