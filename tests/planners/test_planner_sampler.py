"""The sampling planner: property tests on generated profiles, shaping knobs, replanning, contexts."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import planners
from planners import (
    BindingError,
    ContextError,
    DialogPlan,
    NoFeasiblePathError,
    PathError,
    PlanConfig,
    PlanContext,
    PlanError,
    PlanKnobs,
    SamplingPlanner,
    check_plan,
)
from planners.binder import SeedFacts, bind_path
from planners.plan import Clarification
from profiling.profiles import ItemProfile
from tests.support.planner_strategies import AT, contexts, rich_context

PLANNER = SamplingPlanner()
PROPS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cared(ctx: PlanContext, cfg: PlanConfig = PLANNER.config) -> set[int]:
    listed = set(ctx.user.liked) | set(ctx.user.disliked)
    return {p.aspect for p in ctx.user.preferences if p.aspect in listed and abs(p.weight) >= cfg.min_weight}


@PROPS
@given(contexts())
def test_every_sampled_plan_is_a_grammar_path_bound_to_seed_facts(ctx: PlanContext) -> None:
    if not cared(ctx):
        with pytest.raises(NoFeasiblePathError) as info:
            PLANNER.plan(ctx)
        assert info.value.rule == "no_feasible_path"
        return
    plan = PLANNER.plan(ctx)
    check_plan(plan, PLANNER.grammar, ctx)
    # Every binding refers to facts in the seed's profiles (check_plan proves values; ids here).
    for node in plan.nodes:
        for f in node.reveals:
            assert f.aspect in cared(ctx) and set(f.evidence) <= set(ctx.user.preference(f.aspect).evidence)
        if node.negative is not None:
            assert node.negative.item in ctx.seed.negatives and node.negative.item != ctx.seed.target.item
            assert node.negative.community.sentiment < 0 or node.negative.community.trend < 0
        if node.target is not None:
            assert node.target.item == ctx.seed.target.item
    used = [n.negative.item for n in plan.nodes if n.negative is not None]
    assert len(used) == len(set(used))
    assert len(used) + len(plan.skipped_negatives) <= len(ctx.seed.negatives)
    # Deterministic for (run seed, seed key), and JSON round-trips with the same hash.
    again = PLANNER.plan(ctx)
    assert again == plan and again.content_hash == plan.content_hash
    back = DialogPlan.from_json(plan.to_json())
    assert back == plan and back.content_hash == plan.content_hash


@PROPS
@given(contexts(), st.integers(0, 11), st.data())
def test_replan_keeps_the_prefix_and_avoids_the_failed_state(
    ctx: PlanContext, k: int, data: st.DataObject
) -> None:
    if not cared(ctx):
        return
    plan = PLANNER.plan(ctx)
    completed = min(k, plan.length - 1)
    failed = plan.path[completed]
    new = PLANNER.replan(plan, completed, failed, context=ctx)
    if new is None:
        # No continuation avoids it, or every one needs more than the profiles have left, or would
        # leave the plan incoherent (a worrying answer, then accept), or is never drawn.
        prefix = plan.path[:completed]
        weights = PLANNER.path_weights(ctx.persona)
        for cont in PLANNER.grammar.continuations(prefix, {failed}):
            if weights[PLANNER.grammar.paths.index(prefix + cont)] <= 0:
                continue
            try:
                nodes = bind_path(PLANNER.grammar, SeedFacts(ctx, PLANNER.knobs), prefix + cont,
                                  random.Random(0), prefix=plan.nodes[:completed])
            except BindingError:
                continue
            with pytest.raises(PlanError):
                check_plan(plan.model_copy(update={"path": prefix + cont, "nodes": nodes}),
                           PLANNER.grammar, ctx)
        return
    check_plan(new, PLANNER.grammar, ctx)
    assert new.nodes[:completed] == plan.nodes[:completed]
    assert failed not in new.path[completed:]
    assert new.replanning is not None and new.replanning.from_hash == plan.content_hash
    assert new.replanning.completed_nodes == completed and new.replanning.avoided == (failed,)
    assert PLANNER.replan(plan, completed, failed, context=ctx) == new


def test_shortest_path_always_remains_without_usable_negatives() -> None:
    ctx = rich_context()
    no_negs = ctx.model_copy(
        update={"negatives": tuple(n.model_copy(update={"aspects": ()}) for n in ctx.negatives)}
    )
    plans = [
        PLANNER.plan(no_negs.model_copy(update={"seed": no_negs.seed.model_copy(update={"key": f"k{i}"})}))
        for i in range(60)
    ]
    for p in plans:
        assert not any(n.type == "recommend_alternative" for n in p.nodes)
        assert {s.item for s in p.skipped_negatives} == {"N0", "N1"}
        assert all("other buyers' mentions" in s.reason for s in p.skipped_negatives)
    assert len({p.path for p in plans}) > 3


def test_negatives_of_another_category_are_skipped_unless_allowed() -> None:
    ctx = rich_context()
    other = ctx.model_copy(
        update={"negatives": (ctx.negatives[0].model_copy(update={"category": "laptops"}), ctx.negatives[1])}
    )
    path = ("greet", "elicit", "recommend_alternative", "recommend_target", "accept", "close")
    plan = PLANNER.plan(other, path=path)
    assert plan.nodes[2].negative.item == "N1"
    assert [(s.item, "laptops" in s.reason) for s in plan.skipped_negatives] == [("N0", True)]
    anyway = SamplingPlanner(PlanConfig(same_category=False)).plan(other, path=path)
    assert anyway.nodes[2].negative.item == "N0" and anyway.skipped_negatives == ()


def keyed(i: int, persona: str = "default") -> PlanContext:
    return rich_context(key=f"{i:016x}", persona=persona)


def test_paths_vary_with_seed_key_and_run_seed() -> None:
    plans = [PLANNER.plan(keyed(i)) for i in range(300)]
    paths = Counter(p.path for p in plans)
    assert len(paths) > 20
    # Every path of the default grammar is feasible for the rich context: the walk prior reaches many.
    probs = PLANNER.feasible_paths(keyed(0))
    assert len(probs) == len(PLANNER.grammar.paths) and abs(sum(p for _, p in probs) - 1) < 1e-9
    other = SamplingPlanner(PlanConfig(seed=1))
    assert sum(other.plan(keyed(i)).path != plans[i].path for i in range(100)) > 20
    assert other.plan(keyed(0)).run_seed == 1


def test_length_and_node_weights_shape_the_distribution() -> None:
    only5 = SamplingPlanner(PlanConfig(length_weights={5: 1.0}))
    assert {only5.plan(keyed(i)).length for i in range(50)} == {5}
    lengths = SamplingPlanner(PlanConfig(length_weights={6: 1.0, 9: 1.0}))
    got = Counter(lengths.plan(keyed(i)).length for i in range(300))
    assert set(got) == {6, 9} and min(got.values()) > 100
    no_alt = SamplingPlanner(PlanConfig(node_weights={"recommend_alternative": 0.0}))
    assert all("recommend_alternative" not in no_alt.plan(keyed(i)).path for i in range(100))
    more_clarify = SamplingPlanner(PlanConfig(node_weights={"clarify": 10.0}))
    base = sum("clarify" in PLANNER.plan(keyed(i)).path for i in range(300))
    shaped = sum("clarify" in more_clarify.plan(keyed(i)).path for i in range(300))
    assert shaped > base + 50
    uniform = SamplingPlanner(PlanConfig(path_prior="uniform"))
    assert sum(p for _, p in uniform.feasible_paths(keyed(0))) == pytest.approx(1.0)
    assert max(p for _, p in uniform.feasible_paths(keyed(0))) == pytest.approx(
        1 / len(uniform.grammar.paths)
    )


def test_persona_knobs_shape_plans_and_unknown_personas_are_noted() -> None:
    cfg = PlanConfig(personas={"indecisive": PlanKnobs(node_weights={"clarify": 5.0, "refine": 5.0})})
    p = SamplingPlanner(cfg)
    count = Counter()
    for i in range(300):
        for persona in ("default", "indecisive"):
            plan = p.plan(keyed(i, persona))
            count[persona] += sum(n.type in ("clarify", "refine") for n in plan.nodes)
            assert plan.persona == persona and plan.notes == ()
    assert count["indecisive"] > count["default"] * 1.5
    noted = p.plan(keyed(0, "curious"))
    assert noted.notes and "curious" in noted.notes[0]


def test_bindings_ground_the_target_in_stated_preferences() -> None:
    for i in range(100):
        ctx = keyed(i)
        plan = PLANNER.plan(ctx)
        target = next(n.target for n in plan.nodes if n.target is not None)
        assert target.evidence == "user_and_community" and target.justifications
        revealed = {f.aspect for n in plan.nodes for f in n.reveals}
        # The first elicitation reveals the strongest justification first.
        assert target.justifications[0].user is not None
        assert plan.nodes[1].reveals[0].aspect == 0 and 0 in revealed
        accept = next(n.acceptance for n in plan.nodes if n.acceptance is not None)
        assert accept.decisive == target.justifications[0]
        for n in plan.nodes:
            if n.negative is not None:
                assert n.negative.newly_revealed == (
                    n.negative.user.aspect
                    not in {f.aspect for m in plan.nodes[: n.index] for f in m.reveals}
                    | {m.negative.user.aspect for m in plan.nodes[: n.index] if m.negative}
                    | {m.critique.user.aspect for m in plan.nodes[: n.index] if m.critique}
                )


def test_target_without_praise_is_said_plainly() -> None:
    ctx = rich_context()
    bare = ctx.model_copy(update={"target": ctx.target.model_copy(update={"aspects": ()})})
    plan = SamplingPlanner().plan(bare)
    target = next(n.target for n in plan.nodes if n.target is not None)
    assert target.evidence == "none" and target.justifications == ()
    assert "inquire_item" not in plan.path  # nobody reviewed the target: nothing to inquire about


def test_replan_returns_none_when_no_path_avoids_the_state() -> None:
    ctx = keyed(3)
    plan = PLANNER.plan(ctx)
    i = plan.path.index("recommend_target")
    assert PLANNER.replan(plan, i, "recommend_target", context=ctx) is None
    with pytest.raises(PlanError) as info:
        PLANNER.replan(plan, plan.length, "close", context=ctx)
    assert info.value.rule == "completed_nodes"
    with pytest.raises(PlanError) as info:
        PLANNER.replan(plan, 1, "clarify", context=keyed(4))
    assert info.value.rule == "plan_mismatch"


def test_replan_from_an_alternative_by_type() -> None:
    ctx = keyed(0)
    plan = PLANNER.plan(
        ctx,
        path=("greet", "elicit", "recommend_alternative", "refine", "recommend_target", "accept", "close"),
    )
    new = PLANNER.replan(plan, 2, {"recommend_alternative"}, context=ctx)
    assert new is not None and new.path[:2] == plan.path[:2]
    assert all(n.type != "recommend_alternative" for n in new.nodes)


def test_context_rules() -> None:
    ctx = rich_context()
    with pytest.raises(ContextError) as info:
        PlanContext(**{**dict(ctx), "user": ctx.user.model_copy(update={"user": "u2"})})
    assert info.value.rule == "profile_user"
    with pytest.raises(ContextError) as info:
        PlanContext(**{**dict(ctx), "target": ctx.target.model_copy(update={"at": AT + timedelta(days=2)})})
    assert info.value.rule == "profile_after_target"
    with pytest.raises(ContextError) as info:
        PlanContext(**{**dict(ctx), "negatives": (ItemProfile(item="X", at=AT),)})
    assert info.value.rule == "negative_not_in_seed"
    with pytest.raises(ContextError) as info:
        PlanContext(**{**dict(ctx), "aspects": {k: v for k, v in ctx.aspects.items() if k != 0}})
    assert info.value.rule == "unknown_aspect"
    with pytest.raises(ContextError) as info:
        PlanContext(**{**dict(ctx), "target": ctx.target.model_copy(update={"item": "N0"})})
    assert info.value.rule == "profile_target"


class _Source:
    """A ProfileSource over the rich context's profiles (the seam stage 1 fills in production)."""

    def __init__(self, ctx: PlanContext) -> None:
        self.ctx = ctx
        self.calls: list[tuple[str, object]] = []

    @property
    def aspects(self) -> list:
        return list(self.ctx.aspects.values())

    def user_profile(self, user: str, at: object, *, category: str | None = None) -> object:
        self.calls.append((user, at, category))
        return self.ctx.user

    def item_profile(self, item: str, at: object, *, exclude_user: str | None = None,
                     evidence: bool = True) -> object:
        self.calls.append((item, at, exclude_user))
        return self.ctx.target if item == "T" else self.ctx.negative(item)


