"""Hypothesis strategies for the planner tests: aspect tables, profiles, seeds and plan contexts.

They build stage-1 types directly (no profiling run), covering the edge cases a real corpus has:
users with few or no cared aspects, negatives nobody reviewed, targets with no reviews yet.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import strategies as st

from planners.context import PlanContext
from profiling.corpus import Interaction
from profiling.evidence import share_interval, stance_of
from profiling.profiles import Aspect, AspectPreference, AspectSentiment, ItemProfile, UserProfile
from profiling.seeds import Seed

AT = datetime(2023, 6, 1, tzinfo=UTC)
_NAMES = (
    "battery life",
    "sound quality",
    "comfort",
    "price",
    "build quality",
    "fit",
    "durability",
    "noise",
    "screen",
    "weight",
    "scent",
    "delivery",
)

unit = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)
sentence = st.text(alphabet="abcdefghij klmnop.", min_size=3, max_size=30).map(str.strip).filter(bool)


def community_view(aspect: int, sentiment: float, mentions: int, trend: float = 0.0,
                   evidence: tuple[str, ...] = (), sides: tuple[int, int] | None = None) -> AspectSentiment:
    """A community view as the profiler makes it: counts by sign from the sentiment, and their stance."""
    positive = round(mentions * (1 + sentiment) / 2)
    negative = mentions - positive
    low, high = share_interval(np.array(positive), np.array(negative))
    before, after = sides if sides is not None else (mentions // 2, mentions - mentions // 2)
    return AspectSentiment(
        aspect=aspect, sentiment=sentiment, mentions=mentions, trend=trend, evidence=evidence,
        evidence_ids=tuple(range(900, 900 + len(evidence))), positive=positive, negative=negative,
        share_low=float(low), share_high=float(high), stance=stance_of(float(low), float(high)),
        trend_before=before, trend_after=after, sentence_ids=tuple(range(1000, 1000 + mentions)),
    )


def preference(aspect: int, weight: float, sentiment: float, mentions: float = 5.0,
               evidence: tuple[str, ...] = (), complaints: tuple[str, ...] = ()) -> AspectPreference:
    """A user preference as the profiler makes it; ``complaints`` names the item of each complaint."""
    count = max(1, round(mentions))
    negative = max(len(complaints), round(count * (1 - sentiment) / 2) if complaints else 0)
    return AspectPreference(
        aspect=aspect, weight=weight, mentions=mentions, sentiment=sentiment, evidence=evidence,
        evidence_ids=tuple(range(500 + 10 * aspect, 500 + 10 * aspect + len(evidence))),
        count=max(count, negative), positive=max(count, negative) - negative, negative=negative,
        sentence_ids=tuple(range(100 * aspect, 100 * aspect + max(count, negative))),
        complaint_ids=tuple(range(100 * aspect, 100 * aspect + len(complaints))), complaint_items=complaints,
    )


def aspect_tables(min_size: int = 1, max_size: int = len(_NAMES)) -> st.SearchStrategy[dict[int, Aspect]]:
    return st.integers(min_size, max_size).map(
        lambda n: {i: Aspect(id=i, name=_NAMES[i], phrases=(_NAMES[i],), size=10) for i in range(n)}
    )


@st.composite
def user_profiles(draw: st.DrawFn, aspects: dict[int, Aspect], user: str = "u1") -> UserProfile:
    ids = draw(st.lists(st.sampled_from(sorted(aspects)), unique=True, max_size=len(aspects)))
    prefs = [
        preference(
            a,
            weight=draw(unit),
            mentions=draw(st.floats(0, 20)),
            sentiment=draw(unit),
            evidence=tuple(draw(st.lists(sentence, max_size=3))),
            complaints=tuple(draw(st.lists(st.sampled_from(["N0", "N1", "N2", "X"]), max_size=2))),
        )
        for a in ids
    ]
    prefs.sort(key=lambda p: -abs(p.weight))
    # Like the profiler, only the top few liked and disliked aspects are listed.
    top = draw(st.integers(0, 4))
    return UserProfile(
        user=user,
        at=AT,
        encoder="test",
        half_life_days=180.0,
        preferences=tuple(prefs),
        liked=tuple(p.aspect for p in prefs if p.weight > 0)[:top],
        disliked=tuple(p.aspect for p in prefs if p.weight < 0)[:top],
        n_reviews=len(prefs),
    )


@st.composite
def item_profiles(draw: st.DrawFn, aspects: dict[int, Aspect], item: str) -> ItemProfile:
    ids = draw(st.lists(st.sampled_from(sorted(aspects)), unique=True, max_size=len(aspects)))
    sents = []
    for a in ids:
        mentions = draw(st.integers(0, 40))
        before = draw(st.integers(0, mentions))
        sents.append(community_view(
            a,
            draw(unit),
            mentions,
            trend=draw(st.floats(-0.5, 0.5)),
            evidence=tuple(draw(st.lists(sentence, max_size=3))),
            sides=(before, draw(st.integers(0, mentions - before))),
        ))
    sents.sort(key=lambda s: -s.mentions)
    title = draw(st.sampled_from(["", f"Title of {item}"]))
    # Now and then a negative of another category, which the planner must not propose by default.
    category = "headphones" if item == "T" else draw(st.sampled_from(["headphones"] * 4 + ["laptops"]))
    return ItemProfile(item=item, at=AT, title=title, category=category, aspects=tuple(sents))


@st.composite
def contexts(draw: st.DrawFn, persona: str = "default") -> PlanContext:
    aspects = draw(aspect_tables())
    n_neg = draw(st.integers(0, 3))
    negatives = tuple(f"N{i}" for i in range(n_neg))
    sources = tuple(draw(st.sampled_from(["rated_low", "same_category", "catalog"])) for _ in negatives)
    key = draw(st.text(alphabet="0123456789abcdef", min_size=16, max_size=16))
    target = Interaction(user="u1", item="T", rating=5.0, timestamp=AT + timedelta(days=1))
    seed = Seed(key=key, user="u1", target=target, history=(), negatives=negatives, negative_sources=sources)
    return PlanContext(
        seed=seed,
        user=draw(user_profiles(aspects)),
        target=draw(item_profiles(aspects, "T")),
        negatives=tuple(draw(item_profiles(aspects, n)) for n in negatives),
        aspects=aspects,
        persona=persona,
    )


def rich_context(key: str = "0123456789abcdef", persona: str = "default") -> PlanContext:
    """A hand-built context that can fill every path of the default grammar."""
    aspects = {i: Aspect(id=i, name=_NAMES[i]) for i in range(6)}
    # The user once complained about aspect 0 in their review of N0, and often about 1 and 4.
    complaints = {0: ("N0",), 1: ("X", "Y"), 4: ("X",)}
    prefs = tuple(
        preference(a, w, s, evidence=(f"I said {a}.",), complaints=complaints.get(a, ()))
        for a, w, s in ((0, 0.9, 0.8), (1, -0.7, -0.6), (2, 0.5, 0.1), (3, 0.4, 0.5), (4, -0.3, -0.2))
    )
    user = UserProfile(
        user="u1",
        at=AT,
        encoder="test",
        half_life_days=180.0,
        preferences=prefs,
        liked=(0, 2, 3),
        disliked=(1, 4),
        n_reviews=12,
    )

    def item(iid: str, sents: dict[int, tuple[float, float]]) -> ItemProfile:
        return ItemProfile(
            item=iid,
            at=AT,
            title=f"Title {iid}",
            category="headphones",
            aspects=tuple(
                community_view(a, s, 20, t, evidence=(f"community on {a}.",)) for a, (s, t) in sents.items()
            ),
        )

    # Buyers praise the target's 0 and 1 and pan its 3 (a question about 3 raises a concern); the
    # alternatives: N0 is panned on 0 (which the user complained about in their review of N0), N1's 1
    # is getting worse.
    target = item("T", {0: (0.8, 0.0), 1: (0.6, 0.1), 3: (-0.5, 0.0), 5: (0.2, 0.0)})
    negs = (item("N0", {0: (-0.5, 0.0), 2: (0.8, 0.0)}), item("N1", {1: (0.2, -0.3), 3: (-0.4, 0.0)}))
    seed = Seed(
        key=key,
        user="u1",
        target=Interaction(user="u1", item="T", rating=5.0, timestamp=AT),
        history=(),
        negatives=("N0", "N1"),
        negative_sources=("rated_low", "same_category"),
    )
    return PlanContext(seed=seed, user=user, target=target, negatives=negs, aspects=aspects, persona=persona)
