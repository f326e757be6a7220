"""Executional fidelity: did this node attempt's turns perform the node's acts, in the right shape?

Four rule validators, each a stable name in the traces:

- ``executional.acts``: the acts of each side (a question in elicit and clarify, the bound
  preferences revealed, the negative named in recommend_alternative, the target in recommend_target,
  an acceptance in accept, a farewell in close, ...);
- ``executional.no_early_recommendation``: no system recommendation (a catalog item named, or
  offer phrasing) before the plan's first recommend node;
- ``executional.turn_bounds``: the opener speaks first, the sides alternate, and the number of
  exchanges lies within the node's min..max (a node where only the opener acts has no replies);
- ``executional.roles``: every message is non-empty and in its own role (no "As an AI" from the
  user, no "system:" prefixes).

They read the turns only; an agent's own ``done`` flag is never consulted.
"""

from __future__ import annotations

import re
from itertools import pairwise

from agents.catalog import normalise_tokens
from agents.dialog import Feedback
from agents.validators.mentions import short_mentions
from agents.validators.rule import RuleValidator, cited_in, to_node, to_role
from agents.validators.signals import (
    accepts,
    farewell,
    greets,
    is_question,
    item_referenced,
    mentioned_aspects,
    recommends,
    role_slips,
)
from agents.validators.view import AttemptView
from agents.validators.wordforms import root
from planners.plan import UserAspectFact

__all__ = ["ActsValidator", "EarlyRecommendationValidator", "RoleValidator", "TurnBoundsValidator",
           "executional_validators"]


# Words by which an acceptance refers to the item on the table without naming it.
_REFERS = re.compile(r"\b(?:it|that|this|them|those|these|that one|this one|the one)\b", re.I)


def _label(fact: UserAspectFact) -> str:
    return fact.name.split(" / ")[0].strip()


def _mentions_fact(view: AttemptView, text: str, fact: UserAspectFact) -> bool:
    # Loosely: the node binds this aspect, so "pricey" is about price and "battery" about battery runtime.
    terms = view.terms(fact.aspect, fact.name)
    return bool(mentioned_aspects(text, [terms], loose=True)) or bool(view.answered(terms))


class ActsValidator(RuleValidator):
    """Each side performed the node's acts (read from the text, per node type)."""

    name = "executional.acts"

    def reasons(self, view: AttemptView) -> list[Feedback]:
        n = view.data.node
        user, system = view.joined("user"), view.joined("system")
        out: list[Feedback] = []
        if n.type == "greet":
            if not (greets(system) or is_question(system)):
                out.append(to_role("system", "In greet the system must greet the user or ask what they are "
                                   "looking for."))
            need = n.need or view.data.context.target.category
            need_toks = {root(t) for t in normalise_tokens(need) if len(t) > 2}
            if need_toks and not need_toks & {root(t) for t in normalise_tokens(user)}:
                out.append(to_role("user", f"In greet the user must say what they are looking for ({need})."))
        elif n.type in ("elicit", "clarify"):
            if not any(is_question(t) for t in view.texts("system")):
                out.append(to_role("system", f"In {n.type} the system must ask the user a question about "
                                   "their preferences; it asked none."))
            facts = list(n.reveals) if n.type == "elicit" else (
                [n.clarification.user] if n.clarification is not None else [])
            for f in facts:
                if not _mentions_fact(view, user, f):
                    out.append(to_role("user", f"In {n.type} the user must state their view on "
                                       f"'{_label(f)}'; they did not mention it."))
        elif n.type == "inquire_item" and n.inquiry is not None:
            c = n.inquiry.community
            terms = [view.terms(c.aspect, c.name)]
            asked = [t for t in view.texts("user") if is_question(t)]
            if not any(mentioned_aspects(t, terms, loose=True) for t in asked):
                out.append(to_role("user", f"In inquire_item the user must ask about the "
                                   f"'{c.name.split(' / ')[0]}' of '{n.inquiry.title}'; no question about it "
                                   "was asked."))
            if not mentioned_aspects(system, terms, loose=True):
                out.append(to_role("system", f"In inquire_item the system must answer about the "
                                   f"'{c.name.split(' / ')[0]}' from community reviews; its answer did not "
                                   "mention it."))
        elif n.type == "recommend_alternative" and n.negative is not None:
            if not item_referenced(system, n.negative.title):
                out.append(to_role("system", f"In recommend_alternative the system must propose "
                                   f"'{n.negative.title}' by name; it did not name it."))
        elif n.type == "refine" and n.critique is not None:
            if not _mentions_fact(view, user, n.critique.user):
                out.append(to_role("user", f"In refine the user must critique '{n.critique.title}' on "
                                   f"'{_label(n.critique.user)}'; they did not mention it."))
        elif n.type == "recommend_target" and n.target is not None:
            if not item_referenced(system, n.target.title):
                out.append(to_role("system", f"In recommend_target the system must recommend "
                                   f"'{n.target.title}' by name; it did not name it."))
        elif n.type == "accept":
            title = n.acceptance.title if n.acceptance is not None else view.title(view.data.plan.target)
            if not accepts(user):
                out.append(to_role("user", f"In accept the user must clearly accept '{title}' (e.g. say they "
                                   "will take it); no acceptance was found."))
            elif not (item_referenced(user, title) or _REFERS.search(user)):
                out.append(to_role("user", f"In accept the user must say what they accept: name '{title}' or "
                                   "refer to it."))
        elif n.type == "close":
            if not farewell(user):
                out.append(to_role("user", "In close the user must thank the system or say goodbye."))
            if not farewell(system):
                out.append(to_role("system", "In close the system must say goodbye."))
        return out