def test_context_from_source_asks_for_profiles_at_the_target_time() -> None:
    ctx = rich_context()
    src = _Source(ctx)
    built = PlanContext.from_source(ctx.seed, src, persona="picky")
    assert built.persona == "picky" and built.negatives == ctx.negatives
    assert {at for _, at, _ in src.calls} == {ctx.seed.target.timestamp}
    # Items as other buyers see them; the user's quotes from reviews of the target's category.
    assert sorted(src.calls, key=str) == sorted([
        ("T", ctx.seed.target.timestamp, "u1"), ("N0", ctx.seed.target.timestamp, "u1"),
        ("N1", ctx.seed.target.timestamp, "u1"), ("u1", ctx.seed.target.timestamp, "headphones")], key=str)


def test_check_plan_rejects_tampered_plans() -> None:
    ctx = keyed(1)
    plan = PLANNER.plan(
        ctx,
        path=("greet", "elicit", "clarify", "recommend_alternative", "recommend_target", "accept", "close"),
    )
    g = PLANNER.grammar

    def node(i: int, **update: object) -> DialogPlan:
        nodes = list(plan.nodes)
        nodes[i] = nodes[i].model_copy(update=update)
        return plan.model_copy(update={"nodes": tuple(nodes)})

    reveal = plan.nodes[1].reveals[0]
    neg = plan.nodes[3].negative
    cases = {
        "user_fact_mismatch": node(1, reveals=(reveal.model_copy(update={"evidence": ("invented.",)}),)),
        "aspect_not_in_profile": node(1, reveals=(reveal.model_copy(update={"aspect": 5}),)),
        "negative_not_in_seed": node(3, negative=neg.model_copy(update={"item": "N9"})),
        "negative_not_grounded": node(3, negative=neg.model_copy(update={"reason": "worsening"})),
        "missing_slot": node(4, target=None),
        "unexpected_slot": node(0, reveals=(reveal,)),
        "clarify_not_revealed": node(
            2, clarification=Clarification(user=SeedFacts(ctx, PLANNER.knobs).user_fact(4))
        ),
        "nodes_follow_path": node(1, max_turns=9),
    }
    check_plan(plan, g, ctx)
    for rule, bad in cases.items():
        with pytest.raises(BindingError) as info:
            check_plan(bad, g, ctx)
        assert info.value.rule == rule, (rule, info.value)
    with pytest.raises(PathError):
        check_plan(plan.model_copy(update={"path": plan.path[:-1]}), g, ctx)


