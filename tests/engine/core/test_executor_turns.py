"""The executor's guarantees on turns: replies cut off at the token limit are never accepted, retry
feedback reaches only the role whose turn failed, sides alternate across nodes, and the judge scores
accepted dialogs (and nothing else) when one is configured."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import pairwise

import pytest
from autogen_core.models import CreateResult, LLMMessage, RequestUsage

from agents.backends import FakeChatClient
from agents.backends.tokens import message_text
from agents.dialog import Feedback, ValidationInput, Verdict
from agents.directive import DIRECTIVE_START, parse_directive
from agents.errors import LLMTimeout
from agents.scripted import realise
from agents.system_agent import SystemAgent
from agents.user_agent import UserAgent
from agents.validators import DialogScorer, default_validators
from engine.core.events import LLMCallRecorded, MemorySink, TickClock
from engine.core.executor import CUT_OFF, DialogExecutor
from planners.errors import PathError
from planners.plan import DialogPlan
from tests.support.dialogs import CATALOG, CTX, PLANNER, check_stream


def plan_through(*types: str) -> DialogPlan:
    for path, _ in PLANNER.feasible_paths(CTX):
        if all(t in [PLANNER.grammar.type_of(s) for s in path] for t in types):
            return PLANNER.plan(CTX, path=path)
    raise AssertionError(f"no feasible path through {types}")


def scripted(messages: Sequence[LLMMessage]) -> str:
    return realise(parse_directive(message_text(messages[-1])))


def executor(client: FakeChatClient, validators: Sequence[object] | None = None, **kw: object
             ) -> tuple[DialogExecutor, MemorySink]:
    sink = MemorySink()
    rules = list(validators or default_validators())
    ex = DialogExecutor(UserAgent(client), SystemAgent(client), rules, PLANNER, sink,  # type: ignore[arg-type]
                        catalog=CATALOG, clock=TickClock(), clients=[client], **kw)  # type: ignore[arg-type]
    return ex, sink


async def test_a_reply_cut_off_at_the_token_limit_fails_its_attempt_and_is_retried() -> None:
    plan = plan_through("elicit")
    k = next(n.index for n in plan.nodes if n.type == "elicit")

    def handler(messages: Sequence[LLMMessage]) -> str | CreateResult:
        d = parse_directive(message_text(messages[-1]))
        text = realise(d)
        if d.node_index == k and d.role == "user" and d.attempt == 1:
            # The model stopped mid-sentence at max_tokens.
            return CreateResult(content=text[: len(text) // 2], finish_reason="length", cached=False,
                                usage=RequestUsage(prompt_tokens=10, completion_tokens=64))
        return text

    ex, sink = executor(FakeChatClient(handler))
    result = await ex.run(plan, CTX)
    check_stream(sink, result)
    assert result.status == "accepted"
    first = next(a for a in result.attempts if a.node_index == k and a.attempt == 1)
    assert [(v.validator, v.passed) for v in first.verdicts] == [(CUT_OFF, False)]
    assert first.verdicts[0].reasons[0].startswith("cut off")
    assert [f.role for f in first.verdicts[0].feedback] == ["user"]
    # Never accepted: the cut-off turn is superseded and the attempt stopped there (nobody answered it).
    assert not any(t.cut_off for t in result.turns)
    cut = [t for t in result.all_turns if t.cut_off]
    assert len(cut) == 1 and cut[0].superseded
    assert [t.speaker for t in result.all_turns if t.node_index == k and t.attempt == 1] == ["system", "user"]
    assert any(c.finish_reason == "length" for c in sink.of(LLMCallRecorded))


class _FailsRole:
    """Fails every first attempt at node ``k`` with a reason about ``role``'s turn (and one about both)."""

    kind = "behavioral"
    name = "stub.role"

    def __init__(self, k: int, role: str) -> None:
        self.k, self.role = k, role

    async def check(self, data: ValidationInput) -> Verdict:
        if data.node.index != self.k or data.attempt > 1:
            return Verdict(validator=self.name, kind="behavioral", passed=True)
        said = next(t.text for t in data.turns if t.speaker == self.role)
        fb = (Feedback(role=self.role, text=f'The {self.role} said "{said}"; say it differently.',  # type: ignore[arg-type]
                       cited=(said,)),
              Feedback(role=None, text="The step as a whole took too long."))
        return Verdict(validator=self.name, kind="behavioral", passed=False,
                       reasons=tuple(f.text for f in fb), feedback=fb)


