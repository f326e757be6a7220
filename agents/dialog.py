"""What a simulated dialog is made of, as the agents, validators and executor exchange it.

A :class:`Turn` is one message of one side, placed in the plan (node index, attempt). A
:class:`Verdict` is one validator's judgement of one node attempt, with reasons that go into the
retry prompt: each as :class:`Feedback` naming the role whose turn failed, so the executor hands it to
that role's next attempt only. :class:`NodeRequest` is everything an agent is told when asked for its
next message. The executor owns the loop; agents and validators never see each other.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, InstanceOf

from agents.catalog import Catalog
from planners.context import PlanContext
from planners.plan import DialogPlan, NodeBinding

__all__ = ["AgentReply", "DialogAgent", "Feedback", "NodeRequest", "Realizer", "Speaker", "Turn",
           "ValidationInput", "Validator", "Verdict"]

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
    cut_off: bool = Field(False, description="the model stopped at its token limit: the text is incomplete")


class Feedback(BaseModel):
    """One reason an attempt failed, for the retry prompt of the role whose turn it is about.

    ``text`` is the reason as stored and shown to people; ``cited`` holds the spans of turn text it
    quotes (model output: a prompt shows them inside ``<quote>``, the rest as an instruction).
    ``role`` None: the node as a whole failed (both sides hear it). ``judged`` marks a model judge's
    reason, which is model output through and through: a prompt quotes all of it.
    """

    model_config = ConfigDict(frozen=True)

    role: Speaker | None
    text: str
    cited: tuple[str, ...] = ()
    judged: bool = False


class Verdict(BaseModel):
    """One validator's judgement of one node attempt; reasons are written for the retry prompt."""

    model_config = ConfigDict(frozen=True)

    validator: str = Field(description="stable name, e.g. 'executional.acts' or 'behavioral.target_hidden'")
    kind: Literal["executional", "behavioral"]
    judge: Literal["rule", "llm"] = "rule"
    passed: bool
    reasons: tuple[str, ...] = ()
    feedback: tuple[Feedback, ...] = Field(
        (), description="the reasons by role (empty: each reason concerns the whole node)")

    def routed(self) -> tuple[Feedback, ...]:
        """The reasons as feedback: each with the role it concerns (None when the validator said none)."""
        return self.feedback or tuple(Feedback(role=None, text=r, judged=self.judge == "llm")
                                      for r in self.reasons or (f"{self.validator} failed",))


class NodeRequest(BaseModel):
    """What an agent is asked to do now: the node, its plan and context, the transcript, retry feedback."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    # Validated when they were made (their own validators check them): taken as they are here,
    # not checked again on every request.
    plan: InstanceOf[DialogPlan]
    context: InstanceOf[PlanContext]
    node: InstanceOf[NodeBinding]
    attempt: int
    exchange: int = Field(description="0-based exchange (user+system pair) within this node attempt")
    transcript: tuple[Turn, ...] = Field(description="accepted turns of earlier nodes, then this attempt's")
    feedback: tuple[Feedback, ...] = Field(
        (), description="why this role's turn (or the node) failed in the previous attempt of this node")
    final_exchange: bool = Field(False, description="the node's last allowed exchange: wrap it up")


class AgentReply(BaseModel):
    """An agent's next message, and whether it considers the node's part done."""

    model_config = ConfigDict(frozen=True)

    text: str
    done: bool = Field(False, description="the agent's own claim; validators never trust it")
    backend: str = ""
    cut_off: bool = Field(False, description="the model stopped at its token limit (finish reason 'length')")


@runtime_checkable
class DialogAgent(Protocol):
    """A user or system agent: answers a NodeRequest with its next message."""

    role: Speaker
    persona: str

    async def reply(self, request: NodeRequest) -> AgentReply: ...


class ValidationInput(BaseModel):
    """One node attempt to judge: its turns, what came before, and the plan and profiles behind it."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    # Validated when they were made (their own validators check them): taken as they are here,
    # not checked again on every request.
    plan: InstanceOf[DialogPlan]
    context: InstanceOf[PlanContext]
    node: InstanceOf[NodeBinding]
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
