"""``python -m engine.run``: the whole pipeline, from reviews to a conversational recommendation dataset.

Load data (the sample world by default), profile it (stage 1, cached), cut seeds, plan dialogs
(stage 2), play them with a user agent and a system agent judged by the fidelity validators (stage 3),
and write the dataset (``dialogs.jsonl``, one dialog per line) and the trace (``events.jsonl``).
With no options it runs a few dialogs on the embedded SmolLM2 model.

Still to come (issue #6): the SQLite trace store, resume, replay, per-endpoint LLM limits with
rate buckets and retries, a TOML config file. A ConvRecError (bad input, a backend that cannot be
built) is printed as one line and exits with code 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import anyio
import orjson
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engine.logs import close_logging, configure_logging
from profiling.datasets import add_data_arguments, load_corpus
from profiling.errors import ConvRecError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (every option documented with its default)."""
    p = argparse.ArgumentParser(
        prog="python -m engine.run", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Generate behaviour-grounded recommendation dialogs from reviews: profile, plan, "
        "simulate with fidelity validators, and write the dataset and its trace.")
    add_data_arguments(p)
    g = p.add_argument_group("generation")
    g.add_argument("--dialogs", type=int, default=3,
                   help="number of dialogs (seeds picked deterministically, spread over users and time)")
    g.add_argument("--split", choices=("all", "train", "validation", "test"), default="all",
                   help="take seeds of this chronological split only")
    g.add_argument("--concurrency", type=int, default=4, help="dialogs played at the same time")
    g.add_argument("--max-attempts", type=int, default=4,
                   help="attempts per node before rolling back to an alternative path")
    g.add_argument("--user-persona", default="default", help="user persona: a name under agents/personas "
                   "(default, terse, chatty, indecisive, expert, budget_minded) or a TOML path")
    g.add_argument("--system-persona", default="default", help="system persona: a name (default, concise, "
                   "explanatory, enthusiastic) or a TOML path")
    g.add_argument("--encoder", choices=("fast", "minilm"), default="fast",
                   help="stage-1 sentence encoder (fast = model2vec distilled from MiniLM)")
    g.add_argument("--seed", type=int, default=0, help="run seed: seeds picked, plans, sampling")
    m = p.add_argument_group("model")
    m.add_argument("--backend", choices=("local", "scripted", "openai"), default="local",
                   help="local = embedded SmolLM2-135M in process; scripted = deterministic realizer "
                   "(no model); openai = any OpenAI-compatible server (vLLM, Ollama, llama.cpp, OpenAI)")
    m.add_argument("--model",
                   help="model name (default: SmolLM2-135M-Instruct for local; required for openai)")
    m.add_argument("--base-url", help="openai only: server root, e.g. http://127.0.0.1:8000/v1")
    m.add_argument("--api-key-env", default="OPENAI_API_KEY",
                   help="openai only: NAME of the environment variable holding the key (never stored)")
    m.add_argument("--json-mode", choices=("json_schema", "json_object_schema", "json_object", "none"),
                   default="json_schema", help="openai only: how structured output is requested "
                   "(llama.cpp server: json_object_schema)")
    m.add_argument("--max-tokens", type=int, default=64, help="upper bound on tokens per model call")
    m.add_argument("--temperature", type=float, default=0.7, help="sampling temperature")
    o = p.add_argument_group("output")
    o.add_argument("--out", type=Path, default=Path("runs/latest"),
                   help="folder for dialogs.jsonl, events.jsonl, summary.json and run.log")
    o.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _client(args: argparse.Namespace):  # -> ChatCompletionClient; heavy imports only when running
    from agents.backends import BackendConfig, make_client

    fields: dict[str, object] = {"kind": args.backend, "max_tokens": args.max_tokens,
                                 "temperature": args.temperature, "seed": args.seed}
    if args.model:
        fields["model"] = args.model
    if args.backend == "openai":
        if not args.model:
            raise ConvRecError("--backend openai needs --model NAME")
        fields.update(base_url=args.base_url, api_key_env=args.api_key_env, json_mode=args.json_mode)
    return make_client(BackendConfig(**fields))  # type: ignore[arg-type]


