"""The sentence splitter on hard review text, and the sentence table's bookkeeping."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiling.corpus import Corpus, Interaction, Item, to_millis
from profiling.sentences import SentenceTable, sentence_table, split_reviews, split_sentences


@pytest.mark.parametrize(("text", "expected"), [
    ("Mr. Smith loved it. The fit is great!!! Would buy again?! yes",
     ["Mr. Smith loved it.", "The fit is great!!!", "Would buy again?!", "yes"]),
    ("It is 3.5 in. long and 2 in. wide. Nice.", ["It is 3.5 in. long and 2 in. wide.", "Nice."]),
    ("Made in the U.S. by hand. Works well.", ["Made in the U.S. by hand.", "Works well."]),
    ("I live in the U.S. It came fast.", ["I live in the U.S.", "It came fast."]),
    ("Fits well, e.g. the sleeves, i.e. the arms. Ok", ["Fits well, e.g. the sleeves, i.e. the arms.", "Ok"]),
    ("It was... okay I guess... Then it broke.", ["It was... okay I guess...", "Then it broke."]),
    ("Soft fabric… Great color", ["Soft fabric…", "Great color"]),
    ("Love it 😍 Will buy again", ["Love it 😍", "Will buy again"]),
    ("Great! 😍😍 The fit is perfect.", ["Great! 😍😍", "The fit is perfect."]),
    ("Fits :) Love the color", ["Fits :)", "Love the color"]),
    ('She said "it is perfect." Then she left.', ['She said "it is perfect."', "Then she left."]),
    ("(It fits well.) The color is nice.", ["(It fits well.)", "The color is nice."]),
    ("love it! the color is great. size runs big", ["love it!", "the color is great.", "size runs big"]),
    ("Nice.\n\nSoft fabric<br/>Runs small\r\nok", ["Nice.", "Soft fabric", "Runs small", "ok"]),
    ("Dr. Martens fit me. Version 2.0 is better.", ["Dr. Martens fit me.", "Version 2.0 is better."]),
    ("Great!!! !!! Really", ["Great!!! !!!", "Really"]),
    ("!!!", ["!!!"]),
    ("   ", []),
    ("", []),
])
def test_split_sentences_cases(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_no_punctuation_run_on_is_cut_near_clause_cues() -> None:
    text = " ".join(["the fabric feels soft on the skin"] * 6 + ["but", "the zipper broke"] + ["again"] * 20)
    parts = split_sentences(text, max_words=30)
    assert len(parts) >= 2
    assert all(len(p.split()) <= 30 for p in parts)
    # Cut only between words: joining the parts gives back every word, in order.
    assert " ".join(parts).split() == text.split()


def test_no_punctuation_short_text_is_one_sentence() -> None:
    assert split_sentences("really comfy shoes would buy again") == ["really comfy shoes would buy again"]


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .!?…😍\n\"()',")) | st.characters(exclude_characters="<"),
               max_size=400))
def test_never_empty_and_stripped_and_loses_no_word(text: str) -> None:
    parts = split_sentences(text)
    assert all(p and p == p.strip() for p in parts)
    assert " ".join(parts).split() == text.split()


def test_split_reviews_keeps_review_and_position() -> None:
    review, position, sentences = split_reviews(["One. Two.", "", "Three!"])
    assert review.dtype == np.int64 and position.dtype == np.int16
    assert review.tolist() == [0, 0, 2]
    assert position.tolist() == [0, 1, 0]
    assert sentences == ["One.", "Two.", "Three!"]


def test_sentence_table_follows_corpus_rows() -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    t1 = datetime(2024, 2, 1, tzinfo=UTC)
    corpus = Corpus.from_interactions(
        [Item(id="i1"), Item(id="i2")],
        [Interaction(user="bob", item="i2", rating=2, timestamp=t1, text="Too small. Returned it."),
         Interaction(user="ann", item="i1", rating=5, timestamp=t0, text="Lovely!"),
         Interaction(user="bob", item="i1", rating=4, timestamp=t0, text="")],
    )
    table = sentence_table(corpus)
    assert isinstance(table, SentenceTable) and len(table) == 3
    for k in range(len(table)):
        row = int(table.row[k])
        assert table.texts[k] in corpus.texts[row]
        assert table.user[k] == corpus.columns.user[row]
        assert table.item[k] == corpus.columns.item[row]
        assert table.ts[k] == corpus.columns.ts[row]
    bob_late = [k for k in range(3) if corpus.users[table.user[k]] == "bob"]
    assert [table.texts[k] for k in bob_late] == ["Too small.", "Returned it."]
    assert table.position[bob_late].tolist() == [0, 1]
    assert int(table.ts[bob_late[0]]) == to_millis(t1)
    assert (table.user.dtype, table.item.dtype, table.ts.dtype, table.position.dtype) == (
        np.int32, np.int32, np.int64, np.int16)
