"""Stage 1 against the sample world's ground truth, and its speed on >= 100,000 sentences.

Quality (default sample world, 15,000 reviews): NMI of aspect labels on single-aspect sentences,
recall of each user's planted top-3 aspects among the profile's top-3, direction of planted
community trajectories, and sentence polarity agreement (raw VADER vs calibrated).

Discovered aspects are mapped to planted ones many-to-one (each discovered aspect to the planted
aspect most of its single-aspect sentences carry), and the profiler is rebuilt on the mapped labels,
so the figures come from the very code the engine uses.

Speed: a bigger world (>= 100k sentences), each encoder in a fresh process with a cold embedding
cache (the fast encoder's one-time distillation and the sentiment calibration's one-time fit are
done before timing and reported apart), end to end: split, embed, sentiment, aspects, profiles;
peak RSS of that process. MiniLM is timed on a subset and its embed step extrapolated linearly when
``--minilm-sentences`` is below the world's size (printed as such).

    .venv/bin/python bench/bench_profiling.py            # everything (~10 min on 2 cores)
    .venv/bin/python bench/bench_profiling.py --skip-speed
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import numpy as np
from machine import load_note

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from profiling.corpus import Corpus, from_millis
from profiling.profiler import SentenceFacts, TemporalProfiler
from profiling.profiles import Aspect

SPEED_WORLD = {"n_reviews": 42000, "n_users": 1450, "n_items": 800}  # ~105k sentences
MIN_TRAJECTORY_MENTIONS = 40  # sentences on the (item, aspect) pair over the whole span
MIN_HISTORY = 5  # reviews before a seed time for the top-3 recall


def machine() -> str:
    import torch

    return (
        f"{platform.platform()} | {platform.processor() or platform.machine()} | "
        f"cpu_count={os.cpu_count()} | "
        f"python {platform.python_version()} | torch {torch.__version__} | numpy {np.__version__}"
    )


def nmi(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised mutual information (arithmetic mean of entropies) of two labelings."""
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    joint = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(joint, (ai, bi), 1)
    p = joint / joint.sum()
    pa, pb = p.sum(1), p.sum(0)
    nz = p > 0
    mi = float((p[nz] * np.log(p[nz] / np.outer(pa, pb)[nz])).sum())
    ha = -float((pa[pa > 0] * np.log(pa[pa > 0])).sum())
    hb = -float((pb[pb > 0] * np.log(pb[pb > 0])).sum())
    return 2 * mi / (ha + hb) if ha + hb > 0 else 1.0


