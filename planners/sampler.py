"""The sampling planner: picks a feasible path of the grammar at random and binds its slots.

Path distribution (all knobs in :class:`PlanConfig`): every start-to-end path gets a prior, ``walk``
(the probability of a random walk that picks each successor uniformly, so short paths are common) or
``uniform``; it is multiplied by ``node_weights`` once per state on the path (a key is a state id or a
node type; the state id wins). When ``length_weights`` is given, it is the wanted distribution of
path lengths (number of nodes): priors are renormalised within each length and scaled by it, and
lengths not listed get weight 0. A persona listed in ``personas`` multiplies its own node weights in
and, if it has length weights, replaces the base ones.

Per seed, paths the profiles cannot fill are dropped (more alternatives than usable negatives, more
elicitations than aspects the user cares about, more inquiries than cared aspects enough buyers wrote
about on the target, or inquiries none of which buyers answer well: the user would accept right after a
negative answer), the rest are renormalised, and one is drawn with the generator seeded by (run seed,
seed key): the same seed and configuration always give the same plan.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Collection, Sequence
from functools import cached_property
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from planners.binder import Choices, WalkState, bind_path
from planners.context import PlanContext
from planners.errors import NoFeasiblePathError, PlanError
from planners.facts import BindKnobs, SeedFacts
from planners.grammar import Grammar, default_grammar
from planners.plan import DialogPlan, NodeBinding, Replanning

__all__ = ["PlanConfig", "PlanKnobs", "SamplingPlanner", "plan_rng"]


def plan_rng(run_seed: int, key: str) -> random.Random:
    """The generator of one plan, seeded by (run seed, unit key) like ``profiling.seeds.seed_rng``.

    A stdlib generator rather than numpy's: creating a numpy Generator costs about 60 us, most of the
    1 ms planning budget, and a plan draws only a handful of numbers.
    """
    digest = hashlib.sha256(f"{run_seed}|{key}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "little"))


class PlanKnobs(BaseModel):
    """A persona's shaping of the path distribution."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    node_weights: dict[str, float] = Field(default_factory=dict, description="multiplied onto the base ones")
    length_weights: dict[int, float] = Field(
        default_factory=dict, description="replace the base ones if given"
    )


class PlanConfig(BaseModel):
    """How plans are sampled and bound; one place for every default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(0, description="run seed; with the seed key it seeds every random choice")
    path_prior: Literal["walk", "uniform"] = Field(
        "walk",
        description="walk: uniform choice at each branch; uniform: every path alike",
    )
    node_weights: dict[str, float] = Field(
        default_factory=dict, description="state id or node type -> weight per occurrence"
    )
    length_weights: dict[int, float] = Field(
        default_factory=dict, description="wanted distribution of path lengths (nodes)"
    )
    personas: dict[str, PlanKnobs] = Field(default_factory=dict, description="persona name -> knobs")
    reveals_per_elicit: tuple[int, int] = Field((1, 2), description="aspects revealed per elicit node")
    max_justifications: int = Field(2, ge=1)
    min_weight: float = Field(
        0.0, ge=0, description="cared aspects are the profile's liked + disliked with |weight| >= this"
    )
    min_mentions: int = Field(
        5, ge=1, description="other buyers' mentions a community fact needs before a plan may bind it "
        "(and on each side of the time cut, for a falling trend)")
    decline_max_sentiment: float = Field(
        -0.05, description="community sentiment at or below: grounds a decline"
    )
    decline_min_drop: float = Field(
        0.1, ge=0, description="a falling trend of at least this grounds a decline"
    )
    justify_min_sentiment: float = Field(
        0.05, description="community sentiment at or above: justifies the target"
    )
    max_evidence: int = Field(2, ge=0, description="evidence sentences kept per fact")
    same_category: bool = Field(True, description="propose only negatives of the target's category")

    @model_validator(mode="after")
    def _check(self) -> PlanConfig:
        lo, hi = self.reveals_per_elicit
        if not 1 <= lo <= hi:
            raise ValueError(
                f"reveals_per_elicit must satisfy 1 <= min <= max, got {self.reveals_per_elicit}"
            )
        for name, w in (
            *self.node_weights.items(),
            *self.length_weights.items(),
            *(
                (k, v)
                for p in self.personas.values()
                for k, v in (*p.node_weights.items(), *p.length_weights.items())
            ),
        ):
            if not w >= 0:
                raise ValueError(f"weight of {name!r} must be >= 0, got {w}")
        return self

    def knobs(self) -> BindKnobs:
        """The binding thresholds as a plain dataclass."""
        return BindKnobs(
            reveals_min=self.reveals_per_elicit[0],
            reveals_max=self.reveals_per_elicit[1],
            max_justifications=self.max_justifications,
            min_weight=self.min_weight,
            min_mentions=self.min_mentions,
            decline_max_sentiment=self.decline_max_sentiment,
            decline_min_drop=self.decline_min_drop,
            justify_min_sentiment=self.justify_min_sentiment,
            max_evidence=self.max_evidence,
            same_category=self.same_category,
        )

    @cached_property
    def hash(self) -> str:
        """Content hash of the configuration (stored in every plan)."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


