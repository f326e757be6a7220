"""Benchmark of seed selection at scale: time and memory of each strategy on up to a million candidates.

Features are synthetic (``profiling.selection.synthetic_features``: Gaussian blobs of unequal size, Zipf
item popularity) with the sizes of real ones: 64-dim combined features, 256-dim review embeddings (the
fast encoder's width), float32. Building real features for a million seeds is encoding a million reviews
(the fast encoder's cost, measured in bench_profiling.py), not selection.

Part 1 times every strategy at ``--n`` candidates for each budget with default parameters (k-center
distances kept exactly with cell pruning; Jensen-Shannon scored on 16,384 candidates per step; see
profiling/selection/strategies.py). Part 2 compares, on ``--compare-n`` candidates, k-center with the
plain update, with cell pruning (the same picks, faster) and on a subsampled pool (faster still, but
worse): time, and the covering radius over the *whole* pool (the largest distance of a candidate to its
nearest pick).

    .venv/bin/python bench/bench_selection_scale.py                          # 1,000,000 candidates
    .venv/bin/python bench/bench_selection_scale.py --n 200000 --budgets 1000
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import load_note

from profiling.selection import STRATEGIES, SelectionParams, select_seeds, synthetic_features
from profiling.selection.kmeans import squared_distances


def machine() -> str:
    return (f"{platform.platform()} | {os.cpu_count()} CPUs | {platform.processor() or platform.machine()} | "
            f"python {platform.python_version()} | numpy {np.__version__}")


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # ru_maxrss is KiB on Linux


def covering_radius(x: np.ndarray, picks: np.ndarray, chunk: int = 50_000) -> float:
    """The largest distance from a row of ``x`` to its nearest pick (chunked: memory chunk * picks)."""
    worst = 0.0
    for lo in range(0, len(x), chunk):
        worst = max(worst, float(squared_distances(x[lo:lo + chunk], x[picks]).min(1).max()))
    return worst ** 0.5


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="candidate seeds in part 1")
    ap.add_argument("--budgets", type=int, nargs="+", default=[1000, 5000], help="budgets of part 1")
    ap.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES),
                    help="strategies to time")
    ap.add_argument("--compare-n", type=int, default=200_000,
                    help="candidates of part 2 (plain, pruned, subsampled k-center); 0 skips it")
    ap.add_argument("--compare-pool", type=int, default=50_000,
                    help="max_pool of the subsampled run in part 2")
    ap.add_argument("--compare-budget", type=int, default=1000, help="budget of part 2")
    ap.add_argument("--seed", type=int, default=0, help="seed of the features and of the selections")
    args = ap.parse_args(argv)
    console = Console()
    console.print(f"machine: {machine()}")
    console.print(load_note())

    t0 = time.perf_counter()
    feats = synthetic_features(args.n, dim=64, review_dim=256, clusters=200, n_items=50_000, seed=args.seed)
    console.print(f"features: {args.n:,} candidates, combined {feats.combined.shape[1]} dims, review "
                  f"{feats.review.shape[1]} dims, float32, built in {time.perf_counter() - t0:.1f} s")
    table = Table(title=f"selection time, {args.n:,} candidates (default parameters)")
    for col in ("strategy", "budget", "seconds", "approximate", "considered", "peak RSS GB"):
        table.add_column(col, justify="right")
    for strategy in args.strategies:
        for budget in args.budgets:
            t0 = time.perf_counter()
            sel = select_seeds(feats, strategy, budget, seed=args.seed)
            dt = time.perf_counter() - t0
            table.add_row(strategy, f"{budget:,}", f"{dt:.1f}", str(sel.approximate), f"{sel.n_considered:,}",
                          f"{peak_rss_gb():.2f}")
            console.print(f"  {strategy} B={budget}: {dt:.1f} s {'; '.join(sel.notes)}")
    console.print(table)
    console.print(load_note())
    del feats

    if args.compare_n:
        feats = synthetic_features(args.compare_n, dim=64, review_dim=64, clusters=200, seed=args.seed + 1)
        table = Table(title=f"k-center: plain, pruned (exact) and subsampled pool, {args.compare_n:,} "
                            f"candidates, budget {args.compare_budget:,}")
        for col in ("run", "seconds", "covering radius (whole pool)", "vs exact"):
            table.add_column(col, justify="right")
        exact = 0.0
        subsample = SelectionParams(max_pool=args.compare_pool)
        runs = [("kcenter, plain update", SelectionParams(cells=1)),
                ("kcenter, cell pruning", SelectionParams()),
                (f"kcenter, pool subsample {args.compare_pool:,}", subsample),
                ("random", SelectionParams())]
        for label, params in runs:
            t0 = time.perf_counter()
            sel = select_seeds(feats, label.split(",")[0], args.compare_budget, seed=args.seed, params=params)
            dt = time.perf_counter() - t0
            picks = np.array([int(k[1:]) for k in sel.keys])
            radius = covering_radius(feats.combined, picks)
            exact = exact or radius
            table.add_row(label, f"{dt:.1f}", f"{radius:.3f}", f"{radius / exact:.3f}")
        console.print(table)
        console.print(load_note())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
