"""Rule validators on whole scripted dialogs (clean: all pass) and planted faults (each caught by its own)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

import agents.validators as validators_pkg
from agents.catalog import Catalog
from agents.dialog import Turn, Validator, Verdict
from agents.scripted import ScriptedClient
from agents.system_agent import SystemAgent
from agents.user_agent import UserAgent
from agents.validators import run_validators
from planners.plan import DialogPlan
from profiling.corpus import Item
from tests.support.fault_clients import (
    EXPECTED,
    FAULTS,
    INVENTED_NAME,
    Fault,
    FaultyClient,
    play_plan,
    validation_inputs,
)
from tests.support.validation import CATALOG, CTX, PLANNER, RULES, attempt_input, failed, plan_through

PERSONAS = (
    ("default", "default"),
    ("terse", "concise"),
    ("chatty", "explanatory"),
    ("expert", "enthusiastic"),
    ("indecisive", "default"),
    ("budget_minded", "concise"),
)


async def verdicts_of(plan: DialogPlan, turns: Sequence[Turn]) -> list[tuple[int, list[Verdict]]]:
    return [
        (node.index, await run_validators(RULES, vi))
        for node, vi in validation_inputs(plan, CTX, turns, CATALOG)
    ]


def failing(verdicts: list[tuple[int, list[Verdict]]]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for idx, vs in verdicts:
        bad = {v.validator for v in vs if not v.passed}
        if bad:
            out[idx] = bad
    return out


def test_public_names() -> None:
    assert sorted(validators_pkg.__all__) == sorted(
        [
            "RUBRIC",
            "ActsValidator",
            "CatalogOnlyValidator",
            "DialogScore",
            "DialogScorer",
            "EarlyRecommendationValidator",
            "JudgeAnswer",
            "JudgeReason",
            "LLMJudgeValidator",
            "PolarityValidator",
            "RealBehaviourValidator",
            "RoleValidator",
            "RuleValidator",
            "SentimentClaimsValidator",
            "TargetHiddenValidator",
            "TurnBoundsValidator",
            "behavioral_validators",
            "default_validators",
            "executional_validators",
            "run_validators",
            "to_node",
            "to_role",
        ]
    )
    names = [v.name for v in RULES]
    assert len(set(names)) == len(names) == 9
    assert all(isinstance(v, Validator) for v in RULES)


async def test_clean_scripted_dialogs_pass_every_rule_validator() -> None:
    paths = [p for p, _ in PLANNER.feasible_paths(CTX)]
    checked = 0
    for k, path in enumerate(paths[:: max(1, len(paths) // 12)]):
        up, sp = PERSONAS[k % len(PERSONAS)]
        plan = PLANNER.plan(CTX, path=path)
        client = ScriptedClient()
        turns = await play_plan(plan, CTX, UserAgent(client, up), SystemAgent(client, sp))
        bad = failing(await verdicts_of(plan, turns))
        assert bad == {}, (path, bad, [(t.node, t.speaker, t.text) for t in turns])
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize("fault", FAULTS)
async def test_each_planted_fault_is_caught_by_its_validator_and_only_there(fault: Fault) -> None:
    role, kinds, expected = EXPECTED[fault]
    plan = plan_through(CTX, "recommend_alternative", *kinds)
    inner = ScriptedClient()
    faulty = FaultyClient(inner, fault, target_title="Title T", catalog_title="Title X1")
    user_client, system_client = (faulty, inner) if role == "user" else (inner, faulty)
    turns = await play_plan(plan, CTX, UserAgent(user_client), SystemAgent(system_client))
    assert faulty.corrupted, "the schedule planted nothing"
    corrupted_nodes = {idx for _, idx, _ in faulty.corrupted}
    verdicts = await verdicts_of(plan, turns)
    bad = failing(verdicts)
    assert bad == {idx: {expected} for idx in corrupted_nodes}, [(t.node, t.speaker, t.text) for t in turns]
    # The reasons are written for the retry prompt: they name what went wrong, specifically.
    reasons = [
        r for idx, vs in verdicts if idx in corrupted_nodes for v in vs if not v.passed for r in v.reasons
    ]
    assert reasons
    specific = {
        "target_leak": "Title T",
        "invented_item": INVENTED_NAME,
        "early_recommendation": "Title X1",
        "wrong_role": "Assistant",
    }
    if fault in specific:
        assert any(specific[fault] in r for r in reasons), reasons


def reveal(plan: DialogPlan) -> str:
    """What a faithful user says in the plan's first elicit node (in our words, not the realizer's)."""
    node = next(n for n in plan.nodes if n.type == "elicit")
    return " ".join(
        f"Great {f.name} matters to me." if f.polarity > 0 else f"Poor {f.name} annoys me."
        for f in node.reveals
    )


async def test_a_system_naming_the_target_early_breaks_both_secrecy_and_timing() -> None:
    plan = plan_through(CTX, "recommend_target")
    bad = await failed(
        attempt_input(
            plan,
            "elicit",
            [("system", "What matters to you? By the way, the Title T is popular."), ("user", reveal(plan))],
        )
    )
    assert set(bad) == {"behavioral.target_hidden", "executional.no_early_recommendation"}
    assert "Title T" in bad["behavioral.target_hidden"][0]


async def test_turn_bounds_opener_and_alternation() -> None:
    plan = plan_through(CTX, "recommend_target")
    ok = [("system", "What matters most to you in headphones?"), ("user", reveal(plan))]
    assert await failed(attempt_input(plan, "elicit", ok)) == {}
    swapped = await failed(attempt_input(plan, "elicit", ok[::-1]))
    assert (
        set(swapped) == {"executional.turn_bounds"}
        and "speaks first" in swapped["executional.turn_bounds"][0]
    )
    too_many = await failed(attempt_input(plan, "elicit", ok * 4))
    assert "4 exchanges" in too_many["executional.turn_bounds"][-1]
    half = await failed(attempt_input(plan, "elicit", ok[:1]))
    assert "incomplete" in " ".join(half["executional.turn_bounds"])
    assert "nothing" not in half  # an absent reply is a bounds fault, not an invented one


async def test_sentiment_claims_follow_the_community() -> None:
    plan = plan_through(CTX, "recommend_target")
    # The target's battery life is praised by the community (+0.8) in rich_context.
    good = attempt_input(
        plan,
        "recommend_target",
        [("system", "I would recommend the Title T. Reviewers praise its battery life.")],
    )
    assert await failed(good) == {}
    bad = await failed(
        attempt_input(
            plan,
            "recommend_target",
            [
                (
                    "system",
                    "I would recommend the Title T, although buyers say its battery life is terrible.",
                ),
            ],
        )
    )
    assert set(bad) == {"behavioral.sentiment_claims"}
    assert "+0.80" in bad["behavioral.sentiment_claims"][0]


async def test_acceptance_and_rejection_match_the_seed() -> None:
    plan = plan_through(CTX, "recommend_alternative")
    neg = next(n for n in plan.nodes if n.type == "recommend_alternative").negative
    assert neg is not None
    reason = neg.user.name
    took = await failed(
        attempt_input(
            plan,
            "recommend_alternative",
            [
                ("system", f"How about the {neg.title}?"),
                ("user", f"Sounds good, I will take the {neg.title}."),
            ],
        )
    )
    assert set(took) == {"behavioral.real_behaviour"}
    no_reason = await failed(
        attempt_input(
            plan,
            "recommend_alternative",
            [("system", f"How about the {neg.title}?"), ("user", "No, thanks, not for me.")],
        )
    )
    assert (
        set(no_reason) == {"behavioral.real_behaviour"}
        and reason.split()[0] in no_reason["behavioral.real_behaviour"][0]
    )
    declined = await failed(
        attempt_input(
            plan,
            "recommend_alternative",
            [
                ("system", f"How about the {neg.title}?"),
                ("user", f"No thanks, I'll pass: its {reason} is a worry."),
            ],
        )
    )
    assert declined == {}
    refused = await failed(
        attempt_input(
            plan, "accept", [("user", "Actually no, I will pass on it."), ("system", "Okay, noted.")]
        )
    )
    assert {"behavioral.real_behaviour", "executional.acts"} <= set(refused)
    vague = await failed(attempt_input(plan, "accept", [("user", "Sounds good."), ("system", "Noted.")]))
    assert set(vague) == {"executional.acts"} and "name 'Title T'" in vague["executional.acts"][0]
    took_it = await failed(
        attempt_input(plan, "accept", [("user", "Sounds good, I will take it."), ("system", "Noted.")])
    )
    assert took_it == {}


async def test_the_target_is_recognised_by_brand_and_model_but_not_in_a_sibling_title() -> None:
    plan = plan_through(CTX, "recommend_alternative", "recommend_target")
    titles = {
        "T": "Fenwick S80 Single Serve",
        "N0": "Fenwick S80 Drip",
        "N1": "Fenwick S80 Pour",
        "X1": "Other",
    }
    catalog = Catalog({i: Item(id=i, title=t) for i, t in titles.items()})
    neg = next(n for n in plan.nodes if n.type == "recommend_alternative").negative
    assert neg is not None
    sibling = await failed(
        attempt_input(
            plan,
            "recommend_alternative",
            [
                ("system", f"How about the {titles[neg.item]}?"),
                ("user", f"No thanks, its {neg.user.name} is poor."),
            ],
            catalog,
        )
    )
    assert "behavioral.target_hidden" not in sibling
    leaked = await failed(
        attempt_input(
            plan, "elicit", [("system", "What matters to you?"), ("user", "I want the Fenwick S80.")], catalog
        )
    )
    assert "behavioral.target_hidden" in leaked
