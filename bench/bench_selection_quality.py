"""Benchmark of seed selection quality: the recommender trained on each strategy's picks, per budget.

On the sample world with the scripted backend. The scripted backend is deterministic and every dialog
is generated independently of the others, so "generating the selected seeds" is taking their dialogs
from one run over every seed (``--dialogs``, e.g. ``engine.run --backend scripted`` over all seeds), or,
without such a file, playing just the seeds needed in process with the engine's scripted settings
(bench/selection_dialogs.py; cached under OUT, so reruns play nothing twice).

Protocol: the candidate pool is the train-split seeds (the engine's seed cut and temporal split, run
seed 0). Seed features are built once (profiling.selection.build_seed_features, feature seed 0); each
strategy orders the pool with its selection seed; for each budget B the first B picks are the training
dialogs (selections are prefix-consistent, see profiling/selection/strategies.py; stratified is re-drawn
per budget; a pick that cannot be planned has no dialog and is left out, which the results count). The
cross-attention recommender (``recommender.experiment.run_experiment``) trains on them for at most
``--epochs`` epochs, the best epoch chosen on every validation dialog, and is tested on every test
dialog: full ranking over every item, Hit@10 and NDCG@10. Each (strategy, budget) runs with seeds 0, 1,
2 (the seed drives both the selection and the training), seed by seed, so a cut-short run still has
every strategy and budget for seed 0. Results are appended to ``OUT/results.jsonl`` as they finish (a
rerun skips what is there), then tabulated in ``OUT/table.md`` and plotted in ``OUT/quality.png``.

    .venv/bin/python bench/bench_selection_quality.py --dialogs /work/data/scripted_all/dialogs.jsonl
    .venv/bin/python bench/bench_selection_quality.py                  # plays the needed dialogs itself
    .venv/bin/python bench/bench_selection_quality.py --prepare-eval --worker eval   # meanwhile, elsewhere
    .venv/bin/python bench/bench_selection_quality.py --report-only    # table and plot of what is there
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import load_note

from profiling.selection import STRATEGIES, FeatureConfig, build_seed_features, select_seeds

METRICS = ("hit@10", "ndcg@10")


def machine() -> str:
    import torch

    return (f"{platform.platform()} | {os.cpu_count()} CPUs | {platform.processor() or platform.machine()} | "
            f"python {platform.python_version()} | torch {torch.__version__} | numpy {np.__version__}")


def read_dialogs(path: Path) -> dict[str, dict[str, Any]]:
    """Dialog records by dialog id (= the seed key)."""
    out: dict[str, dict[str, Any]] = {}
    with path.open() as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                out[rec["dialog_id"]] = rec
    return out


def done_runs(path: Path) -> dict[tuple[str, int, int], dict[str, Any]]:
    if not path.exists():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {(r["strategy"], r["budget"], r["seed"]): r for r in rows}


def report(results: dict[tuple[str, int, int], dict[str, Any]], out: Path, console: Console) -> None:
    """The table (mean +- std over seeds) as markdown and rich, and the plot when matplotlib is there."""
    grouped: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for (strategy, budget, _seed), row in results.items():
        grouped[(strategy, budget)].append(row)
    budgets = sorted({b for _, b in grouped})
    strategies = [s for s in STRATEGIES if any(k[0] == s for k in grouped)]
    lines = ["| strategy | " + " | ".join(f"B={b} Hit@10 | B={b} NDCG@10" for b in budgets) + " |",
             "|---|" + "---|---|" * len(budgets)]
    table = Table(title="Hit@10 / NDCG@10 (full ranking, test split), mean ± std over seeds")
    table.add_column("strategy")
    for b in budgets:
        table.add_column(f"B={b}", justify="right")
    for s in strategies:
        cells, md = [], []
        for b in budgets:
            rows = grouped.get((s, b), [])
            if not rows:
                cells.append("-")
                md += ["-", "-"]
                continue
            h = np.array([r["hit@10"] for r in rows])
            g = np.array([r["ndcg@10"] for r in rows])
            cells.append(f"{h.mean():.4f}±{h.std():.4f} / {g.mean():.4f}±{g.std():.4f} (n={len(rows)})")
            md += [f"{h.mean():.4f} ± {h.std():.4f} (n={len(rows)})", f"{g.mean():.4f} ± {g.std():.4f}"]
        table.add_row(s, *cells)
        lines.append(f"| {s} | " + " | ".join(md) + " |")
    console.print(table)
    (out / "table.md").write_text("\n".join(lines) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        console.print("matplotlib is not installed: no plot (the table is in table.md)")
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, metric in zip(axes, METRICS, strict=True):
        for s in strategies:
            bs = [b for b in budgets if grouped.get((s, b))]
            means = [np.mean([r[metric] for r in grouped[(s, b)]]) for b in bs]
            stds = [np.std([r[metric] for r in grouped[(s, b)]]) for b in bs]
            ax.errorbar(bs, means, yerr=stds, marker="o", capsize=3, label=s)
        ax.set_xscale("log")
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.set_xlabel("budget (training dialogs)")
        ax.set_ylabel(f"{metric} (test, full ranking)")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle("Seed selection on the sample world (scripted backend, cross-attention recommender)")
    fig.tight_layout()
    fig.savefig(out / "quality.png", dpi=120)
    console.print(f"plot: {out / 'quality.png'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--dialogs", type=Path, default=None,
                    help="dialogs.jsonl of a scripted run over every seed; None = play the seeds needed in "
                    "process (cached under OUT)")
    ap.add_argument("--worker", default="main", help="name of this process's dialog cache file under OUT")
    ap.add_argument("--validation-limit", type=int, default=None,
                    help="early-stop on this many validation dialogs (a seeded spread); None = all")
    ap.add_argument("--test-limit", type=int, default=None,
                    help="test on this many test dialogs (a seeded spread); None = all")
    ap.add_argument("--pregenerate", action="store_true",
                    help="only play the picks of --strategies x --budgets x --seeds, last first (a helper "
                    "process for the main one)")
    ap.add_argument("--prepare-eval", action="store_true",
                    help="only play the validation and test dialogs (a second process can do it meanwhile)")
    ap.add_argument("--out", type=Path, default=Path("runs/selection_quality"), help="results folder")
    ap.add_argument("--budgets", type=int, nargs="+", default=[500, 1000, 2000, 5000], help="budgets B")
    ap.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES),
                    help="strategies to compare")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="selection and training seeds")
    ap.add_argument("--epochs", type=int, default=3,
                    help="training epochs at most (early stopping on validation)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: on a busy machine, more "
                    "threads spin; measured 7x slower with 2 at load 13)")
    ap.add_argument("--report-only", action="store_true",
                    help="only tabulate and plot what results.jsonl has")
    args = ap.parse_args(argv)
    console = Console()
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.jsonl"
    results = done_runs(results_path)
    if args.report_only:
        report(results, args.out, console)
        return 0

    import logging

    import structlog
    import torch
    from selection_dialogs import ScriptedDialogs

    from profiling.pipeline import ProfilingConfig, load_or_run_profiling
    from profiling.sample_world import load_sample_world
    from profiling.seeds import SeedConfig, make_seeds, split_seeds
    from recommender.experiment import run_experiment

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    torch.set_num_threads(args.threads)
    console.print(f"machine: {machine()}")
    console.print(load_note())
    corpus = load_sample_world()
    # The engine's stage 1 and seed cut for run seed 0 (what the dialogs file was generated from).
    result = load_or_run_profiling(corpus, ProfilingConfig(seed=0), progress=True)
    seeds, cuts = split_seeds(make_seeds(corpus, SeedConfig(seed=0)))
    by_split: dict[str, list[Any]] = defaultdict(list)
    if args.dialogs is not None:
        dialogs = read_dialogs(args.dialogs)
        for s in seeds:
            if s.key in dialogs:
                by_split[s.split or ""].append(s)
        source = None
    else:
        # No full file: play the seeds needed, in process (see bench/selection_dialogs.py).
        source = ScriptedDialogs(corpus, result, args.out / f"dialogs-{args.worker}.jsonl")
        dialogs = source.records
        for s in seeds:
            by_split[s.split or ""].append(s)
    for split, limit in (("validation", args.validation_limit), ("test", args.test_limit)):
        if limit is not None:  # a spread over users and time, the same in every process
            spread = sorted(by_split[split], key=lambda s: hashlib.sha256(f"0|{s.key}".encode()).digest())
            by_split[split] = spread[:limit]
    if args.prepare_eval:
        assert source is not None, "--prepare-eval plays dialogs: it needs no --dialogs"
        # Backwards: the main process plays the same list forwards when it gets there; they meet midway.
        source.ensure(list(reversed(by_split["test"] + by_split["validation"])), "evaluation dialogs")
        console.print(f"validation and test dialogs ready: {len(source.records)} dialogs cached")
        return 0
    pool = by_split["train"]
    console.print(f"seeds {cuts.counts}; pool = {len(pool)} train seeds; "
                  f"source: {args.dialogs or 'played in process (scripted)'}")
    budgets = sorted(b for b in args.budgets if b <= len(pool))
    if len(budgets) < len(args.budgets):
        console.print(f"budgets above the pool of {len(pool)} dropped")

    # Features once for the pool (what order_seeds builds on each call; its feature seed is fixed at 0 here
    # so that the three selection seeds differ only in the strategies' own random choices).
    t0 = time.perf_counter()
    feats = build_seed_features(corpus, result, pool, FeatureConfig(seed=0), progress=True)
    console.print(f"features: {feats.describe()} in {time.perf_counter() - t0:.1f} s")
    by_key = {s.key: s for s in pool}
    orders: dict[tuple[str, int, int], tuple[list[str], dict[str, Any]]] = {}

    def picks(strategy: str, seed: int, budget: int) -> tuple[list[str], dict[str, Any]]:
        key = (strategy, budget if strategy == "stratified" else max(budgets), seed)
        if key not in orders:
            t0 = time.perf_counter()
            record = select_seeds(feats, strategy, key[1], seed).model_dump(mode="json")
            record["seconds"] = round(time.perf_counter() - t0, 2)
            orders[key] = (record["keys"], record)
            console.print(f"  selected {strategy} seed={seed} B={key[1]} in {record['seconds']} s "
                          f"{'; '.join(record['notes'])}")
        keys, record = orders[key]
        return keys[:budget], record

    todo = [(seed, budget, strategy) for seed in args.seeds for budget in budgets
            for strategy in args.strategies if (strategy, budget, seed) not in results]
    if args.pregenerate:
        assert source is not None, "--pregenerate plays dialogs: it needs no --dialogs"
        for seed, budget, strategy in reversed(todo):
            chosen = [by_key[x] for x in picks(strategy, seed, budget)[0]]
            source.ensure(chosen, f"{strategy} B={budget} picks")
        return 0
    with results_path.open("a") as fh:
        for k, (seed, budget, strategy) in enumerate(todo):
            if source is not None:
                chosen = [by_key[x] for x in picks(strategy, seed, budget)[0]]
                source.ensure(chosen, f"{strategy} B={budget} picks")
                source.ensure(by_split["test"] + by_split["validation"], "validation and test dialogs")
            keys, record = picks(strategy, seed, budget)
            train = [dialogs[x] for x in keys if x in dialogs]  # a seed that cannot be planned has none
            validation = [dialogs[s.key] for s in by_split["validation"] if s.key in dialogs]
            test = [dialogs[s.key] for s in by_split["test"] if s.key in dialogs]
            t0 = time.perf_counter()
            metrics = run_experiment(train, validation, test, model="cross", seed=seed, epochs=args.epochs)
            row = {"strategy": strategy, "budget": budget, "seed": seed, **metrics,
                   "train_seconds": round(time.perf_counter() - t0, 1), "picked": len(keys),
                   "with_dialog": len(train), "select_seconds": record["seconds"],
                   "approximate": record["approximate"],
                   "accepted_picked": sum(r.get("status") == "accepted" for r in train),
                   "distinct_targets": len({r["target"]["item"] for r in train}),
                   "epochs": args.epochs, "load": os.getloadavg()[0]}
            results[(strategy, budget, seed)] = row
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            console.print(f"[{k + 1}/{len(todo)}] {strategy:>10} B={budget:<5} seed={seed}: hit@10 "
                          f"{metrics['hit@10']:.4f} ndcg@10 {metrics['ndcg@10']:.4f} (train "
                          f"{row['train_seconds']} s, {row['accepted_picked']} accepted, "
                          f"{row['distinct_targets']} targets)")
    report(results, args.out, console)
    console.print(load_note())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
