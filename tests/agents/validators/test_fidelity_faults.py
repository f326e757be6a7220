"""The planted-fault suite through the executor: each fault caught, retried, rolled back after 4 failures.

Every fault the executor must catch (target leaked early, an invented item, a preference with the
wrong polarity, a skipped elicitation, a recommendation too early, a reply in the wrong role) is
planted by :class:`tests.fault_clients.FaultyClient` around the scripted realizer. A persistent fault
fails attempts 1..4 of its node, by the right validator only; the attempts' turns stay in the trace,
superseded; then the dialog rolls back and takes another path when the grammar has one, else it ends
``failed_fidelity`` with the reason. A transient fault is fixed by the retry, with the reasons fed back.
"""

from __future__ import annotations

import pytest

from agents.catalog import Catalog
from agents.scripted import ScriptedClient
from agents.system_agent import SystemAgent
from agents.user_agent import UserAgent
from agents.validators import default_validators
from engine.core.events import (
    DialogEnded,
    MemorySink,
    NodeAttemptEnded,
    NodeAttemptStarted,
    Replanned,
    RolledBack,
    TickClock,
    TurnsSuperseded,
    VerdictRecorded,
)
from engine.core.executor import DialogExecutor, DialogResult
from planners import SamplingPlanner, node_type
from planners.context import PlanContext
from planners.plan import DialogPlan
from profiling.corpus import Item
from tests.support.fault_clients import EXPECTED, FAULTS, Fault, FaultyClient
from tests.support.planner_strategies import rich_context

PLANNER = SamplingPlanner()
CTX = rich_context()
CATALOG = Catalog({i: Item(id=i, title=f"Title {i}") for i in ("T", "N0", "N1", "X1", "X2")})


def plan_through(ctx: PlanContext, *types: str) -> DialogPlan:
    for path, _ in PLANNER.feasible_paths(ctx):
        if all(t in [PLANNER.grammar.type_of(s) for s in path] for t in types):
            return PLANNER.plan(ctx, path=path)
    raise AssertionError(f"no feasible path through {types}")


async def run_with(
    fault: Fault,
    plan: DialogPlan,
    *,
    attempts: frozenset[int] | None = None,
    nodes: tuple[str, ...] | None = None,
    role: str | None = None,
) -> tuple[DialogResult, MemorySink, FaultyClient]:
    inner = ScriptedClient()
    faulty = FaultyClient(
        inner, fault, target_title="Title T", catalog_title="Title X1", attempts=attempts, nodes=nodes
    )
    role = role or EXPECTED[fault][0]
    user_client, system_client = (faulty, inner) if role == "user" else (inner, faulty)
    sink = MemorySink()
    ex = DialogExecutor(
        UserAgent(user_client),
        SystemAgent(system_client),
        default_validators(),
        PLANNER,
        sink,
        catalog=CATALOG,
        clock=TickClock(),
    )
    return await ex.run(plan, CTX), sink, faulty


