"""What a dialog run produced (:class:`DialogResult`), with its attempts and rollbacks."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agents.dialog import Turn, Verdict
from agents.validators.scorer import DialogScore
from engine.core.events import DialogStatus
from planners.plan import DialogPlan

__all__ = ["AttemptRecord", "DialogResult", "RollbackRecord"]


class AttemptRecord(BaseModel):
    """One attempt at one node: the verdicts it got and whether it passed."""

    model_config = ConfigDict(frozen=True)

    plan_hash: str
    node_index: int
    node: str
    state: str
    attempt: int
    passed: bool
    verdicts: tuple[Verdict, ...]


class RollbackRecord(BaseModel):
    """A rollback: the node that failed every attempt, and the plan taken instead (None: none left)."""

    model_config = ConfigDict(frozen=True)

    failed_node: int
    failed_state: str
    completed_nodes: int
    avoid: tuple[str, ...]
    reason: str
    new_plan_hash: str | None


class DialogResult(BaseModel):
    """What a dialog run produced: its status, the accepted and all turns, verdicts, rollbacks, final plan."""

    model_config = ConfigDict(frozen=True)

    dialog_key: str
    status: DialogStatus
    reason: str | None = Field(description="why it failed (None when accepted)")
    turns: tuple[Turn, ...] = Field(description="the accepted dialog")
    all_turns: tuple[Turn, ...] = Field(description="every turn said, superseded ones flagged, in order")
    attempts: tuple[AttemptRecord, ...]
    rollbacks: tuple[RollbackRecord, ...]
    plan: DialogPlan = Field(description="the final plan (the replanned one after a rollback)")
    n_llm_calls: int
    score: DialogScore | None = Field(None, description="the judge's scores (None: no judge ran)")

    @property
    def verdicts(self) -> list[Verdict]:
        """Every verdict of every attempt, in order."""
        return [v for a in self.attempts for v in a.verdicts]

    def attempts_per_node(self) -> dict[tuple[str, int], int]:
        """Attempts per (plan hash, node index): a replanned plan's nodes count separately."""
        out: dict[tuple[str, int], int] = {}
        for a in self.attempts:
            key = (a.plan_hash, a.node_index)
            out[key] = max(out.get(key, 0), a.attempt)
        return out
