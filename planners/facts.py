"""What a seed's profiles offer a plan: the aspects the user cares about and the community facts that
can ground a claim, each with the evidence and provenance behind it.

``SeedFacts`` reads a context once:

- **cared** aspects: the profile's ``liked`` and ``disliked`` lists (the profiler's own judgement),
  kept when |weight| >= ``min_weight``;
- a **community fact** may be bound only with at least ``min_mentions`` mentions by other buyers, and a
  claim of praise or criticism only when the mentions' stance (a Beta credible interval of the
  positive share, ``profiling.evidence``) is positive or negative, not mixed; a falling trend only
  with ``min_mentions`` mentions on each side of the trend's time cut;
- **justifications** of the target: cared aspects the community praises (then, for a user with none,
  any praised aspect);
- **usable negatives** with their decline reasons: a cared aspect the user really complained about
  (a negative mention in their own reviews before the seed's time) on which other buyers are negative
  or which is getting worse; complaints in the user's review of that very item come first. Negatives
  without such a reason, or (by default) of another category than the target, are skipped with the
  reason recorded. Seed order is kept, so real low ratings come first;
- **inquiry options**: cared aspects of the target with enough mentions, each answered by its stance.
"""

from __future__ import annotations

from dataclasses import dataclass

from planners.context import PlanContext
from planners.plan import CommunityFact, SkippedNegative, UserAspectFact
from profiling.profiles import AspectPreference, AspectSentiment, ItemProfile

__all__ = ["BindKnobs", "SeedFacts", "UsableNegative", "title_of"]


@dataclass(frozen=True, slots=True)
class BindKnobs:
    """The thresholds binding uses (copied from PlanConfig so the hot loop reads plain attributes)."""

    reveals_min: int = 1
    reveals_max: int = 2
    max_justifications: int = 2
    min_weight: float = 0.0
    min_mentions: int = 5
    decline_max_sentiment: float = -0.05
    decline_min_drop: float = 0.1
    justify_min_sentiment: float = 0.05
    max_evidence: int = 2
    same_category: bool = True


@dataclass(slots=True)
class UsableNegative:
    """A seed negative the user can decline, with every grounded reason and the best one."""

    profile: ItemProfile
    source: str
    reasons: dict[int, tuple[str, float]]  # aspect -> (reason kind, score), every grounded aspect
    best: int


def title_of(prof: ItemProfile) -> str:
    """Display title of an item profile; the item id when the profile carries no title."""
    return prof.title or prof.item


