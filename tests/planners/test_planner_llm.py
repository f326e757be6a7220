"""The LLM planner behind a fake ChatCompletionClient whose answer is a function of the prompt."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any

import pytest
from autogen_core import CancellationToken
from autogen_core.models import (
    ChatCompletionClient,
    CreateResult,
    LLMMessage,
    ModelCapabilities,
    ModelInfo,
    RequestUsage,
)
from autogen_core.tools import Tool, ToolSchema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planners import LLMPlanError, PlanContext, PlanError, SamplingPlanner, check_plan
from planners.llm_planner import LLMPlanner
from tests.support.planner_strategies import contexts, rich_context

Handler = Callable[[str, dict[str, Any]], str]


class FakeClient(ChatCompletionClient):
    """A chat client whose answer is ``handler(system prompt, seed facts)``: the sanctioned test seam."""

    def __init__(self, handler: Handler, *, json_output: bool = True) -> None:
        self.handler = handler
        self.calls: list[dict[str, Any]] = []
        self._info = ModelInfo(
            vision=False,
            function_calling=False,
            json_output=json_output,
            family="unknown",
            structured_output=False,
        )

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Any = "auto",
        json_output: Any = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        system, user = str(messages[0].content), str(messages[1].content)
        facts = json.loads(user.removeprefix("Seed facts: "))
        self.calls.append({"json_output": json_output, "facts": facts})
        return CreateResult(
            finish_reason="stop",
            content=self.handler(system, facts),
            usage=RequestUsage(prompt_tokens=0, completion_tokens=0),
            cached=False,
        )

    def create_stream(
        self, messages: Sequence[LLMMessage], **kwargs: Any
    ) -> AsyncGenerator[str | CreateResult, None]:
        raise NotImplementedError("the planner never streams")

    async def close(self) -> None:
        return None

    def actual_usage(self) -> RequestUsage:
        return RequestUsage(prompt_tokens=0, completion_tokens=0)

    def total_usage(self) -> RequestUsage:
        return RequestUsage(prompt_tokens=0, completion_tokens=0)

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return 0

    def remaining_tokens(
        self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []
    ) -> int:
        return 1_000_000

    @property
    def capabilities(self) -> ModelCapabilities:  # type: ignore[override]
        return ModelCapabilities(vision=False, function_calling=False, json_output=True)

    @property
    def model_info(self) -> ModelInfo:
        return self._info


def sensible(system: str, facts: dict[str, Any]) -> str:
    """A model that reads the facts and answers a valid plan using them."""
    path = ["greet", "elicit"]
    answer: dict[str, Any] = {}
    aspects = [a["id"] for a in facts["user aspects"]]
    if facts["usable negatives"]:
        neg = facts["usable negatives"][0]
        path.append("recommend_alternative")
        answer["negatives"] = {
            "recommend_alternative": {"item": neg["item"], "aspect": neg["grounding aspects"][0]}
        }
    path += ["recommend_target", "accept", "close"]
    answer["path"] = path
    answer["reveals"] = {"elicit": aspects[:1]}
    if facts["target justifiable aspects"]:
        answer["justify"] = facts["target justifiable aspects"][:1]
    return "Here is the plan:\n```json\n" + json.dumps(answer) + "\n```"


def run(planner: LLMPlanner, ctx: PlanContext):  # type: ignore[no-untyped-def]
    return asyncio.run(planner.aplan(ctx))


async def test_a_valid_answer_becomes_the_plan() -> None:
    ctx = rich_context()
    client = FakeClient(sensible)
    plan = await LLMPlanner(client).aplan(ctx)
    assert plan.planner == "llm" and plan.fallback_reason is None
    assert plan.path == ("greet", "elicit", "recommend_alternative", "recommend_target", "accept", "close")
    facts = client.calls[0]["facts"]
    assert plan.nodes[1].reveals[0].aspect == facts["user aspects"][0]["id"]
    assert plan.nodes[2].negative.item == facts["usable negatives"][0]["item"]
    assert [j.community.aspect for j in plan.nodes[3].target.justifications] == facts[
        "target justifiable aspects"
    ][:1]
    assert client.calls[0]["json_output"] is True
    check_plan(plan, SamplingPlanner().grammar, ctx)


def _answer(**kw: Any) -> Handler:
    base: dict[str, Any] = {"path": ["greet", "elicit", "recommend_target", "accept", "close"]}
    base.update(kw)
    return lambda system, facts: json.dumps(base)


@pytest.mark.parametrize(
    ("handler", "rule"),
    [
        (lambda s, f: "I think the user wants headphones.", "json"),
        (lambda s, f: "{path: [greet]}", "json"),
        (lambda s, f: json.dumps({"route": ["greet"]}), "shape"),
        (_answer(reveals={"clarify": [0]}), "shape"),
        (_answer(path=["greet", "recommend_target", "accept", "close"]), "edge_not_in_grammar"),
        (_answer(path=["greet", "elicit", "recommend_target", "accept"]), "path_end"),
        (_answer(reveals={"elicit": [5]}), "aspect_not_in_profile"),
        (_answer(reveals={"elicit": [0, 0]}), "reveal_repeated"),
        (_answer(reveals={"elicit": [0, 1, 2]}), "reveal_count"),
        (_answer(justify=[2]), "justification_not_grounded"),
        (
            _answer(
                path=["greet", "elicit", "recommend_alternative", "recommend_target", "accept", "close"],
                negatives={"recommend_alternative": {"item": "Z9"}},
            ),
            "negative_not_in_seed",
        ),
        (
            _answer(
                path=["greet", "elicit", "recommend_alternative", "recommend_target", "accept", "close"],
                negatives={"recommend_alternative": {"item": "N0", "aspect": 2}},
            ),
            "negative_not_grounded",
        ),
        (
            _answer(
                path=["greet", "elicit", "recommend_target", "inquire_item", "accept", "close"], inquire=4
            ),
            "inquiry_not_in_target",
        ),
    ],
)
async def test_invalid_answers_fall_back_with_the_rule(handler: Handler, rule: str) -> None:
    ctx = rich_context()
    plan = await LLMPlanner(FakeClient(handler)).aplan(ctx)
    assert plan.planner == "sampler"
    assert plan.fallback_reason is not None and plan.fallback_reason.startswith(rule + ":")
    sampled = SamplingPlanner().plan(ctx)
    assert plan.model_copy(update={"fallback_reason": None}) == sampled
    with pytest.raises(PlanError) as info:
        await LLMPlanner(FakeClient(handler), strict=True).aplan(ctx)
    assert info.value.rule == rule


async def test_parse_takes_the_object_out_of_prose_and_fences() -> None:
    ans = LLMPlanner.parse('Sure!\n```json\n{"path": ["greet"], "justify": [1]}\n``` hope it helps')
    assert ans.path == ["greet"] and ans.justify == [1]
    with pytest.raises(LLMPlanError) as info:
        LLMPlanner.parse('{"path": []}')
    assert info.value.rule == "shape"


async def test_model_errors_are_not_swallowed() -> None:
    def boom(system: str, facts: dict[str, Any]) -> str:
        raise TimeoutError("server went away")

    with pytest.raises(TimeoutError):
        await LLMPlanner(FakeClient(boom)).aplan(rich_context())


async def test_prompt_holds_the_grammar_and_only_grounded_facts() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def spy(system: str, facts: dict[str, Any]) -> str:
        seen.append((system, facts))
        return sensible(system, facts)

    client = FakeClient(spy, json_output=False)
    planner = LLMPlanner(client)
    await planner.aplan(rich_context())
    system, facts = seen[0]
    for state in planner.grammar.types:
        assert f'"{state}"' in system
    assert "elicit (the user reveals preferences) before any recommendation" in system
    assert {a["id"] for a in facts["user aspects"]} == {0, 1, 2, 3, 4}
    assert [n["item"] for n in facts["usable negatives"]] == ["N0", "N1"]
    assert facts["target justifiable aspects"] == [0, 1]  # buyers pan the target's 3
    assert facts["target aspects to ask about"] == [
        {"id": 0, "answer": "well"}, {"id": 1, "answer": "well"}, {"id": 3, "answer": "badly"}]
    assert client.calls[0]["json_output"] is None  # the model does not declare JSON mode


async def test_replan_is_the_samplers() -> None:
    ctx = rich_context()
    planner = LLMPlanner(FakeClient(sensible))
    plan = await planner.aplan(ctx)
    new = planner.replan(plan, 2, "recommend_alternative", context=ctx)
    assert new is not None and new.planner == "llm" and "recommend_alternative" not in new.path
    check_plan(new, planner.grammar, ctx)


def chaotic(seed: int) -> Handler:
    """A model that answers with random, often invalid, ids and paths drawn from the prompt."""

    def handler(system: str, facts: dict[str, Any]) -> str:
        rng = random.Random(seed)
        grammar = SamplingPlanner().grammar
        path = list(rng.choice(grammar.paths)) if rng.random() < 0.8 else ["greet", "close"]
        ids = [a["id"] for a in facts["user aspects"]] + [rng.randint(0, 12)]
        answer: dict[str, Any] = {"path": path}
        for s in path:
            t = grammar.types.get(s)
            if t is not None and t.name == "elicit" and rng.random() < 0.7:
                answer.setdefault("reveals", {})[s] = rng.sample(ids, k=min(len(ids), rng.randint(1, 2)))
            if t is not None and t.name == "recommend_alternative" and rng.random() < 0.7:
                negs = facts["usable negatives"] or [{"item": "N0", "grounding aspects": [0]}]
                n = rng.choice(negs)
                answer.setdefault("negatives", {})[s] = {
                    "item": n["item"],
                    "aspect": rng.choice(n["grounding aspects"] + ids),
                }
        if rng.random() < 0.5:
            answer["justify"] = rng.sample(ids, 1)
        return json.dumps(answer)

    return handler


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contexts(), st.integers(0, 10_000))
def test_any_answer_yields_a_valid_plan_or_a_recorded_fallback(ctx: PlanContext, seed: int) -> None:
    if not (set(ctx.user.liked) | set(ctx.user.disliked)):
        return
    plan = run(LLMPlanner(FakeClient(chaotic(seed))), ctx)
    check_plan(plan, SamplingPlanner().grammar, ctx)
    assert (plan.planner == "llm") == (plan.fallback_reason is None)
    if plan.fallback_reason is not None:
        assert plan.fallback_reason.split(":")[0].isidentifier()
