"""The executor's control flow with fake models and stub validators (the seams): exchanges within the
turn range, retries with feedback, superseded turns, rollback via replan, failed_fidelity,
failed_backend, and the trace events in order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import pytest
from autogen_core.models import LLMMessage, UserMessage

from agents.backends import FakeChatClient
from agents.backends.tokens import message_text
from agents.dialog import AgentReply, NodeRequest, Speaker, ValidationInput, Verdict
from agents.directive import parse_directive
from agents.errors import LLMTimeout
from agents.system_agent import SystemAgent
from agents.user_agent import UserAgent
from engine.core.events import (
    DialogStarted,
    LLMCallRecorded,
    MemorySink,
    NodeAttemptStarted,
    Replanned,
    RolledBack,
    TickClock,
    TurnRecorded,
    VerdictRecorded,
)
from engine.core.executor import DialogExecutor, DialogResult
from planners.context import PlanContext
from planners.plan import DialogPlan, NodeBinding
from tests.support.dialogs import CATALOG, CTX, PLANNER, check_stream


def plan_through(*types: str, ctx: PlanContext = CTX) -> DialogPlan:
    for path, _ in PLANNER.feasible_paths(ctx):
        nodes = [PLANNER.grammar.type_of(s) for s in path]
        if all(t in nodes for t in types):
            return PLANNER.plan(ctx, path=path)
    raise AssertionError(f"no feasible path through {types}")


class StubAgent:
    """An agent over a FakeChatClient that claims done after ``done_after`` exchanges of each node."""

    def __init__(self, role: Speaker, client: FakeChatClient, done_after: int | None = None) -> None:
        self.role = role
        self.persona = f"stub_{role}"
        self.backend = "fake:fake"
        self.client = client
        self.done_after = done_after
        self.requests: list[NodeRequest] = []

    async def reply(self, request: NodeRequest) -> AgentReply:
        self.requests.append(request)
        prompt = (f"{self.role} node={request.node.index} attempt={request.attempt} "
                  f"exchange={request.exchange} feedback={'|'.join(f.text for f in request.feedback)}")
        result = await self.client.create([UserMessage(content=prompt, source="executor")])
        assert isinstance(result.content, str)
        need = request.node.min_turns if self.done_after is None else self.done_after
        return AgentReply(text=result.content, done=request.exchange + 1 >= need, backend=self.backend)


class RuleStub:
    """A validator failing the attempts ``fails(node, attempt)`` says, with a reason naming them."""

    kind: Literal["executional", "behavioral"] = "executional"

    def __init__(self, name: str, fails: Callable[[ValidationInput], bool]) -> None:
        self.name = name
        self._fails = fails
        self.seen: list[ValidationInput] = []

    async def check(self, data: ValidationInput) -> Verdict:
        self.seen.append(data)
        bad = self._fails(data)
        reasons = (f"{self.name}: {data.node.state} attempt {data.attempt} was wrong",) if bad else ()
        return Verdict(validator=self.name, kind=self.kind, passed=not bad, reasons=reasons)


def voices(node: NodeBinding) -> int:
    """Messages per exchange: two, or one where only the opener acts (the target's recommendation)."""
    return 2 if node.user_acts and node.system_acts else 1


def echo(messages: Sequence[LLMMessage]) -> str:
    return "said: " + message_text(messages[-1])


def make(validators: Sequence[object] = (), *, handler: Callable[[Sequence[LLMMessage]], str] = echo,
         done_after: int | None = None, **kw: object) -> tuple[DialogExecutor, MemorySink, FakeChatClient]:
    client = FakeChatClient(handler)
    sink = MemorySink()
    ex = DialogExecutor(StubAgent("user", client, done_after), StubAgent("system", client, done_after),
                        list(validators) or [RuleStub("ok", lambda d: False)],  # type: ignore[arg-type]
                        PLANNER, sink, catalog=CATALOG, clock=TickClock(), **kw)  # type: ignore[arg-type]
    return ex, sink, client





async def test_a_plan_passing_everywhere_is_accepted_with_events_in_order() -> None:
    plan = plan_through("elicit", "recommend_target")
    ex, sink, client = make()
    result = await ex.run(plan, CTX, "d1")
    check_stream(sink, result)
    assert result.status == "accepted" and result.reason is None and not result.rollbacks
    # The agents say done at min_turns, so each node takes exactly min_turns exchanges.
    assert len(result.turns) == sum(voices(n) * n.min_turns for n in plan.nodes) == len(client.calls)
    expected = ["dialog_started"]
    for node in plan.nodes:
        expected += ["node_attempt_started", *(["llm_call", "turn_recorded"] * voices(node) * node.min_turns),
                     "verdict", "node_attempt_ended"]
    assert sink.kinds() == [*expected, "dialog_ended"]
    for node in plan.nodes:  # the opener speaks first in every exchange
        said = [t.speaker for t in result.turns if t.node_index == node.index]
        assert said[0] == node.opener
    calls = sink.of(LLMCallRecorded)
    turns = sink.of(TurnRecorded)
    for call, turn in zip(calls, turns, strict=True):  # each call attributed to the turn it produced
        assert (call.node_index, call.attempt, call.exchange, call.role) == (
            turn.node_index, turn.attempt, turn.exchange, turn.speaker)
        assert call.provider == "fake" and len(call.request_hash) == 64
    assert {e.dialog_id for e in sink.events} == {"d1"}


async def test_real_agents_over_a_fake_model_play_a_plan() -> None:
    plan = plan_through("recommend_alternative")
    client = FakeChatClient(lambda m: f"{parse_directive(message_text(m[-1])).role} speaks")
    sink = MemorySink()
    ex = DialogExecutor(UserAgent(client, "terse"), SystemAgent(client, "concise"),
                        [RuleStub("ok", lambda d: False)], PLANNER, sink, catalog=CATALOG, clock=TickClock())
    result = await ex.run(plan, CTX)
    check_stream(sink, result)
    assert result.status == "accepted"
    assert {t.text for t in result.turns} == {"user speaks", "system speaks"}
    started = sink.of(DialogStarted)[0]
    assert (started.user_persona, started.system_persona) == ("terse", "concise")
    assert started.user_backend == "fake:fake" and result.dialog_key == plan.seed_key


async def test_agents_never_done_run_to_max_turns_with_the_final_exchange_flagged() -> None:
    plan = plan_through("elicit")
    ex, sink, _ = make(done_after=99)
    user = ex.user
    result = await ex.run(plan, CTX)
    check_stream(sink, result)
    for node in plan.nodes:
        reqs = [r for r in user.requests if r.node.index == node.index]  # type: ignore[attr-defined]
        if node.user_acts:
            assert [r.exchange for r in reqs] == list(range(node.max_turns))
            assert [r.final_exchange for r in reqs] == [False] * (node.max_turns - 1) + [True]
    assert len(result.turns) == sum(voices(n) * n.max_turns for n in plan.nodes)


async def test_a_failed_attempt_is_superseded_and_retried_with_its_reasons() -> None:
    plan = plan_through("elicit")
    k = next(n.index for n in plan.nodes if n.type == "elicit")
    flaky = RuleStub("flaky", lambda d: d.node.index == k and d.attempt <= 2)
    ex, sink, _ = make([RuleStub("ok", lambda d: False), flaky])
    result = await ex.run(plan, CTX)
    check_stream(sink, result)
    assert result.status == "accepted"
    assert result.attempts_per_node()[(plan.content_hash, k)] == 3
    superseded = [t for t in result.all_turns if t.superseded]
    assert {(t.node_index, t.attempt) for t in superseded} == {(k, 1), (k, 2)}
    assert all(t.node_index != k or t.attempt == 3 for t in result.turns)
    # Attempt 2 is told why attempt 1 failed, attempt 3 why attempt 2 did (the latest reasons).
    starts = {e.attempt: e.feedback for e in sink.of(NodeAttemptStarted) if e.node_index == k}
    assert starts[1] == () and "attempt 1 was wrong" in starts[2][0] and "attempt 2 was wrong" in starts[3][0]
    user_reqs = [r for r in ex.user.requests if r.node.index == k]  # type: ignore[attr-defined]
    assert [tuple(f.text for f in r.feedback) for r in user_reqs if r.attempt == 2] == [starts[2]] * (
        len(user_reqs) // 3)
    # Validators of the retry see only the accepted turns before the node, not the superseded ones.
    seen = [d for d in flaky.seen if d.node.index == k]
    assert all(not any(t.superseded for t in d.before) for d in seen)
    assert [d.turns[0].index for d in seen] == [seen[0].turns[0].index] * 3
    failed = [e for e in sink.of(VerdictRecorded) if not e.passed]
    assert [(e.validator, e.attempt) for e in failed] == [("flaky", 1), ("flaky", 2)]


async def test_four_failures_roll_back_and_replan_around_the_failed_state() -> None:
    plan = plan_through("recommend_alternative")
    bad = next(n for n in plan.nodes if n.type == "recommend_alternative")
    stub = RuleStub("no_alternatives", lambda d: d.node.type == "recommend_alternative")
    ex, sink, _ = make([stub])
    result = await ex.run(plan, CTX)
    check_stream(sink, result)
    assert result.rollbacks and result.rollbacks[0].failed_node == bad.index
    rb = sink.of(RolledBack)[0]
    assert (rb.failed_node, rb.completed_nodes, rb.failed_state) == (bad.index, bad.index, bad.state)
    assert "attempt 4 was wrong" in rb.reason
    rp = sink.of(Replanned)[0]
    new = DialogPlan.from_json(rp.plan_json)
    assert new.content_hash == rp.plan_hash == result.rollbacks[0].new_plan_hash
    assert new.path[: bad.index] == plan.path[: bad.index] and bad.state not in new.path[bad.index:]
    assert new.replanning is not None and new.replanning.from_hash == plan.content_hash
    # Four attempts at the bad node, all superseded; the kept prefix's turns stay accepted.
    failed = [a for a in result.attempts if a.plan_hash == plan.content_hash and a.node_index == bad.index]
    assert [a.attempt for a in failed] == [1, 2, 3, 4] and not any(a.passed for a in failed)
    if result.status == "accepted":
        assert result.plan.replanning is not None and "recommend_alternative" not in [
            n.type for n in result.plan.nodes]
        assert [t.node_index for t in result.turns] == sorted(t.node_index for t in result.turns)
    else:  # every path needed an alternative: it must say so
        assert result.status == "failed_fidelity" and "no alternative path" in (result.reason or "")


async def test_no_alternative_path_ends_failed_fidelity_with_the_reasons() -> None:
    plan = plan_through("recommend_target")
    stub = RuleStub("never_target", lambda d: d.node.type == "recommend_target")
    ex, sink, _ = make([stub])
    result = await ex.run(plan, CTX)
    check_stream(sink, result)
    assert result.status == "failed_fidelity"
    assert "never_target" in (result.reason or "") and "no alternative path" in (result.reason or "")
    assert result.rollbacks[-1].new_plan_hash is None
    assert len(sink.of(RolledBack)) == len(result.rollbacks) == len(sink.of(Replanned)) + 1
    assert not any(t.node == "recommend_target" for t in result.turns)


async def test_the_rollback_limit_is_honoured() -> None:
    plan = plan_through("recommend_alternative")
    stub = RuleStub("no_alternatives", lambda d: d.node.type == "recommend_alternative")
    ex, sink, _ = make([stub], max_rollbacks=0)
    result = await ex.run(plan, CTX)
    check_stream(sink, result)
    assert result.status == "failed_fidelity" and "rollback limit" in (result.reason or "")
    assert not sink.of(Replanned)


async def test_a_failing_model_ends_the_dialog_failed_backend() -> None:
    plan = plan_through("elicit")

    def handler(messages: Sequence[LLMMessage]) -> str:
        if "node=1 " in message_text(messages[-1]):
            raise LLMTimeout("no answer in 30 s", model="fake")
        return "fine"

    ex, sink, _ = make(handler=handler)
    result = await ex.run(plan, CTX)
    check_stream(sink, result)
    assert result.status == "failed_backend"
    assert "LLMTimeout" in (result.reason or "") and "node 1" in (result.reason or "")
    assert sink.kinds()[-2:] == ["node_attempt_started", "dialog_ended"]


async def test_an_answer_over_the_length_limit_fails_its_attempt_not_the_dialog() -> None:
    plan = plan_through("elicit")

    # The first answer at node 1 ignores max_tokens (20,000 characters); the retry is short.
    def handler(messages: Sequence[LLMMessage]) -> str:
        text = message_text(messages[-1])
        return "word " * 4000 if "node=1 " in text and "attempt=1 " in text else "fine"

    ex, sink, _ = make(handler=handler)
    result = await ex.run(plan, CTX)
    check_stream(sink, result)
    assert result.status == "accepted"
    refused = [v for v in sink.of(VerdictRecorded) if v.validator == "executional.model_answer"]
    assert len(refused) == 1 and not refused[0].passed and refused[0].node_index == 1
    assert "too long: 20,000 characters (the limit is 4,000)" in refused[0].reasons[0]
    # The reason went into the retry prompt; the long text reached no turn, and its call is recorded cut.
    retry = [s for s in sink.of(NodeAttemptStarted) if s.node_index == 1 and s.attempt == 2]
    assert retry and "too long" in retry[0].feedback[0]
    assert max(len(t.text) for t in result.all_turns) < 100
    cut = [c for c in sink.of(LLMCallRecorded) if "refused as too long" in c.response_text]
    assert len(cut) == 1 and len(cut[0].response_text) < 4100 and cut[0].output_tokens >= 4000


class JudgeStub:
    """A validator that asks a model (its calls must be attributed to it)."""

    kind: Literal["executional", "behavioral"] = "behavioral"
    name = "judge"

    def __init__(self, client: FakeChatClient) -> None:
        self.client = client

    async def check(self, data: ValidationInput) -> Verdict:
        await self.client.create([UserMessage(content=f"judge {data.node.index}", source="v")])
        return Verdict(validator=self.name, kind=self.kind, judge="llm", passed=True)


async def test_validator_calls_are_traced_under_the_validator_and_failures_are_backend_failures() -> None:
    plan = plan_through("elicit")
    judge = JudgeStub(FakeChatClient(lambda m: "{}"))
    ex, sink, _ = make([RuleStub("ok", lambda d: False), judge])
    result = await ex.run(plan, CTX)
    check_stream(sink, result)
    calls = [c for c in sink.of(LLMCallRecorded) if c.role == "validator:judge"]
    assert [c.node_index for c in calls] == [n.index for n in plan.nodes]
    assert all(c.exchange is None for c in calls)

    def down(messages: Sequence[LLMMessage]) -> str:
        raise LLMTimeout("judge down", model="fake")

    ex2, sink2, _ = make([RuleStub("ok", lambda d: False), JudgeStub(FakeChatClient(down))])
    result2 = await ex2.run(plan, CTX)
    check_stream(sink2, result2)
    assert result2.status == "failed_backend" and "validator judge" in (result2.reason or "")


async def test_calls_outside_a_dialog_are_not_traced_and_concurrent_dialogs_stay_apart() -> None:
    import anyio

    plan = plan_through("elicit")
    shared = FakeChatClient(echo)
    sink = MemorySink()

    def executor() -> DialogExecutor:
        return DialogExecutor(StubAgent("user", shared), StubAgent("system", shared),
                              [RuleStub("ok", lambda d: False)], PLANNER, sink, catalog=CATALOG)

    await shared.create([UserMessage(content="warm-up", source="test")])
    results: dict[str, DialogResult] = {}

    async def one(key: str) -> None:
        results[key] = await executor().run(plan, CTX, key)

    async with anyio.create_task_group() as tg:
        for key in ("a", "b", "c"):
            tg.start_soon(one, key)
    for key, res in results.items():
        calls = sink.of(LLMCallRecorded, key)
        assert len(calls) == res.n_llm_calls == len(res.turns)
        assert [e.seq for e in sink.events if e.dialog_id == key] == list(range(len(sink.kinds(key))))
    assert len(sink.of(LLMCallRecorded)) == len(shared.calls) - 1  # the warm-up call belongs to no dialog


async def test_same_inputs_give_the_same_event_stream() -> None:
    plan = plan_through("recommend_alternative")
    flaky = RuleStub("flaky", lambda d: d.attempt == 1 and d.node.index == 1)
    streams = []
    for _ in range(2):
        ex, sink, _ = make([flaky])
        await ex.run(plan, CTX, "same")
        streams.append([e.model_dump(exclude={"latency_s"}) for e in sink.events])
    assert streams[0] == streams[1]


def test_bad_configurations_are_refused() -> None:
    client = FakeChatClient(echo)
    user, system = StubAgent("user", client), StubAgent("system", client)
    ok = [RuleStub("ok", lambda d: False)]
    with pytest.raises(ValueError, match="roles"):
        DialogExecutor(system, user, ok, PLANNER, MemorySink(), catalog=CATALOG)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_attempts"):
        DialogExecutor(user, system, ok, PLANNER, MemorySink(), catalog=CATALOG, max_attempts=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unique"):
        DialogExecutor(user, system, ok * 2, PLANNER, MemorySink(), catalog=CATALOG)  # type: ignore[arg-type]