def _quotes(
    evidence: tuple[str, ...], ids: tuple[int, ...], k: int
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    # Profiles may repeat a sentence (the same review text twice); a realizer should not quote it twice.
    seen: dict[str, int] = {}
    # Ids go with their sentences; a profile built without them (tests, old stores) has none to give.
    for text, sid in zip(evidence, ids if len(ids) == len(evidence) else (-1,) * len(evidence), strict=True):
        seen.setdefault(text, sid)
    texts = tuple(seen)[:k]
    return texts, tuple(seen[t] for t in texts if seen[t] >= 0)


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
        self.target_aspects = {a.aspect: a for a in ctx.target.aspects if self.enough(a)}
        scored = [
            (abs(p.weight) * s.sentiment, a)
            for a, p in self.cared.items()
            if (s := self.target_aspects.get(a)) is not None and self.praised(s)
        ]
        scored.sort(key=lambda x: (-x[0], x[1]))
        self.justify_user = [a for _, a in scored]
        praised = [s for s in self.target_aspects.values() if self.praised(s)]
        praised.sort(key=lambda s: (-s.sentiment, -s.mentions, s.aspect))
        self.justify_community = [s.aspect for s in praised]
        # Inquiries go to aspects the user cares about that other buyers wrote enough about.
        self.inquiry_options = [a for a in self.cared if a in self.target_aspects]
        self.negatives: list[UsableNegative] = []
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
                self.skipped.append(SkippedNegative(item=item, reason=(
                    f"no aspect the user complained about has negative (or falling) sentiment among at "
                    f"least {knobs.min_mentions} other buyers' mentions")))
                continue

            def rank(a: int, prof: ItemProfile = prof, reasons: dict[int, tuple[str, float]] = reasons
                     ) -> tuple[bool, bool, float, int]:
                # The user's complaint about this very item first: the most real reason there is.
                return (prof.item in self.cared[a].complaint_items, reasons[a][0] == "community_negative",
                        reasons[a][1], -a)

            best = max(reasons, key=rank)
            self.negatives.append(UsableNegative(prof, sources.get(item, "catalog"), reasons, best))
        # Reveal order: grounds of the target first, then of the declines, then the rest by |weight|:
        # first those buyers of the target speak of, since a shopper asking for a backpack talks about
        # what they want of a backpack, not of the laptop their other reviews praise.
        spoken_of = {a.aspect for a in ctx.target.aspects}
        rest = sorted(self.cared, key=lambda a: a not in spoken_of)  # stable: |weight| order kept within
        order: list[int] = list(self.justify_user)
        for a in [n.best for n in self.negatives] + rest:
            if a not in order:
                order.append(a)
        self.reveal_order = order

    # -- evidence rules ----------------------------------------------------------------------------
    def enough(self, s: AspectSentiment) -> bool:
        """Whether a community view has the mentions any claim on it needs."""
        return s.mentions >= self.knobs.min_mentions

    def praised(self, s: AspectSentiment) -> bool:
        """Whether other buyers' mentions support praise: enough of them, a positive stance."""
        return self.enough(s) and s.stance == "positive" and s.sentiment >= self.knobs.justify_min_sentiment

    def criticised(self, s: AspectSentiment) -> bool:
        """Whether other buyers' mentions support criticism: enough of them, a negative stance."""
        return self.enough(s) and s.stance == "negative" and s.sentiment <= self.knobs.decline_max_sentiment

    def trend_supported(self, s: AspectSentiment) -> bool:
        """Whether a trend may be claimed: enough mentions on each side of its time cut."""
        k = self.knobs.min_mentions
        return s.trend_before >= k and s.trend_after >= k

    def worsening(self, s: AspectSentiment) -> bool:
        """Whether the view is falling, with enough mentions on each side of the trend's time cut."""
        return self.enough(s) and s.trend <= -self.knobs.decline_min_drop and self.trend_supported(s)

    def _decline_reasons(self, prof: ItemProfile) -> dict[int, tuple[str, float]]:
        out: dict[int, tuple[str, float]] = {}
        for s in prof.aspects:
            p = self.cared.get(s.aspect)
            if p is None or not p.complaint_ids:
                continue
            if self.criticised(s):
                out[s.aspect] = ("community_negative", abs(p.weight) * -s.sentiment)
            elif self.worsening(s):
                out[s.aspect] = ("worsening", abs(p.weight) * -s.trend)
        return out

    def praise_for(self, neg: UsableNegative, reason: int) -> AspectSentiment | None:
        """The alternative's best-supported praised aspect other than the decline's, if any."""
        return max((s for s in neg.profile.aspects if s.aspect != reason and self.praised(s)),
                   key=lambda s: (s.share_low, s.mentions, -s.aspect), default=None)

    # -- fact builders ---------------------------------------------------------------------------
    def user_fact(self, aspect: int) -> UserAspectFact:
        """The user's preference on a cared aspect, with their quotes and every sentence behind it."""
        p = self.cared[aspect]
        quotes, ids = _quotes(p.evidence, p.evidence_ids, self.knobs.max_evidence)
        return UserAspectFact(
            aspect=aspect,
            name=self.ctx.aspects[aspect].name,
            polarity=1 if p.weight >= 0 else -1,
            weight=p.weight,
            sentiment=p.sentiment,
            mentions=p.mentions,
            evidence=quotes,
            evidence_ids=ids,
            count=p.count,
            sentence_ids=p.sentence_ids,
        )

    def community_fact(self, prof: ItemProfile, s: AspectSentiment) -> CommunityFact:
        """Other buyers' view of one aspect of one item, with its counts, stance and sentences."""
        quotes, ids = _quotes(s.evidence, s.evidence_ids, self.knobs.max_evidence)
        return CommunityFact(
            item=prof.item,
            aspect=s.aspect,
            name=self.ctx.aspects[s.aspect].name,
            sentiment=s.sentiment,
            mentions=s.mentions,
            # A trend too thinly reviewed on either side of its time cut is no trend to speak of.
            trend=s.trend if self.trend_supported(s) else 0.0,
            evidence=quotes,
            evidence_ids=ids,
            positive=s.positive,
            negative=s.negative,
            stance=s.stance,
            share_low=s.share_low,
            share_high=s.share_high,
            trend_before=s.trend_before,
            trend_after=s.trend_after,
            sentence_ids=s.sentence_ids,
        )

    def answers_well(self, aspect: int) -> bool:
        """Whether an inquiry on ``aspect`` gets an answer that is not negative (leaves no concern)."""
        return self.target_aspects[aspect].stance != "negative"

    def can_inquire(self, times: int = 1) -> bool:
        """Whether ``times`` inquiries in a row can be bound, the last answered well (no open concern)."""
        opts = self.inquiry_options
        return len(opts) >= times and any(self.answers_well(a) for a in opts)