@pytest.mark.parametrize("role", ["user", "system"])
async def test_retry_feedback_reaches_only_the_role_whose_turn_failed(role: str) -> None:
    plan = plan_through("elicit")
    k = next(n.index for n in plan.nodes if n.type == "elicit")
    client = FakeChatClient(scripted)
    ex, sink = executor(client, [*default_validators(), _FailsRole(k, role)])
    result = await ex.run(plan, CTX)
    check_stream(sink, result)
    assert result.status == "accepted"
    asked = [(parse_directive(message_text(r[-1])), r) for r in client.requests]
    retries = [(d, r) for d, r in asked if d.node_index == k and d.attempt == 2]
    assert {d.role for d, _ in retries} == {"user", "system"}
    for d, request in retries:
        own = [f.text for f in d.feedback if f.role is not None]
        assert (own != []) == (d.role == role)
        # The node's own reason: both sides hear it.
        assert "The step as a whole took too long." in [f.text for f in d.feedback]
        told = message_text(request[-1]).split(DIRECTIVE_START)[0]
        if d.role == role:
            # An instruction outside any quote; only the turn text it cites is quoted.
            assert f"- The {role} said <quote>" in told and "; say it differently." in told


async def test_a_plan_that_would_make_a_side_speak_twice_is_refused() -> None:
    plan = plan_through("recommend_target", "accept")
    i = next(n.index for n in plan.nodes if n.type == "recommend_target")
    nodes = list(plan.nodes)
    # A recommendation the user also answers, then an accept the user opens: the user twice in a row.
    nodes[i] = nodes[i].model_copy(update={"user_acts": ("consider",)})
    bad = plan.model_copy(update={"nodes": tuple(nodes)})
    ex, _ = executor(FakeChatClient(scripted))
    with pytest.raises(PathError) as info:
        await ex.run(bad, CTX)
    assert info.value.rule == "turns_alternate"


async def test_every_path_of_the_grammar_alternates_when_played() -> None:
    for path, _ in PLANNER.feasible_paths(CTX):
        ex, _ = executor(FakeChatClient(scripted))
        result = await ex.run(PLANNER.plan(CTX, path=path), CTX)
        said = [t.speaker for t in result.turns]
        assert result.status == "accepted" and all(a != b for a, b in pairwise(said)), (path, said)


def judge(answer: str | Exception) -> FakeChatClient:
    def handler(messages: Sequence[LLMMessage]) -> str:
        if isinstance(answer, Exception):
            raise answer
        return answer

    return FakeChatClient(handler, model="judge-model")


async def test_the_judge_scores_accepted_dialogs_and_never_invents_a_score() -> None:
    plan = plan_through("elicit")
    good = json.dumps({"naturalness": 4, "faithfulness": 5, "rationale": "Follows the plan."})
    down = LLMTimeout("judge down", model="judge-model")
    for answer, expect in ((good, (4, 5, None)), ("not json", (None, None, "judge output unreadable")),
                           (down, (None, None, "judge call failed"))):
        client = judge(answer)
        ex, sink = executor(FakeChatClient(scripted), scorer=DialogScorer(client, label="openai:judge-model"))
        result = await ex.run(plan, CTX)
        check_stream(sink, result)
        assert result.status == "accepted" and result.score is not None
        s = result.score
        assert (s.naturalness, s.faithfulness) == expect[:2] and s.judge == "openai:judge-model"
        assert (s.error is None) if expect[2] is None else (s.error or "").startswith(expect[2])
        scored = [c for c in sink.of(LLMCallRecorded) if c.role == "judge:dialog"]
        assert len(scored) == (0 if isinstance(answer, Exception) else 1)
        if isinstance(answer, str):
            # The judge saw the rubric and every accepted turn, quoted.
            sent = [message_text(m) for m in client.requests[0]]
            assert "NATURALNESS" in sent[0] and all(f"<quote>{t.text}" in sent[1] or "&" in t.text
                                                    for t in result.turns)
    ex, _ = executor(FakeChatClient(scripted))
    assert (await ex.run(plan, CTX)).score is None  # no judge, no score


async def test_a_failed_dialog_is_not_scored() -> None:
    plan = plan_through("recommend_target")

    class Never:
        kind = "executional"
        name = "never"

        async def check(self, data: ValidationInput) -> Verdict:
            ok = data.node.type != "recommend_target"
            return Verdict(validator="never", kind="executional", passed=ok, reasons=() if ok else ("no",))

    client = judge("{}")
    ex, _ = executor(FakeChatClient(scripted), [Never()], scorer=DialogScorer(client))
    result = await ex.run(plan, CTX)
    assert result.status == "failed_fidelity" and result.score is None and not client.requests
