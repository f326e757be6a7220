"""Benchmark of the recommender: the five models side by side, and the cost of training.

Quality: every model trained on the dataset's train split with each seed (early-stopped on validation),
evaluated on its test split under full ranking (primary) and target + 24 sampled items, mean ± std,
chance levels beside; then the paper's claim checked: cross-attention's Hit@1 against the best other
model's, relative.
Cost: one epoch of the default cross-attention model on ``--timing-dialogs`` accepted dialogs (all
splits pooled, just for timing), in a fresh subprocess so its peak RSS is the training alone.

    .venv/bin/python bench/bench_recommender.py --data /work/data/scripted_all/dialogs.jsonl
    .venv/bin/python bench/bench_recommender.py --data D.jsonl --part timing
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import load_note

from recommender.config import MODEL_NAMES, ModelConfig, TrainConfig
from recommender.dataset import ItemCatalog, examples_from_records, load_records
from recommender.tables import mean_std, protocol_note, results_tables
from recommender.training import evaluate, prepare, train


def machine() -> str:
    import torch

    return (
        f"{platform.platform()} | {os.cpu_count()} CPUs | {platform.processor() or platform.machine()} | "
        f"python {platform.python_version()} | torch {torch.__version__} ({torch.get_num_threads()} threads)"
    )


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def timing(
    data: Path, n: int, epochs: int, threads: int, repeat_to: int, console: Console
) -> dict[str, float]:
    """Seconds per epoch (wall and CPU) of the default cross model on ``n`` accepted dialogs, and peak RSS."""
    records = load_records(data)
    examples = examples_from_records(records)
    if repeat_to and len(examples) < repeat_to:
        base = examples
        examples = [dataclasses.replace(base[k % len(base)], dialog_id=f"{base[k % len(base)].dialog_id}#{k}")
                    for k in range(repeat_to)]  # fmt: skip
        note = f"timing on {len(base):,} accepted dialogs repeated to {repeat_to:,} (same lengths)"
        console.print(f"[yellow]{note}", soft_wrap=True)
    if len(examples) < n:
        console.print(f"[yellow]only {len(examples):,} accepted dialogs, timing on all of them (asked {n:,})")
    pool = [dataclasses.replace(e, split="train") for e in examples[:n]]
    # Validation and test are required by prepare(); a few dialogs each, outside the timed epoch.
    extra = [
        dataclasses.replace(e, split=s)
        for e, s in zip(examples[n : n + 20], ["validation", "test"] * 10, strict=False)
    ]
    if len(extra) < 2:
        extra = [dataclasses.replace(pool[0], split="validation"), dataclasses.replace(pool[1], split="test")]
    cfg = ModelConfig()
    prepared = prepare(pool + extra, cfg, catalog=ItemCatalog.from_records(records))
    del records
    params = None
    per_epoch, cpu = [], []
    for _ in range(epochs):
        cpu0 = time.process_time()
        res = train(prepared, cfg, TrainConfig(epochs=1, seed=0, threads=threads), quiet=True)
        cpu.append(time.process_time() - cpu0)  # the epoch plus a validation pass over 10 dialogs
        per_epoch.append(res.epochs[0].seconds)
        params = sum(p.numel() for p in res.model.parameters())
    return {
        "dialogs": len(pool),
        "seconds_per_epoch": min(per_epoch),
        "seconds_per_epoch_max": max(per_epoch),
        "cpu_seconds_per_epoch": min(cpu),
        "peak_rss_mib": _peak_rss_mib(),
        "parameters": float(params or 0),
        "threads": threads,
    }


def quality(data: Path, models: list[str], seeds: list[int], epochs: int, console: Console) -> None:
    records = load_records(data)
    examples = examples_from_records(records)
    catalog = ItemCatalog.from_records(records)
    console.print(f"data: {data} · {len(records):,} lines · {len(examples):,} accepted")
    runs: dict[str, list] = {}
    info: dict[str, list[str]] = {}
    prepared = None
    for name in models:
        cfg = ModelConfig(name=name)  # type: ignore[arg-type]
        if prepared is None:
            prepared = prepare(examples, cfg, catalog=catalog)
            sizes = {k: len(v) for k, v in prepared.splits.items()}
            turns = ((prepared.splits["train"].speakers != 0).sum(1) - 1).float()  # minus the [CLS] slot
            console.print(
                f"splits {sizes} · {prepared.featurizer.n_items} items · {len(prepared.featurizer.vocab)} "
                f"words and pairs · context turns mean {float(turns.mean()):.1f}, max {int(turns.max())}"
            )
        runs[name], info[name] = [], []
        for seed in seeds:
            started = time.perf_counter()
            res = train(prepared, cfg, TrainConfig(seed=seed, epochs=epochs), quiet=False, console=console)
            test = evaluate(res.model, prepared.splits["test"], seed=seed)
            runs[name].append(test)
            secs = [e.seconds for e in res.epochs]
            info[name].append(
                f"seed {seed}: best epoch {res.best_epoch}/{len(res.epochs)}, "
                f"{np.mean(secs):.1f} s/epoch, {time.perf_counter() - started:.0f} s total"
            )
            console.print(f"{name} {info[name][-1]} · test hit@1 {test['full']['hit@1']:.4f}")
            # Each run's figures as they come, so a long benchmark that is stopped still shows them.
            console.print(f"run {json.dumps({'model': name, 'seed': seed, **test})}", soft_wrap=True)
    assert prepared is not None
    meta = {"n_items": prepared.featurizer.n_items, "n_test": len(prepared.splits["test"]), "seeds": seeds}
    console.print(f"meta {json.dumps(meta)}", soft_wrap=True)
    for name in models:
        for line in info[name]:
            console.print(f"info {json.dumps({'model': name, 'line': line})}", soft_wrap=True)
    report(runs, info, meta, console)


def report(runs: dict[str, list], info: dict[str, list[str]], meta: dict, console: Console) -> None:
    """The tables and the claim check, from each run's test figures."""
    console.print(protocol_note(meta["n_items"], meta["n_test"], 25, meta["seeds"]), soft_wrap=True)
    for t in results_tables(runs, n_items=meta["n_items"], n_candidates=25):
        console.print(t)
    for name in runs:
        for line in info.get(name, []):
            console.print(f"  {name} {line}")
    if "cross" in runs and len(runs) > 1:
        for protocol in ("full", "sampled"):
            stats = {m: mean_std([r[protocol] for r in rs])["hit@1"] for m, rs in runs.items()}
            best = max((m for m in stats if m != "cross"), key=lambda m: stats[m][0])
            c, b = stats["cross"][0], stats[best][0]
            rel = (c - b) / b * 100 if b else float("inf")
            verdict = "holds" if rel >= 10 else "does not hold"
            console.print(
                f"claim ({protocol}): cross hit@1 {c:.4f} vs best other ({best}) {b:.4f}: "
                f"{rel:+.1f}% relative -> the >= +10% claim {verdict}"
            )
    out = {m: [{"full": r["full"], "sampled": r["sampled"]} for r in rs] for m, rs in runs.items()}
    console.print_json(json.dumps({"per_seed": out}))


