"""Behavioral fidelity: does what each side says agree with the profiles, the catalog and real behaviour?

Five rule validators:

- ``behavioral.preference_polarity``: where the user states preferences (greet, elicit, clarify),
  each clause on an aspect of their profile carries the profile's polarity (a complaint about an
  aspect they complain about, praise for one they praise), and no bound aspect is dismissed;
- ``behavioral.target_hidden``: neither side names the target before the recommend_target node,
  and the user never names it before the system has;
- ``behavioral.catalog_only``: every product-like name the system writes is a catalog item;
- ``behavioral.sentiment_claims``: no system claim about an aspect of an item has the opposite sign
  of the item's community sentiment (outside a dead zone around 0);
- ``behavioral.real_behaviour``: the user declines the negative (for the bound reason), does not
  decline the target, and accepts the target in accept, as the seed's real choice says.
"""

from __future__ import annotations

import re

from agents.dialog import Feedback
from agents.validators.mentions import names_item, short_mentions, speaks_of_item
from agents.validators.rule import RuleValidator, to_role
from agents.validators.signals import (
    accepts,
    clauses,
    declines,
    item_referenced,
    mentioned_aspects,
    stance,
    unknown_product_names,
)
from agents.validators.view import AttemptView, bound_facts

__all__ = ["STATING_NODES", "CatalogOnlyValidator", "PolarityValidator", "RealBehaviourValidator",
           "SentimentClaimsValidator", "TargetHiddenValidator", "behavioral_validators"]

STATING_NODES = ("greet", "elicit", "clarify")  # where the user states preferences
_DISMISS = re.compile(r"\b(?:(?:do not|don't|doesn't|does not) (?:really )?(?:care|matter|mind)|"
                      r"not (?:important|a priority|an issue)|indifferent|whatever)\b", re.I)


def _polarity_word(sign: int) -> str:
    return "positively" if sign > 0 else "negatively"


class PolarityValidator(RuleValidator):
    """The user's statements on aspects agree with their profile's polarity."""

    name = "behavioral.preference_polarity"
    kind = "behavioral"
    dead_zone = 0.25

    def reasons(self, view: AttemptView) -> list[Feedback]:
        n = view.data.node
        if n.type not in STATING_NODES:
            return []
        profile = view.data.context.user
        bound = {f.aspect: f for f in bound_facts(view.data)}
        expected: dict[int, int] = {p.aspect: (1 if p.weight > 0 else -1) for p in profile.preferences
                                    if p.weight != 0}
        expected.update({a: f.polarity for a, f in bound.items()})
        table = [t for t in view.table if t.aspect in expected]
        bound_terms = [view.terms(a, f.name) for a, f in bound.items()]
        out: list[Feedback] = []
        # A reply that answers a question about a bound aspect by pronoun or ellipsis is about it; only a
        # dismissal is read there: the stance of "Pretty much, yeah." is the question's.
        for t in bound_terms:
            for clause in (c for s in view.answered(t) for c in clauses(s)):
                if _DISMISS.search(clause):
                    out.append(to_role("user", f"The user dismissed '{t.label}' (\"{clause}\") although "
                                       "it is a preference they hold; state it as something that matters "
                                       "to them.", clause))
        for clause in clauses(view.joined("user")):
            clause = view.without_titles(clause).strip()
            judged = [a for a in mentioned_aspects(clause, table) if a in bound]
            if not judged:
                # Loosely ("pricey", "battery" alone) only for the aspects the node binds.
                judged = mentioned_aspects(clause, bound_terms, loose=True)
            if not judged:
                # An aspect the node does not bind is judged only when named outright, and alone.
                found = mentioned_aspects(clause, table, primary_only=True)
                judged = found if len(found) == 1 else []
            if not judged:
                continue
            if _DISMISS.search(clause) and any(a in bound for a in judged):
                for a in judged:
                    out.append(to_role("user", f"The user dismissed '{view.terms(a).label}' (\"{clause}\") "
                                       "although it is a preference they hold; state it as something that "
                                       "matters to them.", clause))
                continue
            s = stance(clause, view.table, dead_zone=self.dead_zone)
            # Two aspects sharing a word ("build") with opposite polarities: only a clause no reading of
            # which agrees with the profile is a contradiction.
            if s == 0 or any(expected[a] == s for a in judged):
                continue
            for a in judged:
                if s != expected[a]:
                    label = (bound[a].name if a in bound else view.terms(a).name).split(" / ")[0]
                    want = "praise or want it" if expected[a] > 0 else "complain about it or worry about it"
                    out.append(to_role("user", f"The user spoke {_polarity_word(s)} about '{label}' "
                                       f"(\"{clause}\"), but their profile speaks of it "
                                       f"{_polarity_word(expected[a])}; {want} instead.", clause))
        return out


