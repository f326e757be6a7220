"""The phrasing grammar of the scripted realizer: what a template expands to, and its failure modes."""

from __future__ import annotations

import random

import pytest

from agents.realizer.grammar import GrammarError, count_variants, expand, pick, tidy


def test_a_template_expands_to_each_of_its_variants_and_fills_slots() -> None:
    template = "(Hi|Hello)[ there], {name}! {Cat} (are|seem) [really ]good."
    seen = {expand(template, random.Random(k), name="Ann", cat="shoes") for k in range(300)}
    assert count_variants([template]) == 16 == len(seen)
    assert "Hello there, Ann! Shoes are really good." in seen and "Hi, Ann! Shoes seem good." in seen


def test_the_same_generator_state_gives_the_same_text() -> None:
    bank = ("(a|b|c) [d] (e|f[ g])", "h (i|j)")
    first, again = random.Random(7), random.Random(7)
    assert [pick(bank, first) for _ in range(5)] == [pick(bank, again) for _ in range(5)]


def test_tidy_fixes_spaces_punctuation_and_sentence_starts() -> None:
    assert tidy("  hello ,  world . so it goes !  ok") == "Hello, world. So it goes! Ok"
    assert tidy("well,, fine") == "Well, fine"


@pytest.mark.parametrize("template", ["(a|b", "[a", "a)", "{slot", "a|b"])
def test_unbalanced_templates_are_bank_bugs(template: str) -> None:
    with pytest.raises(GrammarError):
        expand(template, random.Random(0), slot="x")


def test_a_slot_without_a_value_is_a_bank_bug() -> None:
    with pytest.raises(GrammarError, match="no value for slot"):
        expand("I like {name}.", random.Random(0))
