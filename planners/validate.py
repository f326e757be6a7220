"""Checks a finished plan against its grammar and its seed's profiles, whoever made it.

``check_plan`` raises PathError or BindingError naming the first rule broken:

- the path is a start-to-end path of the grammar and the nodes follow it (state, type, index, turns);
- each node has exactly the slots its type declares (``missing_slot``, ``unexpected_slot``);
- every user fact is a preference of the user's profile, with the aspect's name from the table, the
  profile's polarity and values, evidence quoted from the profile and its sentence ids
  (``user_fact_mismatch``);
- every community fact is the item's profile's view of that aspect, values, counts, stance, quotes
  and sentence ids included (``community_fact_mismatch``), with at least ``min_mentions`` mentions
  (``thin_evidence``);
- a declined negative is a seed negative whose other buyers are negative on the reason aspect (a
  negative stance; for ``worsening`` a falling trend with ``min_mentions`` mentions on each side of its
  time cut) (``negative_not_grounded``), on an aspect the user really complained about, the complaints
  quoted from their profile (``decline_not_complained``); the praise of an alternative and a
  justification of the target rest on a positive stance (``justification_not_grounded``);
- inquiries are about aspects the user cares about (``inquiry_not_cared``), and no ``accept`` follows a
  negative answer before something settles it (the grammar's ``no_accept_over_open_concern``);
- elicitations never repeat an aspect; clarifications are of revealed aspects; the target appears in
  no binding before it is recommended (``target_hidden``).
"""

from __future__ import annotations

from planners.context import PlanContext
from planners.errors import BindingError
from planners.grammar import Grammar
from planners.plan import CommunityFact, DialogPlan, NodeBinding, UserAspectFact
from profiling.profiles import ItemProfile

__all__ = ["check_plan"]

_SLOTS = ("need", "reveals", "clarification", "negative", "critique", "target", "inquiry", "acceptance")


def _user(ctx: PlanContext, f: UserAspectFact, where: str) -> None:
    p = ctx.user.preference(f.aspect)
    if p is None:
        raise BindingError(
            "aspect_not_in_profile", f"{where}: aspect {f.aspect} is not in the user's profile"
        )
    a = ctx.aspects.get(f.aspect)
    polarity = 1 if p.weight >= 0 else -1
    if (
        a is None
        or f.name != a.name
        or f.polarity != polarity
        or f.weight != p.weight
        or f.sentiment != p.sentiment
        or f.mentions != p.mentions
        or f.count != p.count
        or f.sentence_ids != p.sentence_ids
        or not set(f.evidence) <= set(p.evidence)
        or not set(f.evidence_ids) <= set(p.evidence_ids)
    ):
        raise BindingError(
            "user_fact_mismatch", f"{where}: user fact on aspect {f.aspect} differs from the profile"
        )


_COUNTS = ("sentiment", "mentions", "positive", "negative", "stance", "share_low", "share_high",
           "trend_before", "trend_after", "sentence_ids")


def _community(ctx: PlanContext, f: CommunityFact, where: str, min_mentions: int) -> None:
    prof: ItemProfile | None = ctx.target if f.item == ctx.target.item else ctx.negative(f.item)
    s = prof.aspect(f.aspect) if prof is not None else None
    a = ctx.aspects.get(f.aspect)
    if (
        s is None
        or a is None
        or f.name != a.name
        or any(getattr(f, k) != getattr(s, k) for k in _COUNTS)
        or f.trend != (s.trend if min(s.trend_before, s.trend_after) >= min_mentions else 0.0)
        or not set(f.evidence) <= set(s.evidence)
        or not set(f.evidence_ids) <= set(s.evidence_ids)
    ):
        raise BindingError(
            "community_fact_mismatch",
            f"{where}: community fact on {f.item!r} aspect {f.aspect} differs from its profile",
        )
    if f.mentions < min_mentions:
        raise BindingError("thin_evidence", f"{where}: a claim on {f.item!r} aspect {f.aspect} rests on "
                           f"{f.mentions} mentions; at least {min_mentions} are needed")


def _praising(f: CommunityFact, where: str) -> None:
    if f.stance != "positive" or f.sentiment <= 0:
        raise BindingError("justification_not_grounded", f"{where}: aspect {f.aspect} of {f.item!r} is not "
                           f"praised by other buyers (stance {f.stance})")


def _slots_of(node: NodeBinding) -> set[str]:
    return {s for s in _SLOTS if (getattr(node, s) not in (None, ()))}


