"""Time-decayed user profiles and item trajectories, on small corpora with hand-set aspects and sentiment."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiling.corpus import Corpus, Interaction, Item
from profiling.profiler import (
    NaiveTimeError,
    ProfileSettings,
    SentenceFacts,
    TemporalProfiler,
    UnknownEntityError,
    bucket_index,
    bucket_start,
)
from profiling.profiles import Aspect, ProfileSource
from profiling.sentences import sentence_table

T0 = datetime(2022, 1, 10, tzinfo=UTC)
ASPECTS = [Aspect(id=0, name="battery"), Aspect(id=1, name="sound"), Aspect(id=2, name="price")]

# (user, item, day offset from T0, rating, [(aspect or -1, sentiment), ...]) per review.
Review = tuple[str, str, float, float, list[tuple[int, float]]]


def build(
    reviews: list[Review], settings_: ProfileSettings | None = None, aspects: list[Aspect] = ASPECTS,
    categories: dict[str, str] | None = None,
) -> TemporalProfiler:
    """A profiler over these reviews; each sentence's aspect and sentiment are the ones given.

    Items are headphones unless ``categories`` names another (most specific) category for them.
    """
    facts_by_text: dict[str, tuple[int, float]] = {}
    interactions = []
    for n, (user, item, day, rating, sentences) in enumerate(reviews):
        texts = []
        for k, (aspect, sentiment) in enumerate(sentences):
            text = f"Review {n} sentence {k} is here."
            facts_by_text[text] = (aspect, sentiment)
            texts.append(text)
        interactions.append(
            Interaction(
                user=user, item=item, rating=rating, timestamp=T0 + timedelta(days=day), text=" ".join(texts)
            )
        )
    items = [
        Item(id=i, title=f"Title {i}", categories=("audio", (categories or {}).get(i, "headphones")))
        for i in sorted({r[1] for r in reviews})
    ]
    corpus = Corpus.from_interactions(items, interactions, source="test")
    table = sentence_table(corpus)
    label = np.array([facts_by_text[t][0] for t in table.texts], dtype=np.int32)
    sentiment = np.array([facts_by_text[t][1] for t in table.texts], dtype=np.float32)
    facts = SentenceFacts(
        row=table.row,
        user=table.user,
        item=table.item,
        ts=table.ts,
        label=label,
        sentiment=sentiment,
        texts=table.texts,
    )
    return TemporalProfiler(corpus, facts, aspects, encoder="hand-labelled", settings=settings_)


def day(d: float) -> datetime:
    return T0 + timedelta(days=d)


def test_mentions_and_sentiment_decay_with_the_half_life() -> None:
    h = 100.0
    prof = build(
        [("u", "a", 0, 5, [(0, 0.8)]), ("u", "b", h, 2, [(0, -0.6)])],
        ProfileSettings(half_life_days=h, prior=1.0),
    )
    p = prof.user_profile("u", day(2 * h)).preference(0)
    assert p is not None
    # Two half-lives and one half-life old: weights 1/4 and 1/2.
    assert p.mentions == pytest.approx(0.75)
    assert p.sentiment == pytest.approx((0.25 * 0.8 + 0.5 * -0.6) / 0.75, rel=1e-5)
    # Only one aspect: importance 1, direction shrunk by one neutral pseudo-mention.
    assert p.weight == pytest.approx((0.25 * 0.8 + 0.5 * -0.6) / 1.75, rel=1e-5)


def test_only_reviews_strictly_before_at_count() -> None:
    prof = build([("u", "a", 0, 4, [(0, 0.5)]), ("u", "b", 10, 1, [(1, -0.9)])])
    at_second = prof.user_profile("u", day(10))
    assert at_second.n_reviews == 1
    assert [p.aspect for p in at_second.preferences] == [0]
    assert at_second.recent_items == ("a",)
    after = prof.user_profile("u", day(10) + timedelta(milliseconds=1))
    assert after.n_reviews == 2
    assert {p.aspect for p in after.preferences} == {0, 1}
    assert prof.user_profile("u", day(0)).preferences == ()


def test_top_liked_disliked_and_habits() -> None:
    reviews: list[Review] = [
        ("u", "a", 0, 5, [(0, 0.9), (0, 0.7), (1, -0.8)]),
        ("u", "b", 5, 4, [(0, 0.6), (2, 0.3), (-1, 0.9)]),
        ("u", "c", 9, 1, [(1, -0.7), (0, 0.8)]),
        ("u", "a", 12, 3, [(0, 0.5)]),
    ]
    prof = build(reviews)
    at = day(20)
    p = prof.user_profile("u", at)
    assert prof.top_aspects("u", at) == [0, 1, 2]
    assert p.liked[0] == 0 and 2 in p.liked
    assert p.disliked == (1,)
    assert [abs(x.weight) for x in p.preferences] == sorted(
        (abs(x.weight) for x in p.preferences), reverse=True
    )
    # Recent items: most recent first, each once.
    assert p.recent_items == ("a", "c", "b")
    assert p.rating_mean == pytest.approx(np.mean([5, 4, 1, 3]))
    assert p.rating_std == pytest.approx(np.std([5, 4, 1, 3]))
    assert p.n_reviews == 4
    # Evidence: the user's own most recent sentences on the aspect.
    assert p.preference(1).evidence[0].startswith("Review 2 ")
    # A sentence with no aspect (label -1) weighs nowhere.
    assert sum(x.mentions for x in p.preferences) == pytest.approx(
        sum(math.exp(-math.log(2) * (20 - d) / 180) * n for d, n in ((0, 3), (5, 2), (9, 2), (12, 1)))
    )


def test_item_trajectory_buckets_and_smoothing() -> None:
    # Quarters of 2022: two mentions in Q1 (1.0 and 0.0), none in Q2, one in Q3 (-1.0).
    reviews: list[Review] = [
        ("u1", "x", 0, 5, [(0, 1.0)]),
        ("u2", "x", 30, 3, [(0, 0.0)]),
        ("u3", "x", 200, 1, [(0, -1.0)]),
    ]
    prof = build(reviews, ProfileSettings(smoothing=0.5))
    tr = prof.trajectory("x", 0)
    assert tr.bucket_starts == (
        datetime(2022, 1, 1, tzinfo=UTC),
        datetime(2022, 4, 1, tzinfo=UTC),
        datetime(2022, 7, 1, tzinfo=UTC),
    )
    assert tr.mentions == (2, 0, 1)
    assert tr.sentiment == (0.5, None, -1.0)
    # EMA over sums and counts: (1)/(2) ; (0.5)/(1) ; (0.25 - 1)/(0.5 + 1)
    assert tr.smoothed == pytest.approx((0.5, 0.5, -0.5))
    # Mid-Q3, before the Q3 review: the bucket holding `at` is truncated, nothing of it is seen yet.
    mid = prof.item_profile("x", day(190))
    assert mid.n_reviews == 2 and mid.rating_mean == pytest.approx(4.0)
    assert mid.aspect(0).mentions == 2 and mid.aspect(0).sentiment == pytest.approx(0.5)
    assert prof.trajectory("x", 0, at=day(190)).mentions == (2, 0, 0)
    end = prof.item_profile("x", day(400))
    assert end.aspect(0).sentiment == pytest.approx(-0.5)
    assert end.title == "Title x" and end.category == "headphones"
    assert prof.trajectory("x", 1).bucket_starts == ()


def test_trend_is_the_count_weighted_slope_per_bucket() -> None:
    # Six quarters, two mentions each, means rising 0.1 per quarter.
    up: list[Review] = [
        (f"u{q}{k}", "up", 91.3 * q + k, 4, [(1, -0.3 + 0.1 * q)]) for q in range(6) for k in (0, 1)
    ]
    down: list[Review] = [
        (f"v{q}{k}", "down", 91.3 * q + k, 4, [(1, 0.4 - 0.15 * q)]) for q in range(6) for k in (0, 1)
    ]
    prof = build(up + down, ProfileSettings(trend_buckets=4))
    at = day(91.3 * 6)
    assert prof.item_profile("up", at).aspect(1).trend == pytest.approx(0.1, abs=1e-6)
    assert prof.item_profile("down", at).aspect(1).trend == pytest.approx(-0.15, abs=1e-6)
    assert prof.trend("up", 1) == pytest.approx(0.1, abs=1e-6)
    # One bucket of data gives no slope.
    assert prof.item_profile("up", day(10)).aspect(1).trend == 0.0


def test_community_views_count_signs_and_claim_a_stance_only_when_the_interval_allows() -> None:
    # Item "five": 5 buyers praise aspect 0; "four": 4 praise, 1 complains; "pans": 5 complain; one
    # neutral mention counts as a mention, not as a vote.
    reviews: list[Review] = [(f"p{k}", "five", k, 5, [(0, 0.8)]) for k in range(5)]
    reviews += [(f"q{k}", "four", k, 4, [(0, 0.7 if k < 4 else -0.6)]) for k in range(5)]
    reviews += [(f"r{k}", "pans", k, 1, [(0, -0.9), (1, 0.05)]) for k in range(5)]
    prof = build(reviews)
    five, four, pans = (prof.item_profile(i, day(30)).aspect(0) for i in ("five", "four", "pans"))
    assert (five.mentions, five.positive, five.negative, five.stance) == (5, 5, 0, "positive")
    assert five.share_low == pytest.approx(0.05 ** (1 / 6), abs=1e-6)  # Beta(6, 1): 5% quantile
    assert (four.positive, four.negative, four.stance) == (4, 1, "mixed")
    assert (pans.negative, pans.stance) == (5, "negative")
    neutral = prof.item_profile("pans", day(30)).aspect(1)
    assert (neutral.mentions, neutral.positive, neutral.negative, neutral.stance) == (5, 0, 0, "mixed")
    # Quotes agree with the stance; a mixed view has none. Every sentence is listed, latest first.
    assert five.evidence and all(prof.facts.sentiment[i] > 0 for i in five.evidence_ids)
    assert all(prof.facts.sentiment[i] < 0 for i in pans.evidence_ids) and pans.evidence_ids
    assert four.evidence == () and four.evidence_ids == ()
    assert [prof.facts.texts[i][:9] for i in five.sentence_ids] == [f"Review {k} " for k in (4, 3, 2, 1, 0)]
    capped = build(reviews, ProfileSettings(provenance_ids=2)).item_profile("five", day(30)).aspect(0)
    assert capped.mentions == 5 and capped.sentence_ids == five.sentence_ids[:2]


def test_other_buyers_view_leaves_the_users_own_reviews_out() -> None:
    reviews: list[Review] = [("me", "x", 0, 1, [(0, -0.9)]), ("you", "x", 1, 5, [(0, 0.9)])]
    prof = build(reviews)
    assert prof.item_profile("x", day(5)).aspect(0).mentions == 2
    others = prof.item_profile("x", day(5), exclude_user="me").aspect(0)
    assert (others.mentions, others.positive, others.negative) == (1, 1, 0)
    assert prof.item_profile("x", day(5), exclude_user="stranger") == prof.item_profile("x", day(5))
    assert prof.item_profile("x", day(5), exclude_user="you").aspect(1) is None


def test_a_trend_counts_its_mentions_on_each_side_of_the_time_cut() -> None:
    # Quarters 0..3 (the trend window of 4): 3, 0, 1, 2 mentions; the cut leaves the last two after it.
    reviews: list[Review] = [
        (f"u{q}{k}", "x", 91.3 * q + k, 4, [(0, 0.5)]) for q, n in enumerate((3, 0, 1, 2)) for k in range(n)
    ]
    s = build(reviews, ProfileSettings(trend_buckets=4)).item_profile("x", day(91.3 * 3 + 10)).aspect(0)
    assert (s.trend_before, s.trend_after) == (3, 3)
    young = build(reviews, ProfileSettings(trend_buckets=4)).item_profile("x", day(20)).aspect(0)
    assert (young.trend_before, young.trend_after) == (0, 3)


def test_preferences_count_complaints_and_quote_only_agreeing_sentences_of_the_category() -> None:
    reviews: list[Review] = [
        ("u", "cream", 0, 1, [(0, -0.9)]),  # a complaint about aspect 0, on a face cream
        ("u", "shoe", 5, 2, [(0, -0.7), (1, 0.6)]),
        ("u", "shoe2", 9, 4, [(0, 0.4)]),  # a kind word on aspect 0: not a quote for a complainer
    ]
    prof = build(reviews, categories={"cream": "skincare"})
    p = prof.user_profile("u", day(20)).preference(0)
    assert p is not None and p.weight < 0
    assert (p.count, p.positive, p.negative) == (3, 1, 2)
    assert p.complaint_items == ("shoe", "cream") and len(p.complaint_ids) == 2
    assert len(p.sentence_ids) == 3
    assert [prof.facts.texts[i][:9] for i in p.evidence_ids] == ["Review 1 ", "Review 0 "]
    shoes = prof.user_profile("u", day(20), category="headphones").preference(0)
    assert [prof.facts.texts[i][:9] for i in shoes.evidence_ids] == ["Review 1 "]
    assert shoes.sentence_ids == p.sentence_ids  # the preference itself still rests on every sentence
    assert prof.user_profile("u", day(20), category="tents").preference(0).evidence == ()


def test_buckets_are_calendar_periods() -> None:
    ms = int(datetime(2023, 8, 31, 23, 59, tzinfo=UTC).timestamp() * 1000)
    assert bucket_start(int(bucket_index(ms, "quarter")), "quarter") == datetime(2023, 7, 1, tzinfo=UTC)
    assert bucket_start(int(bucket_index(ms, "month")), "month") == datetime(2023, 8, 1, tzinfo=UTC)
    assert bucket_start(int(bucket_index(ms, "year")), "year") == datetime(2023, 1, 1, tzinfo=UTC)


def test_bad_requests_fail_loudly() -> None:
    prof = build([("u", "a", 0, 4, [(0, 0.5)])])
    source: ProfileSource = prof
    assert [a.name for a in source.aspects] == ["battery", "sound", "price"]
    with pytest.raises(UnknownEntityError, match="nobody"):
        prof.user_profile("nobody", day(1))
    with pytest.raises(UnknownEntityError, match="nothing"):
        prof.item_profile("nothing", day(1))
    with pytest.raises(UnknownEntityError, match="aspect 3"):
        prof.trajectory("a", 3)
    with pytest.raises(NaiveTimeError):
        prof.user_profile("u", datetime(2022, 3, 1))
    with pytest.raises(Exception, match="labels reach 0 but only 0 aspects"):
        build([("u", "a", 0, 4, [(0, 0.5)])], aspects=[])


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[Review], float]:
    n = draw(st.integers(3, 25))
    reviews: list[Review] = []
    for k in range(n):
        sentences = draw(
            st.lists(st.tuples(st.integers(-1, 2), st.floats(-1, 1, width=32)), min_size=1, max_size=3)
        )
        reviews.append(
            (
                draw(st.sampled_from(["u", "v", "w"])),
                draw(st.sampled_from(["a", "b"])),
                draw(st.floats(0, 700)) + k * 1e-3,
                draw(st.sampled_from([1.0, 3.0, 5.0])),
                sentences,
            )
        )
    return reviews, draw(st.floats(1, 700))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_no_review_from_at_on_can_move_a_profile(world: tuple[list[Review], float]) -> None:
    reviews, cut = world
    # Rewrite every review at or after the cut: other aspects, flipped sentiment, another rating.
    changed = [
        (u, i, d, r, s) if d < cut else (u, i, d, 6 - r, [((a + 1) % 3, -x) for a, x in s])
        for u, i, d, r, s in reviews
    ]
    before, after = build(reviews), build(changed)
    at = day(cut)
    for user in ("u", "v", "w"):
        if user in before.corpus.users:
            assert before.user_profile(user, at) == after.user_profile(user, at)
    for item in ("a", "b"):
        if item in before.corpus.item_ids:
            assert before.item_profile(item, at) == after.item_profile(item, at)