class TargetHiddenValidator(RuleValidator):
    """The target is not named before its recommendation (and never first by the user)."""

    name = "behavioral.target_hidden"
    kind = "behavioral"

    def reasons(self, view: AttemptView) -> list[Feedback]:
        plan, n = view.data.plan, view.data.node
        title = view.title(plan.target)
        rec = view.recommend_index(("recommend_target",))
        out: list[Feedback] = []
        recommended = rec is not None and n.index > rec
        for t in view.turns:
            others = [view.title(i) for i in view.data.catalog.mentions(t.text)]
            named = names_item(t.text, title, others) or plan.target in view.data.catalog.mentions(t.text)
            if named and not recommended:
                if rec is not None and n.index == rec and t.speaker == "system":
                    recommended = True  # the recommendation itself
                    continue
                out.append(to_role(t.speaker, f"The {t.speaker} named '{title}' (the target) in {n.type} "
                                   "before the system recommended it; do not name it until the "
                                   "recommendation node."))
        return out


class CatalogOnlyValidator(RuleValidator):
    """Every product-like name the system writes is in the catalog, and is one of the plan's items."""

    name = "behavioral.catalog_only"
    kind = "behavioral"

    def reasons(self, view: AttemptView) -> list[Feedback]:
        ctx = view.data.context
        vocab = [a.name for a in ctx.aspects.values()] + [p for a in ctx.aspects.values() for p in a.phrases]
        vocab += [ctx.target.category, view.data.plan.persona]
        out: list[Feedback] = []
        hint = f" (here: '{view.title(view.focus_item)}')" if view.focus_item else ""
        first = view.recommend_index()
        # Before the first recommend node no_early_recommendation refuses every item named.
        off_plan = first is not None and view.data.node.index >= first
        plan_items = _plan_items(view)
        allowed = {view.title(i) for i in plan_items}
        for text in view.texts("system"):
            for name in unknown_product_names(text, view.data.catalog, vocab):
                out.append(to_role("system", f"The system named '{name}', which is not in the catalog; name "
                                   f"only catalog items{hint}.", name))
            if not off_plan:
                continue
            # A real catalog item the plan never put forward: review text quoted in the prompt can carry
            # "recommend <another item>", and a model that obeys it must not pass. By title, as two
            # catalog items may share one; by brand and model too, the plan's items first.
            cat = view.data.catalog
            named = [*cat.mentions(text), *short_mentions(text, cat, prefer=plan_items)]
            for title in dict.fromkeys(view.title(i) for i in named):
                if title not in allowed:
                    out.append(to_role("system", f"The system named '{title}', which this dialog does not "
                                       f"recommend; name only the items you are told to{hint}."))
        return out


def _plan_items(view: AttemptView) -> set[str]:
    """Items the plan puts on the table: the target, proposed alternatives, critiqued and inquired items."""
    out = {view.data.plan.target}
    for n in view.data.plan.nodes:
        for slot in (n.negative, n.critique, n.inquiry):
            if slot is not None:
                out.add(slot.item)
    return out


