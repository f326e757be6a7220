"""A run from its settings: load, profile, plan, record the run, play its dialogs, write the outputs.

The shared part of every run (distilabel's ``pipeline/base.py``, with ``local.py`` and ``ray.py``
beside it): what happens before and after the dialogs is the same on one machine and on a cluster,
and replay prepares its dialogs the same way (:func:`prepare_dialogs_of`). Resume is a run whose
settings that decide its dialogs come from the store, and whose completed dialogs are not played
again. Exit codes and final statuses: :mod:`engine.pipeline.outcome` (a run never ends ``completed``
with fewer dialogs than planned). The run is played by the process holding its lease in the store
(:mod:`engine.store.lease`).
"""

from __future__ import annotations

import secrets
import shlex
import time
from datetime import UTC, datetime
from pathlib import Path
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
from engine.gateway import EndpointRegistry, EndpointStats, endpoint_limits, loop_lag
from engine.pipeline.outcome import (
    EXIT_BACKEND_FAILED,
    INTERRUPTED_EXIT,
    exit_code,
    final_status,
    input_counts,
    mark_latest,
)
from engine.pipeline.summary import run_summary, summary_table, write_outputs
from engine.store import RunInfo, SeedRow, TraceStore
from planners import PlanConfig
from profiling.corpus import Corpus
from profiling.datasets import load_corpus_report
from profiling.errors import ConvRecError

__all__ = ["INTERRUPTED_EXIT", "Player", "load_run_corpus", "play", "prepare_dialogs_of"]

log = structlog.get_logger(__name__)


class Player(Protocol):
    """Plays a run's remaining dialogs: on this machine (``local``) or on a Ray cluster (``ray``)."""

    interrupted: bool
    budget_reached: bool

    async def play(self, todo: list[DialogInput], *, already_done: int) -> None: ...

    def stats(self) -> list[EndpointStats]: ...

    def figures(self) -> dict[str, Any] | None: ...


def load_run_corpus(settings: RunSettings, console: Console) -> Corpus:
    """The corpus the data settings name, announced on the console."""
    return load_run_corpus_report(settings, console)[0]


def load_run_corpus_report(settings: RunSettings, console: Console) -> tuple[Corpus, Any]:
    """The corpus the data settings name and the report of its load (None: the sample world)."""
    corpus, report = load_corpus_report(settings, not settings.quiet)  # type: ignore[arg-type]
    console.print(f"data: {corpus.source or settings.data} · {len(corpus):,} reviews · "
                  f"{corpus.n_users:,} users · {corpus.n_items:,} items")
    return corpus, report


