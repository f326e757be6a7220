"""The LLM planner: asks a chat model for a path and slot choices as JSON, validates, else falls back.

The model sees the grammar (states, types, successors, rules) and the seed's facts (aspects the user
cares about, the negatives with the aspects that ground declining them, the target's reviewed
aspects), and answers one JSON object::

    {"path": ["greet", "elicit", ...],
     "reveals": {"elicit": [3, 7]},                     # aspect ids per elicit state
     "negatives": {"recommend_alternative": {"item": "B0..", "aspect": 5}},
     "clarify": {"clarify": 3}, "critique": {"refine": 2},
     "justify": [3], "inquire": 7}                     # everything but "path" is optional

The answer is parsed (``json``, ``shape``), its path checked against the grammar and its choices
bound by the sampler's binder (which checks every id against the profiles), and the finished plan
checked by :func:`planners.validate.check_plan`. Whatever is left out is chosen as the sampler would.
When any check fails, the sampler's plan is returned with ``fallback_reason`` = "<rule>: <message>";
with ``strict=True`` the error is raised instead. Errors of the model call itself are not caught: a
failed call is the engine's to retry, not a reason to plan differently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from autogen_core.models import ChatCompletionClient, LLMMessage, SystemMessage, UserMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from planners.binder import Choices
from planners.context import PlanContext
from planners.errors import LLMPlanError, PlanError
from planners.facts import SeedFacts
from planners.plan import DialogPlan
from planners.sampler import SamplingPlanner
from planners.validate import check_plan

__all__ = ["LLMPlanAnswer", "LLMPlanner"]


class _NegativeChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str
    aspect: int | None = None


class LLMPlanAnswer(BaseModel):
    """The JSON object the model must answer with."""

    model_config = ConfigDict(extra="forbid")

    path: list[str] = Field(min_length=1)
    reveals: dict[str, list[int]] = Field(default_factory=dict)
    negatives: dict[str, _NegativeChoice] = Field(default_factory=dict)
    clarify: dict[str, int] = Field(default_factory=dict)
    critique: dict[str, int] = Field(default_factory=dict)
    justify: list[int] | None = None
    inquire: int | None = None


_RULES = """Rules every path must follow:
- start at the start state, follow the listed successors, end at the end state;
- elicit (the user reveals preferences) before any recommendation;
- recommend the target exactly once; accept right after it (optionally after inquire_item); then close;
- never accept right after an inquiry buyers answer negatively: ask about another aspect first;
- at most one recommend_alternative state per usable negative listed below.
Slot rules: reveal 1 to {reveals_max} aspect ids per elicit state, never the same aspect twice, only ids
from "user aspects"; a negative is declined on one of its listed grounding aspects; justify the target
with 1 to {max_just} ids from "target justifiable aspects"; inquire about an id from
"target aspects to ask about" (the last question before accepting must be one answered "well").
Answer with ONE JSON object and nothing else, with keys: path (list of state ids), and optionally
reveals ({{state: [ids]}}), negatives ({{state: {{"item": id, "aspect": id}}}}), clarify ({{state: id}}),
critique ({{state: id}}), justify ([ids]), inquire (id)."""


class LLMPlanner:
    """Plans with a chat model behind the planner interface; the sampler is its fallback and replanner."""

    name = "llm"

    def __init__(
        self, client: ChatCompletionClient, fallback: SamplingPlanner | None = None, *, strict: bool = False
    ) -> None:
        self.client = client
        self.sampler = fallback or SamplingPlanner()
        self.grammar = self.sampler.grammar
        self.strict = strict

    # -- prompt ------------------------------------------------------------------------------------
    def messages(self, context: PlanContext) -> list[LLMMessage]:
        """The chat messages sent for one seed (the system message is the same for every seed)."""
        g, k = self.grammar, self.sampler.knobs
        states = [{"state": s, "type": g.type_of(s), "next": list(g.spec.states[s].next)} for s in g.types]
        system = (
            f"You plan a conversational-recommendation dialog as a path through a grammar of dialog "
            f"states. Start state: {g.start}. End state: {g.end}.\nStates: {json.dumps(states)}\n"
            + _RULES.format(reveals_max=k.reveals_max, max_just=k.max_justifications)
        )
        facts = SeedFacts(context, k)
        body: dict[str, Any] = {
            "persona": context.persona,
            "user aspects": [
                {"id": a, "name": context.aspects[a].name, "weight": round(p.weight, 3)}
                for a, p in facts.cared.items()
            ],
            "usable negatives": [
                {
                    "item": n.profile.item,
                    "title": n.profile.title or n.profile.item,
                    "grounding aspects": sorted(n.reasons),
                }
                for n in facts.negatives
            ],
            "target": context.target.title or context.target.item,
            "target justifiable aspects": list(facts.justify_user),
            "target aspects to ask about": [
                {"id": a, "answer": "well" if facts.answers_well(a) else "badly"}
                for a in facts.inquiry_options
            ],
        }
        return [
            SystemMessage(content=system),
            UserMessage(content="Seed facts: " + json.dumps(body), source="planner"),
        ]

    # -- answer ------------------------------------------------------------------------------------
    @staticmethod
    def parse(text: str) -> LLMPlanAnswer:
        """The model's answer as a validated object (LLMPlanError: ``json`` or ``shape``)."""
        # Small models wrap JSON in prose or code fences: take the outermost object.
        match = re.search(r"\{.*\}", text, re.DOTALL)
        if match is None:
            raise LLMPlanError("json", "the answer holds no JSON object")
        try:
            data = json.loads(match.group(0))
        except json.JSONDecodeError as exc:
            raise LLMPlanError("json", f"the answer is not valid JSON ({exc.msg} at {exc.pos})") from None
        try:
            return LLMPlanAnswer.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise LLMPlanError("shape", f"{'.'.join(map(str, err['loc']))}: {err['msg']}") from None

    def from_answer(self, answer: LLMPlanAnswer, context: PlanContext) -> DialogPlan:
        """The plan an answer describes, checked against grammar and profiles (PlanError naming the rule)."""
        path = tuple(answer.path)
        self.grammar.check_path(path)
        for field, states in (
            ("reveals", answer.reveals),
            ("negatives", answer.negatives),
            ("clarify", answer.clarify),
            ("critique", answer.critique),
        ):
            for s in states:
                if s not in path:
                    raise LLMPlanError("shape", f"{field} names state {s!r}, which is not on the path")
        choices = Choices(
            reveals=dict(answer.reveals),
            negatives={s: c.item for s, c in answer.negatives.items()},
            decline_aspects={s: c.aspect for s, c in answer.negatives.items() if c.aspect is not None},
            clarify=dict(answer.clarify),
            critique=dict(answer.critique),
            justify=answer.justify,
            inquire=answer.inquire,
        )
        plan = self.sampler.plan(context, path=path, choices=choices).model_copy(update={"planner": "llm"})
        check_plan(plan, self.grammar, context, min_mentions=self.sampler.knobs.min_mentions)
        return plan

    async def aplan(self, context: PlanContext) -> DialogPlan:
        """The model's plan for one seed, or the sampler's with the reason the model's was rejected."""
        json_ok = bool(self.client.model_info.get("json_output", False))
        result = await self.client.create(self.messages(context), json_output=True if json_ok else None)
        try:
            if not isinstance(result.content, str):
                raise LLMPlanError("shape", "the model answered with a tool call, not text")
            return self.from_answer(self.parse(result.content), context)
        except PlanError as exc:
            if self.strict:
                raise
            plan = self.sampler.plan(context)
            return plan.model_copy(update={"fallback_reason": f"{exc.rule}: {exc.message}"})

    def replan(
        self, plan: DialogPlan, completed_nodes: int, avoid: Collection[str] | str, *, context: PlanContext
    ) -> DialogPlan | None:
        """Replanning is the sampler's (deterministic, no model call mid-dialog)."""
        return self.sampler.replan(plan, completed_nodes, avoid, context=context)