class SentimentClaimsValidator(RuleValidator):
    """No system claim about an item's aspect contradicts the item's community sentiment."""

    name = "behavioral.sentiment_claims"
    kind = "behavioral"
    # |community sentiment| below this: the community has no view to contradict (the scripted realizer
    # calls a sentiment within 0.05 of 0 "mixed" and speaks of the sign beyond it).
    dead_zone = 0.05
    claim_zone = 0.25  # |stance score| below this: the system made no clear claim

    def reasons(self, view: AttemptView) -> list[Feedback]:
        profiles = view.item_profiles
        cat = view.data.catalog
        out: list[Feedback] = []
        for clause in clauses(view.joined("system")):
            named = [i for i in cat.mentions(clause) if i in profiles]
            named += [i for i in profiles if i not in named and item_referenced(clause, view.title(i))]
            if not named:
                if view.focus_item is None or not speaks_of_item(clause):
                    continue
                named = [view.focus_item]
            bare = view.without_titles(clause)
            aspects = mentioned_aspects(bare, view.table)
            if not aspects:
                # Loosely ("it's a bargain", "they're sturdy") for the aspects this node talks of.
                bound = [view.terms(a) for i, a in view.bound_community if i in named]
                aspects = mentioned_aspects(bare, bound, loose=True)
            if not aspects:
                continue
            s = stance(bare, view.table, dead_zone=self.claim_zone)
            if s == 0:
                continue
            for item in named:
                prof = profiles.get(item)
                if prof is None:
                    continue
                # A word two aspects share ("build") means the one the node binds, when it binds one.
                mine = [a for a in aspects if (item, a) in view.bound_community] or aspects
                clear = [(a, c) for a in mine if (c := prof.aspect(a)) is not None
                         and abs(c.sentiment) >= self.dead_zone]
                # As for preferences: a claim some reading of which agrees with the reviews stands.
                if any((c.sentiment > 0) == (s > 0) for _, c in clear):
                    continue
                for a, comm in clear:
                    said = "good" if s > 0 else "bad"
                    out.append(to_role("system", f"The system said the '{view.terms(a).label}' of "
                                       f"'{view.title(item)}' is {said} (\"{clause}\"), but its community "
                                       f"sentiment is {comm.sentiment:+.2f}; describe it as the reviews do.",
                                       clause))
        return out


class RealBehaviourValidator(RuleValidator):
    """Acceptance and rejection match the seed: the negative declined (for its reason), the target taken."""

    name = "behavioral.real_behaviour"
    kind = "behavioral"

    def reasons(self, view: AttemptView) -> list[Feedback]:
        n = view.data.node
        user = view.joined("user")
        target = view.title(view.data.plan.target)
        out: list[Feedback] = []
        if n.type == "recommend_alternative" and n.negative is not None:
            neg = n.negative
            if accepts(user) or not declines(user):
                out.append(to_role("user", f"The user must decline '{neg.title}' (in reality they did not "
                                   "choose it); they did not turn it down."))
            reason = view.terms(neg.user.aspect, neg.user.name)
            if not mentioned_aspects(user, [reason], loose=True):
                out.append(to_role("user", f"The user must give their reason for declining '{neg.title}': "
                                   f"its '{reason.label}'."))
        elif n.type == "refine" and n.critique is not None and accepts(user):
            out.append(to_role("user", f"The user accepted '{n.critique.title}', which they declined "
                               "before; keep critiquing it."))
        elif n.type == "recommend_target" and declines(user) and not accepts(user):
            out.append(to_role("user", f"The user turned down '{target}', but in reality they chose it; "
                               "consider it instead."))
        elif n.type == "accept":
            # By title: two catalog items may share one (different sellers of the same product).
            cat = view.data.catalog
            named = [*cat.mentions(user), *short_mentions(user, cat, prefer=_plan_items(view))]
            others = [i for i in dict.fromkeys(named) if view.title(i) != target]
            if others:
                out.append(to_role("user", f"In accept the user chose '{view.title(others[0])}'; they must "
                                   f"accept '{target}', the item they really chose."))
            elif declines(user) or not accepts(user):
                out.append(to_role("user", f"In accept the user must accept '{target}' (the item they really "
                                   "chose)."))
        return out


def behavioral_validators() -> list[RuleValidator]:
    """One of each behavioral rule validator."""
    return [PolarityValidator(), TargetHiddenValidator(), CatalogOnlyValidator(), SentimentClaimsValidator(),
            RealBehaviourValidator()]
