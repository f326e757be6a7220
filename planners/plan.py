"""Dialog plans: the path of super-nodes and, per node, the slot bindings that ground its turns.

Bindings carry everything a deterministic realizer needs to write grounded turns from them alone:
aspect ids AND names, polarity, the user's own evidence sentences, the negative's title and the
community sentiment (value, mentions by sign, stance, trend, community sentences) that grounds the
user's reason, and the target's title with the aspects that justify it. Every fact also carries its
provenance: the stage-1 sentence ids behind it (``sentence_ids``; the user's own for preferences,
other buyers' for community facts, all before the seed's time) and of its quotes (``evidence_ids``).
A plan is JSON-serialisable and has a content hash, so trace stores can key and compare them.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from planners.nodes import NodeKind, SystemAct, UserAct
from profiling.profiles import Stance
from profiling.seeds import NegativeSource

__all__ = [
    "Acceptance",
    "Clarification",
    "CommunityFact",
    "Critique",
    "DialogPlan",
    "Inquiry",
    "Justification",
    "NegativeSlot",
    "NodeBinding",
    "Replanning",
    "SkippedNegative",
    "TargetSlot",
    "UserAspectFact",
]

PLAN_SCHEMA_VERSION = 2

_Frozen = ConfigDict(frozen=True, extra="forbid")


class UserAspectFact(BaseModel):
    """What the user's profile says about one aspect: polarity, strength and their own words."""

    model_config = _Frozen

    aspect: int
    name: str
    polarity: Literal[1, -1] = Field(description="+1: the user speaks well of it; -1: they complain about it")
    weight: float = Field(description="the profile's signed preference weight")
    sentiment: float
    mentions: float = Field(description="time-decayed count of the user's mentions")
    evidence: tuple[str, ...] = Field((), description="the user's own sentences on it (quotable)")
    evidence_ids: tuple[int, ...] = Field((), description="stage-1 sentence ids of the evidence")
    count: int = Field(0, ge=0, description="the user's mentions of it before the seed's time")
    sentence_ids: tuple[int, ...] = Field((), description="the user's sentences behind it, latest first")


class CommunityFact(BaseModel):
    """What other buyers say about one aspect of one item as of the seed's time, and how strongly."""

    model_config = _Frozen

    item: str
    aspect: int
    name: str
    sentiment: float
    mentions: int
    trend: float = Field(description="the profile's trend; 0 when either side of its time cut has fewer "
                         "mentions than the plan's minimum (too thin to claim)")
    evidence: tuple[str, ...] = Field((), description="community sentences on it (quotable)")
    evidence_ids: tuple[int, ...] = Field((), description="stage-1 sentence ids of the evidence")
    positive: int = Field(0, ge=0, description="positive mentions")
    negative: int = Field(0, ge=0, description="negative mentions")
    stance: Stance = Field("mixed", description="what the mentions support, their number accounted for")
    share_low: float = Field(0.0, description="credible interval of the positive share, low end")
    share_high: float = Field(1.0, description="credible interval of the positive share, high end")
    trend_before: int = Field(0, ge=0, description="mentions in the trend window before its time cut")
    trend_after: int = Field(0, ge=0, description="mentions in the trend window after its time cut")
    sentence_ids: tuple[int, ...] = Field((), description="the sentences behind it, latest first")


class Clarification(BaseModel):
    """The revealed aspect the user is least decided about, and the polarity they settle on."""

    model_config = _Frozen

    user: UserAspectFact


class NegativeSlot(BaseModel):
    """A negative the system proposes and the user declines, with the grounded reason."""

    model_config = _Frozen

    item: str
    title: str = Field(description="display title (the item id when the profile has none)")
    source: NegativeSource = Field(description="how the seed picked it (rated_low = a real rejection)")
    reason: Literal["community_negative", "worsening"] = Field(
        description="community sentiment on the aspect is negative, or it is falling"
    )
    user: UserAspectFact = Field(description="the aspect the user cares about that grounds the decline")
    community: CommunityFact
    newly_revealed: bool = Field(description="the user had not mentioned this aspect earlier in the dialog")
    complaint_ids: tuple[int, ...] = Field(
        (), description="the user's own sentences complaining about the reason aspect, before the seed")
    own_review: bool = Field(False, description="one of those complaints is about this very item")
    praise: CommunityFact | None = Field(
        None, description="what the system may praise the alternative for (a positive stance), if anything")