def print_report(result: DialogResult) -> None:
    print(f"\n{result.dialog_key}: {result.status} ({result.reason})")
    for a in result.attempts:
        failed = [v.validator for v in a.verdicts if not v.passed]
        print(f"  node {a.node_index} {a.state} attempt {a.attempt}: {'pass' if a.passed else failed}")


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_persistent_fault_is_caught_retried_four_times_then_rolled_back(fault: Fault) -> None:
    _, kinds, expected = EXPECTED[fault]
    plan = plan_through(CTX, *kinds)
    result, sink, faulty = await run_with(fault, plan)
    print_report(result)
    node = next(n for n in plan.nodes if n.type in kinds)
    # Attempts 1..4 of the faulted node, each failed by the expected validator and no other.
    ended = [e for e in sink.of(NodeAttemptEnded) if e.node_index == node.index]
    assert [e.attempt for e in ended[:4]] == [1, 2, 3, 4]
    assert all(not e.passed and e.failed_validators == (expected,) for e in ended[:4])
    assert {(n, a) for n, _, a in faulty.corrupted} >= {(node.type, a) for a in (1, 2, 3, 4)}
    # Retries carried the reasons of the failed attempt.
    started = [e for e in sink.of(NodeAttemptStarted) if e.node_index == node.index]
    assert started[0].feedback == () and all(s.feedback for s in started[1:4])
    reasons = {
        r for v in sink.of(VerdictRecorded) if v.validator == expected and not v.passed for r in v.reasons
    }
    assert set(started[1].feedback) <= reasons
    # Superseded turns stay in the trace.
    superseded = [e for e in sink.of(TurnsSuperseded) if e.node_index == node.index]
    assert [e.attempt for e in superseded[:4]] == [1, 2, 3, 4]
    assert sum(t.superseded for t in result.all_turns if t.node_index == node.index) >= 4 * len(
        node_type(node.type).speakers)  # every turn of 4 attempts (the target's recommendation: one each)
    assert not any(t.superseded for t in result.turns)
    # Rolled back after the 4th failure.
    rolled = sink.of(RolledBack)
    assert rolled and rolled[0].failed_node == node.index and rolled[0].completed_nodes == node.index
    # Every path of the grammar goes through this node type: no alternative, so failed_fidelity.
    assert result.status == "failed_fidelity"
    assert result.reason is not None and any(r in result.reason for r in reasons)
    assert sink.of(DialogEnded)[0].status == "failed_fidelity"


async def test_a_rollback_takes_another_path_when_the_grammar_has_one() -> None:
    # A user out of role whenever a negative is proposed: each recommend_alternative state is given up
    # in turn and the dialog ends on a path straight to the target.
    plan = plan_through(CTX, "recommend_alternative")
    result, sink, _ = await run_with("wrong_role", plan, nodes=("recommend_alternative",))
    print_report(result)
    assert sink.of(RolledBack) and sink.of(Replanned)
    assert result.status == "accepted"
    assert "recommend_alternative" not in [n.type for n in result.plan.nodes]
    assert result.plan.replanning is not None and result.plan.replanning.from_hash
    failed = [a for a in result.attempts if not a.passed]
    assert failed and all(
        {v.validator for v in a.verdicts if not v.passed} == {"executional.roles"} for a in failed
    )
    assert len(failed) % 4 == 0  # each abandoned state failed exactly 4 times


@pytest.mark.parametrize("fault", ["target_leak", "wrong_polarity", "invented_item"])
async def test_a_transient_fault_is_fixed_by_the_retry(fault: Fault) -> None:
    _, kinds, expected = EXPECTED[fault]
    plan = plan_through(CTX, *kinds)
    result, sink, faulty = await run_with(fault, plan, attempts=frozenset({1}))
    assert result.status == "accepted" and not sink.of(RolledBack)
    node = next(n for n in plan.nodes if n.type in kinds)
    ended = [
        (e.attempt, e.passed, e.failed_validators)
        for e in sink.of(NodeAttemptEnded)
        if e.node_index == node.index
    ]
    assert ended == [(1, False, (expected,)), (2, True, ())]
    second = [e for e in sink.of(NodeAttemptStarted) if e.node_index == node.index][1]
    assert second.feedback and (node.type, node.index, 1) in faulty.corrupted
    assert {a for _, _, a in faulty.corrupted} == {1}


async def test_the_same_faulted_seed_gives_the_same_trace() -> None:
    plan = plan_through(CTX, "elicit")
    a, sink_a, _ = await run_with("wrong_polarity", plan, attempts=frozenset({1, 2}))
    b, sink_b, _ = await run_with("wrong_polarity", plan, attempts=frozenset({1, 2}))
    assert [t.text for t in a.all_turns] == [t.text for t in b.all_turns]
    assert [(e.kind, getattr(e, "reasons", None)) for e in sink_a] == [
        (e.kind, getattr(e, "reasons", None)) for e in sink_b
    ]
