"""Stage 1 methods side by side: real reviews labelled by hand, the sample world's planted truth, speed.

* **Real text** (``tests/data/clothing_aspects.jsonl``, 600 sentences labelled by hand; see its ``.md``):
  each method runs on all 23,486 clothing reviews (109k sentences); the labelled sentences' mentions are
  read from the result and scored by ``profiling.labelled_eval.score_labelled`` (precision, recall, "no
  aspect" recall, junk share, polarity accuracy), on the ``test`` split (and ``dev``).
* **Planted truth** (the default sample world): NMI on single-aspect sentences (assigned only, and with
  "no aspect" as a label), off-topic filler sentences given no aspect, aspects made mostly of filler.
* **Speed**: stage 1 end to end (split, tag or embed, fit, mentions, sentiment, profiles) on the clothing
  sentences, every method in this one process, nothing cached (no tag cache, no embedding cache).

    .venv/bin/python bench/bench_stage1.py                         # everything (about 12 minutes)
    .venv/bin/python bench/bench_stage1.py --methods terms,contrastive --skip-world
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import Counter
from pathlib import Path

import numpy as np

from profiling.aspect_eval import nmi
from profiling.aspects import AspectConfig
from profiling.labelled_eval import load_labelled, score_labelled
from profiling.pipeline import ProfilingConfig, ProfilingResult, run_profiling

GOLD = Path(__file__).resolve().parent.parent / "tests" / "data" / "clothing_aspects.jsonl"


def machine() -> str:
    return (f"{platform.platform()}; {os.cpu_count()} CPUs; python {platform.python_version()}; "
            f"load average {os.getloadavg()[0]:.1f}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", default="terms,cat,contrastive",
                   help="comma-separated stage-1 methods (default: terms,cat,contrastive)")
    p.add_argument("--k", type=int, default=20, help="K (an upper bound for terms and cat; default 20)")
    p.add_argument("--skip-world", action="store_true", help="skip the sample world")
    p.add_argument("--skip-clothing", action="store_true", help="skip the clothing reviews")
    p.add_argument("--examples", type=int, default=0, help="print this many wrong test sentences per method")
    p.add_argument("--speed", action="store_true",
                   help="only the speed comparison: each method end to end, cold (no tag or embedding "
                   "cache), on the clothing sentences, wall and CPU seconds (this process and its workers)")
    return p


def speed(methods: list[str], k: int) -> None:
    import resource

    from profiling.encoders import get_encoder
    from profiling.loaders import load_clothing_reviews

    corpus = load_clothing_reviews().to_corpus()
    print(f"\n## Speed, cold, {len(corpus):,} clothing reviews (every method in this one process)")
    print("| method | sentences | wall s | per 100k sentences, wall s | CPU s (with workers) | steps (s) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for method in methods:
        cfg = ProfilingConfig(aspects=AspectConfig(k=k, method=method), tag_cache=False,
                              sentiment="fitted" if method in ("terms", "cat") else "calibrated")
        encoder = get_encoder("fast", cache=False)  # embeddings computed, not read from the cache
        encoder.encode(["warm up"])
        load = os.getloadavg()[0]
        cpu0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = run_profiling(corpus, cfg, encoder=encoder)
        wall = time.perf_counter() - started
        cpu1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime for a, b in zip(cpu0, cpu1, strict=True))
        n = len(result.table)
        steps = ", ".join(f"{s} {v:.1f}" for s, v in result.timings.items())
        print(f"| {method} | {n:,} | {wall:.1f} | {wall * 100_000 / n:.1f} | {cpu:.1f} | {steps} "
              f"(load {load:.1f} at start) |")
    print(f"<!-- {machine()} -->")


def _per_sentence(result: ProfilingResult) -> list[dict[str, float]]:
    """Aspect name -> polarity for every sentence of the result (mentions, or the sentence label)."""
    out: list[dict[str, float]] = [{} for _ in range(len(result.table))]
    names = [a.name for a in result.aspects]
    if result.mentions is not None:
        m = result.mentions
        for s, a, pol in zip(m.sentence.tolist(), m.aspect.tolist(), m.polarity.tolist(), strict=True):
            out[s].setdefault(names[a], pol)
    else:
        for s, (a, pol) in enumerate(zip(result.labels.tolist(), result.sentiments.tolist(), strict=True)):
            if a >= 0:
                out[s][names[a]] = pol
    return out


def clothing(methods: list[str], k: int, examples: int) -> None:
    from profiling.loaders import load_clothing_reviews

    corpus = load_clothing_reviews().to_corpus()
    gold_all = load_labelled(GOLD)
    print(f"\n## Real clothing reviews: {len(corpus):,} reviews; {len(gold_all)} hand-labelled sentences")
    print("| method | split | precision | recall | no-aspect recall | junk share | polarity accuracy | "
          "aspects | wall s (split/tag/embed/fit+mentions/sentiment) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for method in methods:
        cfg = ProfilingConfig(aspects=AspectConfig(k=k, method=method), tag_cache=False,
                              sentiment="fitted" if method in ("terms", "cat") else "calibrated")
        started = time.perf_counter()
        result = run_profiling(corpus, cfg)
        wall = time.perf_counter() - started
        first: dict[str, int] = {}
        for s, text in enumerate(result.table.texts):
            first.setdefault(text, s)
        found = _per_sentence(result)
        t = result.timings
        steps = "/".join(f"{t.get(s, 0.0):.1f}" for s in ("split", "tag", "embed", "aspects", "sentiment"))
        for split in ("test", "dev"):
            gold = [g for g in gold_all if g.split == split and g.text in first]
            scores = score_labelled(gold, [found[first[g.text]] for g in gold])
            print(f"| {method} | {split} ({scores.sentences}) | {scores.precision:.3f} | "
                  f"{scores.recall:.3f} | {scores.no_aspect_recall:.3f} | {scores.junk_share:.1%} | "
                  f"{scores.polarity_accuracy:.3f} ({scores.polar_pairs}) | {len(result.aspects)} | "
                  f"{wall:.1f} ({steps}) |")
        names = ", ".join(a.name for a in result.aspects)
        print(f"<!-- {method} aspects: {names} -->")
        if examples:
            gold = [g for g in gold_all if g.split == "test" and g.text in first]
            mapping = score_labelled(gold, [found[first[g.text]] for g in gold]).mapping
            shown = 0
            for g in gold:
                p = found[first[g.text]]
                if {mapping[a] for a in p} != {x.aspect for x in g.labels} and shown < examples:
                    print(f"<!-- {g.text[:90]!r}: gold {[x.aspect for x in g.labels]}, found {list(p)} -->")
                    shown += 1
    print(f"<!-- {machine()} -->")


def world(methods: list[str], k: int) -> None:
    from profiling.sample_world import WorldConfig, ensure_sample_world, load_sample_world, load_truth

    corpus = load_sample_world(WorldConfig())
    truth = load_truth(ensure_sample_world(WorldConfig()).truth)
    print(f"\n## Sample world: {len(corpus):,} reviews, {len(truth.aspects)} planted aspects")
    print("| method | NMI (single-aspect, assigned) | NMI (-1 kept as a label) | single-aspect given an "
          "aspect | filler given no aspect | aspects mostly filler | aspects |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for method in methods:
        cfg = ProfilingConfig(aspects=AspectConfig(k=k, method=method),
                              sentiment="fitted" if method in ("terms", "cat") else "calibrated")
        result = run_profiling(corpus, cfg)
        table = result.table
        pairs = zip(table.ts.tolist(), table.texts, strict=True)
        index = {(int(ts), text): s for s, (ts, text) in enumerate(pairs)}
        rows, planted = [], []
        for sent in truth.sentences:
            s = index.get((sent.timestamp, sent.text))
            if s is not None:
                rows.append(s)
                kind = sent.aspects[0] if len(sent.aspects) == 1 else (-1 if not sent.aspects else -2)
                planted.append(kind)
        rows_a, planted_a = np.asarray(rows), np.asarray(planted)
        found = result.labels[rows_a]
        single, filler = planted_a >= 0, planted_a == -1
        assigned = single & (found >= 0)
        per_aspect: dict[int, Counter[bool]] = {}
        for f, p in zip(found.tolist(), planted_a.tolist(), strict=True):
            if f >= 0:
                per_aspect.setdefault(f, Counter())[p == -1] += 1
        junk = sum(1 for c in per_aspect.values() if c[True] > c[False])
        print(f"| {method} | {nmi(planted_a[assigned], found[assigned]):.3f} | "
              f"{nmi(planted_a[single], found[single]):.3f} | {assigned.sum() / single.sum():.1%} | "
              f"{(found[filler] < 0).mean():.1%} | {junk} | {len(result.aspects)} |")
        print(f"<!-- {method} aspects: {', '.join(a.name for a in result.aspects)} -->")
    print(f"<!-- {machine()} -->")


def main() -> None:
    args = _parser().parse_args()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    print(f"# Stage 1 methods; {machine()}")
    if args.speed:
        speed(methods, args.k)
        return
    if not args.skip_clothing:
        clothing(methods, args.k, args.examples)
    if not args.skip_world:
        world(methods, args.k)


if __name__ == "__main__":
    main()
