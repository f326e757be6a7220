"""``python -m engine.run``: the whole pipeline, from reviews to a conversational recommendation dataset.

Load data (the sample world by default), profile it (stage 1, cached), cut seeds, plan dialogs
(stage 2), play them with a user agent and a system agent judged by the fidelity validators (stage 3),
store every event in the SQLite trace store (``--db``, ``convrec.db`` by default) and write the dataset
(``dialogs.jsonl``, one dialog per line) with ``summary.json`` and ``run.log`` under ``--out``.
With no options it runs a few dialogs on the embedded SmolLM2 model.

``--resume`` completes an interrupted (or killed) run from its store; ``--replay`` re-plays a run, or
one dialog of it, from its recorded model answers (:mod:`engine.replay`). Settings may come from a TOML
file (``--config``); secrets only from environment variables. A ConvRecError (bad input, a backend that
cannot be built, an unwritable database) is printed as one line and exits with code 2; an interrupted
run exits with 130 after saying how to resume it.
"""

from __future__ import annotations

import argparse
import secrets
import shlex
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import orjson
import structlog
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from engine.config.config_file import GENERATION_KEYS, apply_config_file, generation_settings
from engine.core.logs import close_logging, configure_logging
from profiling.datasets import add_data_arguments, load_corpus
from profiling.errors import ConvRecError

__all__ = ["build_parser", "main"]

log = structlog.get_logger(__name__)

