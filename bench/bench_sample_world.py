"""Benchmark the sample world: generation time and size, truth and corpus load times, and how hard it is.

Prints the machine it ran on, then one line per figure. "Ceiling" figures are computed from the truth
labels themselves (what a perfect aspect and sentiment model would reach); ``--nmi`` adds a real
baseline: all-MiniLM-L6-v2 embeddings of single-aspect sentences clustered by k-means (slow on CPU).
Run from the repository root:
    .venv/bin/python bench/bench_sample_world.py [--seed N] [--repeats N] [--nmi N_SENTENCES]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from profiling.sample_world import WorldConfig, WorldTruth, generate_world, load_truth


def machine() -> str:
    import torch

    return (f"machine: {platform.platform()} | cpus: {os.cpu_count()} | python {platform.python_version()} "
            f"| torch {torch.__version__}")


def ceilings(truth: WorldTruth) -> list[str]:
    """Figures computed from the truth labels: the best a profiler could reach."""
    n = len(truth.sentences)
    shares = Counter(len(s.aspects) for s in truth.sentences)
    out = [f"sentences: {n} ({n / truth.config.n_reviews:.2f} per review); no aspect {shares[0] / n:.1%}, "
           f"two aspects {shares[2] / n:.1%}, hedged {sum(s.hedged for s in truth.sentences) / n:.1%}, "
           f"negated {sum(s.negated for s in truth.sentences) / n:.1%}"]
    mentions: dict[str, list[tuple[int, int]]] = defaultdict(list)
    series: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    for s in truth.sentences:
        for a, p in zip(s.aspects, s.polarity, strict=True):
            mentions[s.user_id].append((s.timestamp, a))
            series[(s.item, a)].append((s.timestamp, p))
    recall = []
    for user, pairs in mentions.items():
        last = datetime.fromtimestamp(max(t for t, _ in pairs) / 1000, UTC)
        top = {a for a, _ in Counter(a for _, a in pairs).most_common(3)}
        recall.append(len(top & set(truth.user_top_aspects(user, last))) / 3)
    out.append(f"ceiling top-3 recall (label counts vs planted top-3 at each user's last review): "
               f"{np.mean(recall):.3f} over {len(recall)} users")
    hits = total = 0
    for (item, a), pts in series.items():
        direction = truth.trajectory_direction(item, a)
        if direction == "stable" or len(pts) < 20:
            continue
        t = np.array([x for x, _ in pts], dtype=float)
        p = np.array([y for _, y in pts], dtype=float)
        hits += (np.polyfit((t - t.mean()) / t.std(), p, 1)[0] > 0) == (direction == "improving")
        total += 1
    out.append(f"ceiling trajectory direction (label polarity slope, pairs with >= 20 mentions): "
               f"{hits / total:.3f} over {total} moving pairs")
    return out


def nmi_baseline(truth: WorldTruth, n: int, seed: int) -> str:
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    from profiling.encoders import MiniLMEncoder

    single = [s for s in truth.sentences if len(s.aspects) == 1]
    sample = random.Random(seed).sample(single, min(n, len(single)))
    started = time.perf_counter()
    x = MiniLMEncoder().encode([s.text for s in sample])
    encode_s = time.perf_counter() - started
    labels = KMeans(len(truth.aspects), n_init=5, random_state=seed).fit_predict(x)
    score = normalized_mutual_info_score([s.aspects[0] for s in sample], labels)
    return (f"baseline NMI (MiniLM + k-means, k = {len(truth.aspects)}, {len(sample)} single-aspect "
            f"sentences): {score:.3f} (encoding took {encode_s:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="the world's seed (default: 0)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="generations to time; the best is reported (default: 3)")
    parser.add_argument("--nmi", type=int, default=0,
                        help="also cluster this many single-aspect sentences with MiniLM + k-means "
                             "(default: 0 = skip; 2000 takes about 10-90 s on 2 shared cores)")
    args = parser.parse_args()
    print(machine())
    config = WorldConfig(seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        times, cpu = [], []
        for k in range(args.repeats):
            started, started_cpu = time.perf_counter(), time.process_time()
            paths = generate_world(config, Path(tmp, str(k)))
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        sizes = {p.name: p.stat().st_size for p in (paths.reviews, paths.meta, paths.truth)}
        # CPU time too: on shared cores the wall clock mostly measures the neighbours.
        median = sorted(times)[len(times) // 2]
        print(f"generate default world (seed {args.seed}): best {min(times):.2f} s wall, "
              f"{min(cpu):.2f} s CPU; median {median:.2f} s wall over {args.repeats} runs")
        print("files: " + ", ".join(f"{name} {size / 1e6:.2f} MB" for name, size in sizes.items())
              + f", total {sum(sizes.values()) / 1e6:.2f} MB")
        started, started_cpu = time.perf_counter(), time.process_time()
        truth = load_truth(paths.truth)
        print(f"load_truth: {time.perf_counter() - started:.2f} s wall, "
              f"{time.process_time() - started_cpu:.2f} s CPU")
        from profiling.loaders import load_amazon2023

        started = time.perf_counter()
        corpus = load_amazon2023(paths.reviews, paths.meta).corpus
        print(f"load_amazon2023 of the world: {time.perf_counter() - started:.2f} s "
              f"({len(corpus)} reviews, {corpus.n_users} users, {corpus.n_items} items)")
        ratings = Counter(float(r) for r in corpus.columns.rating)
        print("ratings: " + ", ".join(f"{int(k)}* {v / len(corpus):.1%}" for k, v in sorted(ratings.items()))
              + f", mean {float(corpus.columns.rating.mean()):.2f}")
        for line in ceilings(truth):
            print(line)
        if args.nmi:
            print(nmi_baseline(truth, args.nmi, args.seed))


if __name__ == "__main__":
    main()
