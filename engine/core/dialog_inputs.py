"""From a corpus to dialogs ready to play: stage 1 (cached), seeds, plan contexts, plans.

``prepare_dialogs(corpus, n=...)`` runs (or loads) stage-1 profiling, cuts the seeds, picks ``n``
of them deterministically (ordered by a hash of run seed and seed key, so the pick is spread over
users and time and the same for the same seed), builds each seed's PlanContext and plans it with the
sampler. Seeds that cannot be planned (no feasible path) are not dropped silently:
:func:`prepare_dialog_set` returns them with the reason, and :func:`prepare_dialogs` logs the count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from autogen_core.models import ChatCompletionClient

from agents.backends.base import RecordingClient
from agents.catalog import Catalog
from agents.dialog import Validator
from agents.polish import Polisher
from agents.system_agent import SystemAgent
from agents.user_agent import UserAgent
from agents.validators import DialogScorer
from engine.core.events import Clock, TraceSink, system_clock
from engine.core.executor import DialogExecutor
from planners.context import PlanContext
from planners.errors import PlanError
from planners.plan import DialogPlan
from planners.sampler import PlanConfig, SamplingPlanner
from profiling.corpus import Corpus
from profiling.encoders import Encoder
from profiling.pipeline import ProfilingConfig, ProfilingResult, load_or_run_profiling
from profiling.seeds import Seed, SeedConfig, Split, make_seeds, split_seeds

__all__ = ["DialogInput", "PreparedDialogs", "prepare_dialog_set", "prepare_dialogs", "seed_order"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DialogInput:
    """One dialog to play: the seed's planning context and its plan."""

    context: PlanContext
    plan: DialogPlan

    @property
    def key(self) -> str:
        """The seed's unit key (the dialog key of a run)."""
        return self.context.seed.key


@dataclass
class PreparedDialogs:
    """Dialog inputs with what the agents and validators need besides: profiles, catalog, planner."""

    inputs: list[DialogInput]
    skipped: list[tuple[str, str]]  # (seed key, why it could not be planned)
    profiling: ProfilingResult
    catalog: Catalog
    planner: SamplingPlanner
    n_seeds: int = field(default=0, metadata={"doc": "seeds the corpus has under the seed config"})
    selection: dict[str, object] | None = None  # how an active-selection strategy chose the seeds

    def category_items(self, category: str) -> list[str]:
        """Catalog item ids of one category, in id order (what the system searches for that need)."""
        return sorted(i for i, item in self.catalog.items.items() if item.category == category)

    def executor(self, dialog: DialogInput, client: ChatCompletionClient, validators: Sequence[Validator],
                 sink: TraceSink, *, system_client: ChatCompletionClient | None = None,
                 drafter: ChatCompletionClient | None = None, polisher: Polisher | None = None,
                 user_persona: str = "default", system_persona: str = "default", max_attempts: int = 4,
                 embed_directive: bool = True, run_id: str = "run", clock: Clock | None = None,
                 scorer: DialogScorer | None = None) -> DialogExecutor:
        """A DialogExecutor for one dialog, with fresh agents on ``client`` (or ``system_client``).

        The system searches the items of the target's category: the user asks for that kind of item
        in greet, and scoring every catalog item's profile per recommendation costs ~10x more.
        ``embed_directive=False`` leaves the scripted realizer's JSON block out of the prompts (a real
        model reads the instructions; the block only eats a small model's context). With a ``drafter``
        (the scripted realizer, untraced: it is no model) the agents draft on it and ``client`` serves
        the ``polisher`` and any LLM judge.
        """
        items = self.category_items(dialog.context.target.category or "")
        agent_client = drafter or client
        memo: dict[Any, Any] = {}  # what both agents' prompts reuse within the dialog
        user = UserAgent(agent_client, user_persona, embed_directive=embed_directive, memo=memo)
        system = SystemAgent(system_client or agent_client, system_persona, profiles=self.profiling.profiles,
                             catalog_items=items, embed_directive=embed_directive, memo=memo)
        # A gateway or replay wrapper keeps the RecordingClient it wraps as ``inner``: that one is traced.
        traced = [c for c in (getattr(x, "inner", x) for x in (client, system_client))
                  if isinstance(c, RecordingClient)]
        return DialogExecutor(user, system, validators, self.planner, sink, catalog=self.catalog,
                              max_attempts=max_attempts, clients=traced, run_id=run_id,
                              clock=clock or system_clock, polisher=polisher, scorer=scorer)


