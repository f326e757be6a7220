"""A run from its settings: load, profile, plan, record the run, play its dialogs, write the outputs.

The shared part of every run (distilabel's ``pipeline/base.py``, with ``local.py`` and ``ray.py``
beside it): what happens before and after the dialogs is the same on one machine and on a cluster,
and replay prepares its dialogs the same way (:func:`prepare_dialogs_of`). Resume is a run whose
settings that decide its dialogs come from the store, and whose completed dialogs are not played
again. Exit codes: 0, or 130 when interrupted (after saying how to resume).
"""

from __future__ import annotations

import secrets
import shlex
import time
from datetime import UTC, datetime
from typing import Any, Protocol

import anyio
import structlog
from rich.console import Console

from engine.config import RunSettings
from engine.core import (
    DialogInput,
    DialogSetup,
    PreparedDialogs,
    configure_logging,
    counted_signals,
    prepare_dialog_set,
)
from engine.gateway import EndpointRegistry, EndpointStats, endpoint_limits
from engine.pipeline.summary import run_summary, summary_table, write_outputs
from engine.store import RunInfo, SeedRow, TraceStore
from profiling.corpus import Corpus
from profiling.datasets import load_corpus
from profiling.errors import ConvRecError

__all__ = ["INTERRUPTED_EXIT", "Player", "load_run_corpus", "play", "prepare_dialogs_of"]

log = structlog.get_logger(__name__)

INTERRUPTED_EXIT = 130


class Player(Protocol):
    """Plays a run's remaining dialogs: on this machine (``local``) or on a Ray cluster (``ray``)."""

    interrupted: bool
    budget_reached: bool

    async def play(self, todo: list[DialogInput], *, already_done: int) -> None: ...

    def stats(self) -> list[EndpointStats]: ...

    def figures(self) -> dict[str, Any] | None: ...


def load_run_corpus(settings: RunSettings, console: Console) -> Corpus:
    """The corpus the data settings name, announced on the console."""
    corpus = load_corpus(settings, not settings.quiet)  # type: ignore[arg-type]  # reads the data settings
    console.print(f"data: {corpus.source or settings.data} · {len(corpus):,} reviews · "
                  f"{corpus.n_users:,} users · {corpus.n_items:,} items")
    return corpus


def prepare_dialogs_of(settings: RunSettings, corpus: Corpus, *, encoder: Any = None) -> PreparedDialogs:
    """Stage 1 (cached), the seeds and the plans of the run's dialogs: the same for run, resume, replay."""
    return prepare_dialog_set(corpus, n=settings.dialogs, profiling=settings.profiling_config(),
                              split=settings.split_filter, seed=settings.seed, select=settings.select,
                              encoder=encoder)


def _new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _seed_rows(prepared: PreparedDialogs) -> list[SeedRow]:
    return [SeedRow(dialog_id=d.key, position=k, user_id=d.context.seed.user, split=d.context.seed.split,
                    target_item=d.context.seed.target.item,
                    target_time=d.context.seed.target.timestamp.isoformat(),
                    n_history=len(d.context.seed.history), negatives=tuple(d.context.seed.negatives),
                    plan_hash=d.plan.content_hash, plan_path=d.plan.path, plan_json=d.plan.to_json())
            for k, d in enumerate(prepared.inputs)]


async def play(settings: RunSettings, console: Console) -> int:
    """Runs (or resumes) the run ``settings`` describe; the exit code."""
    if settings.executor == "ray" or settings.embed_on == "ray":
        from engine.cluster import ray_session

        with ray_session(settings.address):  # joined once for the embedding step and the dialogs
            return await _play(settings, console)
    return await _play(settings, console)


