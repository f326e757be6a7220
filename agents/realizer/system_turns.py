"""The system's turns, node by node, from the directive's bindings alone.

The system asks before it recommends, names only the bound item of a recommend node, and describes
community sentiment in its own direction and in proportion to how many buyers voice it. Sentence
order (a recommendation led by the user's own reason, or followed by it), optional sentences and
references to earlier turns (the aspect the user just named, an alternative they declined) vary with
the turn's seed.
"""

from __future__ import annotations

import re

from agents.directive import DirectiveError
from agents.realizer.writer import Writer, lower_first

__all__ = ["system_turn"]

_END = re.compile(r"[.!?]")
# A sentence that already opens with a framing word takes no second one ("From the reviews, honestly, ...").
_OPENS = re.compile(r"(?:Honestly|To be fair|To be honest|I should say|In fairness)\b")


def _elicit(w: Writer) -> list[str]:
    d, b = w.d, w.d.binding
    if d.exchange == 0 and not d.revealed_before:
        return [w.say("elicit.first", need=d.category)]
    # The aspect the user named last: earlier in this node, or in an earlier node.
    last = b.reveals[-1].name if d.exchange > 0 and b.reveals else (d.revealed_before[-1]
                                                                    if d.revealed_before else None)
    question = w.say("elicit.more", need=d.category)
    if last is not None and w.chance(0.6):
        return [w.say("elicit.ack", last=w.refer(last)), question]
    return [question]


def _target(w: Writer) -> list[str]:
    d, t = w.d, w.d.binding.target
    assert t is not None
    # The recommendation itself names the item in full: a dataset reader finds it by its title.
    offer = w.say("target.offer", title=t.title)
    # No "Since you care about X, my top pick is ..." lead: the validators read it as a claim that the
    # item is good at X, and resolve an item by brand and model (two catalog items may share them).
    if d.declined_before and w.chance(0.4):
        after = w.say("target.after_decline", declined=w.item(d.declined_before[-1]))
        offer = f"{after} {lower_first(offer)}"
    out = [offer]
    for k, j in enumerate(t.justifications[: 1 if w.terse else 2]):
        sentence = w.community(j.community, quote=k == 0 and (w.chatty or w.chance(0.25)))
        if j.basis == "user_and_community" and w.chance(0.5):
            end = _END.search(sentence)
            cut = end.start() if end else len(sentence)
            sentence = sentence[:cut] + w.say("target.link", name=w.refer(j.community.name)) + sentence[cut:]
        out.append(sentence)
    if not t.justifications:
        out.append(w.say("target.fallback"))
    return out


def system_turn(w: Writer) -> list[str]:
    """The sentences of the system's turn the directive asks for."""
    d, b = w.d, w.d.binding
    if d.node == "greet":
        return [w.say("greet")]
    if d.node == "elicit":
        return _elicit(w)
    if d.node == "clarify" and b.clarification is not None:
        name = w.refer(b.clarification.user.name)
        question = w.say("clarify", name=name)
        if not w.terse and w.chance(0.35):
            return [w.say("clarify.lead", name=name), question]
        return [question]
    if d.node == "recommend_alternative" and b.negative is not None:
        out = [w.say("alt.offer", title=b.negative.title)]
        p = d.alternative_praise
        if p is not None:
            out.append(w.community(p, quote=w.chatty and w.chance(0.5)))
        else:
            out.append(w.say("alt.other", need=d.category))
        return out
    if d.node == "refine":
        return [w.say("refine", need=d.category)]
    if d.node == "recommend_target" and b.target is not None:
        return _target(w)
    if d.node == "inquire_item" and b.inquiry is not None:
        c = b.inquiry.community
        answer = w.community(c, quote=not w.terse and w.chance(0.3))
        if not w.terse and not _OPENS.match(answer) and w.chance(0.35):
            lead = w.say("answer.lead", name=w.refer(c.name))
            return [f"{lead} {lower_first(answer)}"] if lead.endswith((",", ":")) else [lead, answer]
        return [answer]
    if d.node == "accept":
        a = b.acceptance
        out = [w.say("confirm", title=w.item(a.title) if a is not None else "it")]
        if a is not None and a.decisive is not None and not w.terse and w.chance(0.4):
            out.append(w.say("confirm.why", name=w.refer(a.decisive.community.name)))
        return out
    if d.node == "close":
        return [w.say("farewell", need=d.category)]
    raise DirectiveError(f"scripted system cannot realise node {d.node!r} without its slot")
