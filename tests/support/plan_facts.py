"""The facts a plan node binds, gathered from its slots (for tests that check every claim of a plan)."""

from __future__ import annotations

from planners.plan import CommunityFact, NodeBinding, UserAspectFact


def user_facts(b: NodeBinding) -> list[UserAspectFact]:
    """What the node states about the user's own preferences, from every slot that carries one."""
    out = [*b.reveals]
    for slot in (b.clarification, b.negative, b.critique, b.inquiry):
        if slot is not None and slot.user is not None:
            out.append(slot.user)
    if b.target is not None:
        out += [j.user for j in b.target.justifications if j.user is not None]
    return out


def community_facts(b: NodeBinding) -> list[CommunityFact]:
    """What the node claims other buyers say, from every slot that carries a claim."""
    out = [j.community for j in b.target.justifications] if b.target is not None else []
    if b.negative is not None:
        out += [b.negative.community, *([b.negative.praise] if b.negative.praise else [])]
    if b.critique is not None and b.critique.community is not None:
        out.append(b.critique.community)
    if b.inquiry is not None:
        out.append(b.inquiry.community)
    return out
