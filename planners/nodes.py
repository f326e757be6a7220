"""The super-node catalog: what each kind of dialog node is for, who does what in it, and its slots.

A node is flexible: it declares a turn range (one turn is one exchange: the opener's message and the
other side's reply, or the opener's message alone in a node where only one side acts) and the
executor's agents decide within it. Preconditions are facts that earlier nodes on the same path must
have established (or must not have); the grammar checks them on every start-to-end path, and each
names the rule a path breaks when it fails, e.g. ``elicit_before_recommend``. One fact comes from a
plan's bindings rather than from the path: ``concern_open``, raised by an inquiry whose answer is
negative on an aspect the user cares about and settled by an inquiry answered well, a declined
alternative or a refinement; ``accept`` needs it settled (rule ``no_accept_over_open_concern``).

Speakers alternate across node boundaries: a node ends with the side that does not open the next one
(:attr:`NodeType.closer`; the grammar checks every edge, rule ``turns_alternate``). So the target's
recommendation is the system's alone, and the user's reaction (a question, an acceptance) opens the
next node; refine is opened by the system, which acknowledges the decline and asks what else matters.

Beyond the suggested set, the catalog follows what the profiles can ground:

- ``clarify`` resolves the revealed aspect the user is least decided about (the weakest |sentiment|),
  so it is bound to data rather than being small talk;
- ``inquire_item`` is about the target once it is on the table: the user asks about an aspect they
  care about and the system answers from community sentiment, whatever its sign;
- ``refine`` follows a declined alternative: the user critiques it on one more aspect and the system
  adjusts its search (this is where a late preference is revealed).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["CATALOG", "NodeKind", "NodeType", "Precondition", "SlotName", "SystemAct", "UserAct", "node_type"]

NodeKind = Literal[
    "greet",
    "elicit",
    "clarify",
    "inquire_item",
    "recommend_alternative",
    "refine",
    "recommend_target",
    "accept",
    "close",
]
SystemAct = Literal[
    "greet",
    "ask_preference",
    "ask_clarification",
    "answer_with_sentiment",
    "recommend",
    "justify",
    "acknowledge_critique",
    "ask_critique",
    "adjust",
    "confirm",
    "farewell",
]
UserAct = Literal[
    "greet",
    "state_need",
    "reveal_preference",
    "clarify_preference",
    "ask_about_aspect",
    "decline_with_reason",
    "critique",
    "consider",
    "accept",
    "thank",
    "farewell",
]
SlotName = Literal[
    "need", "reveals", "clarification", "inquiry", "negative", "critique", "target", "acceptance"
]
Fact = Literal[
    "greeted",
    "elicited",
    "clarified",
    "alternative_declined",
    "target_recommended",
    "target_on_table",
    "target_accepted",
    "concern_open",
]


class Precondition(BaseModel):
    """A fact that earlier nodes of the path must have established (or must not have, when absent)."""

    model_config = ConfigDict(frozen=True)

    fact: Fact
    rule: str = Field(description="the rule tag a path breaks when this precondition fails")
    absent: bool = Field(
        False, description="the fact must NOT hold yet (e.g. the target is recommended once)"
    )


class NodeType(BaseModel):
    """One kind of super-node: acts of each side, turn range, preconditions, effects and slots."""

    model_config = ConfigDict(frozen=True)

    name: NodeKind
    description: str
    opener: Literal["system", "user"] = Field(description="who speaks first in the node")
    system_acts: tuple[SystemAct, ...]
    user_acts: tuple[UserAct, ...]
    min_turns: int = Field(ge=1)
    max_turns: int = Field(ge=1)
    preconditions: tuple[Precondition, ...] = ()
    provides: tuple[Fact, ...] = ()
    clears: tuple[Fact, ...] = Field((), description="facts that stop holding after this node")
    slots: tuple[SlotName, ...] = ()

    @model_validator(mode="after")
    def _turns_ordered(self) -> NodeType:
        if self.min_turns > self.max_turns:
            raise ValueError(f"{self.name}: min_turns {self.min_turns} > max_turns {self.max_turns}")
        if not (self.system_acts if self.opener == "system" else self.user_acts):
            raise ValueError(f"{self.name}: the opener ({self.opener}) has no act")
        return self

    @property
    def speakers(self) -> tuple[Literal["system", "user"], ...]:
        """Who speaks in each exchange, in order: the opener, then the other side if it has acts."""
        other: Literal["system", "user"] = "user" if self.opener == "system" else "system"
        return (self.opener, other) if (self.user_acts if other == "user" else self.system_acts) else (
            self.opener,)

    @property
    def closer(self) -> Literal["system", "user"]:
        """Who speaks last in the node (the next node must be opened by the other side)."""
        return self.speakers[-1]


_ELICITED = Precondition(fact="elicited", rule="elicit_before_recommend")

CATALOG: dict[str, NodeType] = {
    n.name: n
    for n in (
        NodeType(
            name="greet",
            description="open the dialog; the user states what kind of item they need",
            opener="system",
            system_acts=("greet",),
            user_acts=("greet", "state_need"),
            min_turns=1,
            max_turns=1,
            provides=("greeted",),
            slots=("need",),
        ),
        NodeType(
            name="elicit",
            description="the system asks, the user reveals one or two aspect preferences",
            opener="system",
            system_acts=("ask_preference",),
            user_acts=("reveal_preference",),
            min_turns=1,
            max_turns=3,
            provides=("elicited",),
            slots=("reveals",),
        ),
        NodeType(
            name="clarify",
            description="the system asks about the revealed aspect the user is least "
            "decided about; the user states its polarity",
            opener="system",
            system_acts=("ask_clarification",),
            user_acts=("clarify_preference",),
            min_turns=1,
            max_turns=2,
            preconditions=(Precondition(fact="elicited", rule="clarify_after_elicit"),),
            provides=("clarified",),
            slots=("clarification",),
        ),
        NodeType(
            name="inquire_item",
            description="the user asks about an aspect of the recommended target; "
            "the system answers from community sentiment",
            opener="user",
            system_acts=("answer_with_sentiment",),
            user_acts=("ask_about_aspect",),
            min_turns=1,
            max_turns=2,
            preconditions=(Precondition(fact="target_on_table", rule="inquire_about_recommended_target"),),
            clears=("concern_open",),
            slots=("inquiry",),
        ),
        NodeType(
            name="recommend_alternative",
            description="the system proposes a negative; the user declines "
            "it for a reason grounded in their profile and community sentiment",
            opener="system",
            system_acts=("recommend", "justify"),
            user_acts=("decline_with_reason",),
            min_turns=1,
            max_turns=2,
            preconditions=(_ELICITED,),
            provides=("alternative_declined",),
            clears=("target_on_table", "concern_open"),
            slots=("negative",),
        ),
        NodeType(
            name="refine",
            description="the system acknowledges the declined alternative and asks what else would make "
            "an option better; the user critiques the declined alternative on one more aspect (the next "
            "recommendation adjusts to it)",
            opener="system",
            system_acts=("acknowledge_critique", "ask_critique"),
            user_acts=("critique",),
            min_turns=1,
            max_turns=2,
            preconditions=(
                Precondition(fact="alternative_declined", rule="refine_after_declined_alternative"),
            ),
            clears=("concern_open",),
            slots=("critique",),
        ),
        NodeType(
            name="recommend_target",
            description="the system recommends the target, justified by aspects "
            "the user cares about and community sentiment; the user's reaction opens the next node",
            opener="system",
            system_acts=("recommend", "justify"),
            user_acts=(),
            min_turns=1,
            max_turns=1,
            preconditions=(
                _ELICITED,
                Precondition(fact="target_recommended", rule="target_recommended_once", absent=True),
            ),
            provides=("target_recommended", "target_on_table"),
            slots=("target",),
        ),
        NodeType(
            name="accept",
            description="the user accepts the target; the system confirms",
            opener="user",
            system_acts=("confirm",),
            user_acts=("accept",),
            min_turns=1,
            max_turns=1,
            preconditions=(
                Precondition(fact="target_on_table", rule="accept_follows_target"),
                Precondition(fact="concern_open", rule="no_accept_over_open_concern", absent=True),
            ),
            provides=("target_accepted",),
            slots=("acceptance",),
        ),
        NodeType(
            name="close",
            description="thanks and goodbye",
            opener="user",
            system_acts=("farewell",),
            user_acts=("thank", "farewell"),
            min_turns=1,
            max_turns=1,
            preconditions=(Precondition(fact="target_accepted", rule="accept_before_close"),),
        ),
    )
}


def node_type(name: str) -> NodeType:
    """The catalog entry of a node kind (KeyError naming the known kinds when unknown)."""
    try:
        return CATALOG[name]
    except KeyError:
        raise KeyError(f"unknown node type {name!r}; known: {', '.join(CATALOG)}") from None
