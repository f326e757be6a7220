"""Signals read as a reader reads natural text: word forms, idioms, indirect questions, short item names."""

from __future__ import annotations

import pytest

from agents.catalog import Catalog
from agents.validators.mentions import item_referenced, short_mentions
from agents.validators.signals import (
    accepts,
    aspect_terms,
    declines,
    farewell,
    is_question,
    mentioned_aspects,
    product_names,
    role_slips,
    stance,
    unknown_product_names,
)
from agents.validators.wordforms import root
from profiling.corpus import Item
from profiling.profiles import Aspect

ASPECTS = [
    Aspect(id=0, name="price", phrases=("price", "money", "cost", "value")),
    Aspect(id=1, name="organization", phrases=("layout", "organization", "pocket layout", "storage")),
    Aspect(id=2, name="build quality", phrases=("quality", "build", "durability", "construction")),
    Aspect(id=3, name="battery runtime", phrases=("runtime", "battery life")),
    Aspect(id=4, name="fit", phrases=("fit", "size", "sizing")),
    Aspect(id=5, name="use", phrases=("use",)),
    Aspect(id=6, name="fragrance", phrases=("fragrance", "scent", "smell")),
]
TABLE = [aspect_terms(a, aspect_id=a.id) for a in ASPECTS]


@pytest.mark.parametrize(("a", "b"), [
    ("organized", "organization"), ("organised", "organization"), ("overpriced", "price"),
    ("pricey", "price"), ("built", "build"), ("fitted", "fit"), ("fits", "fit"), ("uncomfortable", "comfort"),
    ("durable", "durability"), ("waterproof", "waterproofing"), ("hydrating", "hydration"),
    ("moisturiser", "moisturizer"), ("using", "use"), ("resistant", "resistance"), ("speedy", "speed"),
])
def test_forms_of_one_word_share_a_root(a: str, b: str) -> None:
    assert root(a) == root(b)


@pytest.mark.parametrize(("a", "b"), [("process", "processor"), ("cost", "costume"), ("price", "prize"),
                                      ("speed", "speech"), ("thing", "th"), ("charge", "charger")])
def test_different_words_keep_different_roots(a: str, b: str) -> None:
    assert root(a) != root(b)


def test_aspects_are_found_in_their_word_forms_and_loosely_by_everyday_words() -> None:
    assert mentioned_aspects("I love a well-organized bag.", TABLE) == [1]
    assert mentioned_aspects("It's way overpriced.", TABLE) == [0]
    assert mentioned_aspects("Reinforced stitching, a bag that's built to last.", TABLE) == [2]
    assert mentioned_aspects("It fits perfectly.", TABLE) == [4]
    assert mentioned_aspects("Is it good for using it day to day", TABLE) == [5]
    # Loose words only when asked for: "expensive" and "battery" alone say which aspect a bound node means.
    assert mentioned_aspects("A bit expensive, no?", TABLE) == []
    assert mentioned_aspects("A bit expensive, no?", TABLE[:1], loose=True) == [0]
    assert mentioned_aspects("How long does the battery last?", [TABLE[3]], loose=True) == [3]
    assert mentioned_aspects("How's the bass on them?", [TABLE[2]], loose=True) == []


@pytest.mark.parametrize(("clause", "sign"), [
    ("I'll be honest, buyers are mostly critical of its bass", -1),
    ("Fit has always been a letdown for me", -1),
    ("I can't stand fragrance in moisturizers, it's always too much", -1),
    ("It didn't really suit how I use it", -1),
    ("Buyers agree it's slow", -1),
    ("I just don't want another terrible display", -1),
    ("Its build quality is top-notch", 1),
    ("People say its price is a bargain", 1),
    ("Yeah — flavor", 0),
    ("Speed in general, honestly", 0),
])
def test_stance_reads_idioms_framing_and_negated_wishes(clause: str, sign: int) -> None:
    assert stance(clause, TABLE) == sign


def test_a_topic_and_its_judgement_across_a_dash_are_one_clause() -> None:
    # "strong" is praise to VADER; the dash does not cut the topic from "a nightmare".
    assert stance("Strong fragrances — they're a nightmare for me", TABLE) != 1
    assert stance("Strong fragrances", TABLE) == 1


def test_questions_without_a_question_mark() -> None:
    assert is_question("That's frustrating. Anything else you'd like me to keep in mind")
    assert is_question("I want to check one thing: what do buyers think about its price")
    assert is_question("Curious about the build quality of the Kestrel S40, is it solid")
    assert is_question("I'd love to know how the fragrance is described in reviews.")
    assert not is_question("Okay, noted.") and not is_question("Noted. Coffee makers it is.")


def test_acceptance_refusal_and_goodbye_in_everyday_words() -> None:
    for yes in ("Alright, the Everly P20 it is.", "Go ahead and put me down for the Glenmark A90.",
                "ok yeah, I'm getting the tavish p80s", "Right, I'm going with the Tavish S30.",
                "I'll give the Glenmark X40 a try."):
        assert accepts(yes), yes
    for no in ("Hmm, no. Reviews say it isn't comfortable.", "Nope, buyers are unhappy with its price.",
               "Nah, the Dunmore A50 isn't for me.", "Hmm, no — its battery worries me.", "Thanks, but no."):
        assert declines(no) and not accepts(no), no
    assert not accepts("Hmm, let me sleep on it.") and not declines("No complaints, it sounds great.")
    for bye in ("Cheers, that was helpful.", "You too! Safe cycling 🚲", "Good night, and sweet dreams!",
                "Happy running.", "Anytime. Good luck this semester!", "thx, that was easy"):
        assert farewell(bye), bye
    assert not farewell("Your order number is 48213.") and not farewell("Okay.")


def test_role_slips_read_the_sentence_not_the_phrase() -> None:
    assert role_slips("Understood. I'll take the display into account.", "system") == []
    assert role_slips("Love it. Anything else on your wishlist? User: build quality.", "system")
    assert role_slips("Let me search for some options for you! Good price, please.", "user")


def test_items_are_named_by_possessive_plural_and_shortened_titles() -> None:
    title = "Calder S10 Rolltop Commuter Pack"
    assert item_referenced("the Calder S10's straps", title) and item_referenced("the calder s10", title)
    assert item_referenced("the S10 Rolltop is light", title)
    assert item_referenced("I'll buy the Orbis S80s.", "Orbis S80 Noise Cancelling Headphones")
    assert not item_referenced("a 14-inch laptop", "Mistral A70 14-inch Laptop")
    assert not item_referenced("the S10", title) and not item_referenced("a rolltop commuter pack", title)
    titles = (("A", title), ("B", "Quillon P40 Trail Running Shoe"),
              ("C", "Quillon P40 Stability Running Shoe"))
    catalog = Catalog({i: Item(id=i, title=t) for i, t in titles})
    assert unknown_product_names("I'd go with the Calder S10's roll-top, or the Calder S10s.", catalog) == []
    assert unknown_product_names("**My recommendation:** the Calder S10.", catalog) == []
    assert "Zentrix Q7" in product_names("It beats the Zentrix Q7's battery.")
    # A brand and model two items share names the plan's item when the plan has one of them.
    assert short_mentions("The Quillon P40 it is.", catalog, prefer={"B"}) == ["B"]
    assert short_mentions("The Quillon P40 it is.", catalog) == ["B", "C"]
