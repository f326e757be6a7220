"""Which dialog, node and role a model call belongs to: the one mechanism, and the module that owns it.

An agent calls ``client.create(...)`` with autogen's signature, which has no room for "this call is
dialog D, node 3, attempt 2, the user's turn" (``extra_create_args`` would change the request hash).
So the attribution travels beside the call, in two context variables that only this module touches:

- :func:`call_scope` (the executor, around each agent and validator call): where the call sits, and
  the recorder that emits its trace event. :func:`current_call_position` reads it (the replay client
  serves answers by position when a persona swap changed the prompt).
- :func:`gateway_call` (the gateway, around each try it sends): what the call spent queued and how
  many tries failed before it. :func:`current_call_stats` reads it.

Each backend records its call's usage and tells its usage listeners; :func:`attribute_calls` adds
the listener :func:`_route_usage`, which hands the usage to the recorder of the current scope (a call
outside any dialog, a planner's or a test's, is nobody's to trace). A call that gets no answer at all
(it failed for good, after the gateway's retries) is handed over by the gateway with
:func:`report_failed_call`, so the trace holds it too. Context variables follow each task, so one
client serves many concurrent dialogs.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Protocol

from agents.backends.base import RecordingClient
from agents.backends.usage import CallUsage

__all__ = [
    "CallPosition",
    "CallRecorder",
    "CallStats",
    "FailedCall",
    "PositionKey",
    "attribute_calls",
    "call_scope",
    "current_call_position",
    "current_call_stats",
    "gateway_call",
    "report_failed_call",
]

# (plan hash, node index, attempt, exchange, role): where a call sits in its dialog.
PositionKey = tuple[str, int, int, int | None, str]


class CallRecorder(Protocol):
    """What turns an attributed call into a trace event (the executor's per-dialog recorder)."""

    def llm_call(self, usage: CallUsage, position: CallPosition) -> None: ...

    def llm_call_failed(self, failed: FailedCall, position: CallPosition) -> None: ...


@dataclass(frozen=True, slots=True)
class CallPosition:
    """Where the call in progress sits: its dialog, plan, node, attempt, exchange and role."""

    dialog_id: str
    plan_hash: str
    node_index: int
    attempt: int
    exchange: int | None
    role: str

    @property
    def key(self) -> PositionKey:
        return (self.plan_hash, self.node_index, self.attempt, self.exchange, self.role)


@dataclass(frozen=True, slots=True)
class CallStats:
    """What the gateway spent on the call now running: seconds queued and failed tries before it."""

    queued_s: float
    retries: int


@dataclass(frozen=True, slots=True)
class FailedCall:
    """A call that failed for good: what it asked (its hash, its input tokens counted here), what it
    spent in the gateway, and why it failed (redacted, with the gateway's note on its retries)."""

    provider: str
    request_model: str
    request_hash: str
    input_tokens: int
    latency_s: float
    queued_s: float
    retries: int
    error: str
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    server_address: str | None = None


@dataclass(frozen=True, slots=True)
class _Scope:
    recorder: CallRecorder
    position: CallPosition


_SCOPE: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("convrec_call_scope", default=None)
_STATS: contextvars.ContextVar[CallStats | None] = contextvars.ContextVar("convrec_call_stats", default=None)


class call_scope:
    """Calls made inside belong to ``position``; their usage goes to ``recorder``."""

    # A class rather than @contextmanager: it is entered around every model call, and a generator
    # costs several microseconds more per call.
    __slots__ = ("_scope", "_token")

    def __init__(self, recorder: CallRecorder, position: CallPosition) -> None:
        self._scope = _Scope(recorder, position)

    def __enter__(self) -> None:
        self._token = _SCOPE.set(self._scope)

    def __exit__(self, *exc: object) -> None:
        _SCOPE.reset(self._token)


def current_call_position() -> CallPosition | None:
    """Where the call in progress sits (None outside a dialog, e.g. a planner's call)."""
    scope = _SCOPE.get()
    return scope.position if scope is not None else None


class gateway_call:
    """The backend call made inside spent ``stats`` in the gateway (read by the usage listener)."""

    __slots__ = ("_stats", "_token")

    def __init__(self, stats: CallStats) -> None:
        self._stats = stats

    def __enter__(self) -> None:
        self._token = _STATS.set(self._stats)

    def __exit__(self, *exc: object) -> None:
        _STATS.reset(self._token)


def current_call_stats() -> CallStats | None:
    """The gateway's figures for the call in progress (None outside a managed call)."""
    return _STATS.get()


def _route_usage(usage: CallUsage) -> None:
    scope = _SCOPE.get()
    if scope is not None:
        scope.recorder.llm_call(usage, scope.position)


def report_failed_call(failed: FailedCall) -> None:
    """Hand a call that failed for good to the recorder of the current scope (nobody's outside one)."""
    scope = _SCOPE.get()
    if scope is not None:
        scope.recorder.llm_call_failed(failed, scope.position)


def attribute_calls(client: object) -> bool:
    """Attribute ``client``'s calls to the dialog that makes them; False if it records no usage.

    Adding the listener twice is harmless: a RecordingClient keeps each listener once.
    """
    if not isinstance(client, RecordingClient):
        return False
    client.add_usage_listener(_route_usage)
    return True
