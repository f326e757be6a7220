"""What a simulated dialog is made of, as the agents, validators and executor exchange it.

A :class:`Turn` is one message of one side, placed in the plan (node index, attempt). A
:class:`Verdict` is one validator's judgement of one node attempt, with reasons that go into the
retry prompt. :class:`NodeRequest` is everything an agent is told when asked for its next message.
The executor owns the loop; agents and validators never see each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from agents.catalog import Catalog
from planners.context import PlanContext
from planners.plan import DialogPlan, NodeBinding

__all__ = ["AgentReply", "DialogAgent", "NodeRequest", "Realizer", "Speaker", "Turn", "ValidationInput",
           "Validator", "Verdict", "transcript_text"]

Speaker = Literal["user", "system"]
# Who wrote a turn's text: a model (free generation, or a polish that kept the draft's meaning), the
# scripted realizer's draft (polish mode, every rewrite refused), or the scripted realizer by choice.
Realizer = Literal["model", "draft", "scripted"]


class Turn(BaseModel):
    """One message of one side, placed in the plan; superseded turns stay in the trace, flagged."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(description="position in the dialog transcript at the time it was said (0-based)")
    node_index: int = Field(description="index into plan.nodes")
    node: str = Field(description="the node's type, e.g. 'elicit'")
    attempt: int = Field(ge=1, description="1-based attempt of the node that produced it")
    speaker: Speaker
    text: str
    superseded: bool = False
    backend: str = Field("", description="what produced the text, e.g. 'scripted' or 'local:SmolLM2-135M'")
    realizer: Realizer = Field("model", description="model, draft (a polish refused) or scripted")
    draft: str | None = Field(None, description="polish mode: the scripted draft the text was made from")


class Verdict(BaseModel):
    """One validator's judgement of one node attempt; reasons are written for the retry prompt."""

    model_config = ConfigDict(frozen=True)

    validator: str = Field(description="stable name, e.g. 'executional.acts' or 'behavioral.target_hidden'")
    kind: Literal["executional", "behavioral"]
    judge: Literal["rule", "llm"] = "rule"
    passed: bool
    reasons: tuple[str, ...] = ()


class NodeRequest(BaseModel):
    """What an agent is asked to do now: the node, its plan and context, the transcript, retry feedback."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    plan: DialogPlan
    context: PlanContext
    node: NodeBinding
    attempt: int
    exchange: int = Field(description="0-based exchange (user+system pair) within this node attempt")
    transcript: tuple[Turn, ...] = Field(description="accepted turns of earlier nodes, then this attempt's")
    feedback: tuple[str, ...] = Field((), description="reasons earlier attempts of this node failed")
    final_exchange: bool = Field(False, description="the node's last allowed exchange: wrap it up")


class AgentReply(BaseModel):
    """An agent's next message, and whether it considers the node's part done."""

    model_config = ConfigDict(frozen=True)

    text: str
    done: bool = Field(False, description="the agent's own claim; validators never trust it")
    backend: str = ""


@runtime_checkable
class DialogAgent(Protocol):
    """A user or system agent: answers a NodeRequest with its next message."""

    role: Speaker
    persona: str

    async def reply(self, request: NodeRequest) -> AgentReply: ...


class ValidationInput(BaseModel):
    """One node attempt to judge: its turns, what came before, and the plan and profiles behind it."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    plan: DialogPlan
    context: PlanContext
    node: NodeBinding
    attempt: int
    turns: tuple[Turn, ...] = Field(description="this attempt's turns")
    before: tuple[Turn, ...] = Field(description="accepted turns of earlier nodes")
    catalog: Catalog = Field(description="every catalog item, with mention detection")


@runtime_checkable
class Validator(Protocol):
    """Judges one node attempt. Rule validators always run; LLM judges are added when configured."""

    name: str
    kind: Literal["executional", "behavioral"]

    async def check(self, data: ValidationInput) -> Verdict: ...


def transcript_text(turns: Sequence[Turn]) -> str:
    """The turns as 'user: ...' / 'system: ...' lines (for prompts and debugging)."""
    return "\n".join(f"{t.speaker}: {t.text}" for t in turns)
