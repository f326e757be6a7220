"""The polish mode's meaning check: each rule refuses the drift it names, and a faithful rewrite passes."""

from __future__ import annotations

import pytest

from agents.catalog import Catalog
from agents.meaning import MeaningCheck, MeaningReference
from agents.validators.signals import aspect_terms
from profiling.corpus import Item
from profiling.profiles import Aspect

ASPECTS = [Aspect(id=0, name="fit", phrases=("fit", "sizing")),
           Aspect(id=1, name="battery life", phrases=("battery life", "battery"))]
TABLE = [aspect_terms(a, aspect_id=a.id) for a in ASPECTS]
CATALOG = Catalog({"T": Item(id="T", title="Tavish P30 Trail Shoe"),
                   "N": Item(id="N", title="Norden A10 Road Shoe")})


def ref(speaker: str = "user") -> MeaningReference:
    return MeaningReference(speaker=speaker, table=TABLE, catalog=CATALOG,
                            titles=("Tavish P30 Trail Shoe", "Norden A10 Road Shoe"))


RULES = MeaningCheck(None)  # rules only; the similarity is tested apart


@pytest.mark.parametrize(("draft", "rewrite", "speaker", "reason"), [
    ("Great fit is a must for me.", "", "user", "empty"),
    ("Great fit is a must for me.", "great fit is a must for me", "user", "unchanged"),
    ("I would recommend the Tavish P30 Trail Shoe.", "I would recommend this shoe to anyone.", "system",
     "drops the item"),
    ("Great fit is a must for me.", "Great fit is a must, like on the Norden A10 Road Shoe.", "user",
     "names 'Norden A10 Road Shoe'"),
    ("Great fit is a must for me.", "Great fit is a must, as on my Zephyr Q9.", "user",
     "names 'Zephyr Q9'"),
    ("Great fit is a must for me.", "I want something that is a must for me.", "user",
     "drops the aspect 'fit'"),
    ("Great fit is a must for me.", "Great fit and battery life are a must.", "user", "adds the aspect"),
    ("I love great fit.", "I hate the terrible fit.", "user", "other side on 'fit'"),
    ("What matters most to you in shoes?", "Shoes matter most to me.", "system", "is a question"),
    ("What matters most to you in shoes?", "What matters most to me in shoes?", "system", "to the listener"),
    ("I'll take the Tavish P30 Trail Shoe.", "The Tavish P30 Trail Shoe is a nice shoe.", "user",
     "an acceptance"),
    ("That sounds interesting.", "I'll take it, it sounds interesting.", "user", "rewrite is an acceptance"),
    ("What matters most to you in shoes?", 'The shop assistant is asking: "What matters most to you?',
     "system", "reports the turn"),
    ("What do owners say about the fit?", 'The owner says: "What do owners say about its fit?', "user",
     "reports the turn"),
    ("14 of the 16 buyers praise its fit.", "Many buyers praise its fit.", "system", "changes the counts"),
    ("Most of the nine buyers praise its fit.", "All 90 buyers praise its fit.", "system",
     "changes the counts"),
    ("I check the fit first.", "You check the fit first.", "user", "no longer speaks as 'I'"),
    ("I would recommend the Tavish P30 Trail Shoe.", "I would recommend the Tavish P30 Trial Shoe.", "system",
     "spells 'Tavish P30 Trail Shoe' differently"),
    ("Great fit is a must for me.", "Great fit is a must for my holiday trip to sunny Spain.", "user",
     "adds words the draft does not say"),
    ("Great, the Tavish P30 Trail Shoe is yours!", "Great, the Tavish P30 Trail Shoe is lovely!", "system",
     "is a confirmation"),
    ("I love great fit, so how is its fit?", "So how is its fit?", "user", "no longer takes a side on 'fit'"),
    ("Poor fit annoys me.", "Poor fit annoys me a lot, and I have many many other thoughts about shoes that "
     "I would like to share with you today.", "user", "much longer"),
])
def test_each_rule_refuses_the_drift_it_names(draft: str, rewrite: str, speaker: str, reason: str) -> None:
    reasons = RULES.reasons(draft, rewrite, ref(speaker))
    assert any(reason in r for r in reasons), reasons


def test_a_faithful_rewrite_passes_every_rule() -> None:
    assert RULES.reasons("Hmm, no, not that one; buyers complain about its fit, and I care about fit.",
                         "No thanks, not that one: people complain about its fit, and fit matters to me.",
                         ref()) == []
    assert RULES.reasons("I would recommend the Tavish P30 Trail Shoe. Buyers praise its fit.",
                         "I'd suggest the Tavish P30. Buyers love its fit.", ref("system")) == []
    # A shortened title, the same counts, the speaker still "I", a word or two of its own.
    assert RULES.reasons("Great, I have noted the Tavish P30 Trail Shoe for you. 14 of the 16 buyers love "
                         "its fit.", "Great, I've noted the Tavish P30 for you! 14 of the 16 buyers adore "
                         "its fit.", ref("system")) == []


def test_the_similarity_threshold_refuses_distant_rewrites() -> None:
    far = MeaningCheck(lambda a, b: 0.4, threshold=0.8)
    near = MeaningCheck(lambda a, b: 0.9, threshold=0.8)
    draft, rewrite = "Great fit is a must for me.", "Great fit is essential for me."
    assert near.reasons(draft, rewrite, ref()) == []
    assert far.reasons(draft, rewrite, ref()) == [
        "the rewrite is too far from the draft (similarity 0.40 < 0.80)"]
