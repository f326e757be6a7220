"""The corpus: column storage, chronological histories, duplicates, k-core filtering, stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from profiling.corpus import Corpus, CorpusBuilder, Interaction, Item, from_millis, to_millis

T0 = datetime(2021, 3, 1, 12, 0, tzinfo=UTC)


def _it(user: str, item: str, day: int, rating: float = 4.0, text: str = "") -> Interaction:
    return Interaction(user=user, item=item, rating=rating, timestamp=T0 + timedelta(days=day),
                       text=text or f"{user} on {item} day {day}")


def test_histories_are_chronological_whatever_the_input_order() -> None:
    inter = [_it("u1", "b", 5), _it("u2", "a", 1), _it("u1", "a", 2), _it("u1", "c", 9)]
    corpus = Corpus.from_interactions([Item(id="a"), Item(id="b"), Item(id="c")], inter)
    assert [i.item for i in corpus.history("u1")] == ["a", "b", "c"]
    assert [i.item for i in corpus.history("u2")] == ["a"]
    assert len(corpus) == 4
    assert corpus.n_users == 2 and corpus.n_items == 3
    assert corpus.history("u1")[1] == inter[0]  # materialised models round-trip every field


def test_duplicate_reviews_are_refused_by_the_builder() -> None:
    b = CorpusBuilder()
    assert b.add(_it("u", "a", 1, text="great"))
    assert not b.add(_it("u", "a", 3, text="great"))  # same user, item, text: a re-post
    assert b.add(_it("u", "a", 3, text="still great"))
    assert b.add_raw("u", "b", 4.0, 10, "", "")
    assert not b.add_raw("u", "b", 4.0, 10, "", "")  # no text: same time means same review
    assert len(b) == 3


def test_missing_metadata_gets_a_bare_item_and_is_counted() -> None:
    corpus = Corpus.from_interactions([Item(id="a", title="A", categories=("x",))],
                                      [_it("u", "a", 1), _it("u", "zzz", 2)])
    assert corpus.items["zzz"].title == "zzz"
    assert corpus.stats().n_items_without_metadata == 1
    assert corpus.stats().categories == {"(none)": 1, "x": 1}


def test_kcore_reaches_a_fixed_point() -> None:
    # u3 has one interaction; removing it leaves item c with one interaction, which must go too.
    inter = [_it(u, i, d) for d, (u, i) in enumerate(
        [("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "b"), ("u3", "c"), ("u1", "c")])]
    corpus = Corpus.from_interactions([Item(id=x) for x in "abc"], inter)
    core = corpus.kcore(2)
    assert sorted(core.users) == ["u1", "u2"]
    assert sorted(core.item_ids) == ["a", "b"]
    assert all(len(core.rows(u)) >= 2 for u in core.users)
    assert corpus.kcore(1) is corpus


def test_timestamps_must_be_aware_and_become_utc() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        Interaction(user="u", item="a", rating=1, timestamp=datetime(2021, 1, 1))
    plus2 = timezone(timedelta(hours=2))
    it = Interaction(user="u", item="a", rating=1, timestamp=datetime(2021, 1, 1, 2, tzinfo=plus2))
    assert it.timestamp == datetime(2021, 1, 1, tzinfo=UTC) and it.timestamp.tzinfo == UTC
    assert from_millis(to_millis(T0)) == T0


def test_columns_are_read_only() -> None:
    corpus = Corpus.from_interactions([Item(id="a")], [_it("u", "a", 1)])
    with pytest.raises(ValueError):
        corpus.columns.rating[0] = 1.0
    with pytest.raises(TypeError):
        Corpus()