def combine(logs: list[Path], console: Console) -> None:
    """Tables from the logs of several quality runs (e.g. the models split over two processes, one per
    core): their ``run``, ``info`` and ``meta`` lines; the runs must share the data and the seeds."""
    runs: dict[str, list] = {}
    info: dict[str, list[str]] = {}
    metas = []
    for log in logs:
        for line in log.read_text().splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "run":
                r = json.loads(rest)
                runs.setdefault(r.pop("model"), []).append((r.pop("seed"), r))
            elif kind == "info":
                i = json.loads(rest)
                info.setdefault(i["model"], []).append(i["line"])
            elif kind == "meta":
                metas.append(json.loads(rest))
    if not metas or any(m != metas[0] for m in metas):
        raise SystemExit(f"the logs do not come from runs on the same data and seeds: {metas}")
    ordered = {m: [r for _, r in sorted(rs, key=lambda x: x[0])] for m, rs in runs.items()}
    report(ordered, info, metas[0], console)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    ap.add_argument(
        "--data",
        type=Path,
        default=Path("/work/data/scripted_all/dialogs.jsonl"),
        help="dialogs.jsonl from python -m engine.run --backend scripted",
    )
    ap.add_argument("--part", choices=("all", "quality", "timing"), default="all", help="what to measure")
    ap.add_argument(
        "--models", nargs="+", choices=MODEL_NAMES, default=list(MODEL_NAMES), help="models compared"
    )
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds per model")
    ap.add_argument("--epochs", type=int, default=TrainConfig().epochs, help="most epochs (early stopping)")
    ap.add_argument("--timing-dialogs", type=int, default=10000, help="accepted dialogs in the timed epoch")
    ap.add_argument("--timing-epochs", type=int, default=2, help="timed epochs (the fastest is reported)")
    ap.add_argument("--threads", type=int, default=TrainConfig().threads, help="torch threads, timed run")
    ap.add_argument(
        "--repeat-to",
        type=int,
        default=0,
        help="timing only: repeat the file's accepted dialogs (new ids) up to this many, when the dataset is "
        "smaller; the cost depends only on lengths, which repeating keeps (0: off)",
    )
    ap.add_argument("--combine", type=Path, nargs="+", metavar="LOG",
                    help="only print the tables of earlier --part quality runs from their output logs")
    args = ap.parse_args(argv)
    console = Console() if Console().is_terminal else Console(width=170)
    if args.combine:
        combine(args.combine, console)
        return 0
    console.print(f"machine: {machine()}")
    console.print(load_note())
    if args.part in ("all", "timing"):
        if args.part == "all":  # a fresh process: its peak RSS is the timed training alone
            cmd = [sys.executable, __file__, "--data", str(args.data), "--part", "timing",
                   "--timing-dialogs", str(args.timing_dialogs), "--timing-epochs", str(args.timing_epochs),
                   "--threads", str(args.threads), "--repeat-to", str(args.repeat_to)]  # fmt: skip
            subprocess.run(cmd, check=True)
        else:
            t = timing(
                args.data, args.timing_dialogs, args.timing_epochs, args.threads, args.repeat_to, console
            )
            console.print(
                f"timing: default cross model ({int(t['parameters']):,} parameters, {t['threads']} torch "
                f"threads), one epoch on {t['dialogs']:,} dialogs: {t['seconds_per_epoch']:.1f} s wall "
                f"(slowest {t['seconds_per_epoch_max']:.1f} s), {t['cpu_seconds_per_epoch']:.1f} CPU s · "
                f"peak RSS {t['peak_rss_mib']:.0f} MiB"
            )
            console.print(load_note())
    if args.part in ("all", "quality"):
        quality(args.data, args.models, args.seeds, args.epochs, console)
        console.print(load_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
