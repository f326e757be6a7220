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
from tests.support.validation import CTX, attempt_input, failed, plan_through

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


async def test_negation_and_word_forms_of_the_aspects_own_term_at_the_validators() -> None:
    """Natural phrasings: "didn't really suit how I use it ... still disappointed" is a complaint about
    'use', and "using it day to day" asks about it."""
    aspects = {**CTX.aspects, 3: Aspect(id=3, name="use", phrases=("use",))}
    ctx = CTX.model_copy(update={"aspects": aspects})
    plan = plan_through(ctx, "inquire_item", "elicit")
    elicit = next(n for n in plan.nodes if any(f.name == "use" for f in n.reveals))
    assert next(f for f in elicit.reveals if f.name == "use").polarity == 1
    other = next(f for f in elicit.reveals if f.name != "use")
    # "did not": the test catalog's one-letter item ids would read the "t" of "didn't" as the target "T".
    said = (f"{'I love great' if other.polarity > 0 else 'I hate poor'} {other.name}. "
            "My last one did not really suit how I use it... still disappointed.")
    data = attempt_input(plan, "elicit", [("system", "What else matters to you?"), ("user", said)])
    data = data.model_copy(update={"context": ctx, "node": elicit,
                                   "turns": tuple(t.model_copy(update={"node_index": elicit.index})
                                                  for t in data.turns)})
    bad = await failed(data)
    assert set(bad) == {"behavioral.preference_polarity"}
    assert "negatively about 'use'" in bad["behavioral.preference_polarity"][0]
    inquiry = next(n.inquiry for n in plan.nodes if n.inquiry is not None)
    assert inquiry.community.name == "use"
    # The answer follows the community's view (a coherent plan can inquire into a weak aspect).
    view = "positive" if inquiry.community.sentiment > 0 else "negative"
    asked = attempt_input(plan, "inquire_item", [
        ("user", "I'm curious how it holds up using it day to day"),
        ("system", f"Buyers are mostly {view} about it in daily use."),
    ]).model_copy(update={"context": ctx})
    assert await failed(asked) == {}


async def test_an_answer_by_pronoun_addresses_the_aspect_asked_about_and_may_dismiss_it() -> None:
    plan = plan_through(CTX, "clarify")
    fact = next(n for n in plan.nodes if n.type == "clarify").clarification
    assert fact is not None
    question = ("system", f"How important is {fact.user.name} to you, really?")
    assert await failed(attempt_input(plan, "clarify", [question, ("user", "A lot. It's a must.")])) == {}
    # "does not": the test catalog's item id "T" would match the "t" of "doesn't".
    dismissal = ("user", "It does not really matter to me.")
    dropped = await failed(attempt_input(plan, "clarify", [question, dismissal]))
    assert set(dropped) == {"behavioral.preference_polarity"}
    assert "dismissed" in dropped["behavioral.preference_polarity"][0]