async def _play(args: argparse.Namespace, console: Console) -> int:
    from agents.validators import default_validators
    from engine.dialog_inputs import prepare_dialog_set
    from engine.executor import DialogResult
    from engine.records import JsonlSink, dialog_record
    from profiling.pipeline import ProfilingConfig

    progress = not args.quiet
    started = time.perf_counter()
    configure_logging(args.out / "run.log")
    client = _client(args)  # first: a backend that cannot be built fails before minutes of profiling
    backend = getattr(client, "provider", args.backend)
    corpus = load_corpus(args, progress)
    console.print(f"data: {corpus.source or args.data} · {len(corpus):,} reviews · {corpus.n_users:,} users"
                  f" · {corpus.n_items:,} items")
    with console.status("profiling (stage 1, cached after the first run) and planning ..."):
        prepared = prepare_dialog_set(
            corpus, n=args.dialogs, profiling=ProfilingConfig(encoder=args.encoder, seed=args.seed),
            split=None if args.split == "all" else args.split, seed=args.seed)
    console.print(f"profiles: {len(prepared.profiling.aspects)} aspects ({prepared.profiling.encoder}) · "
                  f"{prepared.n_seeds:,} seeds · {len(prepared.inputs)} planned"
                  + (f" · {len(prepared.skipped)} could not be planned" if prepared.skipped else ""))
    args.out.mkdir(parents=True, exist_ok=True)
    sink = JsonlSink(args.out / "events.jsonl")
    results: list[DialogResult | None] = [None] * len(prepared.inputs)
    limiter = anyio.CapacityLimiter(max(1, args.concurrency))
    counts: Counter[str] = Counter()
    bar = Progress(TextColumn("[bold]dialogs"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[status]}"), TimeElapsedColumn(), console=console,
                   disable=not progress)

    async def one(k: int, task: int) -> None:
        async with limiter:
            dialog = prepared.inputs[k]
            counts["running"] += 1
            ex = prepared.executor(dialog, client, default_validators(), sink,
                                   user_persona=args.user_persona, system_persona=args.system_persona,
                                   max_attempts=args.max_attempts, embed_directive=args.backend == "scripted",
                                   run_id=f"seed{args.seed}")
            result = await ex.run(dialog.plan, dialog.context)
            counts["running"] -= 1
            counts[result.status] += 1
            results[k] = result
            bar.update(task, advance=1, status=_status(counts))

    try:
        with bar:
            task = bar.add_task("dialogs", total=len(prepared.inputs), status="")
            async with anyio.create_task_group() as tg:
                for k in range(len(prepared.inputs)):
                    tg.start_soon(one, k, task)
    finally:
        sink.close()
    # Written in seed order, whatever order the dialogs finished in: same seed, same file.
    with (args.out / "dialogs.jsonl").open("wb") as f:
        for dialog, result in zip(prepared.inputs, results, strict=True):
            assert result is not None
            f.write(orjson.dumps(dialog_record(
                result, dialog.context, corpus, backend=backend, user_persona=args.user_persona,
                system_persona=args.system_persona, run_seed=args.seed)) + b"\n")
    summary = _summary(results, client, time.perf_counter() - started)
    (args.out / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    console.print(_table(summary))
    for name in ("dialogs.jsonl", "events.jsonl", "summary.json", "run.log"):
        console.print(f"wrote {args.out / name}")
    return 0


def _status(counts: Counter[str]) -> str:
    return (f"accepted {counts['accepted']} · failed {counts['failed_fidelity'] + counts['failed_backend']}"
            f" · running {counts['running']}")


def _summary(results: list, client: object, elapsed: float) -> dict[str, object]:
    done = [r for r in results if r is not None]
    usage = client.total_usage() if hasattr(client, "total_usage") else None  # type: ignore[attr-defined]
    statuses = Counter(r.status for r in done)
    reasons = Counter((r.reason or "").split(";")[0][:120] for r in done if r.status != "accepted")
    return {
        "dialogs": len(done), "accepted": statuses["accepted"],
        "failed_fidelity": statuses["failed_fidelity"], "failed_backend": statuses["failed_backend"],
        "turns": sum(len(r.turns) for r in done),
        "superseded_turns": sum(sum(t.superseded for t in r.all_turns) for r in done),
        "node_attempts": sum(len(r.attempts) for r in done),
        "rollbacks": sum(len(r.rollbacks) for r in done),
        "llm_calls": sum(r.n_llm_calls for r in done),
        "input_tokens": usage.prompt_tokens if usage else 0,
        "output_tokens": usage.completion_tokens if usage else 0,
        "elapsed_s": round(elapsed, 1),
        "top_failure_reasons": dict(reasons.most_common(5)),
    }


def _table(summary: dict[str, object]) -> Table:
    table = Table(title="run summary")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key != "top_failure_reasons":
            table.add_row(key.replace("_", " "), f"{value:,}" if isinstance(value, int) else str(value))
    for reason, n in summary["top_failure_reasons"].items():  # type: ignore[union-attr]
        table.add_row(f"failed: {reason}", str(n))
    return table


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0, or 2 for bad input or a backend that cannot be built)."""
    args = build_parser().parse_args(argv)
    console = Console()
    err = Console(stderr=True)
    try:
        return anyio.run(_play, args, console)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors())
        err.print(f"error: bad option: {problems}", style="red", markup=False, highlight=False)
        return 2
    except ConvRecError as exc:
        err.print(f"error: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
        return 2
    finally:
        close_logging()


if __name__ == "__main__":
    sys.exit(main())
