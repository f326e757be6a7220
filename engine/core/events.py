"""Trace events of one dialog run, and the sinks they go to.

The executor emits one flat, small event per thing that happened: a dialog started, a node attempt
started or ended, a turn was said, an attempt's turns were superseded, a model call was made, a
validator gave a verdict, the dialog rolled back and was replanned, the dialog ended. Issue #6
persists them to SQLite through a bounded stream, so an event holds scalars and short tuples only
(the one exception is :class:`Replanned`, which carries the new plan's JSON: a replay needs it).

Every event carries ``run_id``, ``dialog_id``, a per-dialog ``seq`` (0, 1, 2, ... in emission order)
and ``at`` from an injectable clock: with :class:`TickClock` a scripted run emits byte-identical
events. (``latency_s`` of a model call is measured by the client itself and always varies.)

A sink is anything with a synchronous ``emit(event)``; :class:`MemorySink` keeps them in a list for
tests, in the spirit of structlog's ``capture_logs``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "Clock",
    "DialogEnded",
    "DialogStarted",
    "DialogStatus",
    "LLMCallRecorded",
    "MemorySink",
    "NodeAttemptEnded",
    "NodeAttemptStarted",
    "Replanned",
    "RolledBack",
    "TickClock",
    "TraceEvent",
    "TraceSink",
    "TurnPolished",
    "TurnRecorded",
    "TurnsSuperseded",
    "VerdictRecorded",
    "parse_event",
    "system_clock",
]

DialogStatus = Literal["accepted", "failed_fidelity", "failed_backend"]
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current UTC time (the default clock of live runs)."""
    return datetime.now(UTC)


class TickClock:
    """A deterministic clock: ``start``, then one ``step`` later on every call."""

    def __init__(self, start: datetime = datetime(2000, 1, 1, tzinfo=UTC),
                 step: timedelta = timedelta(milliseconds=1)) -> None:
        self._next = start
        self._step = step

    def __call__(self) -> datetime:
        now = self._next
        self._next = now + self._step
        return now


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    dialog_id: str
    seq: int = Field(ge=0, description="position of the event in its dialog's stream")
    at: datetime


class DialogStarted(_Event):
    """A dialog began on a plan."""

    kind: Literal["dialog_started"] = "dialog_started"
    seed_key: str
    plan_hash: str
    path: tuple[str, ...]
    user_persona: str
    system_persona: str
    user_backend: str
    system_backend: str
    validators: tuple[str, ...]
    max_attempts: int


class NodeAttemptStarted(_Event):
    """An attempt at one node of the current plan began."""

    kind: Literal["node_attempt_started"] = "node_attempt_started"
    plan_hash: str
    node_index: int
    node: str
    state: str
    attempt: int
    feedback: tuple[str, ...] = ()


class TurnRecorded(_Event):
    """One message was said; (node_index, attempt, turn_index) names it."""

    kind: Literal["turn_recorded"] = "turn_recorded"
    plan_hash: str = Field(description="the plan the node belongs to (node indices repeat after a replan)")
    turn_index: int
    node_index: int
    node: str
    attempt: int
    exchange: int
    speaker: Literal["user", "system"]
    text: str
    backend: str
    done: bool = Field(description="the agent's own claim that its part of the node is done")
    realizer: Literal["model", "draft", "scripted"] = Field(
        "model", description="who wrote the text: a model, the scripted realizer, or a draft to polish")


class TurnPolished(_Event):
    """Polish mode: a passed attempt's draft turn was rewritten by the model, or kept (every try refused)."""

    kind: Literal["turn_polished"] = "turn_polished"
    plan_hash: str
    turn_index: int
    node_index: int
    attempt: int
    speaker: Literal["user", "system"]
    text: str = Field(description="what the turn says now: the accepted rewrite, or the draft")
    draft: str
    realizer: Literal["model", "draft"]
    tries: tuple[tuple[str, tuple[str, ...]], ...] = Field(
        description="each rewrite the model wrote, with the reasons it was refused (none: accepted)")


class TurnsSuperseded(_Event):
    """The turns of a failed attempt were flagged superseded (they stay in the trace)."""

    kind: Literal["turns_superseded"] = "turns_superseded"
    plan_hash: str = Field(description="the plan the node belongs to (node indices repeat after a replan)")
    node_index: int
    attempt: int
    turn_indices: tuple[int, ...]


