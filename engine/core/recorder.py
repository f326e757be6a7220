"""The trace side of a dialog run: numbers one dialog's events and emits them, model calls included."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from agents.backends.usage import CallUsage
from engine.core.attribution import CallPosition, FailedCall, current_call_stats
from engine.core.events import Clock, LLMCallRecorded, TraceEvent, TraceSink

__all__ = ["Recorder"]


@dataclass
class Recorder:
    """Numbers and emits one dialog's events."""

    run_id: str
    dialog_id: str
    sink: TraceSink
    clock: Clock
    seq: int = 0
    n_llm_calls: int = 0
    plan_hash: str = ""  # of the plan being played (content_hash hashes the whole plan: computed once)
    events: list[TraceEvent] = field(default_factory=list)

    def emit(self, cls: Callable[..., TraceEvent], **fields: object) -> None:
        event = cls(run_id=self.run_id, dialog_id=self.dialog_id, seq=self.seq, at=self.clock(), **fields)
        self.seq += 1
        self.sink.emit(event)

    def position(self, node_index: int, attempt: int, exchange: int | None, role: str) -> CallPosition:
        """Where a call made now sits in this dialog."""
        return CallPosition(self.dialog_id, self.plan_hash, node_index, attempt, exchange, role)

    def llm_call(self, usage: CallUsage, position: CallPosition) -> None:
        self.n_llm_calls += 1
        stats = current_call_stats()  # set by the gateway around the call (None without one)
        self.emit(LLMCallRecorded, plan_hash=position.plan_hash, node_index=position.node_index,
                  attempt=position.attempt, exchange=position.exchange, role=position.role,
                  retries=stats.retries if stats else 0, queued_s=stats.queued_s if stats else 0.0,
                  **usage.model_dump(include=_USAGE_FIELDS))


    def llm_call_failed(self, failed: FailedCall, position: CallPosition) -> None:
        self.n_llm_calls += 1
        self.emit(LLMCallRecorded, plan_hash=position.plan_hash, node_index=position.node_index,
                  attempt=position.attempt, exchange=position.exchange, role=position.role,
                  provider=failed.provider, request_model=failed.request_model, response_model=None,
                  input_tokens=failed.input_tokens, output_tokens=0, tokens_estimated=True,
                  latency_s=failed.latency_s, cost_usd=0.0, finish_reason="error",
                  request_hash=failed.request_hash, temperature=failed.temperature,
                  max_tokens=failed.max_tokens, seed=failed.seed, server_address=failed.server_address,
                  retries=failed.retries, queued_s=failed.queued_s, error=failed.error)


_USAGE_FIELDS = {"provider", "request_model", "response_model", "input_tokens", "output_tokens",
                 "tokens_estimated", "latency_s", "cost_usd", "finish_reason", "request_hash", "temperature",
                 "max_tokens", "seed", "server_address", "response_text"}
