"""The base of the rule validators: a synchronous list of reasons, wrapped as a Verdict."""

from __future__ import annotations

import re
from typing import Literal

from agents.dialog import Feedback, Speaker, ValidationInput, Verdict
from agents.validators.view import AttemptView

__all__ = ["RuleValidator", "cited_in", "to_node", "to_role"]


def to_role(role: Speaker, text: str, *cited: str) -> Feedback:
    """A reason about ``role``'s turn; ``cited`` are the spans of that turn's text it quotes."""
    return Feedback(role=role, text=text, cited=tuple(c for c in cited if c))


def to_node(text: str) -> Feedback:
    """A reason about the node as a whole (its shape), which both sides hear."""
    return Feedback(role=None, text=text)


_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"")


def cited_in(reason: str, text: str) -> tuple[str, ...]:
    """The quoted spans of ``reason`` that are text of the turn ``text`` (what the reason cites)."""
    spans = (a or b for a, b in _QUOTED.findall(reason))
    return tuple(dict.fromkeys(s for s in spans if s in text))


class RuleValidator:
    """A rule validator: ``reasons`` lists what is wrong (empty: passed), each for the role it concerns."""

    name: str = ""
    kind: Literal["executional", "behavioral"] = "executional"

    async def check(self, data: ValidationInput) -> Verdict:
        """The verdict on one node attempt."""
        return self.verdict(data)

    def verdict(self, data: ValidationInput) -> Verdict:
        """The verdict, computed synchronously (rule checks never wait on anything)."""
        feedback = tuple(self.reasons(AttemptView(data)))
        return Verdict(validator=self.name, kind=self.kind, judge="rule", passed=not feedback,
                       reasons=tuple(f.text for f in feedback), feedback=feedback)

    def reasons(self, view: AttemptView) -> list[Feedback]:
        """What is wrong with the attempt, one retry-ready sentence each (empty: it passed)."""
        raise NotImplementedError