def seed_order(seeds: list[Seed], seed: int) -> list[Seed]:
    """The seeds in a deterministic order spread over users and time (hash of run seed and key)."""
    return sorted(seeds, key=lambda s: hashlib.sha256(f"{seed}|{s.key}".encode()).digest())


def prepare_dialog_set(
    corpus: Corpus,
    *,
    n: int | None = None,
    profiling: ProfilingConfig | None = None,
    seeds: SeedConfig | None = None,
    plan_config: PlanConfig | None = None,
    persona: str = "default",
    split: Split | None = None,
    seed: int = 0,
    select: str = "hash",
    encoder: Encoder | None = None,
) -> PreparedDialogs:
    """Up to ``n`` planned dialogs of ``corpus`` (all when None), and the seeds that could not be planned.

    ``seed`` is the run seed; the profiling, seed and plan configs take it when not given. ``split``
    keeps only the seeds of that temporal split. ``select`` is how the ``n`` seeds are chosen: "hash"
    (:func:`seed_order`) or an active-selection strategy of :mod:`profiling.selection`. ``encoder``
    replaces the configured one when stage 1 has to run (e.g. :class:`profiling.ray_embed.RayDataEncoder`).
    """
    pcfg = profiling or ProfilingConfig(seed=seed)
    result = load_or_run_profiling(corpus, pcfg, encoder=encoder)
    all_seeds, _cuts = split_seeds(make_seeds(corpus, seeds or SeedConfig(seed=seed)))
    pool = [s for s in all_seeds if split is None or s.split == split]
    planner = SamplingPlanner(plan_config or PlanConfig(seed=seed))
    aspects = {a.id: a for a in result.profiles.aspects}
    inputs: list[DialogInput] = []
    skipped: list[tuple[str, str]] = []
    selection: dict[str, object] | None = None
    if select == "hash":
        ordered = seed_order(pool, seed)
    else:
        from profiling.selection import order_seeds

        budget = n if n is not None else len(pool)
        ordered, selection = order_seeds(corpus, result, pool, select, budget, seed)
    for s in ordered:
        if n is not None and len(inputs) >= n:
            break
        try:
            ctx = PlanContext.from_source(s, result.profiles, persona=persona, aspects=aspects)
            plan = planner.plan(ctx)
        except PlanError as exc:
            skipped.append((s.key, str(exc)))
            continue
        inputs.append(DialogInput(context=ctx, plan=plan))
    return PreparedDialogs(inputs=inputs, skipped=skipped, profiling=result, catalog=Catalog(corpus.items),
                           planner=planner, n_seeds=len(pool), selection=selection)


def prepare_dialogs(
    corpus: Corpus,
    *,
    n: int | None = None,
    profiling: ProfilingConfig | None = None,
    seeds: SeedConfig | None = None,
    plan_config: PlanConfig | None = None,
    persona: str = "default",
    split: Split | None = None,
    seed: int = 0,
) -> list[DialogInput]:
    """The dialog inputs of :func:`prepare_dialog_set` (seeds that cannot be planned are logged)."""
    prepared = prepare_dialog_set(corpus, n=n, profiling=profiling, seeds=seeds, plan_config=plan_config,
                                  persona=persona, split=split, seed=seed)
    if prepared.skipped:
        log.warning("seeds_not_planned", count=len(prepared.skipped), first=prepared.skipped[0][1])
    return prepared.inputs