def test_imposed_paths_and_bindings_are_checked() -> None:
    ctx = keyed(2)
    with pytest.raises(PathError) as info:
        PLANNER.plan(ctx, path=("greet", "recommend_target", "accept", "close"))
    assert info.value.rule == "edge_not_in_grammar"
    one_neg = ctx.model_copy(update={"negatives": ctx.negatives[:1]})
    with pytest.raises(BindingError) as info:
        PLANNER.plan(
            one_neg,
            path=(
                "greet",
                "elicit",
                "recommend_alternative",
                "recommend_alternative_2",
                "recommend_target",
                "accept",
                "close",
            ),
        )
    assert info.value.rule == "no_usable_negative"


def test_public_api() -> None:
    assert set(planners.__all__) == {
        "CATALOG",
        "Acceptance",
        "BindingError",
        "Choices",
        "Clarification",
        "CommunityFact",
        "ContextError",
        "Critique",
        "DialogPlan",
        "Grammar",
        "GrammarError",
        "GrammarSpec",
        "Inquiry",
        "Justification",
        "LLMPlanAnswer",
        "LLMPlanError",
        "LLMPlanner",
        "NegativeSlot",
        "NoFeasiblePathError",
        "NodeBinding",
        "NodeType",
        "PathError",
        "PlanConfig",
        "PlanContext",
        "PlanError",
        "PlanKnobs",
        "Planner",
        "Precondition",
        "Replanning",
        "SamplingPlanner",
        "SkippedNegative",
        "StateSpec",
        "TargetSlot",
        "UserAspectFact",
        "check_plan",
        "default_grammar",
        "load_grammar",
        "node_type",
    }
    for name in planners.__all__:
        assert getattr(planners, name) is not None
    assert isinstance(PLANNER, planners.Planner)
    for cls in (PlanError, ContextError, BindingError):
        assert cls.__doc__ and cls.__doc__.startswith("Raised when")