class Critique(BaseModel):
    """In refine: the aspect the user critiques the declined alternative on; the system adjusts."""

    model_config = _Frozen

    item: str
    title: str
    user: UserAspectFact
    community: CommunityFact | None = Field(description="the community's view of it on that item, if any")
    newly_revealed: bool


class Justification(BaseModel):
    """One reason for the target: a user aspect (when there is one) and the community's praise of it."""

    model_config = _Frozen

    user: UserAspectFact | None
    community: CommunityFact
    basis: Literal["user_and_community", "community_only"]


class TargetSlot(BaseModel):
    """The target recommendation: title, category and the aspects that justify it."""

    model_config = _Frozen

    item: str
    title: str
    category: str
    justifications: tuple[Justification, ...]
    evidence: Literal["user_and_community", "community_only", "none"] = Field(
        description="'none' when the target had no positively reviewed aspect before the seed's time"
    )


class Inquiry(BaseModel):
    """In inquire_item: the user asks about an aspect of the target; the system answers from sentiment."""

    model_config = _Frozen

    item: str
    title: str
    user: UserAspectFact | None = Field(description="why the user asks (None: asked out of curiosity)")
    community: CommunityFact

    @property
    def raises_concern(self) -> bool:
        """The answer is negative on an aspect the user cares about: accepting right after is incoherent."""
        return self.user is not None and self.community.stance == "negative"


class Acceptance(BaseModel):
    """The target the user accepts and the aspect that decided it (None when nothing justified it)."""

    model_config = _Frozen

    item: str
    title: str
    decisive: Justification | None


class NodeBinding(BaseModel):
    """One node of a plan: its state and type, what each side does, its turn range and its slots."""

    model_config = _Frozen

    index: int
    state: str
    type: NodeKind
    opener: Literal["system", "user"]
    system_acts: tuple[SystemAct, ...]
    user_acts: tuple[UserAct, ...]
    min_turns: int
    max_turns: int
    need: str | None = Field(None, description="greet: the kind of item the user asks for (category)")
    reveals: tuple[UserAspectFact, ...] = Field((), description="elicit: preferences the user reveals")
    clarification: Clarification | None = None
    negative: NegativeSlot | None = None
    critique: Critique | None = None
    target: TargetSlot | None = None
    inquiry: Inquiry | None = None
    acceptance: Acceptance | None = None


class SkippedNegative(BaseModel):
    """A seed negative the plan does not use, and why."""

    model_config = _Frozen

    item: str
    reason: str


class Replanning(BaseModel):
    """How a plan came from another by :meth:`replan`: nodes kept and states avoided."""

    model_config = _Frozen

    from_hash: str
    completed_nodes: int
    avoided: tuple[str, ...]


class DialogPlan(BaseModel):
    """A plan for one seed: the path of super-nodes with their bindings, and where it came from."""

    model_config = _Frozen

    schema_version: int = PLAN_SCHEMA_VERSION
    seed_key: str
    user: str
    target: str
    persona: str
    planner: Literal["sampler", "llm"] = Field(description="who chose path and bindings (after fallbacks)")
    run_seed: int
    grammar: str
    grammar_hash: str
    config_hash: str
    path: tuple[str, ...]
    nodes: tuple[NodeBinding, ...]
    skipped_negatives: tuple[SkippedNegative, ...] = ()
    fallback_reason: str | None = Field(None, description="why an LLM plan was replaced by the sampler's")
    replanning: Replanning | None = None
    notes: tuple[str, ...] = Field((), description="anything a reader should know about this plan")

    @property
    def content_hash(self) -> str:
        """SHA-256 (hex, 16 chars) of the plan's canonical JSON: equal plans, equal hashes."""
        return hashlib.sha256(self.canonical_json()).hexdigest()[:16]

    def canonical_json(self) -> bytes:
        """The plan as JSON with sorted keys (what the content hash is computed on)."""
        return orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)

    def to_json(self) -> str:
        """The plan as a JSON string (round-trips through :meth:`from_json`)."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> DialogPlan:
        """A plan read back from :meth:`to_json`."""
        return cls.model_validate_json(text)

    @property
    def length(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    @property
    def turn_bounds(self) -> tuple[int, int]:
        """(min, max) total turns of the plan."""
        return sum(n.min_turns for n in self.nodes), sum(n.max_turns for n in self.nodes)
