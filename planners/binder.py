"""Slot binding: walks a path node by node and fills each node's slots from the seed's profiles.

``SeedFacts`` reads a context once: the aspects the user cares about (the profile's ``liked`` and
``disliked`` lists, i.e. the profiler's own judgement, kept when |weight| >= ``min_weight``), the
target's community-praised aspects that match them (the justification), and for each negative the
grounded reason to decline it: an aspect the user cares about on which the community's sentiment is
negative (``community_negative``) or falling (``worsening``), with at least ``min_mentions`` mentions.
Negatives without such a reason, or (by default) of another category than the target, are skipped
with the reason recorded; a path never holds more
``recommend_alternative`` nodes than there are usable negatives.

Elicitation reveals the justifying aspects first, then the negatives' decline aspects, then the rest
by |weight|, so the system later recommends on grounds the user actually stated. A decline or a
critique on an aspect not yet revealed reveals it (``newly_revealed``). An LLM planner's choices come in
as :class:`Choices` and are checked here against the same facts (BindingError naming the rule).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from planners.context import PlanContext
from planners.errors import BindingError
from planners.grammar import Grammar
from planners.plan import (
    Acceptance,
    Clarification,
    CommunityFact,
    Critique,
    Inquiry,
    Justification,
    NegativeSlot,
    NodeBinding,
    SkippedNegative,
    TargetSlot,
    UserAspectFact,
)
from profiling.profiles import AspectPreference, AspectSentiment, ItemProfile

__all__ = ["BindKnobs", "Choices", "SeedFacts", "WalkState", "bind_path"]


@dataclass(frozen=True, slots=True)
class BindKnobs:
    """The thresholds binding uses (copied from PlanConfig so the hot loop reads plain attributes)."""

    reveals_min: int = 1
    reveals_max: int = 2
    max_justifications: int = 2
    min_weight: float = 0.0
    min_mentions: int = 1
    decline_max_sentiment: float = -0.05
    decline_min_drop: float = 0.1
    justify_min_sentiment: float = 0.05
    max_evidence: int = 2
    same_category: bool = True


@dataclass
class Choices:
    """An LLM planner's choices, by state id; anything left out is chosen as the sampler would."""

    reveals: dict[str, list[int]] = field(default_factory=dict)
    negatives: dict[str, str] = field(default_factory=dict)
    decline_aspects: dict[str, int] = field(default_factory=dict)
    clarify: dict[str, int] = field(default_factory=dict)
    critique: dict[str, int] = field(default_factory=dict)
    justify: list[int] | None = None
    inquire: int | None = None


@dataclass(slots=True)
class _Negative:
    profile: ItemProfile
    source: str
    reasons: dict[int, tuple[str, float]]  # aspect -> (reason kind, score), every grounded aspect
    best: int


