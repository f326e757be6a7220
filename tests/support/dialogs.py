"""A plan context with its catalog and planner, and what every dialog's event stream must keep."""

from __future__ import annotations

from agents.catalog import Catalog
from engine.core import (
    DialogEnded,
    DialogResult,
    DialogStarted,
    LLMCallRecorded,
    MemorySink,
    NodeAttemptEnded,
    NodeAttemptStarted,
    TurnRecorded,
    TurnsSuperseded,
    VerdictRecorded,
    parse_event,
)
from planners import SamplingPlanner
from profiling.corpus import Item
from tests.support.planner_strategies import rich_context

__all__ = ["CATALOG", "CTX", "PLANNER", "check_stream"]

PLANNER = SamplingPlanner()
CTX = rich_context()
CATALOG = Catalog({p.item: Item(id=p.item, title=p.title) for p in (CTX.target, *CTX.negatives)})


def check_stream(sink: MemorySink, result: DialogResult) -> None:
    """Invariants every dialog's events keep, whatever happened."""
    events = sink.events
    assert [e.seq for e in events] == list(range(len(events)))
    assert isinstance(events[0], DialogStarted) and isinstance(events[-1], DialogEnded)
    assert [e.at for e in events] == sorted(e.at for e in events)
    end = events[-1]
    assert end.status == result.status and end.reason == result.reason
    assert end.n_turns == len(result.turns)
    assert end.n_superseded == sum(t.superseded for t in result.all_turns)
    assert len(sink.of(TurnRecorded)) == len(result.all_turns)
    assert len(sink.of(LLMCallRecorded)) == end.n_llm_calls == result.n_llm_calls
    started, ended = sink.of(NodeAttemptStarted), sink.of(NodeAttemptEnded)
    assert len(ended) == len(result.attempts) and len(started) >= len(ended)
    plans = {e.plan_hash for e in started}  # node-scoped events name the plan their node belongs to
    assert plans == {a.plan_hash for a in result.attempts} | {started[-1].plan_hash}
    node_scoped = (TurnRecorded, TurnsSuperseded, LLMCallRecorded, VerdictRecorded, NodeAttemptEnded)
    assert all(e.plan_hash in plans for e in events if isinstance(e, node_scoped))
    superseded = {(e.node_index, e.attempt) for e in sink.of(TurnsSuperseded)}
    # A failed attempt with no turn (its first answer refused) has nothing to supersede.
    failed = {(e.node_index, e.attempt) for e in ended if not e.passed and e.n_turns}
    if result.status == "failed_backend":  # the attempt cut short by the backend is superseded too
        assert failed <= superseded <= failed | {(started[-1].node_index, started[-1].attempt)}
    else:
        assert superseded == failed
    # Accepted turns are a contiguous transcript; a superseded attempt never sits in it.
    assert [t.index for t in result.turns] == list(range(len(result.turns)))
    assert not any(t.superseded for t in result.turns)
    for e in events:  # everything round-trips through its JSON form (what #6 stores)
        assert parse_event(e.model_dump_json()) == e
