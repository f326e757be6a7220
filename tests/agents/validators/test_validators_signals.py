"""Text signals behind the rule validators: speech acts, role slips, aspects, stance, product names."""

from __future__ import annotations

import pytest

from agents.catalog import Catalog
from agents.validators.signals import (
    accepts,
    aspect_terms,
    clause_sentiment,
    clauses,
    declines,
    is_question,
    item_referenced,
    mentioned_aspects,
    product_names,
    recommends,
    role_slips,
    stance,
    unknown_product_names,
)
from profiling.corpus import Item
from profiling.profiles import Aspect

TABLE = [
    aspect_terms(
        Aspect(id=0, name="comfort / padding / wearing", phrases=("wearing comfort", "cushioning")),
        aspect_id=0,
    ),
    aspect_terms(
        Aspect(id=1, name="marks / top / build", phrases=("top marks", "build quality")), aspect_id=1
    ),
    aspect_terms(
        Aspect(id=2, name="build / quality / construction", phrases=("build quality",)), aspect_id=2
    ),
    aspect_terms(Aspect(id=3, name="use / love / mostly", phrases=("use", "love")), aspect_id=3),
    aspect_terms(
        Aspect(id=4, name="battery / life / runtime", phrases=("battery life", "charge")), aspect_id=4
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What matters most to you in headphones?", True),
        ("Tell me what you care about", True),
        ("Okay, noted.", False),
        ("I will look for something better.", False),
    ],
)
def test_questions(text: str, expected: bool) -> None:
    assert is_question(text) is expected


def test_offers_acceptance_and_declines() -> None:
    assert recommends("I would recommend the Aria Pro.") and recommends("How about the Aria Pro?")
    assert not recommends("What matters most to you?")
    assert accepts("Great, I will take the Aria Pro.") and accepts("Sounds good, let's go with it.")
    assert not accepts("Thanks, but I will pass on the Aria Pro.")
    assert declines("Hmm, no, not that one; its battery is poor.") and declines("I'll pass on it.")
    assert not declines("Yes, I will buy it.")


@pytest.mark.parametrize(
    ("text", "speaker", "slipped"),
    [
        ("As an AI, I cannot own headphones.", "user", True),
        ("How can I help you today?", "user", True),
        ("I recommend the Aria Pro.", "user", True),
        ("assistant: I like good sound.", "user", True),
        ("User: what about the battery?", "system", True),
        ("", "user", True),
        ("I like good sound and long battery life.", "user", False),
        ("How can I help you today?", "system", False),
        ("I recommend the Aria Pro.", "system", False),
    ],
)
def test_role_slips(text: str, speaker: str, slipped: bool) -> None:
    assert bool(role_slips(text, speaker)) is slipped


def test_aspects_are_found_by_name_and_phrase_and_shared_words_resolve_to_the_fuller_mention() -> None:
    assert mentioned_aspects("The comfort is great.", TABLE) == [0]
    assert mentioned_aspects("The cushioning felt cheap.", TABLE) == [0]
    assert mentioned_aspects("I love long battery life.", TABLE) == [3, 4] or mentioned_aspects(
        "I love long battery life.", TABLE
    ) == [4]
    # "marks / top / build" in full is not also a mention of "build / quality" through "build".
    assert mentioned_aspects("Top marks for the build.", TABLE) == [1]
    assert set(mentioned_aspects("The build is poor.", TABLE)) == {1, 2}
    assert mentioned_aspects("Nothing here names an aspect.", TABLE) == []
    # A generic-only aspect keeps its name as a term, and a bound name adds all its parts.
    assert mentioned_aspects("Good use / love / mostly matters.", TABLE) == [3]
    bound = aspect_terms(
        Aspect(id=5, name="recommended / gift / bought"), aspect_id=5, names=("recommended / gift / bought",)
    )
    assert mentioned_aspects("Bad bought annoys me.", [bound]) == [5]


def test_stance_masks_aspect_words_and_reads_aversion_requests_as_complaints() -> None:
    assert stance("The comfort is great", TABLE) == 1
    # "comfort" alone scores +0.6 in VADER: masked, it no longer makes a complaint read as praise.
    assert stance("I wouldn't call the wearing comfort comfy", TABLE) != 1
    assert clause_sentiment("The comfort", TABLE) == 0 < clause_sentiment("The comfort")
    assert stance("No poor battery, please", TABLE) == -1
    # VADER reads "no" as negative and does not know "issues": the idiom is praise.
    assert stance("No issues with the battery whatsoever", TABLE) == 1
    assert stance("Last time, the battery (8 mentions) was critical", TABLE) == -1
    assert stance("I have been disappointed by poor battery life before", TABLE) == -1
    assert stance("opinions on its battery are mixed", TABLE) == 0


def test_clauses_split_contrasts_and_drop_openers() -> None:
    parts = clauses("Honestly, buyers are critical of its sound, though it has improved. Great fit!")
    assert parts == ["buyers are critical of its sound", "it has improved.", "Great fit!"]


def test_product_names_and_the_catalog() -> None:
    items = {
        "A1": Item(id="A1", title="Fenwick X90 Ultrabook"),
        "B2": Item(id="B2", title="Aria Pro Headphones"),
    }
    cat = Catalog(items)
    text = (
        "The Fenwick X90 is light. You could also look at the Zentrix Q7 Pro. "
        'Many buyers love the "Cloud Nine" edition. I think the Aria Pro fits you.'
    )
    names = product_names(text)
    assert "Fenwick X90" in names and "Zentrix Q7 Pro" in names and "Cloud Nine" in names
    assert unknown_product_names(text, cat) == ["Zentrix Q7 Pro", "Cloud Nine"]
    # Ordinary capitalised text is not a product name.
    plain = "Hello! What matters most to you? Great, Battery Life matters. I hope so."
    assert unknown_product_names(plain, cat, vocabulary=["battery / life"]) == []
    assert item_referenced("I will take the fenwick x90, thanks", "Fenwick X90 Ultrabook")
    assert not item_referenced("I will take it", "Fenwick X90 Ultrabook")