def prepare_dialogs_of(settings: RunSettings, corpus: Corpus, *, encoder: Any = None) -> PreparedDialogs:
    """Stage 1 (cached), the seeds and the plans of the run's dialogs: the same for run, resume, replay."""
    return prepare_dialog_set(corpus, n=settings.dialogs, profiling=settings.profiling_config(),
                              plan_config=PlanConfig(seed=settings.seed, min_mentions=settings.min_mentions),
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
    started = time.perf_counter()
    settings.check()  # every option and their combination, before anything is written
    if settings.resume and not settings.db.exists():
        raise ConvRecError(f"--resume: no trace store at {settings.db}")
    async with TraceStore.open(settings.db) as store:
        resumed: RunInfo | None = None
        if settings.resume:
            resumed = await store.run(settings.run_id)
            # Refused early, before minutes of loading; the lease itself is taken before any write.
            await store.refuse_if_live(resumed.run_id, "--resume")
            # The dialogs to complete are the ones the run started with.
            settings = settings.resumed(resumed.config, run_id=resumed.run_id)
            settings.check()
            if resumed.status == "completed":
                console.print(f"run {resumed.run_id} is already complete")
        run_id = settings.run_id or _new_run_id()
        out = settings.out_dir(run_id)
        out.mkdir(parents=True, exist_ok=True)
        if settings.out is None and (why := mark_latest(out)) is not None:
            console.print(f"[yellow]note: {why}[/]")
        configure_logging(out / "run.log")
        structlog.contextvars.bind_contextvars(run_id=run_id)
        return await _run(settings, console, store, resumed, run_id, out, started)


async def _run(settings: RunSettings, console: Console, store: TraceStore, resumed: RunInfo | None,
               run_id: str, out: Path, started: float) -> int:
    from agents.backends import make_client
    from agents.personas import load_persona

    # The backend first: one that cannot be built fails before minutes of profiling.
    inner = make_client(settings.backend_config())
    registry = EndpointRegistry(seed=settings.seed, loop_lag=loop_lag(settings))
    client = registry.wrap(inner, endpoint_limits(settings), before_call=store.backpressure)
    backend = getattr(inner, "provider", settings.backend)
    corpus, load_report = load_run_corpus_report(settings, console)
    loaded = input_counts(corpus, load_report)
    with console.status("profiling (stage 1, cached after the first run) and planning ..."):
        from engine.pipeline.ray import ray_encoder

        prepared = prepare_dialogs_of(settings, corpus, encoder=ray_encoder(settings))
    console.print(f"profiles: {len(prepared.profiling.aspects)} aspects ({prepared.profiling.encoder}) · "
                  f"{prepared.n_seeds:,} seeds · {len(prepared.inputs)} planned"
                  + (f" · {len(prepared.skipped)} could not be planned" if prepared.skipped else ""))
    seeds = _seed_rows(prepared)
    # From recording the run to the first dialog a signal is noted, not raised: a run is never left
    # "running" (and the latest) by a Ctrl-C at start-up; it ends interrupted and resumable.
    with counted_signals() as early:
        if resumed is None:
            personas = {role: (name, load_persona(name, role).model_dump(mode="json"))
                        for role, name in (("user", settings.user_persona),
                                           ("system", settings.system_persona))}
            config = settings.stored()
            if prepared.selection is not None:
                config["selection"] = prepared.selection
            info = RunInfo(run_id=run_id, status="running", started_at=datetime.now(UTC).isoformat(),
                           seed=settings.seed, backend=backend, model=inner.config.model,
                           n_dialogs=len(seeds), config=config, input=loaded)
            await store.begin_run(info, seeds, personas)
            done: dict[str, str] = {}
        else:
            await _check_resumable(store, run_id, seeds)
            before = await store.take_over(run_id)
            if before is not None:
                console.print(f"[yellow]run {run_id} was left by {before}, which is gone: taken over[/]")
                log.warning("lease_taken_over", previous=before)
        player: Player | None = None
        interrupted = True  # until the play ends by itself
        try:
            if resumed is not None:
                done = await _resume_rows(store, run_id, seeds, console)
                store.set_input(run_id, loaded)
            _announce_input(loaded, console)
            log.info("run_started", resumed=resumed is not None, planned=len(seeds), done=len(done),
                     backend=backend, model=inner.config.model, input=loaded, out=str(out),
                     settings=settings.stored())
            todo = [d for d in prepared.inputs if d.key not in done]
            setup = DialogSetup(prepared, corpus, settings.model_copy(update={"run_id": run_id}), run_id,
                                backend)
            player = _player(setup, store, client, registry, console)
            if not early:
                await player.play(todo, already_done=len(done))
                interrupted = player.interrupted
        finally:
            # Whatever ended the play (its end, a signal, an error), the run gets a final status and
            # its lease is let go; a Ctrl-C now would only cut the last writes short: noted, not raised.
            with anyio.CancelScope(shield=True), counted_signals() as late:
                try:
                    status = await _finish_run(store, run_id, len(seeds), interrupted=interrupted,
                                               budget=player is not None and player.budget_reached)
                finally:
                    await client.close()  # the backend's HTTP connections (unclosed: ResourceWarning)
    assert player is not None  # made before the play, which ended without an error
    with counted_signals() as late_too:
        records = await store.records(run_id)
        summary = await run_summary(store, run_id, records, player.stats(), time.perf_counter() - started)
        figures = player.figures()
        if figures is not None:
            summary["ray"] = figures
        code = exit_code(status, summary["failed_backend"])
        summary["exit_code"] = code
    with counted_signals() as last:
        write_outputs(out, records, summary)
    log.info("run_ended", status=status, exit_code=code, dialogs=len(records), planned=len(seeds),
             accepted=summary["accepted"], failed_fidelity=summary["failed_fidelity"],
             failed_backend=summary["failed_backend"], failed_calls=summary["failed_calls"])
    if late or late_too or last:
        console.print("[yellow]a signal came while the results were being written; they are complete[/]")
    console.print(summary_table(summary))
    for name in ("dialogs.jsonl", "summary.json", "run.log"):
        console.print(f"wrote {out / name}")
    console.print(f"trace store: {settings.db} (run {run_id})")
    resume = shlex.join(["python", "-m", "engine.run", "--resume", "--db", str(settings.db), "--run-id",
                         run_id, "--out", str(out)])
    if status == "interrupted":
        why = "budget reached" if player.budget_reached else "run interrupted"
        console.print(f"[yellow]{why}: {len(records)} of {len(seeds)} dialogs done. Resume with:[/]"
                      f"\n  {resume}")
    elif status == "incomplete":
        console.print(f"[red]run incomplete: {len(records)} of {len(seeds)} planned dialogs ended. "
                      f"Resume with:[/]\n  {resume}")
    elif code == EXIT_BACKEND_FAILED:
        console.print(f"[yellow]{summary['failed_backend']} of {len(seeds)} dialogs failed their backend "
                      "(the model server failed for good; reasons in summary.json): exit code 4[/]")
    return code


async def _check_resumable(store: TraceStore, run_id: str, seeds: list[SeedRow]) -> None:
    """Refuse (before anything is written) to resume a run whose planned dialogs are not these."""
    stored = await store.seeds(run_id)
    if [(s.dialog_id, s.plan_hash) for s in stored] != [(s.dialog_id, s.plan_hash) for s in seeds]:
        raise ConvRecError(f"run {run_id}: the data or code changed since it started (its planned "
                           "dialogs differ); start a new run instead of resuming")


async def _resume_rows(store: TraceStore, run_id: str, seeds: list[SeedRow], console: Console
                       ) -> dict[str, str]:
    """A resumed run's store made ready (under its lease): incomplete dialogs deleted; the done ones."""
    dropped = await store.reset_incomplete(run_id)
    done = await store.completed(run_id)
    store.set_run_status(run_id, "running")
    console.print(f"resuming run {run_id}: {len(done)} of {len(seeds)} dialogs done"
                  + (f", {len(dropped)} interrupted ones restart" if dropped else ""))
    return done


async def _finish_run(store: TraceStore, run_id: str, planned: int, *, interrupted: bool,
                      budget: bool) -> str:
    """Write the run's final status (never ``completed`` with fewer dialogs than planned), let its lease
    go; the status."""
    await store.flush()
    ended = len(await store.completed(run_id))
    status = final_status(interrupted=interrupted, planned=planned, ended=ended)
    store.set_run_status(run_id, status,  # type: ignore[arg-type]
                         note="budget reached" if budget else
                         f"{ended} of {planned} dialogs ended" if status == "incomplete" else None)
    await store.release_lease()
    if status == "incomplete":
        log.error("run_incomplete", ended=ended, planned=planned)
    return status


def _announce_input(loaded: dict[str, Any], console: Console) -> None:
    """Say what the input lost (records skipped by kind, duplicates dropped), on the console and the log."""
    if loaded["skipped_total"]:
        kinds = ", ".join(f"{k} {n:,}" for k, n in loaded["skipped"].items())
        console.print(f"[yellow]input: skipped {loaded['skipped_total']:,} bad records of "
                      f"{loaded['skipped_total'] + loaded['loaded']:,} ({kinds}); --on-error skip[/]")
        log.warning("input_records_skipped", total=loaded["skipped_total"], by_kind=loaded["skipped"])
    if loaded["duplicates"]:
        console.print(f"input: dropped {loaded['duplicates']:,} duplicate reviews")


def _player(setup: DialogSetup, store: TraceStore, client: Any, registry: EndpointRegistry,
            console: Console) -> Player:
    if setup.settings.executor == "ray":
        from engine.pipeline.ray import RayPlayer

        return RayPlayer(setup, store, console)
    from engine.pipeline.local import LocalPlayer

    return LocalPlayer(setup, store, client, registry, console)
