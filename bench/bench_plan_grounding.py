"""Benchmark of what plans claim: evidence behind community facts, coherence of inquiries, real declines.

Plans seeds of the sample world (stage 1 from its cache, else computed) with the sampling planner and
prints, over the plans: the share per path, the share with a declined alternative and with an inquiry
(one or two), the community facts bound with fewer than ``--min-mentions`` mentions, the plans that go
on to accept right after a negative answer on an aspect the user cares about (incoherent), the plans
that inquire about an aspect the user does not care about, and for declines: the share backed by the
user's own low rating (seed source ``rated_low``) and by a complaint the user really wrote, and the
most bound aspects.

It reads plans through plain attributes that every version of the planner has, so the same script
measures the code before a change (copy it into an older checkout) and after:

    .venv/bin/python bench/bench_plan_grounding.py                   # 3000 seeds, hash-ordered
    .venv/bin/python bench/bench_plan_grounding.py --limit 0         # every seed
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planners import NoFeasiblePathError, PlanConfig, PlanContext, SamplingPlanner


def machine() -> str:
    return (f"{platform.platform()} | {os.cpu_count()} CPUs | {platform.processor() or platform.machine()} | "
            f"python {platform.python_version()}")


def commit() -> str:
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True, check=False)
    return out.stdout.strip() or "unknown"


def community_facts(node: Any) -> list[Any]:
    """Every community fact a node binds (what the system or the user will claim buyers say)."""
    out = [j.community for j in node.target.justifications] if node.target is not None else []
    if node.negative is not None:
        out.append(node.negative.community)
        if getattr(node.negative, "praise", None) is not None:
            out.append(node.negative.praise)
    if node.critique is not None and node.critique.community is not None:
        out.append(node.critique.community)
    if node.inquiry is not None:
        out.append(node.inquiry.community)
    return out


def negative_answer(fact: Any) -> bool:
    """A negative answer: the stance when the fact has one, else the sentiment sign (older plans)."""
    stance = getattr(fact, "stance", None)
    return stance == "negative" if stance is not None else fact.sentiment <= -0.05


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--seed", type=int, default=0, help="run seed (planner, stage 1, seeds)")
    ap.add_argument("--limit", type=int, default=3000, help="seeds planned, in hash order (0 = all)")
    ap.add_argument("--min-mentions", type=int, default=5, help="what a community fact should rest on")
    ap.add_argument("--top", type=int, default=10, help="paths and aspects listed")
    args = ap.parse_args(argv)
    console = Console(width=140)

    from profiling.pipeline import ProfilingConfig, load_or_run_profiling
    from profiling.sample_world import load_sample_world
    from profiling.seeds import SeedConfig, make_seeds, split_seeds

    console.print(f"machine: {machine()} | commit {commit()}")
    t0 = time.perf_counter()
    corpus = load_sample_world()
    result = load_or_run_profiling(corpus, ProfilingConfig(seed=args.seed), progress=True)
    seeds, _ = split_seeds(make_seeds(corpus, SeedConfig(seed=args.seed)))
    seeds.sort(key=lambda s: hashlib.sha256(f"{args.seed}|{s.key}".encode()).digest())
    if args.limit:
        seeds = seeds[: args.limit]
    table = {a.id: a for a in result.aspects}
    planner = SamplingPlanner(PlanConfig(seed=args.seed))
    plans, contexts, failed = [], [], 0
    for s in seeds:
        ctx = PlanContext.from_source(s, result.profiles, aspects=table)
        try:
            plans.append(planner.plan(ctx))
            contexts.append(ctx)
        except NoFeasiblePathError:
            failed += 1
    n = max(1, len(plans))
    console.print(f"{len(seeds)} seeds, {len(plans)} planned, {failed} without a feasible path "
                  f"({time.perf_counter() - t0:.1f} s)")

    paths = Counter(p.path for p in plans)
    tab = Table(title=f"share of plans per path ({len(paths)} distinct)")
    tab.add_column("share", justify="right")
    tab.add_column("path")
    for path, k in paths.most_common(args.top):
        tab.add_row(f"{k / n:.1%}", " > ".join(path))
    console.print(tab)
    declined = sum(any(x.negative is not None for x in p.nodes) for p in plans)
    inquiries = Counter(sum(x.inquiry is not None for x in p.nodes) for p in plans)
    console.print(f"with a declined alternative: {declined / n:.1%}; with an inquiry: "
                  f"{(n - inquiries[0]) / n:.1%} (one {inquiries[1] / n:.1%}, two {inquiries[2] / n:.1%})")

    facts = [f for p in plans for x in p.nodes for f in community_facts(x)]
    thin = [f for f in facts if f.mentions < args.min_mentions]
    mentions = sorted(f.mentions for f in facts)
    console.print(f"community facts bound: {len(facts)}; with fewer than {args.min_mentions} mentions: "
                  f"{len(thin)} ({len(thin) / max(1, len(facts)):.1%}); median mentions "
                  f"{mentions[len(mentions) // 2] if mentions else 0}")
    reveals = [(f.aspect, c) for p, c in zip(plans, contexts, strict=True)
               for x in p.nodes for f in x.reveals]
    off_topic = sum(a not in {t.aspect for t in c.target.aspects} for a, c in reveals)
    console.print(f"preferences revealed: {len(reveals)}; about an aspect no buyer of the target mentions: "
                  f"{off_topic} ({off_topic / max(1, len(reveals)):.1%})")
    incoherent = uncared = 0
    for p in plans:
        for i, x in enumerate(p.nodes):
            if x.inquiry is None:
                continue
            uncared += x.inquiry.user is None
            nxt = p.nodes[i + 1].type if i + 1 < len(p.nodes) else None
            if x.inquiry.user is not None and negative_answer(x.inquiry.community) and nxt == "accept":
                incoherent += 1
    with_inquiry = max(1, n - inquiries[0])
    console.print(f"plans accepting right after a negative answer on a cared aspect: {incoherent} "
                  f"({incoherent / with_inquiry:.1%} of plans with an inquiry); inquiries about an aspect "
                  f"the user does not care about: {uncared}")

    negs = [(c, x.negative) for c, p in zip(contexts, plans, strict=True) for x in p.nodes
            if x.negative is not None]
    low = sum(neg.source == "rated_low" for _, neg in negs)
    complained = 0
    for c, neg in negs:
        pref = c.user.preference(neg.user.aspect)
        complained += bool(getattr(pref, "complaint_ids", ()) if pref is not None else ())
    own = sum(bool(getattr(neg, "own_review", False)) for _, neg in negs)
    seeds_low = sum("rated_low" in c.seed.negative_sources for c in contexts)
    console.print(f"declines: {len(negs)}; backed by the user's own low rating: {low} "
                  f"({low / max(1, len(negs)):.1%}); seeds offering one: {seeds_low / n:.1%} of planned; "
                  f"reason an aspect the user complained about: {complained} "
                  f"({complained / max(1, len(negs)):.1%}); complaint in their review of that item: {own}")
    reasons = Counter(neg.reason for _, neg in negs)
    console.print("decline reasons: " + ", ".join(f"{r} {k}" for r, k in reasons.most_common()))
    bound = Counter(table[f.aspect].name for f in facts)
    bound.update(table[f.aspect].name for p in plans for x in p.nodes for f in x.reveals)
    console.print("most bound aspects: " + ", ".join(f"{a} {k}" for a, k in bound.most_common(args.top)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