class LLMCallRecorded(_Event):
    """One model call, attributed to the node, attempt and role that made it (GenAI-style fields)."""

    kind: Literal["llm_call"] = "llm_call"
    plan_hash: str = Field(description="the plan the node belongs to (node indices repeat after a replan)")
    node_index: int
    attempt: int
    exchange: int | None = Field(description="None for a validator's call")
    role: str = Field(description="'user', 'system' or 'validator:<name>'")
    provider: str
    request_model: str
    response_model: str | None
    input_tokens: int
    output_tokens: int
    tokens_estimated: bool
    latency_s: float
    cost_usd: float
    finish_reason: str
    request_hash: str
    temperature: float | None
    max_tokens: int | None
    seed: int | None
    server_address: str | None
    response_text: str = Field(default="", description="the answer (replay serves it for the same hash)")
    retries: int = Field(default=0, description="failed tries before this one (the gateway's retries)")
    queued_s: float = Field(default=0.0, description="time spent waiting for the endpoint's limiter")
    error: str | None = Field(default=None, description="None: answered; else why the call failed for good "
                              "(after its retries; no answer, response_text empty)")


class VerdictRecorded(_Event):
    """One validator's verdict on one node attempt."""

    kind: Literal["verdict"] = "verdict"
    plan_hash: str = Field(description="the plan the node belongs to (node indices repeat after a replan)")
    node_index: int
    attempt: int
    validator: str
    validator_kind: Literal["executional", "behavioral"]
    judge: Literal["rule", "llm"]
    passed: bool
    reasons: tuple[str, ...]


class NodeAttemptEnded(_Event):
    """An attempt ended: passed when every validator passed."""

    kind: Literal["node_attempt_ended"] = "node_attempt_ended"
    plan_hash: str = Field(description="the plan the node belongs to (node indices repeat after a replan)")
    node_index: int
    attempt: int
    passed: bool
    n_turns: int
    failed_validators: tuple[str, ...]


class RolledBack(_Event):
    """A node failed every attempt: the dialog went back to the end of the last good node."""

    kind: Literal["rolled_back"] = "rolled_back"
    plan_hash: str
    failed_node: int
    failed_state: str
    completed_nodes: int = Field(description="nodes kept: the dialog continues after these")
    avoid: tuple[str, ...] = Field(description="states the new continuation must not contain")
    reason: str


class Replanned(_Event):
    """The planner gave an alternative path from the rollback point on."""

    kind: Literal["replanned"] = "replanned"
    from_hash: str
    plan_hash: str
    completed_nodes: int
    path: tuple[str, ...]
    plan_json: str


class DialogEnded(_Event):
    """The dialog finished: accepted, or failed (fidelity or backend) with the reason."""

    kind: Literal["dialog_ended"] = "dialog_ended"
    status: DialogStatus
    reason: str | None
    plan_hash: str
    n_turns: int = Field(description="accepted turns")
    n_superseded: int
    n_attempts: int
    n_rollbacks: int
    n_llm_calls: int


TraceEvent = Annotated[
    DialogStarted | NodeAttemptStarted | TurnRecorded | TurnPolished | TurnsSuperseded | LLMCallRecorded
    | VerdictRecorded | NodeAttemptEnded | RolledBack | Replanned | DialogEnded,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[TraceEvent] = TypeAdapter(TraceEvent)


def parse_event(data: str | bytes | dict[str, object]) -> TraceEvent:
    """An event read back from its JSON (or dict) form, typed by its ``kind``."""
    if isinstance(data, dict):
        return _ADAPTER.validate_python(data)
    return _ADAPTER.validate_json(data)


@runtime_checkable
class TraceSink(Protocol):
    """Where trace events go; ``emit`` must not block (the run puts them on a bounded stream)."""

    def emit(self, event: TraceEvent) -> None: ...


E = TypeVar("E", bound=_Event)


class MemorySink:
    """Keeps every event in a list, for tests and small tools."""

    def __init__(self) -> None:
        self.events: list[TraceEvent] = []

    def emit(self, event: TraceEvent) -> None:
        self.events.append(event)

    def __iter__(self) -> Iterator[TraceEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def of(self, kind: type[E], dialog_id: str | None = None) -> list[E]:
        """The events of one class (of one dialog when given), in emission order."""
        return [e for e in self.events if isinstance(e, kind)
                and (dialog_id is None or e.dialog_id == dialog_id)]

    def kinds(self, dialog_id: str | None = None) -> list[str]:
        """The ``kind`` of each event, in order (a compact view for asserting a sequence)."""
        return [e.kind for e in self.events if dialog_id is None or e.dialog_id == dialog_id]