async def _play(settings: RunSettings, console: Console) -> int:
    from agents.backends import make_client
    from agents.personas import load_persona

    started = time.perf_counter()
    settings.out.mkdir(parents=True, exist_ok=True)
    configure_logging(settings.out / "run.log")
    async with TraceStore.open(settings.db) as store:
        resumed: RunInfo | None = None
        if settings.resume:
            resumed = await store.run(settings.run_id)
            # The dialogs to complete are the ones the run started with.
            settings = settings.resumed(resumed.config, run_id=resumed.run_id)
            if resumed.status == "completed":
                console.print(f"run {resumed.run_id} is already complete")
        run_id = settings.run_id or _new_run_id()
        structlog.contextvars.bind_contextvars(run_id=run_id)
        settings.check()
        # The backend first: one that cannot be built fails before minutes of profiling.
        inner = make_client(settings.backend_config())
        registry = EndpointRegistry(seed=settings.seed)
        client = registry.wrap(inner, endpoint_limits(settings), before_call=store.backpressure)
        backend = getattr(inner, "provider", settings.backend)
        corpus = load_run_corpus(settings, console)
        with console.status("profiling (stage 1, cached after the first run) and planning ..."):
            from engine.pipeline.ray import ray_encoder

            prepared = prepare_dialogs_of(settings, corpus, encoder=ray_encoder(settings))
        console.print(f"profiles: {len(prepared.profiling.aspects)} aspects ({prepared.profiling.encoder}) · "
                      f"{prepared.n_seeds:,} seeds · {len(prepared.inputs)} planned"
                      + (f" · {len(prepared.skipped)} could not be planned" if prepared.skipped else ""))
        seeds = _seed_rows(prepared)
        if resumed is None:
            personas = {role: (name, load_persona(name, role).model_dump(mode="json"))
                        for role, name in (("user", settings.user_persona),
                                           ("system", settings.system_persona))}
            config = settings.stored()
            if prepared.selection is not None:
                config["selection"] = prepared.selection
            info = RunInfo(run_id=run_id, status="running", started_at=datetime.now(UTC).isoformat(),
                           seed=settings.seed, backend=backend, model=inner.config.model,
                           n_dialogs=len(seeds), config=config)
            await store.begin_run(info, seeds, personas)
            done: dict[str, str] = {}
        else:
            stored = await store.seeds(run_id)
            if [(s.dialog_id, s.plan_hash) for s in stored] != [(s.dialog_id, s.plan_hash) for s in seeds]:
                raise ConvRecError(f"run {run_id}: the data or code changed since it started (its planned "
                                   "dialogs differ); start a new run instead of resuming")
            dropped = await store.reset_incomplete(run_id)
            done = await store.completed(run_id)
            store.set_run_status(run_id, "running")
            console.print(f"resuming run {run_id}: {len(done)} of {len(seeds)} dialogs done"
                          + (f", {len(dropped)} interrupted ones restart" if dropped else ""))
        todo = [d for d in prepared.inputs if d.key not in done]
        setup = DialogSetup(prepared, corpus, settings.model_copy(update={"run_id": run_id}), run_id, backend)
        player = _player(setup, store, client, registry, console)
        status = "completed"
        try:
            await player.play(todo, already_done=len(done))
            if player.interrupted:
                status = "interrupted"
        except BaseException:
            status = "interrupted"
            raise
        finally:
            # A Ctrl-C now would only cut the last writes short: it is noted, not raised.
            with anyio.CancelScope(shield=True), counted_signals() as late:
                store.set_run_status(run_id, status,  # type: ignore[arg-type]
                                     note="budget reached" if player.budget_reached else None)
                await store.flush()
                await client.close()  # the backend's HTTP connections (unclosed: ResourceWarning)
        with counted_signals() as late_too:
            records = await store.records(run_id)
            summary = await run_summary(store, run_id, records, player.stats(), time.perf_counter() - started)
            figures = player.figures()
            if figures is not None:
                summary["ray"] = figures
    with counted_signals() as last:
        write_outputs(settings.out, records, summary)
    if late or late_too or last:
        console.print("[yellow]a signal came while the results were being written; they are complete[/]")
    console.print(summary_table(summary))
    for name in ("dialogs.jsonl", "summary.json", "run.log"):
        console.print(f"wrote {settings.out / name}")
    console.print(f"trace store: {settings.db} (run {run_id})")
    if status == "interrupted":
        cmd = shlex.join(["python", "-m", "engine.run", "--resume", "--db", str(settings.db), "--run-id",
                          run_id, "--out", str(settings.out)])
        why = "budget reached" if player.budget_reached else "run interrupted"
        console.print(f"[yellow]{why}: {len(records)} of {len(seeds)} dialogs done. Resume with:[/]"
                      f"\n  {cmd}")
        return INTERRUPTED_EXIT
    return 0


def _player(setup: DialogSetup, store: TraceStore, client: Any, registry: EndpointRegistry,
            console: Console) -> Player:
    if setup.settings.executor == "ray":
        from engine.pipeline.ray import RayPlayer

        return RayPlayer(setup, store, console)
    from engine.pipeline.local import LocalPlayer

    return LocalPlayer(setup, store, client, registry, console)