INTERRUPTED_EXIT = 130


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (every option documented with its default)."""
    p = argparse.ArgumentParser(
        prog="python -m engine.run", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Generate behaviour-grounded recommendation dialogs from reviews: profile, plan, "
        "simulate with fidelity validators, store the trace in SQLite and write the dataset.")
    p.add_argument("--config", type=Path, help="TOML file with any of these settings (names without the "
                   "dashes, e.g. llm_concurrency = 16); the command line wins over it")
    add_data_arguments(p)
    g = p.add_argument_group("generation")
    g.add_argument("--dialogs", type=int, default=3,
                   help="number of dialogs (seeds picked deterministically, spread over users and time)")
    g.add_argument("--budget-usd", type=float, help="stop starting dialogs once model calls cost this much "
                   "(prices: --price-input / --price-output); the run can be resumed to go on")
    g.add_argument("--split", choices=("all", "train", "validation", "test"), default="all",
                   help="take seeds of this chronological split only")
    g.add_argument("--select", default="hash",
                   choices=("hash", "random", "stratified", "kcenter", "js", "hybrid"),
                   help="how the seeds to simulate are chosen under the --dialogs budget: hash (a seeded "
                   "spread over users and time), or active selection on seed features: random, stratified "
                   "(category x popularity), kcenter (coreset), js (Jensen-Shannon information), hybrid "
                   "(k-center + JS - popularity); see README")
    g.add_argument("--max-attempts", type=int, default=4,
                   help="attempts per node before rolling back to an alternative path")
    g.add_argument("--user-persona", default="default", help="user persona: a name under agents/personas "
                   "(default, terse, chatty, indecisive, expert, budget_minded) or a TOML path")
    g.add_argument("--system-persona", default="default", help="system persona: a name (default, concise, "
                   "explanatory, enthusiastic) or a TOML path")
    g.add_argument("--judge", choices=("off", "on"), default="off",
                   help="on: add the two LLM-judge validators (executional, behavioral) after the rule "
                   "validators; their calls go through the same endpoint limits (needs local or openai)")
    g.add_argument("--encoder", choices=("fast", "minilm"), default="fast",
                   help="stage-1 sentence encoder (fast = model2vec distilled from MiniLM)")
    g.add_argument("--seed", type=int, default=0, help="run seed: seeds picked, plans, sampling, jitter")
    s = p.add_argument_group("scheduling")
    s.add_argument("--concurrency", type=int, default=4, help="dialogs live at the same time")
    s.add_argument("--llm-concurrency", type=int, default=8,
                   help="model calls in flight at once per endpoint (validator calls included)")
    s.add_argument("--rpm", type=float, help="requests per minute per endpoint (None: no limit)")
    s.add_argument("--tpm", type=float, help="tokens per minute per endpoint (None: no limit)")
    s.add_argument("--max-retries", type=int, default=4,
                   help="retries of a failed model call (429, 5xx, timeout, dropped connection), with "
                   "jittered exponential backoff that honours Retry-After")
    s.add_argument("--call-timeout", type=float, default=120.0, help="seconds one model call may take")
    s.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: one event loop in this process; ray: the dialogs are split into shards, "
                   "each played by an async Ray actor with its own --concurrency, the endpoint limits "
                   "holding across the cluster, everything written to the one --db (see README). "
                   "(--backend names the model, so Ray is an executor, not a backend)")
    s.add_argument("--address", help="ray only: the cluster to join (e.g. auto, or ray://head:10001; "
                   "default: start a local one on this machine's CPUs)")
    s.add_argument("--actors", type=int, help="ray only: shard actors (default: the cluster's CPUs)")
    s.add_argument("--embed-on", choices=("local", "ray"), default="local",
                   help="where stage 1 embeds the review sentences when they are not cached: here, or as a "
                   "Ray Data job over --actors workers (same vectors; for corpora too big for one machine)")
    s.add_argument("--max-restarts", type=int, default=3,
                   help="ray only: restarts of a shard's dead worker; its unfinished dialogs play again")
    m = p.add_argument_group("model")
    m.add_argument("--backend", choices=("local", "scripted", "openai"), default="local",
                   help="local = embedded SmolLM2-135M in process; scripted = deterministic realizer "
                   "(no model); openai = any OpenAI-compatible server (vLLM, Ollama, llama.cpp, OpenAI)")
    m.add_argument("--model",
                   help="model name (default: SmolLM2-135M-Instruct for local; required for openai)")
    m.add_argument("--base-url", help="openai only: server root, e.g. http://127.0.0.1:8000/v1; with "
                   "--executor ray, several comma-separated roots (shard i calls root i mod n, each with "
                   "its own cluster-wide limits)")
    m.add_argument("--api-key-env", default="OPENAI_API_KEY",
                   help="openai only: NAME of the environment variable holding the key (never stored)")
    m.add_argument("--json-mode", choices=("json_schema", "json_object_schema", "json_object", "none"),
                   default="json_schema", help="openai only: how structured output is requested "
                   "(llama.cpp server: json_object_schema)")
    m.add_argument("--directive", choices=("auto", "on", "off"), default="auto",
                   help="put the machine-readable turn directive in the prompts (auto: only for the scripted "
                   "backend; 'on' lets a test server answer with the scripted realizer)")
    m.add_argument("--price-input", type=float, default=0.0, help="USD per 1M input tokens (for costs)")
    m.add_argument("--price-output", type=float, default=0.0, help="USD per 1M output tokens (for costs)")
    m.add_argument("--max-tokens", type=int, default=64, help="upper bound on tokens per model call")
    m.add_argument("--temperature", type=float, default=0.7, help="sampling temperature")
    o = p.add_argument_group("store and output")
    o.add_argument("--db", type=Path, default=Path("convrec.db"),
                   help="SQLite trace store (created if missing; one file can hold many runs)")
    o.add_argument("--out", type=Path, default=Path("runs/latest"),
                   help="folder for dialogs.jsonl, summary.json and run.log")
    o.add_argument("--run-id", help="run to resume or replay (default: the latest run in --db); for a new "
                   "run, its id (default: time + random suffix)")
    o.add_argument("--resume", action="store_true",
                   help="complete the run --run-id (default: latest) of --db: its settings come from the "
                   "store; only scheduling and output options may change")
    o.add_argument("--quiet", action="store_true", help="no progress bars")
    r = p.add_argument_group("replay (debugging)")
    r.add_argument("--replay", action="store_true",
                   help="re-play run --run-id from its recorded model answers (zero model calls when "
                   "nothing changed) and compare with what was recorded")
    r.add_argument("--replay-dialog", metavar="DIALOG_ID", help="replay only this dialog and print it "
                   "with node boundaries, attempts, superseded turns and verdicts")
    r.add_argument("--replay-mode", choices=("strict", "lenient"), default="strict",
                   help="strict: stop at the first call whose request differs from the recording; "
                   "lenient: warn and go live from there")
    r.add_argument("--replay-from-node", type=int, metavar="N",
                   help="go live from node N on (with --user-persona / --system-persona: see how a "
                   "persona changes the dialog from there)")
    return p


def backend_config(args: argparse.Namespace):  # -> BackendConfig; heavy imports only when running
    """The model endpoint the settings describe (also what replay rebuilds to match request hashes)."""
    from agents.backends import BackendConfig

    fields: dict[str, object] = {"kind": args.backend, "max_tokens": args.max_tokens,
                                 "temperature": args.temperature, "seed": args.seed,
                                 "price_input_per_1m": args.price_input,
                                 "price_output_per_1m": args.price_output}
    if args.model:
        fields["model"] = args.model
    if args.backend == "openai":
        if not args.model:
            raise ConvRecError("--backend openai needs --model NAME")
        fields.update(base_url=(args.base_url or "").split(",")[0].strip() or None,
                      api_key_env=args.api_key_env, json_mode=args.json_mode,
                      timeout_s=args.call_timeout)
    return BackendConfig(**fields)  # type: ignore[arg-type]


def embed_directive(args: argparse.Namespace) -> bool:
    """Whether prompts carry the directive block (a real model reads the instructions; it only eats
    a small model's context)."""
    return args.directive == "on" or (args.directive == "auto" and args.backend == "scripted")


def endpoint_limits(args: argparse.Namespace):  # -> EndpointLimits
    """The per-endpoint limits the scheduling options describe."""
    from engine.gateway import EndpointLimits

    return EndpointLimits(max_concurrency=args.llm_concurrency, rpm=args.rpm, tpm=args.tpm,
                          max_retries=args.max_retries, timeout_s=args.call_timeout)


def _new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


async def _play(args: argparse.Namespace, console: Console) -> int:
    if args.executor == "ray" or args.embed_on == "ray":
        from engine.cluster.runner import ray_session

        with ray_session(args.address):  # joined once for the embedding step and the dialogs
            return await _play_run(args, console)
    return await _play_run(args, console)


async def _play_run(args: argparse.Namespace, console: Console) -> int:
    from agents.backends import make_client
    from agents.personas import load_persona
    from agents.validators import default_validators
    from engine.core.dialog_inputs import prepare_dialog_set
    from engine.core.records import dialog_record
    from engine.core.scheduler import DialogScheduler, counted_signals
    from engine.gateway import EndpointRegistry
    from engine.store.trace_store import RunInfo, SeedRow, TraceStore
    from profiling.pipeline import ProfilingConfig

    progress = not args.quiet
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    configure_logging(args.out / "run.log")
    async with TraceStore.open(args.db) as store:
        resumed: RunInfo | None = None
        if args.resume:
            resumed = await store.run(args.run_id)
            for key in GENERATION_KEYS:  # the dialogs to complete are the ones the run started with
                value = resumed.config.get(key)
                setattr(args, key, Path(value) if key in ("reviews", "meta") and value else value)
            args.run_id = resumed.run_id
            if resumed.status == "completed":
                console.print(f"run {resumed.run_id} is already complete")
        run_id = args.run_id or _new_run_id()
        structlog.contextvars.bind_contextvars(run_id=run_id)
        if args.judge == "on" and args.backend == "scripted":
            raise ConvRecError("--judge on needs a model backend (local or openai): the scripted backend "
                               "writes dialog turns only")
        _base_urls(args)  # several endpoints only on a cluster: refused before any work
        # The backend first: one that cannot be built fails before minutes of profiling.
        inner = make_client(backend_config(args))
        registry = EndpointRegistry(seed=args.seed)
        client = registry.wrap(inner, endpoint_limits(args), before_call=store.backpressure)
        backend = getattr(inner, "provider", args.backend)
        corpus = load_corpus(args, progress)
        console.print(f"data: {corpus.source or args.data} · {len(corpus):,} reviews · "
                      f"{corpus.n_users:,} users"
                      f" · {corpus.n_items:,} items")
        with console.status("profiling (stage 1, cached after the first run) and planning ..."):
            prepared = prepare_dialog_set(
                corpus, n=args.dialogs, profiling=ProfilingConfig(encoder=args.encoder, seed=args.seed),
                split=None if args.split == "all" else args.split, seed=args.seed, select=args.select,
                encoder=_ray_encoder(args))
        console.print(f"profiles: {len(prepared.profiling.aspects)} aspects ({prepared.profiling.encoder}) · "
                      f"{prepared.n_seeds:,} seeds · {len(prepared.inputs)} planned"
                      + (f" · {len(prepared.skipped)} could not be planned" if prepared.skipped else ""))
        seeds = [SeedRow(dialog_id=d.key, position=k, user_id=d.context.seed.user, split=d.context.seed.split,
                         target_item=d.context.seed.target.item,
                         target_time=d.context.seed.target.timestamp.isoformat(),
                         n_history=len(d.context.seed.history), negatives=tuple(d.context.seed.negatives),
                         plan_hash=d.plan.content_hash, plan_path=d.plan.path, plan_json=d.plan.to_json())
                 for k, d in enumerate(prepared.inputs)]
        if resumed is None:
            personas = {role: (name, load_persona(name, role).model_dump(mode="json"))
                        for role, name in (("user", args.user_persona), ("system", args.system_persona))}
            config = generation_settings(args)
            if prepared.selection is not None:
                config["selection"] = prepared.selection
            info = RunInfo(run_id=run_id, status="running", started_at=datetime.now(UTC).isoformat(),
                           seed=args.seed, backend=backend, model=inner.config.model, n_dialogs=len(seeds),
                           config=config)
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
        validators = default_validators(judge=client if args.judge == "on" else None)

        def make_executor(dialog, sink):  # type: ignore[no-untyped-def]
            return prepared.executor(dialog, client, validators, sink, user_persona=args.user_persona,
                                     system_persona=args.system_persona, max_attempts=args.max_attempts,
                                     embed_directive=embed_directive(args), run_id=run_id)

        def on_result(dialog, result) -> None:  # type: ignore[no-untyped-def]
            store.finish_dialog(run_id, dialog.key, dialog_record(
                result, dialog.context, corpus, backend=backend, user_persona=args.user_persona,
                system_persona=args.system_persona, run_seed=args.seed))

        status = "completed"
        budget_reached = False
        try:
            if args.executor == "ray":
                runner = await _play_on_ray(args, store, prepared, corpus, todo, len(done), run_id, backend,
                                            console, progress)
                registry = runner
                budget_reached = runner.budget_reached
                if runner.draining:
                    status = "interrupted"
            else:
                scheduler = DialogScheduler(make_executor, store, concurrency=args.concurrency,
                                            on_result=on_result, console=console, progress=progress,
                                            budget_usd=args.budget_usd)
                try:
                    outcome = await scheduler.run(todo, already_done=len(done))
                finally:
                    budget_reached = scheduler.budget_reached
                if outcome.interrupted:
                    status = "interrupted"
        except BaseException:
            status = "interrupted"
            raise
        finally:
            # A Ctrl-C now would only cut the last writes short: it is noted, not raised.
            with anyio.CancelScope(shield=True), counted_signals() as late:
                store.set_run_status(run_id, status,  # type: ignore[arg-type]
                                     note="budget reached" if budget_reached else None)
                await store.flush()
                await client.close()  # the backend's HTTP connections (unclosed: ResourceWarning)
        with counted_signals() as late_too:
            records = await store.records(run_id)
            summary = await _summary(store, run_id, records, registry, time.perf_counter() - started)
            if args.executor == "ray":
                summary["ray"] = runner.figures()
    with counted_signals() as last:
        _write_outputs(args.out, records, summary)
    if late or late_too or last:
        console.print("[yellow]a signal came while the results were being written; they are complete[/]")
    console.print(_table(summary))
    for name in ("dialogs.jsonl", "summary.json", "run.log"):
        console.print(f"wrote {args.out / name}")
    console.print(f"trace store: {args.db} (run {run_id})")
    if status == "interrupted":
        cmd = shlex.join(["python", "-m", "engine.run", "--resume", "--db", str(args.db), "--run-id", run_id,
                          "--out", str(args.out)])
        why = "budget reached" if budget_reached else "run interrupted"
        console.print(f"[yellow]{why}: {len(records)} of {len(seeds)} dialogs done. Resume with:[/]"
                      f"\n  {cmd}")
        return INTERRUPTED_EXIT
    return 0


async def _play_on_ray(args: argparse.Namespace, store, prepared, corpus, todo, already_done: int,  # type: ignore[no-untyped-def]
                       run_id: str, backend: str, console: Console, progress: bool):
    """Plays ``todo`` on a Ray cluster (engine.cluster.runner); the runner, for its figures."""
    from engine.cluster.runner import RayRunner, ray_session
    from engine.cluster.shard import ShardSettings, SharedRunState

    urls = _base_urls(args)
    config = backend_config(args)
    if urls:
        config = config.model_copy(update={"base_url": urls[0]})
    settings = ShardSettings(
        run_id=run_id, backend_config=config.model_dump(mode="json"),
        limits=endpoint_limits(args).model_dump(mode="json"), backend_label=backend,
        user_persona=args.user_persona, system_persona=args.system_persona, max_attempts=args.max_attempts,
        embed_directive=embed_directive(args), run_seed=args.seed, concurrency=args.concurrency,
        judge=args.judge == "on")
    with ray_session(args.address) as ray:
        runner = RayRunner(ray, store, settings, SharedRunState(prepared=prepared, corpus=corpus),
                           actors=args.actors, base_urls=urls, max_restarts=args.max_restarts,
                           budget_usd=args.budget_usd, console=console, progress=progress)
        await runner.run(todo, already_done=already_done)
    f = runner.figures()
    console.print(f"ray: {f['actors']} actors, {f['restarts']} worker restarts, {f['limiter_round_trips']} "
                  "round trips to the cluster limiter")
    return runner


def _ray_encoder(args: argparse.Namespace):  # -> RayDataEncoder | None
    """The stage-1 encoder as a Ray Data job (--embed-on ray), else None (the local one)."""
    if args.embed_on != "ray":
        return None
    import ray

    from profiling.ray_embed import RayDataEncoder

    workers = args.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
    return RayDataEncoder(args.encoder, workers=workers)


def _base_urls(args: argparse.Namespace) -> list[str]:
    """``--base-url`` split at commas (several endpoints: --executor ray spreads shards over them)."""
    urls = [u.strip() for u in (args.base_url or "").split(",") if u.strip()]
    if len(urls) > 1 and args.executor != "ray":
        raise ConvRecError("several --base-url endpoints need --executor ray (one machine calls one)")
    return urls


def _write_outputs(out: Path, records: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    # Written in seed order from the store, whatever order the dialogs finished in: same seed, same file.
    tmp = out / "dialogs.jsonl.tmp"
    with tmp.open("wb") as f:
        for record in records:
            f.write(orjson.dumps(record) + b"\n")
    tmp.replace(out / "dialogs.jsonl")
    (out / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))


async def _summary(store, run_id: str, records: list[dict[str, Any]], registry,  # type: ignore[no-untyped-def]
                   elapsed: float) -> dict[str, Any]:
    info = await store.run(run_id)
    calls = await store._rows(  # one aggregate query; the store has no API for it
        "SELECT COUNT(*) n, COALESCE(SUM(gen_ai_usage_input_tokens),0) i, "
        "COALESCE(SUM(gen_ai_usage_output_tokens),0) o, "
        "COALESCE(SUM(retries),0) r, COALESCE(SUM(cost_usd),0) c FROM llm_calls WHERE run_id=?", (run_id,))
    statuses = Counter(r["status"] for r in records)
    reasons = Counter((r.get("reason") or "").split(";")[0][:120] for r in records
                      if r["status"] != "accepted")
    stats = registry.stats() if registry is not None else []
    return {
        "run_id": run_id, "status": info.status, "planned": info.n_dialogs,
        "dialogs": len(records), "accepted": statuses["accepted"],
        "failed_fidelity": statuses["failed_fidelity"], "failed_backend": statuses["failed_backend"],
        "turns": sum(len(r["turns"]) for r in records),
        "node_attempts": sum(r["n_attempts"] for r in records),
        "rollbacks": sum(r["n_rollbacks"] for r in records),
        "llm_calls": calls[0]["n"], "input_tokens": calls[0]["i"], "output_tokens": calls[0]["o"],
        "retries": calls[0]["r"], "cost_usd": round(calls[0]["c"], 6),
        "elapsed_s": round(elapsed, 1),
        "endpoints": [s.model_dump(mode="json") for s in stats],
        "top_failure_reasons": dict(reasons.most_common(5)),
    }


def _table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"run {summary['run_id']}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key not in ("top_failure_reasons", "endpoints", "run_id", "ray"):
            table.add_row(key.replace("_", " "), f"{value:,}" if isinstance(value, int) else str(value))
    for reason, n in summary["top_failure_reasons"].items():
        table.add_row(f"failed: {reason}", str(n))
    return table


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0; 2 for bad input or setup; 130 when interrupted)."""
    console = Console()
    err = Console(stderr=True)
    try:
        args = apply_config_file(build_parser(), argv)
        if args.replay or args.replay_dialog:
            from engine.replay.command import replay_main

            if args.executor == "ray":
                raise ConvRecError("replay runs on one machine (it is for debugging a few dialogs); a run "
                                   "made with --executor ray replays without it: same store, same answers")

            return anyio.run(replay_main, args, console)
        return anyio.run(_play, args, console)
    except BaseExceptionGroup as group:
        from engine.store.trace_store import single_error

        one = single_error(group)
        if not isinstance(one, ConvRecError | ValidationError | KeyboardInterrupt):
            raise
        return main_error(one, err)
    except KeyboardInterrupt:
        err.print("interrupted before any dialog started; nothing to resume", style="yellow")
        return INTERRUPTED_EXIT
    except (ValidationError, ConvRecError) as exc:
        return main_error(exc, err)
    finally:
        close_logging()


def main_error(exc: BaseException, err: Console) -> int:
    """Print a ConvRecError or a bad option as one line; the exit code (2)."""
    if isinstance(exc, KeyboardInterrupt):
        err.print("interrupted", style="yellow")
        return INTERRUPTED_EXIT
    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors())
        err.print(f"error: bad option: {problems}", style="red", markup=False, highlight=False)
        return 2
    err.print(f"error: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
    return 2


if __name__ == "__main__":
    sys.exit(main())