def check_plan(plan: DialogPlan, grammar: Grammar, context: PlanContext, *, min_mentions: int = 5) -> None:
    """None when the plan is a valid path of ``grammar`` bound to facts of ``context``; else the rule.

    ``min_mentions``: what every bound community fact needs (the planner's ``PlanConfig.min_mentions``).
    """
    grammar.check_path(plan.path)
    ctx = context
    k = min_mentions
    if plan.seed_key != ctx.seed.key or plan.target != ctx.seed.target.item or plan.user != ctx.seed.user:
        raise BindingError(
            "plan_seed", "the plan's seed, user or target differ from the context's", path=plan.path
        )
    if len(plan.nodes) != len(plan.path):
        raise BindingError(
            "nodes_follow_path", "there must be one node per state of the path", path=plan.path
        )
    revealed: set[int] = set()
    target_seen = False
    negatives = dict(zip(ctx.seed.negatives, ctx.seed.negative_sources, strict=False))
    for i, (state, node) in enumerate(zip(plan.path, plan.nodes, strict=True)):
        where = f"node {i} ({state})"
        nt = grammar.types[state]
        if (
            node.index != i
            or node.state != state
            or node.type != nt.name
            or (node.min_turns, node.max_turns) != grammar.turn_range(state)
        ):
            raise BindingError(
                "nodes_follow_path",
                f"{where}: state, type, index or turn range differ from the grammar",
                path=plan.path,
            )
        have, want = _slots_of(node), set(nt.slots)
        if want - have - {"need"}:  # an empty need means the target's category is unknown
            raise BindingError("missing_slot", f"{where}: missing {sorted(want - have)}", path=plan.path)
        if have - want:
            raise BindingError(
                "unexpected_slot",
                f"{where}: {sorted(have - want)} do not belong to a {nt.name} node",
                path=plan.path,
            )
        for f in node.reveals:
            _user(ctx, f, where)
            if f.aspect in revealed:
                raise BindingError("reveal_repeated", f"{where}: aspect {f.aspect} was already revealed")
            revealed.add(f.aspect)
        if node.clarification is not None:
            _user(ctx, node.clarification.user, where)
            if node.clarification.user.aspect not in revealed:
                raise BindingError(
                    "clarify_not_revealed", f"{where}: clarifies an aspect not revealed before"
                )
        if (n := node.negative) is not None:
            prof = ctx.negative(n.item)
            if n.item not in negatives or prof is None or n.source != negatives[n.item]:
                raise BindingError(
                    "negative_not_in_seed", f"{where}: {n.item!r} is not a negative of the seed"
                )
            if n.item == ctx.seed.target.item:
                raise BindingError("target_hidden", f"{where}: the target is proposed as a negative")
            _user(ctx, n.user, where)
            _community(ctx, n.community, where, k)
            c = n.community
            grounded = (
                c.sentiment < 0 and c.stance == "negative" if n.reason == "community_negative"
                else c.trend < 0 and c.trend_before >= k and c.trend_after >= k
            )
            if not grounded or n.community.item != n.item or n.community.aspect != n.user.aspect:
                raise BindingError(
                    "negative_not_grounded",
                    f"{where}: declining {n.item!r} is not grounded in "
                    f"community sentiment on aspect {n.user.aspect}",
                )
            pref = ctx.user.preference(n.user.aspect)
            assert pref is not None  # _user checked it
            if (not n.complaint_ids or not set(n.complaint_ids) <= set(pref.complaint_ids)
                    or n.own_review != (n.item in pref.complaint_items)):
                raise BindingError("decline_not_complained", f"{where}: the user never complained about "
                                   f"aspect {n.user.aspect} before the seed's time (or the complaints differ "
                                   "from their profile)")
            if n.praise is not None:
                _community(ctx, n.praise, where, k)
                _praising(n.praise, where)
                if n.praise.item != n.item:
                    raise BindingError("community_fact_mismatch", f"{where}: praise of another item")
            revealed.add(n.user.aspect)
        if (cr := node.critique) is not None:
            if ctx.negative(cr.item) is None:
                raise BindingError(
                    "negative_not_in_seed", f"{where}: critiques {cr.item!r}, not a seed negative"
                )
            _user(ctx, cr.user, where)
            if cr.community is not None:
                _community(ctx, cr.community, where, k)
            revealed.add(cr.user.aspect)
        if (t := node.target) is not None:
            if t.item != ctx.target.item or t.title != (ctx.target.title or ctx.target.item):
                raise BindingError(
                    "target_mismatch", f"{where}: recommends {t.item!r}, not the seed's target"
                )
            for j in t.justifications:
                if j.user is not None:
                    _user(ctx, j.user, where)
                _community(ctx, j.community, where, k)
                _praising(j.community, where)
                if j.community.item != t.item:
                    raise BindingError("justification_not_grounded", f"{where}: justifies with another item")
            target_seen = True
        if (q := node.inquiry) is not None:
            if q.item != ctx.target.item:
                raise BindingError("target_mismatch", f"{where}: inquiry is not about the target")
            if q.user is None or q.user.aspect != q.community.aspect:
                raise BindingError("inquiry_not_cared", f"{where}: the inquiry is not about an aspect the "
                                   "user cares about")
            _user(ctx, q.user, where)
            _community(ctx, q.community, where, k)
        if node.acceptance is not None and node.acceptance.item != ctx.target.item:
            raise BindingError("target_mismatch", f"{where}: accepts another item than the target")
        if not target_seen and ctx.seed.target.item in {
            node.negative.item if node.negative else None,
            node.critique.item if node.critique else None,
        }:
            raise BindingError("target_hidden", f"{where}: names the target before it is recommended")
    grammar.check_path(plan.path, [n.inquiry is not None and n.inquiry.raises_concern for n in plan.nodes])