def quality(encoder: str) -> dict[str, float | int | str]:
    from profiling.pipeline import ProfilingConfig, load_or_run_profiling
    from profiling.sample_world import ensure_sample_world, load_sample_world, load_truth
    from profiling.sentiment import score_sentences

    corpus = load_sample_world()
    truth = load_truth(ensure_sample_world().truth)
    t0 = time.perf_counter()
    # Cached: the quality figures do not depend on timing; the speed section times a cold run.
    res = load_or_run_profiling(corpus, ProfilingConfig(encoder=encoder))
    took = time.perf_counter() - t0
    table = res.table
    planted: list[tuple[list[int], list[int]] | None] = []
    for k in range(len(table)):
        planted.append(
            truth.sentence_label(
                corpus.users[table.user[k]], corpus.item_ids[table.item[k]], int(table.ts[k]), table.texts[k]
            )
        )
    found = sum(p is not None for p in planted)
    single = np.array([p is not None and len(p[0]) == 1 for p in planted])
    true_single = np.array([p[0][0] if p is not None and len(p[0]) == 1 else -1 for p in planted])
    pol_single = np.array([p[1][0] if p is not None and len(p[1]) == 1 else 0 for p in planted])
    pred = res.labels
    # NMI on single-aspect sentences; those the model left without aspect count as one more cluster.
    score_nmi = nmi(true_single[single], pred[single])
    coverage = float((pred[single] >= 0).mean())

    # Many-to-one map of discovered aspects to planted ones, by majority of single-aspect sentences.
    n_planted = len(truth.aspects)
    mapping = np.full(len(res.aspects), -1)
    for a in range(len(res.aspects)):
        votes = Counter(true_single[single & (pred == a)].tolist())
        if votes:
            mapping[a] = votes.most_common(1)[0][0]
    mapped = np.where(pred >= 0, mapping[np.maximum(pred, 0)], -1).astype(np.int32)
    if res.mentions is not None:
        # Mentions, as the profiler reads them: a sentence about two aspects counts for both.
        m = res.mentions
        s = m.sentence
        facts = SentenceFacts(row=table.row[s], user=table.user[s], item=table.item[s], ts=table.ts[s],
                              label=mapping[m.aspect].astype(np.int32), sentiment=m.polarity,
                              texts=table.texts, sentence=s)
    else:
        facts = SentenceFacts(row=table.row, user=table.user, item=table.item, ts=table.ts, label=mapped,
                              sentiment=res.sentiments, texts=table.texts)
    truth_aspects = [Aspect(id=a.id, name=a.name) for a in truth.aspects]
    prof = TemporalProfiler(corpus, facts, truth_aspects, encoder=res.encoder, settings=res.config.settings())

    # Top-3 recall at every seed time with >= MIN_HISTORY reviews before it (the engine's seeds).
    c = corpus.columns

    def top3_recall(profiler: TemporalProfiler) -> tuple[list[float], list[float]]:
        every, last = [], []
        for user in corpus.users:
            rows = corpus.rows(user)
            for k in range(MIN_HISTORY, len(rows)):
                at = from_millis(int(c.ts[rows.start + k]))
                hit = (
                    len(set(truth.user_top_aspects(user, at, 3)) & set(profiler.top_aspects(user, at, 3))) / 3
                )
                every.append(hit)
                if k == len(rows) - 1:
                    last.append(hit)
        return every, last

    recalls, recalls_last = top3_recall(prof)
    # The same with the planted sentence labels (first planted aspect of each sentence): isolates the
    # profile computation from the quality of aspect discovery.
    planted_first = np.array([p[0][0] if p is not None and p[0] else -1 for p in planted], dtype=np.int32)
    oracle_facts = SentenceFacts(
        row=table.row,
        user=table.user,
        item=table.item,
        ts=table.ts,
        label=planted_first,
        sentiment=res.sentiments,
        texts=table.texts,
    )
    oracle = TemporalProfiler(
        corpus, oracle_facts, truth_aspects, encoder="planted labels", settings=res.config.settings()
    )
    oracle_recalls, _ = top3_recall(oracle)

    # Trajectory direction over the whole span, pairs with enough mentions only.
    end = from_millis(int(c.ts.max()) + 1)
    hits, pairs, stable_pairs = 0, 0, 0
    for item in corpus.item_ids:
        counts = prof.item_mentions(item, end)
        for a in truth.items[item].quality:
            if counts[a] < MIN_TRAJECTORY_MENTIONS:
                continue
            direction = truth.trajectory_direction(item, a)
            if direction == "stable":
                stable_pairs += 1
                continue
            pairs += 1
            slope = prof.trend(item, a, end, buckets=None)
            hits += (slope > 0) == (direction == "improving")

    # Sentence polarity vs planted polarity on single-aspect sentences: raw VADER vs calibrated.
    texts = [table.texts[k] for k in np.flatnonzero(single)]
    raw = score_sentences(texts, None)
    cal = res.sentiments[single]
    pol = pol_single[single]

    def agree(s: np.ndarray) -> float:
        return float(np.mean([np.mean(np.where(s[pol == p] >= 0, 1, -1) == p) for p in (1, -1)]))

    return {
        "encoder": res.encoder,
        "reviews": len(corpus),
        "sentences": len(table),
        "planted_found": found,
        "single_aspect_sentences": int(single.sum()),
        "planted_aspects": n_planted,
        "discovered_aspects": len(res.aspects),
        "nmi_single": round(score_nmi, 4),
        "single_with_aspect": round(coverage, 4),
        "top3_recall_all_seeds": round(float(np.mean(recalls)), 4),
        "seeds": len(recalls),
        "top3_recall_last": round(float(np.mean(recalls_last)), 4),
        "users": len(recalls_last),
        "top3_recall_planted_labels": round(float(np.mean(oracle_recalls)), 4),
        "trajectory_direction_acc": round(hits / pairs, 4) if pairs else float("nan"),
        "trajectory_pairs": pairs,
        "stable_pairs_skipped": stable_pairs,
        "polarity_balanced_raw_vader": round(agree(raw), 4),
        "polarity_balanced_calibrated": round(agree(cal), 4),
        "seconds_or_cache_read": round(took, 1),
        "timings_of_the_run": json.dumps(res.timings),
    }


