"""What every rule validator reads from a ValidationInput: the attempt's text by side, aspects, items.

Built once per check from the input alone (turns, plan, context, catalog); nothing an agent said
about itself (``AgentReply.done``, a claim in its text) is consulted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise

from agents.catalog import normalise_tokens
from agents.dialog import Turn, ValidationInput
from agents.validators.mentions import cut_title
from agents.validators.signals import AspectTerms, aspect_terms, is_question, mentioned_aspects, sentences
from planners.plan import CommunityFact, NodeBinding, UserAspectFact
from profiling.profiles import ItemProfile

__all__ = ["AttemptView", "bound_facts", "community_facts"]

RECOMMEND_NODES = ("recommend_alternative", "recommend_target")
# A reply that answers the question before it without naming its topic: "It's my top priority.",
# "A lot.", "Must-have 100%.", "Both, really."
_ANSWER = re.compile(
    r"^\W*(?:yes|yeah|yep|yup|no|nope|definitely|absolutely|totally|of course|sure|it|it's|its|that|that's|"
    r"this|both|not|\d+\s*%|(?:an? )?(?:(?:very|extremely|hugely|super|really|quite|pretty|fairly|somewhat|"
    r"kind of) )*(?:huge|big|major|massive|crucial|essential|critical|top|must|important|lot|ton|tons|bit|"
    r"little|deal|priority|mostly|very|extremely|really|quite|pretty|somewhat))\b", re.I)


def bound_facts(data: ValidationInput) -> list[UserAspectFact]:
    """The user facts this node is bound to express (reveals, clarification, decline reason, critique)."""
    n = data.node
    facts = list(n.reveals)
    if n.clarification is not None:
        facts.append(n.clarification.user)
    if n.negative is not None:
        facts.append(n.negative.user)
    if n.critique is not None:
        facts.append(n.critique.user)
    if n.inquiry is not None and n.inquiry.user is not None:
        facts.append(n.inquiry.user)
    return facts


def community_facts(node: NodeBinding) -> list[CommunityFact]:
    """The community sentiment facts a node binds (of the negative, critiqued, inquired and target items)."""
    facts = [node.negative.community if node.negative is not None else None,
             node.critique.community if node.critique is not None else None,
             node.inquiry.community if node.inquiry is not None else None,
             *(j.community for j in (node.target.justifications if node.target is not None else ()))]
    return [f for f in facts if f is not None]


@dataclass
class AttemptView:
    """One node attempt as text by side, with the aspect terms and item profiles to judge it against."""

    data: ValidationInput
    _terms: dict[tuple[int, tuple[str, ...]], AspectTerms] = field(default_factory=dict)

    @property
    def turns(self) -> tuple[Turn, ...]:
        """This attempt's turns, in order."""
        return self.data.turns

    def texts(self, speaker: str) -> list[str]:
        """This attempt's messages of one side, in order."""
        return [t.text for t in self.data.turns if t.speaker == speaker]

    def joined(self, speaker: str) -> str:
        """This attempt's messages of one side as one text."""
        return " ".join(self.texts(speaker))

    def terms(self, aspect: int, *names: str) -> AspectTerms:
        """The terms of one aspect (from the aspect table, plus any names a binding gives it)."""
        key = (aspect, names)
        if key not in self._terms:
            table = self.data.context.aspects
            self._terms[key] = aspect_terms(table.get(aspect), aspect_id=aspect, names=names)
        return self._terms[key]

    @cached_property
    def table(self) -> list[AspectTerms]:
        """Terms of every aspect in the run's table, with bound names folded in."""
        extra: dict[int, list[str]] = {}
        for f in bound_facts(self.data):
            extra.setdefault(f.aspect, []).append(f.name)
        return [self.terms(a, *extra.get(a, ())) for a in self.data.context.aspects]

    def answered(self, terms: AspectTerms) -> list[str]:
        """The user's first sentences that answer a system question about ``terms``' aspect without naming it.

        "How important is the water resistance?" - "It's my top priority.": the pronoun or the ellipsis
        is about the aspect asked about (a sentence that names another aspect is about that one).
        """
        out: list[str] = []
        for prev, t in pairwise(self.turns):
            if t.speaker != "user" or prev.speaker != "system" or not is_question(prev.text):
                continue
            if not mentioned_aspects(prev.text, [terms], loose=True):
                continue
            first = sentences(t.text)[:1]
            if first and _ANSWER.match(first[0]) and not mentioned_aspects(first[0], self.table):
                out.append(first[0])
        return out

    def recommend_index(self, kinds: tuple[str, ...] = RECOMMEND_NODES) -> int | None:
        """Index of the plan's first node of one of ``kinds`` (None when the plan has none)."""
        return next((n.index for n in self.data.plan.nodes if n.type in kinds), None)

    @cached_property
    def item_profiles(self) -> dict[str, ItemProfile]:
        """Profiles of the seed's target and negatives by item id (what sentiment claims are checked on)."""
        ctx = self.data.context
        return {p.item: p for p in (ctx.target, *ctx.negatives)}

    def title(self, item: str) -> str:
        """An item's display title: the catalog's, else its profile's, else its id."""
        if item in self.data.catalog:
            return self.data.catalog.title(item)
        prof = self.item_profiles.get(item)
        return (prof.title if prof is not None and prof.title else "") or item

    @cached_property
    def bound_community(self) -> set[tuple[str, int]]:
        """(item, aspect) pairs whose community sentiment this node binds (what the system is to talk of)."""
        return {(c.item, c.aspect) for c in community_facts(self.data.node)}

    def without_titles(self, text: str, *, keep: str | None = None) -> str:
        """``text`` with the titles of the items it names cut out (title words are not aspect talk).

        ``keep``: an item whose title stays; the others are cut in full first, so that another item
        sharing its brand and model ("Fenwick S80 Drip" vs "Fenwick S80 Single Serve") is not read
        as a mention of it.
        """
        kept = self.title(keep) if keep is not None else None
        full = [self.title(i) for i in self.data.catalog.mentions(text)]
        for title in sorted({t for t in full if t != kept}, key=len, reverse=True):
            text = cut_title(text, normalise_tokens(title))
        if keep is not None:
            return text
        for title in sorted({self.title(i) for i in self.item_profiles}, key=len, reverse=True):
            toks = normalise_tokens(title)
            text = cut_title(cut_title(text, toks), toks[:2])
        return text

    @cached_property
    def focus_item(self) -> str | None:
        """The item this node talks about, if any: the proposed negative, the critiqued one, the target."""
        n = self.data.node
        if n.negative is not None:
            return n.negative.item
        if n.critique is not None:
            return n.critique.item
        if n.inquiry is not None:
            return n.inquiry.item
        if n.target is not None or n.acceptance is not None or n.type in ("accept",):
            return self.data.plan.target
        return None
