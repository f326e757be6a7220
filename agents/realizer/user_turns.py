"""The user's turns, node by node, from the directive's bindings alone.

The user states only bound preferences with their bound polarity, quotes their own evidence only as a
clause whose sentiment agrees with that polarity, declines an alternative for its bound reason, and
names the target only once it is on the table (the directive carries no target before that).
Sentence order, optional sentences and references to earlier turns (what the system just said of the
target, what the user said before) vary with the turn's seed.
"""

from __future__ import annotations

from agents.directive import DirectiveError
from agents.realizer.writer import Writer, lower_first
from planners.plan import UserAspectFact

__all__ = ["BAD", "GOOD", "user_turn"]

GOOD = ("great", "excellent", "superb", "really good", "outstanding", "terrific")
BAD = ("poor", "bad", "weak", "terrible", "lousy", "disappointing")


def _preference(w: Writer, fact: UserAspectFact, *, evidence: bool) -> list[str]:
    name = w.refer(fact.name)
    statement = w.hedge(w.say("like" if fact.polarity > 0 else "dislike", name=name, need=w.d.category))
    if not evidence or w.terse or not fact.evidence or not w.chance(1.0 if w.chatty else 0.7):
        return [statement]
    clause = w.quote(fact.evidence, fact.polarity, fact.name)
    if clause is None:
        return [statement]
    said = w.say("evidence", clause=clause)
    # Evidence first reads as a reason given before the preference it supports.
    return [said, statement] if w.chance(0.35) else [statement, said]


def _joined(w: Writer, lead: str, sentences: list[str]) -> list[str]:
    """``sentences`` with ``lead`` opening the first one ("Also, great fit is a must for me.")."""
    if not sentences:
        return sentences
    if lead.endswith((".", "!", "?")):
        return [lead, *sentences]
    return [f"{lead} {lower_first(sentences[0])}", *sentences[1:]]


def _elicit(w: Writer) -> list[str]:
    b = w.d.binding
    facts = list(b.reveals if w.d.exchange == 0 else b.reveals[-1:])
    if len(facts) > 1 and w.chance(0.5):
        facts.reverse()
    out: list[str] = []
    for k, fact in enumerate(facts):
        sentences = _preference(w, fact, evidence=True)
        if k > 0:
            sentences = _joined(w, w.say("also"), sentences)
        out.extend(sentences)
    if out and not w.terse and w.chance(0.3):
        out = _joined(w, w.say("answer" if facts[0].polarity > 0 else "answer.neutral"), out)
    return out


def _decline(w: Writer) -> list[str]:
    n = w.d.binding.negative
    assert n is not None
    name = w.refer(n.user.name)
    who, singular = w.who(n.community)
    act = "decline.reason.negative" if n.reason == "community_negative" else "decline.reason.worse"
    reason = w.say(act, who="reviewers" if singular else who, name=name)
    out = [w.say("decline", title=w.item(n.title), reason=reason, name=name)]
    if not w.terse and n.reason == "community_negative" and w.chance(0.3):
        clause = w.quote(n.community.evidence, -1, n.community.name)
        if clause is not None:
            out.append(w.one(("One review even says that", "A buyer wrote that", "Someone wrote that"))
                       + f" {clause}.")
    return out


def _consider(w: Writer) -> list[str]:
    t = w.d.binding.target
    title = w.item(t.title) if t is not None else "that"
    consider = w.say("consider", title=title)
    if w.terse:
        return [consider] if w.chance(0.5) else [w.say("consider.wait")]
    parts = [consider]
    if t is not None and t.justifications and w.chance(0.6):
        parts.append(w.say("consider.why", just=w.refer(t.justifications[0].community.name)))
    if w.chance(0.7):
        parts.append(w.say("consider.wait"))
    if len(parts) == 3 and w.chance(0.3):
        parts[0], parts[1] = parts[1], parts[0]
    return parts


def user_turn(w: Writer) -> list[str]:
    """The sentences of the user's turn the directive asks for."""
    d, b = w.d, w.d.binding
    need = d.category
    if d.node == "greet":
        return [w.say("greet", need=need)]
    if d.node == "elicit":
        return _elicit(w)
    if d.node == "clarify" and b.clarification is not None:
        # The evidence was quoted when the aspect was revealed; a clarification restates the stance.
        fact = b.clarification.user
        return _joined(w, w.say("clarify" if fact.polarity > 0 else "clarify.neutral"),
                       _preference(w, fact, evidence=False))
    if d.node == "recommend_alternative" and b.negative is not None:
        return _decline(w)
    if d.node == "refine" and b.critique is not None:
        c = b.critique
        act = "critique.like" if c.user.polarity > 0 else "critique.dislike"
        line = w.say(act, name=w.refer(c.user.name), title=w.item(c.title), good=w.one(GOOD), bad=w.one(BAD))
        return [w.hedge(line)]
    if d.node == "recommend_target":
        return _consider(w)
    if d.node == "inquire_item" and b.inquiry is not None:
        q = b.inquiry
        name = w.refer(q.community.name)
        question = w.say("inquire", name=name, title=w.item(q.title))
        if q.user is not None and not w.terse and w.chance(0.6):
            lead = w.say("inquire.lead", name=name)
            return [f"{lead} {lower_first(question)}"] if lead.endswith(":") else [lead, question]
        return [question]
    if d.node == "accept" and b.acceptance is not None:
        a = b.acceptance
        out = [w.say("accept", title=w.item(a.title))]
        if a.decisive is not None and not w.terse and w.chance(0.8):
            out.append(w.say("accept.why", name=w.refer(a.decisive.community.name)))
        return out
    if d.node == "close":
        return [w.say("farewell")]
    raise DirectiveError(f"scripted user cannot realise node {d.node!r} without its slot")

