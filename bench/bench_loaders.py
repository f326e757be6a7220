"""Benchmark of the streaming loaders: reviews/s and peak memory of ``load_amazon2023`` on a generated file.

Generates (once, deterministically, cached) an Amazon Reviews 2023 JSONL of ``--n`` reviews with
300-600 character texts and its metadata file, then loads it in a fresh subprocess so that the peak
RSS (``ru_maxrss``) counts the load alone, not the generation. Prints the figures and the machine.

    .venv/bin/python bench/bench_loaders.py            # 1,000,000 reviews, plain JSONL
    .venv/bin/python bench/bench_loaders.py --gzip     # the same file gzip-compressed
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import orjson
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from profiling.cache_dir import cache_dir

_VOCABULARY = ("the fit is true to size and the fabric feels soft but the battery died after two weeks so I "
          "returned it although customer service was quick and friendly the color matches the photos "
          "sound quality is crisp with deep bass screen scratches easily price was fair for what you get "
          "shipping took longer than promised instructions were unclear setup took ten minutes works "
          "great with my phone would buy again not worth the money broke on first use")

_CHILD = """
import json, resource, sys, time
from profiling.loaders import load_amazon2023
t, c = time.perf_counter(), time.process_time()
result = load_amazon2023(sys.argv[1], sys.argv[2])
elapsed, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"elapsed_s": elapsed, "cpu_s": cpu, "loaded": result.report.loaded,
                  "items": result.corpus.n_items, "users": result.corpus.n_users,
                  "skipped": result.report.n_skipped, "duplicates": result.report.duplicates,
                  "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def generate(n: int, seed: int, compress: bool) -> tuple[Path, Path]:
    """The cached review and metadata files for (n, seed, compress), written once."""
    folder = cache_dir("bench_loaders")
    suffix = ".jsonl.gz" if compress else ".jsonl"
    reviews = folder / f"amazon2023_{n}_{seed}{suffix}"
    meta = folder / f"amazon2023_meta_{n}_{seed}{suffix}"
    if reviews.exists() and meta.exists():
        return reviews, meta
    rng = np.random.default_rng(seed)
    n_users, n_items = max(1, n // 5), max(1, n // 20)
    # Skewed popularity, as in real review dumps: a few heavy users and items, a long tail.
    users = (n_users * rng.random(n) ** 3).astype(np.int64)
    items = (n_items * rng.random(n) ** 2).astype(np.int64)
    ratings = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], n, p=[0.08, 0.06, 0.1, 0.2, 0.56])
    ts = rng.integers(1_420_070_400_000, 1_694_000_000_000, n)  # 2015-01-01 .. 2023-09
    lengths = rng.integers(300, 601, n)
    words = np.asarray(_VOCABULARY.split())
    pool = [" ".join(words[rng.integers(0, len(words), 120)]) for _ in range(4096)]
    starts = rng.integers(0, 4096, n)
    # gzip level 6 (gzip's own default) rather than Python's 9: a third of the time, nearly the same size.
    opener = partial(gzip.open, compresslevel=6) if compress else open
    tmp = reviews.with_suffix(".tmp")
    with opener(tmp, "wb") as f, Progress(transient=True) as bar:
        task = bar.add_task("generating reviews", total=n)
        for k in range(n):
            text = pool[starts[k]][: lengths[k]]
            f.write(orjson.dumps({
                "rating": float(ratings[k]), "title": pool[starts[k] - 1][:40], "text": text, "images": [],
                "asin": f"B{items[k]:09d}", "parent_asin": f"P{items[k]:09d}", "user_id": f"U{users[k]:012d}",
                "timestamp": int(ts[k]), "helpful_vote": int(k % 7), "verified_purchase": bool(k % 3),
            }, option=orjson.OPT_APPEND_NEWLINE))
            if k % 50_000 == 0:
                bar.update(task, completed=k)
    tmp.rename(reviews)
    with opener(meta, "wb") as f:
        for i in range(n_items):
            f.write(orjson.dumps({
                "main_category": "All Electronics", "title": f"Product {i}", "average_rating": 4.2,
                "rating_number": 10, "features": ["fast"], "description": [pool[i % 4096][:200]],
                "price": None, "images": [], "videos": [], "store": f"Store {i % 97}",
                "categories": ["Electronics", f"Sub {i % 13}"], "details": {"Color": "black"},
                "parent_asin": f"P{i:09d}", "bought_together": None,
            }, option=orjson.OPT_APPEND_NEWLINE))
    return reviews, meta


def machine() -> str:
    """Platform, CPU count, Python and torch versions (torch is unused here; it pins the project's stack)."""
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:  # the figures stand without torch; say so rather than fail
        torch_version = "not installed"
    return (f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"torch {torch_version}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000,
                        help="reviews in the generated Amazon 2023 file (default: 1,000,000)")
    parser.add_argument("--gzip", action="store_true",
                        help="generate and load a gzip-compressed file (default: plain JSONL)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated data (default: 0)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="timed loads, each in a fresh subprocess; the best is reported (default: 1)")
    args = parser.parse_args()
    if args.n < 1 or args.repeat < 1:
        parser.error("--n and --repeat must be at least 1")
    reviews, meta = generate(args.n, args.seed, args.gzip)
    root = Path(__file__).resolve().parents[1]
    runs = []
    for _ in range(args.repeat):
        out = subprocess.run([sys.executable, "-c", _CHILD, str(reviews), str(meta)], cwd=root,
                             capture_output=True, text=True, check=True)
        runs.append(orjson.loads(out.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["elapsed_s"])
    size_mb = reviews.stat().st_size / 1e6
    print(f"machine: {machine()}")
    print(f"file: {reviews.name} ({size_mb:,.0f} MB{', gzip' if args.gzip else ''}) + metadata {meta.name}")
    print(f"loaded {best['loaded']:,} reviews ({best['users']:,} users, {best['items']:,} items, "
          f"{best['duplicates']:,} duplicates dropped, {best['skipped']:,} skipped)")
    for k, r in enumerate(runs, 1):
        print(f"run {k}: {r['elapsed_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU, "
              f"{r['loaded'] / r['elapsed_s']:,.0f} reviews/s wall, "
              f"{r['loaded'] / r['cpu_s']:,.0f} reviews/CPU-s, "
              f"peak RSS {r['maxrss_mib']:,.0f} MiB")
    print(f"best: {best['loaded'] / best['elapsed_s']:,.0f} reviews/s (wall clock); "
          f"peak RSS {best['maxrss_mib']:,.0f} MiB (the whole child process: Python, numpy, the corpus)")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          f"(above the CPU count, other work shared the machine and the wall figures are pessimistic)")


if __name__ == "__main__":
    main()