class SeedFacts:
    """What a context offers to bind: cared aspects, justifications, usable negatives, inquiry options."""

    def __init__(self, ctx: PlanContext, knobs: BindKnobs) -> None:
        self.ctx = ctx
        self.knobs = knobs
        # The profiler's liked/disliked lists, not a threshold on |weight|: weights are importance
        # shares times sentiment, so their scale depends on how many aspects a user talks about.
        listed = set(ctx.user.liked) | set(ctx.user.disliked)
        self.cared: dict[int, AspectPreference] = {
            p.aspect: p
            for p in ctx.user.preferences
            if p.aspect in listed and abs(p.weight) >= knobs.min_weight
        }
        self.target_aspects = {a.aspect: a for a in ctx.target.aspects if a.mentions >= knobs.min_mentions}
        scored = [
            (abs(p.weight) * s.sentiment, a)
            for a, p in self.cared.items()
            if (s := self.target_aspects.get(a)) is not None and s.sentiment >= knobs.justify_min_sentiment
        ]
        scored.sort(key=lambda x: (-x[0], x[1]))
        self.justify_user = [a for _, a in scored]
        praised = [s for s in self.target_aspects.values() if s.sentiment >= knobs.justify_min_sentiment]
        praised.sort(key=lambda s: (-s.sentiment, -s.mentions, s.aspect))
        self.justify_community = [s.aspect for s in praised]
        self.negatives: list[_Negative] = []
        self.skipped: list[SkippedNegative] = []
        sources = dict(zip(ctx.seed.negatives, ctx.seed.negative_sources, strict=False))
        for item in ctx.seed.negatives:
            prof = ctx.negative(item)
            if prof is None:
                self.skipped.append(SkippedNegative(item=item, reason="no profile in the plan context"))
                continue
            if knobs.same_category and prof.category != ctx.target.category:
                # Proposing a laptop to someone asking for a backpack is not an alternative.
                self.skipped.append(
                    SkippedNegative(
                        item=item,
                        reason=f"category {prof.category!r} is not the target's {ctx.target.category!r}",
                    )
                )
                continue
            reasons = self._decline_reasons(prof)
            if not reasons:
                self.skipped.append(
                    SkippedNegative(
                        item=item,
                        reason=("no aspect the user cares about has negative or falling community sentiment"),
                    )
                )
                continue
            best = max(reasons, key=lambda a: (reasons[a][0] == "community_negative", reasons[a][1], -a))
            self.negatives.append(_Negative(prof, sources.get(item, "catalog"), reasons, best))
        # Reveal order: grounds of the target first, then of the declines, then the rest by |weight|.
        order: list[int] = list(self.justify_user)
        for a in [n.best for n in self.negatives] + list(self.cared):
            if a not in order:
                order.append(a)
        self.reveal_order = order

    def _decline_reasons(self, prof: ItemProfile) -> dict[int, tuple[str, float]]:
        k = self.knobs
        out: dict[int, tuple[str, float]] = {}
        for s in prof.aspects:
            p = self.cared.get(s.aspect)
            if p is None or s.mentions < k.min_mentions:
                continue
            if s.sentiment <= k.decline_max_sentiment:
                out[s.aspect] = ("community_negative", abs(p.weight) * -s.sentiment)
            elif s.trend <= -k.decline_min_drop:
                out[s.aspect] = ("worsening", abs(p.weight) * -s.trend)
        return out

    # -- fact builders ---------------------------------------------------------------------------
    def user_fact(self, aspect: int) -> UserAspectFact:
        p = self.cared[aspect]
        return UserAspectFact(
            aspect=aspect,
            name=self.ctx.aspects[aspect].name,
            polarity=1 if p.weight >= 0 else -1,
            weight=p.weight,
            sentiment=p.sentiment,
            mentions=p.mentions,
            evidence=_quotes(p.evidence, self.knobs.max_evidence),
        )

    def community_fact(self, prof: ItemProfile, s: AspectSentiment) -> CommunityFact:
        return CommunityFact(
            item=prof.item,
            aspect=s.aspect,
            name=self.ctx.aspects[s.aspect].name,
            sentiment=s.sentiment,
            mentions=s.mentions,
            trend=s.trend,
            evidence=_quotes(s.evidence, self.knobs.max_evidence),
        )

    @property
    def can_inquire(self) -> bool:
        return bool(self.target_aspects)


def _quotes(evidence: tuple[str, ...], k: int) -> tuple[str, ...]:
    # Profiles may repeat a sentence (the same review text twice); a realizer should not quote it twice.
    return tuple(dict.fromkeys(evidence))[:k]


def title_of(prof: ItemProfile) -> str:
    """Display title of an item profile; the item id when the profile carries no title."""
    return prof.title or prof.item


@dataclass
class WalkState:
    """What earlier nodes established: revealed aspects (in order), clarified ones, negatives used."""

    revealed: list[int] = field(default_factory=list)
    clarified: set[int] = field(default_factory=set)
    used_negatives: list[str] = field(default_factory=list)
    target_justifications: tuple[Justification, ...] = ()

    @classmethod
    def after(cls, nodes: Sequence[NodeBinding]) -> WalkState:
        """The state after the given (completed) nodes."""
        st = cls()
        for n in nodes:
            st._note(n)
        return st

    def _reveal(self, aspect: int) -> None:
        if aspect not in self.revealed:
            self.revealed.append(aspect)

    def _note(self, n: NodeBinding) -> None:
        for f in n.reveals:
            self._reveal(f.aspect)
        if n.clarification is not None:
            self.clarified.add(n.clarification.user.aspect)
        if n.negative is not None:
            self.used_negatives.append(n.negative.item)
            self._reveal(n.negative.user.aspect)
        if n.critique is not None:
            self._reveal(n.critique.user.aspect)
        if n.target is not None:
            self.target_justifications = n.target.justifications