class SamplingPlanner:
    """The default planner: deterministic sampling of a feasible path, then slot binding."""

    name = "sampler"

    def __init__(self, config: PlanConfig | None = None, grammar: Grammar | None = None) -> None:
        self.config = config or PlanConfig()
        self.grammar = grammar or default_grammar()
        self.knobs = self.config.knobs()
        g = self.grammar
        types = [[g.type_of(s) for s in p] for p in g.paths]
        self._n_alt = np.array([t.count("recommend_alternative") for t in types])
        self._n_elicit = np.array([t.count("elicit") for t in types])
        self._n_inquire = np.array([t.count("inquire_item") for t in types])
        self._index = {p: i for i, p in enumerate(g.paths)}
        self._weights: dict[str, np.ndarray] = {}

    # -- distribution ------------------------------------------------------------------------------
    def path_weights(self, persona: str = "default") -> np.ndarray:
        """Unnormalised weight of every grammar path (in ``grammar.paths`` order) for a persona."""
        if persona not in self._weights:
            self._weights[persona] = self._compute_weights(persona)
        return self._weights[persona]

    def _compute_weights(self, persona: str) -> np.ndarray:
        cfg, g = self.config, self.grammar
        knobs = cfg.personas.get(persona)
        node_w = dict(cfg.node_weights)
        if knobs is not None:
            for k, v in knobs.node_weights.items():
                node_w[k] = node_w.get(k, 1.0) * v
        length_w = knobs.length_weights if knobs is not None and knobs.length_weights else cfg.length_weights
        w = np.ones(len(g.paths))
        for i, p in enumerate(g.paths):
            if cfg.path_prior == "walk":
                for s in p[:-1]:
                    w[i] /= g.graph.out_degree(s)
            for s in p:
                w[i] *= node_w.get(s, node_w.get(g.type_of(s), 1.0))
        if length_w:
            lengths = np.array([len(p) for p in g.paths])
            for n in np.unique(lengths):
                sel = lengths == n
                total = w[sel].sum()
                w[sel] = w[sel] / total * length_w.get(int(n), 0.0) if total > 0 else 0.0
        return w

    def _feasible(self, facts: SeedFacts, n_neg: int, n_aspects: int) -> np.ndarray:
        ok = (self._n_alt <= n_neg) & (self._n_elicit <= n_aspects)
        return ok & _inquiries_ok(facts, self._n_inquire, ())

    def feasible_paths(self, context: PlanContext) -> list[tuple[tuple[str, ...], float]]:
        """Every path this seed can be planned on, with its probability under the configuration."""
        facts = SeedFacts(context, self.knobs)
        w = self.path_weights(context.persona) * self._feasible(facts, len(facts.negatives), len(facts.cared))
        total = w.sum()
        return (
            [(p, float(w[i] / total)) for i, p in enumerate(self.grammar.paths) if w[i] > 0] if total else []
        )

    # -- planning ----------------------------------------------------------------------------------
    def plan(
        self, context: PlanContext, *, choices: Choices | None = None, path: tuple[str, ...] | None = None
    ) -> DialogPlan:
        """The plan of one seed (NoFeasiblePathError when its profiles cannot fill any path).

        ``path`` and ``choices`` impose a path and bindings (the LLM planner's); they are checked
        against the grammar and the profiles like everything else.
        """
        facts = SeedFacts(context, self.knobs)
        rng = plan_rng(self.config.seed, context.seed.key)
        if path is None:
            weights = self.path_weights(context.persona)
            mask = self._feasible(facts, len(facts.negatives), len(facts.cared))
            path = self.grammar.paths[self._draw(weights * mask, rng, facts, context)]
        else:
            self.grammar.check_path(path)
        nodes = bind_path(self.grammar, facts, path, rng, choices=choices)
        return self._plan(context, facts, path, nodes, planner="sampler")

    async def aplan(self, context: PlanContext) -> DialogPlan:
        """Same as :meth:`plan`; the shared async interface of every planner."""
        return self.plan(context)

    def _draw(self, w: np.ndarray, rng: random.Random, facts: SeedFacts, ctx: PlanContext) -> int:
        cum = np.cumsum(w)
        total = float(cum[-1]) if len(cum) else 0.0
        if total <= 0:
            raise NoFeasiblePathError(
                "no_feasible_path",
                (
                    f"seed {ctx.seed.key}: no path of grammar {self.grammar.name!r} has positive weight "
                    f"and can be bound ({len(facts.cared)} liked or disliked aspects with |weight| >= "
                    f"{self.knobs.min_weight}, {len(facts.negatives)} usable negatives, "
                    f"{len(facts.inquiry_options)} cared aspects of the target to ask about; "
                    f"persona {ctx.persona!r})"
                ),
            )
        # side="right" skips zero-weight paths; u < cum[-1] keeps the index in range.
        return int(np.searchsorted(cum, rng.random() * total, side="right"))

    def _plan(
        self,
        ctx: PlanContext,
        facts: SeedFacts,
        path: tuple[str, ...],
        nodes: list[NodeBinding],
        *,
        planner: str,
        replanning: Replanning | None = None,
        fallback_reason: str | None = None,
    ) -> DialogPlan:
        notes = []
        if ctx.persona != "default" and ctx.persona not in self.config.personas:
            notes.append(f"persona {ctx.persona!r} has no plan knobs: the base path distribution was used")
        return DialogPlan(
            seed_key=ctx.seed.key,
            user=ctx.seed.user,
            target=ctx.seed.target.item,
            persona=ctx.persona,
            planner=planner,
            run_seed=self.config.seed,
            grammar=self.grammar.name,
            grammar_hash=self.grammar.hash,
            config_hash=self.config.hash,
            path=path,
            nodes=tuple(nodes),
            skipped_negatives=tuple(facts.skipped),
            fallback_reason=fallback_reason,
            replanning=replanning,
            notes=tuple(notes),
        )

    def replan(
        self, plan: DialogPlan, completed_nodes: int, avoid: Collection[str] | str, *, context: PlanContext
    ) -> DialogPlan | None:
        """A plan that keeps the first ``completed_nodes`` nodes and finishes on another path.

        ``avoid`` holds state ids or node types (usually the state that failed) that the new
        continuation must not contain. None when no continuation of the grammar avoids them and can
        be bound with what the profiles have left. Deterministic for (run seed, seed key, arguments).
        """
        if plan.seed_key != context.seed.key or plan.grammar_hash != self.grammar.hash:
            raise PlanError("plan_mismatch", "the plan is of another seed or grammar than this planner's")
        if not 0 <= completed_nodes < len(plan.nodes):
            raise PlanError(
                "completed_nodes",
                f"completed_nodes must be in 0..{len(plan.nodes) - 1}, got {completed_nodes}",
            )
        avoided = (avoid,) if isinstance(avoid, str) else tuple(sorted(avoid))
        prefix_nodes = plan.nodes[:completed_nodes]
        prefix = plan.path[:completed_nodes]
        conts = self.grammar.continuations(prefix, avoided)
        if not conts:
            return None
        facts = SeedFacts(context, self.knobs)
        st = WalkState.after(prefix_nodes)
        n_neg = sum(1 for n in facts.negatives if n.profile.item not in st.used_negatives)
        n_asp = sum(1 for a in facts.cared if a not in st.revealed)
        idx = np.array([self._index[prefix + c] for c in conts])
        # The continuation alone needs the resources: count its own alternatives and elicitations.
        g = self.grammar
        need_alt = np.array([sum(g.type_of(s) == "recommend_alternative" for s in c) for c in conts])
        need_eli = np.array([sum(g.type_of(s) == "elicit" for s in c) for c in conts])
        need_inq = np.array([sum(g.type_of(s) == "inquire_item" for s in c) for c in conts])
        ok = (need_alt <= n_neg) & (need_eli <= n_asp) & _inquiries_ok(facts, need_inq, st.inquired)
        if st.concern_open:
            # The last answer worried the user: a continuation must settle it before accepting.
            ok &= np.array([_settles_before_accept([g.type_of(s) for s in c]) for c in conts])
        w = self.path_weights(context.persona)[idx] * ok
        if w.sum() <= 0:
            return None
        rng = plan_rng(self.config.seed, f"{context.seed.key}|replan|{completed_nodes}|{'|'.join(avoided)}")
        path = prefix + conts[self._draw(w, rng, facts, context)]
        nodes = bind_path(g, facts, path, rng, prefix=prefix_nodes)
        return self._plan(
            context,
            facts,
            path,
            nodes,
            planner=plan.planner,
            replanning=Replanning(
                from_hash=plan.content_hash, completed_nodes=completed_nodes, avoided=avoided
            ),
            fallback_reason=plan.fallback_reason,
        )


def _inquiries_ok(facts: SeedFacts, needed: np.ndarray, asked: Sequence[int]) -> np.ndarray:
    """Which inquiry counts can be bound: enough fresh cared aspects, and one buyers answer well.

    The last question before accepting must be answered well (no concern left open), so a run of
    inquiries needs one such aspect among the fresh ones; the default grammar's inquiries are one run.
    """
    fresh = [a for a in facts.inquiry_options if a not in asked]
    well = any(facts.answers_well(a) for a in fresh)
    return (needed == 0) | ((needed <= len(fresh)) & well)


def _settles_before_accept(types: Sequence[str]) -> bool:
    """Whether a continuation asks again, declines or refines before it reaches accept."""
    for t in types:
        if t in ("inquire_item", "recommend_alternative", "refine"):
            return True
        if t == "accept":
            return False
    return True