class EarlyRecommendationValidator(RuleValidator):
    """No system recommendation before the plan's first recommend node."""

    name = "executional.no_early_recommendation"

    def reasons(self, view: AttemptView) -> list[Feedback]:
        first = view.recommend_index()
        n = view.data.node
        if first is not None and n.index >= first:
            return []
        out: list[Feedback] = []
        cat = view.data.catalog
        known = [view.data.plan.target, *(p for p in view.item_profiles if p != view.data.plan.target)]
        for text in view.texts("system"):
            named = list(cat.mentions(text))
            # "The Norden A30 is popular": a catalog item named by brand and model only.
            named += [i for i in short_mentions(text, cat, prefer=known) if i not in named]
            named += [i for i in known if i not in named and item_referenced(text, view.title(i))]
            for iid in named:
                out.append(to_role("system", f"The system named '{view.title(iid)}' in {n.type}; do not name "
                                   "or recommend any item before the recommendation node."))
            if not named and recommends(text):
                out.append(to_role("system", f"The system made a recommendation in {n.type}; only ask about "
                                   "preferences here, recommendations come later."))
        return out


class TurnBoundsValidator(RuleValidator):
    """The opener speaks first, sides alternate, and the exchanges lie within min..max."""

    name = "executional.turn_bounds"

    def reasons(self, view: AttemptView) -> list[Feedback]:
        n = view.data.node
        turns = view.turns
        out: list[Feedback] = []
        if not turns:
            return [to_node(f"{n.type} produced no turns; it needs {n.min_turns} to {n.max_turns} "
                            "exchanges.")]
        if turns[0].speaker != n.opener:
            out.append(to_node(f"In {n.type} the {n.opener} speaks first; the {turns[0].speaker} did."))
        for a, b in pairwise(turns):
            if a.speaker == b.speaker:
                out.append(to_node(f"In {n.type} the {a.speaker} spoke twice in a row; the sides must "
                                   "alternate."))
                break
        other = "user" if n.opener == "system" else "system"
        replies = bool(n.user_acts if other == "user" else n.system_acts)
        n_open = sum(t.speaker == n.opener for t in turns)
        n_other = len(turns) - n_open
        if replies and n_open != n_other:
            out.append(to_node(f"In {n.type} an exchange is incomplete ({n_open} {n.opener} and {n_other} "
                               f"{other} messages)."))
        elif not replies and n_other:
            out.append(to_node(f"In {n.type} only the {n.opener} speaks; the {other} did too."))
        if not n.min_turns <= n_open <= n.max_turns:
            out.append(to_node(f"{n.type} took {n_open} exchanges; it must take {n.min_turns} to "
                               f"{n.max_turns}."))
        return out


class RoleValidator(RuleValidator):
    """Every message is non-empty and written in its speaker's own role."""

    name = "executional.roles"

    def reasons(self, view: AttemptView) -> list[Feedback]:
        out: list[Feedback] = []
        for t in view.turns:
            for why in role_slips(t.text, t.speaker):
                me = "the shopper" if t.speaker == "user" else "the assistant"
                reason = (f"The {t.speaker}'s message in {t.node} is out of role: {why}. Write only "
                          f"{me}'s own words, with no role prefix.")
                out.append(to_role(t.speaker, reason, *cited_in(why, t.text)))
        return out


def executional_validators() -> list[RuleValidator]:
    """One of each executional rule validator."""
    return [ActsValidator(), EarlyRecommendationValidator(), TurnBoundsValidator(), RoleValidator()]
