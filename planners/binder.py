"""Slot binding: walks a path node by node and fills each node's slots from the seed's facts.

What can be bound, and on what evidence, is :class:`planners.facts.SeedFacts`; a path never holds more
``recommend_alternative`` nodes than there are usable negatives.

Elicitation reveals the justifying aspects first, then the negatives' decline aspects, then the rest
by |weight|, so the system later recommends on grounds the user actually stated. A decline or a
critique on an aspect not yet revealed reveals it (``newly_revealed``). Inquiries ask about aspects the
user cares about; the last inquiry before ``accept`` is one the community answers well, and an earlier
one prefers an aspect it answers badly (a real concern, which the next question then settles), so no
plan accepts right after a negative answer (rule ``no_accept_over_open_concern``). An LLM planner's
choices come in as :class:`Choices` and are checked here against the same facts (BindingError naming
the rule).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from planners.errors import BindingError
from planners.facts import SeedFacts, title_of
from planners.grammar import Grammar
from planners.plan import (
    Acceptance,
    Clarification,
    Critique,
    Inquiry,
    Justification,
    NegativeSlot,
    NodeBinding,
    TargetSlot,
    UserAspectFact,
)

__all__ = ["Choices", "WalkState", "bind_path"]


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


@dataclass
class WalkState:
    """What earlier nodes established: revealed aspects (in order), clarified ones, negatives used."""

    revealed: list[int] = field(default_factory=list)
    clarified: set[int] = field(default_factory=set)
    used_negatives: list[str] = field(default_factory=list)
    target_justifications: tuple[Justification, ...] = ()
    inquired: list[int] = field(default_factory=list)
    concern_open: bool = False  # the last inquiry was answered negatively, nothing settled it since

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
        if n.inquiry is not None:
            self.inquired.append(n.inquiry.community.aspect)
            self.concern_open = n.inquiry.raises_concern
        elif n.negative is not None or n.critique is not None:
            self.concern_open = False


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
            # Inquiries before the next accept on the path, this one included.
            rest = [grammar.type_of(s) for s in path[i:]]
            run = rest.index("accept") if "accept" in rest else len(rest)
            slots["inquiry"] = _inquiry(facts, st, ch, state, rest[:run].count("inquire_item") - 1)
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
    pref = facts.cared[aspect]
    praise = facts.praise_for(neg, aspect)
    return NegativeSlot(
        item=neg.profile.item,
        title=title_of(neg.profile),
        source=neg.source,
        reason=neg.reasons[aspect][0],
        user=facts.user_fact(aspect),
        community=facts.community_fact(neg.profile, s),
        newly_revealed=aspect not in st.revealed,
        complaint_ids=pref.complaint_ids,
        own_review=neg.profile.item in pref.complaint_items,
        praise=facts.community_fact(neg.profile, praise) if praise is not None else None,
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
                return (s.sentiment if s is not None and facts.enough(s) else 1.0, fresh.index(x))

            a = min(fresh, key=score)
        else:
            a = st.revealed[-1]
    s = prof.aspect(a)
    community = facts.community_fact(prof, s) if s is not None and facts.enough(s) else None
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


def _inquiry(facts: SeedFacts, st: WalkState, ch: Choices, state: str, after: int) -> Inquiry:
    """The inquiry of ``state``; ``after`` more inquiries follow it before the user accepts."""
    tgt = facts.ctx.target
    options = [a for a in facts.inquiry_options if a not in st.inquired]
    if ch.inquire is not None and not st.inquired:
        a = ch.inquire
        if a not in facts.target_aspects:
            raise BindingError("inquiry_not_in_target", f"{state}: too few buyers wrote about aspect {a} "
                               f"of the target (fewer than {facts.knobs.min_mentions} mentions)")
        if a not in facts.cared:
            raise BindingError("inquiry_not_cared", f"{state}: aspect {a} is not one the user cares about")
        if after == 0 and not facts.answers_well(a):
            raise BindingError("no_accept_over_open_concern", f"{state}: buyers answer negatively on aspect "
                               f"{a} and the user accepts right after; ask about another aspect first")
    else:
        used = {j.community.aspect for j in st.target_justifications}

        def rank(x: int) -> tuple[bool, bool, float, int]:
            # A later question settles a concern: an earlier one may raise it (a real worry first).
            worry = not facts.answers_well(x)
            return (worry if after == 0 else not worry, x in used, -abs(facts.cared[x].weight), x)

        ok = [x for x in options if after > 0 or facts.answers_well(x)]
        if len(options) < after + 1 or not ok:
            raise BindingError("no_accept_over_open_concern", f"{state}: no aspect the user cares about "
                               "is left that buyers answer well, so the dialog could not go on to accept")
        a = min(ok, key=rank)
    return Inquiry(
        item=tgt.item,
        title=title_of(tgt),
        user=facts.user_fact(a),
        community=facts.community_fact(tgt, facts.target_aspects[a]),
    )