def bind_path(
    grammar: Grammar,
    facts: SeedFacts,
    path: Sequence[str],
    rng: random.Random,
    *,
    prefix: Sequence[NodeBinding] = (),
    choices: Choices | None = None,
) -> list[NodeBinding]:
    """Bindings for the states of ``path`` after the already-bound ``prefix`` nodes (prefix included)."""
    ch = choices or Choices()
    st = WalkState.after(prefix)
    out = list(prefix)
    elicits_left = sum(1 for s in path[len(prefix) :] if grammar.type_of(s) == "elicit")
    for i in range(len(prefix), len(path)):
        state = path[i]
        kind = grammar.type_of(state)
        nt = grammar.types[state]
        lo, hi = grammar.turn_range(state)
        slots: dict[str, object] = {}
        if kind == "greet":
            slots["need"] = facts.ctx.target.category
        elif kind == "elicit":
            elicits_left -= 1
            slots["reveals"] = _reveals(facts, st, state, ch, rng, elicits_left)
        elif kind == "clarify":
            slots["clarification"] = _clarify(facts, st, state, ch)
        elif kind == "recommend_alternative":
            slots["negative"] = _negative(facts, st, state, ch)
        elif kind == "refine":
            slots["critique"] = _critique(facts, st, state, ch)
        elif kind == "recommend_target":
            slots["target"] = _target(facts, st, ch)
        elif kind == "inquire_item":
            slots["inquiry"] = _inquiry(facts, st, ch)
        elif kind == "accept":
            just = st.target_justifications
            slots["acceptance"] = Acceptance(
                item=facts.ctx.target.item,
                title=title_of(facts.ctx.target),
                decisive=just[0] if just else None,
            )
        node = NodeBinding(
            index=i,
            state=state,
            type=kind,
            opener=nt.opener,
            system_acts=nt.system_acts,
            user_acts=nt.user_acts,
            min_turns=lo,
            max_turns=hi,
            **slots,
        )
        st._note(node)
        out.append(node)
    return out


def _reveals(
    facts: SeedFacts, st: WalkState, state: str, ch: Choices, rng: random.Random, elicits_after: int
) -> tuple[UserAspectFact, ...]:
    k = facts.knobs
    if state in ch.reveals:
        chosen = ch.reveals[state]
        if not 1 <= len(chosen) <= k.reveals_max:
            raise BindingError(
                "reveal_count", f"{state}: reveals {len(chosen)} aspects, allowed 1..{k.reveals_max}"
            )
        for a in chosen:
            if a not in facts.cared:
                raise BindingError(
                    "aspect_not_in_profile", f"{state}: aspect {a} is not one the user cares about"
                )
            if a in st.revealed or chosen.count(a) > 1:
                raise BindingError("reveal_repeated", f"{state}: aspect {a} is revealed twice")
        return tuple(facts.user_fact(a) for a in chosen)
    pool = [a for a in facts.reveal_order if a not in st.revealed]
    n = rng.randint(k.reveals_min, k.reveals_max)
    # Leave at least one fresh aspect for each later elicitation on the path.
    n = max(1, min(n, len(pool) - elicits_after))
    if not pool:
        raise BindingError("no_aspect_to_reveal", f"{state}: every aspect the user cares about is revealed")
    return tuple(facts.user_fact(a) for a in pool[:n])


def _clarify(facts: SeedFacts, st: WalkState, state: str, ch: Choices) -> Clarification:
    if state in ch.clarify:
        a = ch.clarify[state]
        if a not in st.revealed or a not in facts.cared:
            raise BindingError("clarify_not_revealed", f"{state}: aspect {a} was not revealed before")
        return Clarification(user=facts.user_fact(a))
    options = [a for a in st.revealed if a in facts.cared and a not in st.clarified] or [
        a for a in st.revealed if a in facts.cared
    ]
    if not options:
        raise BindingError("clarify_not_revealed", f"{state}: nothing revealed to clarify")
    # The least decided aspect: weakest |sentiment|, then weakest |weight|.
    a = min(options, key=lambda x: (abs(facts.cared[x].sentiment), abs(facts.cared[x].weight), x))
    return Clarification(user=facts.user_fact(a))


def _negative(facts: SeedFacts, st: WalkState, state: str, ch: Choices) -> NegativeSlot:
    if state in ch.negatives:
        item = ch.negatives[state]
        if item not in facts.ctx.seed.negatives:
            raise BindingError("negative_not_in_seed", f"{state}: {item!r} is not a negative of this seed")
        neg = next((n for n in facts.negatives if n.profile.item == item), None)
        if neg is None:
            why = next((k.reason for k in facts.skipped if k.item == item), "")
            raise BindingError("negative_not_grounded", f"{state}: {item!r} cannot be proposed: {why}")
        if item in st.used_negatives:
            raise BindingError("negative_repeated", f"{state}: {item!r} was already proposed")
    else:
        neg = next((n for n in facts.negatives if n.profile.item not in st.used_negatives), None)
        if neg is None:
            raise BindingError("no_usable_negative", f"{state}: no unused negative with a grounded reason")
    aspect = ch.decline_aspects.get(state, neg.best)
    if aspect not in neg.reasons:
        raise BindingError(
            "negative_not_grounded",
            f"{state}: aspect {aspect} does not ground declining "
            f"{neg.profile.item!r} (community sentiment not negative or falling, or the user "
            "does not care about it)",
        )
    s = neg.profile.aspect(aspect)
    assert s is not None  # reasons only holds aspects present in the profile
    return NegativeSlot(
        item=neg.profile.item,
        title=title_of(neg.profile),
        source=neg.source,
        reason=neg.reasons[aspect][0],
        user=facts.user_fact(aspect),
        community=facts.community_fact(neg.profile, s),
        newly_revealed=aspect not in st.revealed,
    )


