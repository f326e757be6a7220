"""Aspect discovery benchmark: contrastive vs spherical vs plain k-means, side by side on the same embeddings.

* Sample world (planted truth): NMI between found and planted aspects on single-aspect sentences, for each
  encoder asked for; also how many planted off-topic sentences end as "no aspect".
* Clothing reviews (23,486 real reviews, no truth): NPMI coherence of each aspect's top words over the
  reviews, and the names of all aspects.
* Timings: embedding with each encoder (uncached) and clustering time per method.

Prints the machine it ran on. Figures taken while other work shares the cores are noisy: say so.

    .venv/bin/python bench/bench_aspects.py                       # both encoders on 12k world sentences
    .venv/bin/python bench/bench_aspects.py --encoders fast --world-sentences 0
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence

import numpy as np

from profiling.aspect_eval import nmi, npmi_coherence
from profiling.aspects import AspectConfig, AspectResult, discover_aspects
from profiling.encoders import get_encoder
from profiling.errors import ConvRecError

METHODS = ("contrastive", "spherical", "kmeans")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--encoders", default="fast,minilm",
                   help="comma-separated encoders for the sample world: fast, minilm (default: fast,minilm)")
    p.add_argument("--world-sentences", type=int, default=12_000,
                   help="sentences sampled (seeded) from the default sample world; 0 = all of them, about "
                        "38k (default: 12000; MiniLM embeds about 200 sentences/s on 2 idle cores)")
    p.add_argument("--clothing", choices=("fast", "minilm", "none"), default="fast",
                   help="encoder for the clothing reviews, or none to skip them (default: fast)")
    p.add_argument("--clothing-sentences", type=int, default=0,
                   help="sentences sampled from the clothing reviews; 0 = all (default: 0)")
    p.add_argument("--k", type=int, default=20, help="number of aspects (default: 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of sampling and of every method (default: 0)")
    p.add_argument("--top-words", type=int, default=10, help="top words per aspect for NPMI (default: 10)")
    return p


def machine() -> str:
    import torch

    return (f"{platform.platform()}; {os.cpu_count()} CPUs; python {platform.python_version()}; "
            f"torch {torch.__version__}; numpy {np.__version__}; load average {os.getloadavg()[0]:.1f}")


def _embed(name: str, texts: Sequence[str]) -> tuple[np.ndarray, float]:
    encoder = get_encoder(name, cache=False)  # uncached, so the time is the encoder's own
    encoder.encode(texts[:100])  # warm up (tokenizer, first allocations)
    t = time.perf_counter()
    x = encoder.encode(texts, progress=True)
    return x, time.perf_counter() - t


def _run(x: np.ndarray, texts: Sequence[str], k: int, seed: int) -> dict[str, tuple[AspectResult, float]]:
    out = {}
    for method in METHODS:
        t = time.perf_counter()
        result = discover_aspects(x, texts, AspectConfig(k=k, seed=seed, method=method), progress=True)
        out[method] = (result, time.perf_counter() - t)
    return out


def world(args: argparse.Namespace) -> None:
    from profiling.sample_world import ensure_sample_world, load_truth

    truth = load_truth(ensure_sample_world(None).truth)
    sentences = truth.sentences
    rng = np.random.default_rng(args.seed)
    if args.world_sentences and args.world_sentences < len(sentences):
        pick = np.sort(rng.choice(len(sentences), args.world_sentences, replace=False))
        sentences = [sentences[i] for i in pick]
    texts = [s.text for s in sentences]
    planted = np.array([s.aspects[0] if len(s.aspects) == 1 else (-1 if not s.aspects else -2)
                        for s in sentences])
    single, off = planted >= 0, planted == -1
    print(f"\n## Sample world: {len(texts)} sentences ({int(single.sum())} single-aspect, {int(off.sum())} "
          f"off-topic), {len(truth.aspects)} planted aspects, k={args.k}")
    print("| encoder | method | NMI (single-aspect, assigned) | NMI (single-aspect, -1 kept as a label) "
          "| single-aspect labelled no aspect | off-topic labelled no aspect | clustering s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in [e.strip() for e in args.encoders.split(",") if e.strip()]:
        x, secs = _embed(name, texts)
        print(f"<!-- {name}: embedded {len(texts)} sentences in {secs:.1f} s "
              f"({len(texts) / secs:,.0f} sentences/s) -->")
        for method, (result, secs) in _run(x, texts, args.k, args.seed).items():
            lab = result.labels
            assigned = single & (lab >= 0)
            print(f"| {name} | {method} | {nmi(planted[assigned], lab[assigned]):.3f} "
                  f"| {nmi(planted[single], lab[single]):.3f} | {(lab[single] == -1).mean():.1%} "
                  f"| {(lab[off] == -1).mean():.1%} | {secs:.1f} |")


def _words(phrases: Sequence[str], n: int) -> list[str]:
    out: list[str] = []
    for p in phrases:
        for w in p.split():
            if w not in out:
                out.append(w)
    return out[:n]


def clothing(args: argparse.Namespace) -> None:
    from profiling.loaders.clothing import load_clothing_reviews
    from profiling.sentences import split_reviews

    reviews = load_clothing_reviews()
    t = time.perf_counter()
    review, _, texts = split_reviews(reviews.texts)
    split_s = time.perf_counter() - t
    if args.clothing_sentences and args.clothing_sentences < len(texts):
        pick = np.sort(np.random.default_rng(args.seed).choice(len(texts), args.clothing_sentences,
                                                               replace=False))
        texts = [texts[i] for i in pick]
        review = review[pick]
    x, embed_s = _embed(args.clothing, texts)
    print(f"\n## Clothing reviews: {len(reviews.texts)} reviews -> {len(texts)} sentences (split in "
          f"{split_s:.1f} s), encoder {args.clothing} (embedded in {embed_s:.1f} s, "
          f"{len(texts) / embed_s:,.0f} sentences/s), k={args.k}")
    runs = _run(x, texts, args.k, args.seed)
    print(f"| method | mean NPMI of top-{args.top_words} words (over reviews) | no aspect | clustering s |")
    print("| --- | --- | --- | --- |")
    names: dict[str, list[str]] = {}
    for method, (result, secs) in runs.items():
        topics = [_words(a.phrases, args.top_words) for a in result.aspects]
        scores = npmi_coherence(topics, reviews.texts, n=args.top_words)
        names[method] = [f"{a.name} ({a.size}, NPMI {s:+.2f})" for a, s in zip(result.aspects, scores,
                                                                              strict=True)]
        print(f"| {method} | {np.mean(scores):+.3f} | {(result.labels == -1).mean():.1%} | {secs:.1f} |")
    for method, rows in names.items():
        print(f"\n### Clothing aspects, {method}")
        for i, row in enumerate(rows):
            print(f"{i:2d}. {row}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    print(f"machine: {machine()}")
    try:
        world(args)
        if args.clothing != "none":
            clothing(args)
    except ConvRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
