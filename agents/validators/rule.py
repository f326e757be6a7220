"""The base of the rule validators: a synchronous list of reasons, wrapped as a Verdict."""

from __future__ import annotations

from typing import Literal

from agents.dialog import ValidationInput, Verdict
from agents.validators.view import AttemptView

__all__ = ["RuleValidator"]


class RuleValidator:
    """A rule validator: ``reasons`` lists what is wrong (empty: passed)."""

    name: str = ""
    kind: Literal["executional", "behavioral"] = "executional"

    async def check(self, data: ValidationInput) -> Verdict:
        """The verdict on one node attempt."""
        return self.verdict(data)

    def verdict(self, data: ValidationInput) -> Verdict:
        """The verdict, computed synchronously (rule checks never wait on anything)."""
        reasons = tuple(self.reasons(AttemptView(data)))
        return Verdict(validator=self.name, kind=self.kind, judge="rule", passed=not reasons, reasons=reasons)

    def reasons(self, view: AttemptView) -> list[str]:
        """What is wrong with the attempt, one retry-ready sentence each (empty: it passed)."""
        raise NotImplementedError