def _critique(facts: SeedFacts, st: WalkState, state: str, ch: Choices) -> Critique:
    if not st.used_negatives:
        raise BindingError("refine_without_alternative", f"{state}: no declined alternative to critique")
    prof = facts.ctx.negative(st.used_negatives[-1])
    assert prof is not None
    if state in ch.critique:
        a = ch.critique[state]
        if a not in facts.cared:
            raise BindingError(
                "aspect_not_in_profile", f"{state}: aspect {a} is not one the user cares about"
            )
    else:
        fresh = [a for a in facts.reveal_order if a not in st.revealed]
        if fresh:
            # Among new aspects, the one the community rates worst on this item makes the sharpest critique.
            def score(x: int) -> tuple[float, int]:
                s = prof.aspect(x)
                return (
                    s.sentiment if s is not None and s.mentions >= facts.knobs.min_mentions else 1.0,
                    fresh.index(x),
                )

            a = min(fresh, key=score)
        else:
            a = st.revealed[-1]
    s = prof.aspect(a)
    community = (
        facts.community_fact(prof, s) if s is not None and s.mentions >= facts.knobs.min_mentions else None
    )
    return Critique(
        item=prof.item,
        title=title_of(prof),
        user=facts.user_fact(a),
        community=community,
        newly_revealed=a not in st.revealed,
    )


def _justification(facts: SeedFacts, aspect: int, basis_user: bool) -> Justification:
    s = facts.target_aspects[aspect]
    return Justification(
        user=facts.user_fact(aspect) if basis_user else None,
        community=facts.community_fact(facts.ctx.target, s),
        basis="user_and_community" if basis_user else "community_only",
    )


def _target(facts: SeedFacts, st: WalkState, ch: Choices) -> TargetSlot:
    k = facts.knobs
    tgt = facts.ctx.target
    if ch.justify is not None:
        if not 1 <= len(ch.justify) <= k.max_justifications:
            raise BindingError(
                "justification_count", f"{len(ch.justify)} justifications, allowed 1..{k.max_justifications}"
            )
        for a in ch.justify:
            if a not in facts.justify_user:
                raise BindingError(
                    "justification_not_grounded",
                    f"aspect {a} is not both cared about by the "
                    "user and praised by the community for the target",
                )
        just = tuple(_justification(facts, a, True) for a in ch.justify)
        evidence = "user_and_community"
    elif facts.justify_user:
        # Stated grounds first: an aspect the user revealed makes the recommendation answer them.
        ranked = sorted(facts.justify_user, key=lambda a: (a not in st.revealed, facts.justify_user.index(a)))
        just = tuple(_justification(facts, a, True) for a in ranked[: k.max_justifications])
        evidence = "user_and_community"
    elif facts.justify_community:
        just = tuple(_justification(facts, a, False) for a in facts.justify_community[: k.max_justifications])
        evidence = "community_only"
    else:
        just, evidence = (), "none"
    return TargetSlot(
        item=tgt.item, title=title_of(tgt), category=tgt.category, justifications=just, evidence=evidence
    )


def _inquiry(facts: SeedFacts, st: WalkState, ch: Choices) -> Inquiry:
    tgt = facts.ctx.target
    if ch.inquire is not None:
        a = ch.inquire
        if a not in facts.target_aspects:
            raise BindingError("inquiry_not_in_target", f"nobody wrote about aspect {a} of the target")
    else:
        used = {j.community.aspect for j in st.target_justifications}
        cared = sorted(
            (x for x in facts.cared if x in facts.target_aspects),
            key=lambda x: (x in used, -abs(facts.cared[x].weight), x),
        )
        if cared:
            a = cared[0]
        elif facts.target_aspects:
            a = max(facts.target_aspects.values(), key=lambda s: (s.mentions, -s.aspect)).aspect
        else:
            raise BindingError("inquiry_not_in_target", "nobody wrote about any aspect of the target")
    user = facts.user_fact(a) if a in facts.cared else None
    return Inquiry(
        item=tgt.item,
        title=title_of(tgt),
        user=user,
        community=facts.community_fact(tgt, facts.target_aspects[a]),
    )
