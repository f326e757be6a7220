"""The rule validators on natural text: the hand-written corpus of tests/data/natural_turns/ (a quality gate).

Each validator must fail at most 2% of the node attempts labelled as meeting their node (false rejections)
and catch at least 98% of the planted faults labelled with its name. The corpus is written the way capable
models write (possessives, shortened titles, pronouns, hedges, questions without a question mark, lists,
emoji); how it was made and labelled: tests/data/natural_turns.md. Figures: BENCHMARKS.md
(``bench/bench_natural_turns.py``).
"""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest

from agents.validators import default_validators
from agents.validators.rule import RuleValidator
from tests.support.natural_turns import CorpusItem, Tally, load_corpus, measure

MAX_FALSE_REJECTIONS = 0.02
MIN_CATCHES = 0.98


@cache
def corpus() -> tuple[CorpusItem, ...]:
    return tuple(load_corpus())


@cache
def rules() -> tuple[RuleValidator, ...]:
    return tuple(v for v in default_validators() if isinstance(v, RuleValidator))


@cache
def tally() -> Tally:
    return measure(corpus(), rules())


def test_the_corpus_has_its_size_its_labels_and_every_node_type_and_role() -> None:
    items = corpus()
    assert len({i.id for i in items}) == len(items)
    natural = [i for i in items if i.source == "natural"]
    turns = Counter((i.node, t.speaker) for i in natural for t in i.data.turns)
    assert sum(turns.values()) >= 600
    nodes = {i.node for i in items}
    assert nodes == {"greet", "elicit", "clarify", "inquire_item", "recommend_alternative", "refine",
                     "recommend_target", "accept", "close"}
    assert all(turns[(n, s)] >= 40 for n in nodes for s in ("user", "system")), turns
    names = {v.name for v in rules()}
    planted = [i for i in items if i.source == "planted"]
    assert all(not i.meets and len(i.must_catch) == 1 and i.must_catch[0] in names for i in planted)
    # Every validator has faults of its own to catch, enough for a rate to mean something.
    assert all(sum(i.must_catch == (n,) for i in planted) >= 25 for n in names)
    # Items are judged in their plan: the node's turns, and the earlier nodes' turns before them.
    assert all(i.data.turns and all(t.node_index == i.data.node.index for t in i.data.turns) for i in items)
    assert all(t.node_index < i.data.node.index for i in items for t in i.data.before)


@pytest.mark.parametrize("validator", [v.name for v in default_validators() if isinstance(v, RuleValidator)])
def test_each_validator_rarely_rejects_natural_turns_and_catches_its_planted_faults(validator: str) -> None:
    t = tally()
    assert t.meets >= 500
    rejected = t.rejected.get(validator, [])
    assert t.false_rejection_rate(validator) <= MAX_FALSE_REJECTIONS, rejected
    assert t.faults[validator] >= 25
    assert t.catch_rate(validator) >= MIN_CATCHES, t.missed.get(validator, [])


def test_the_issue_cases_are_read_as_a_reader_reads_them() -> None:
    """A possessive title is a catalog item; the planted faults each name the rule that caught them."""
    items = {i.id: i for i in corpus()}
    possessive = items["recommend_target-044"]  # "The Dunmore A20's water resistance is its strongest point"
    assert "Dunmore A20's" in possessive.data.turns[0].text
    assert all(v.verdict(possessive.data).passed for v in rules())
    leak = items["fault-target-001"]  # the user names the target in a possessive before it is recommended
    verdicts = {v.name: v.verdict(leak.data) for v in rules()}
    assert not verdicts["behavioral.target_hidden"].passed
    assert "Rowanby S30 Laptop Backpack" in verdicts["behavioral.target_hidden"].reasons[0]