def speed_child(encoder: str, limit: int | None) -> None:
    """Run in a fresh process: time stage 1 on the big world; print one JSON line."""
    from profiling.encoders import get_encoder
    from profiling.pipeline import ProfilingConfig, run_profiling
    from profiling.sample_world import WorldConfig, load_sample_world
    from profiling.seeds import SeedConfig, make_seeds

    corpus: Corpus = load_sample_world(WorldConfig(**SPEED_WORLD))
    if limit is not None:
        corpus = _sample_reviews(corpus, limit)
    enc = get_encoder(encoder, cache=False)  # cold: no embedding cache
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    res = run_profiling(corpus, ProfilingConfig(encoder=encoder), encoder=enc)
    total = time.perf_counter() - t0
    cpu = _cpu_seconds() - cpu0
    seeds = make_seeds(corpus, SeedConfig(min_history=3))[:15000]
    t1 = time.perf_counter()
    for s in seeds:
        res.profiles.user_profile(s.user, s.target.timestamp)
        res.profiles.item_profile(s.target.item, s.target.timestamp)
    per_seed = (time.perf_counter() - t1) / max(1, len(seeds))
    print(
        json.dumps(
            {
                "encoder": res.encoder,
                "reviews": len(corpus),
                "sentences": len(res.table),
                "seconds": round(total, 2),
                "cpu_seconds_all_threads": round(cpu, 2),
                "timings": res.timings,
                "seeds": len(seeds),
                "ms_per_seed_user_and_item_profile": round(per_seed * 1000, 3),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


def _cpu_seconds() -> float:
    # CPU time of this process (all threads): less sensitive than wall time to other work on the cores.
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def _sample_reviews(corpus: Corpus, n: int) -> Corpus:
    """A seeded random subset of ``n`` reviews (same subset every run)."""
    keep = np.zeros(len(corpus), dtype=bool)
    keep[np.random.default_rng(0).permutation(len(corpus))[:n]] = True
    return corpus._subset(keep)


def speed(encoder: str, limit: int | None) -> dict:
    cmd = [sys.executable, __file__, "--speed-child", encoder] + (["--limit", str(limit)] if limit else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"speed run ({encoder}) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--skip-quality", action="store_true", help="skip the sample-world metrics")
    p.add_argument("--skip-speed", action="store_true", help="skip the 100k-sentence timing")
    p.add_argument(
        "--minilm-reviews",
        type=int,
        default=1500,
        help="reviews of the big world MiniLM is timed on (its embed step is then extrapolated); "
        "0 = skip MiniLM",
    )
    p.add_argument("--speed-child", help=argparse.SUPPRESS)
    p.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.speed_child:
        speed_child(args.speed_child, args.limit)
        return
    # A private cache: the numbers never depend on what a developer's cache already holds.
    os.environ.setdefault("CONVREC_CACHE_DIR", tempfile.mkdtemp(prefix="convrec-bench-"))
    print(f"machine: {machine()}")
    print(f"date: {datetime.now().isoformat(timespec='seconds')}  " + load_note())
    from profiling.encoders import get_encoder
    from profiling.sample_world import WorldConfig, ensure_sample_world
    from profiling.sentiment import clothing_calibration

    t = time.perf_counter()
    get_encoder("fast")
    print(f"one-time: fast encoder distillation {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    cal = clothing_calibration()
    print(
        f"one-time: clothing calibration fit {time.perf_counter() - t:.1f} s; held-out report: "
        f"{cal.report.model_dump_json() if cal.report else 'none'}"
    )
    if not args.skip_quality:
        q = quality("fast")
        print("quality (sample world, fast encoder):")
        for k, v in q.items():
            print(f"  {k}: {v}")
    if not args.skip_speed:
        t = time.perf_counter()
        ensure_sample_world(WorldConfig(**SPEED_WORLD))
        print(f"speed world {SPEED_WORLD} generated in {time.perf_counter() - t:.1f} s")
        fast = speed("fast", None)
        print(f"speed fast: {json.dumps(fast)}")
        if args.minilm_reviews:
            mini = speed("minilm", args.minilm_reviews)
            print(f"speed minilm on {mini['sentences']:,} sentences (measured): {json.dumps(mini)}")
            scale = fast["sentences"] / mini["sentences"]
            embed = mini["timings"]["embed"] * scale
            other = fast["seconds"] - fast["timings"]["embed"]
            print(
                f"minilm extrapolated to {fast['sentences']:,} sentences: "
                f"embed {embed:.0f} s (linear in sentences) "
                f"+ other steps as measured with fast {other:.0f} s = {embed + other:.0f} s (EXTRAPOLATED)"
            )


if __name__ == "__main__":
    main()
