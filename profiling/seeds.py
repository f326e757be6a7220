"""Seeds: (a user's history strictly before a target, the target interaction, negatives), and their split.

Negatives rule (what the system will propose and the user will decline):

1. items of the target's most specific category that the user really rated low (rating <=
   ``low_rating``, and never rated above it), nearest in time to the target first (before-target
   ratings win ties), because those are real rejections of a comparable item;
2. when fewer than ``n_negatives`` exist, items from the target's category that already existed at
   the target time (had an interaction before it) and that the user never interacted with before
   it, drawn uniformly by a generator seeded by (run seed, seed key);
3. then the user's low-rated items of other categories, nearest in time first;
4. then any existing item of the whole catalog, drawn as in 2.

With ``negative_scope="any"``, low-rated items of every category come first (rules 1 and 3 merged),
which keeps more real rejections at the cost of proposing items of another kind than the target
(a planner can only ground a decline on an aspect the two items share).

Each negative records which rule produced it. The split is chronological with global cut points on
target time, so no validation or test target is older than a training target.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections import defaultdict
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from profiling.corpus import Corpus, Interaction, to_millis

__all__ = ["Seed", "SeedConfig", "SplitCuts", "make_seeds", "seed_rng", "split_seeds"]

Split = Literal["train", "validation", "test"]
NegativeSource = Literal["rated_low", "same_category", "catalog"]


def seed_rng(run_seed: int, key: str) -> np.random.Generator:
    """A generator seeded by (run seed, unit key): the one source of randomness for a unit of work."""
    digest = hashlib.sha256(f"{run_seed}|{key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


class SeedConfig(BaseModel):
    """How seeds are cut from a corpus."""

    min_history: int = Field(3, ge=0, description="interactions a user needs before a target")
    max_history: int = Field(50, ge=1, description="most recent history kept per seed")
    n_negatives: int = Field(2, ge=0)
    low_rating: float = Field(2.0, description="ratings at or below this are real rejections")
    negative_scope: Literal["category", "any"] = Field(
        "category", description="prefer negatives of the target's category, or real low ratings of any")
    targets: Literal["all", "last"] = Field(
        "all", description="every interaction after min_history is a target, or only each user's last")
    seed: int = 0


class Seed(BaseModel):
    """One unit of generation: a user, their history before the target, the target, negatives."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(description="content-hash unit key, unique per (user, target item, target time)")
    user: str
    target: Interaction
    history: tuple[Interaction, ...]
    negatives: tuple[str, ...]
    negative_sources: tuple[NegativeSource, ...]
    split: Split | None = None


class SplitCuts(BaseModel):
    """Global cut points: train is target time <= train_end, validation <= validation_end, test after."""

    train_end: int
    validation_end: int
    counts: dict[str, int]


def _key(user: str, item: str, ts: int) -> str:
    return hashlib.sha1(f"{user}\x1f{item}\x1f{ts}".encode()).hexdigest()[:16]


def make_seeds(corpus: Corpus, config: SeedConfig | None = None) -> list[Seed]:
    """Every seed of the corpus under ``config``, in (user, time) order."""
    cfg = config or SeedConfig()
    c = corpus.columns
    # Items that exist at a time t are those with a first interaction before t.
    first_seen = np.full(corpus.n_items, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_seen, c.item, c.ts)
    by_category: dict[str, list[int]] = defaultdict(list)
    for idx, iid in enumerate(corpus.item_ids):
        by_category[corpus.items[iid].category].append(idx)
    cat_sorted = {cat: sorted(idxs, key=lambda i: first_seen[i]) for cat, idxs in by_category.items()}
    cat_first = {cat: [int(first_seen[i]) for i in idxs] for cat, idxs in cat_sorted.items()}
    all_sorted = sorted(range(corpus.n_items), key=lambda i: first_seen[i])
    all_first = [int(first_seen[i]) for i in all_sorted]

    seeds: list[Seed] = []
    for user in corpus.users:
        rows = corpus.rows(user)
        start = rows.start
        ts = c.ts[rows.start:rows.stop]
        targets = range(len(rows)) if cfg.targets == "all" else range(len(rows) - 1, len(rows))
        # Each interaction is materialised once per user: histories of successive seeds overlap.
        models = [corpus.interaction(r) for r in rows]
        for t in targets:
            t_ms = int(ts[t])
            n_before = int(np.searchsorted(ts, t_ms, side="left"))  # strictly before the target
            if n_before < cfg.min_history:
                continue
            target_row = start + t
            target_item = int(c.item[target_row])
            key = _key(user, corpus.item_ids[target_item], t_ms)
            negs, sources = _negatives(corpus, cfg, key, rows, n_before, target_row, target_item,
                                       cat_sorted, cat_first, all_sorted, all_first)
            seeds.append(Seed(
                key=key, user=user, target=models[t],
                history=tuple(models[max(0, n_before - cfg.max_history):n_before]),
                negatives=negs, negative_sources=sources,
            ))
    return seeds


def _negatives(corpus: Corpus, cfg: SeedConfig, key: str, rows: range, n_before: int, target_row: int,
               target_item: int, cat_sorted: dict[str, list[int]], cat_first: dict[str, list[int]],
               all_sorted: list[int], all_first: list[int]
               ) -> tuple[tuple[str, ...], tuple[NegativeSource, ...]]:
    c = corpus.columns
    t_ms = int(c.ts[target_row])
    chosen: list[int] = []
    sources: list[NegativeSource] = []
    if cfg.n_negatives == 0:
        return (), ()
    liked = {int(c.item[r]) for r in rows if c.rating[r] > cfg.low_rating}
    low = [r for r in rows if c.rating[r] <= cfg.low_rating and int(c.item[r]) != target_item
           and int(c.item[r]) not in liked]
    low.sort(key=lambda r: (abs(int(c.ts[r]) - t_ms), int(c.ts[r]) > t_ms, r))
    category = corpus.items[corpus.item_ids[target_item]].category
    low_same = [r for r in low if corpus.items[corpus.item_ids[int(c.item[r])]].category == category]
    same_rows = set(low_same)
    low_other = [r for r in low if r not in same_rows]
    seen_before = {int(c.item[r]) for r in range(rows.start, rows.start + n_before)}
    rng = seed_rng(cfg.seed, key)

    def take_low(candidates: list[int]) -> None:
        for r in candidates:
            it = int(c.item[r])
            if len(chosen) < cfg.n_negatives and it not in chosen:
                chosen.append(it)
                sources.append("rated_low")

    def draw(pool: list[int], firsts: list[int], source: NegativeSource) -> None:
        need = cfg.n_negatives - len(chosen)
        if need <= 0:
            return
        excluded = seen_before | {target_item} | set(chosen)
        existing = pool[:bisect_left(firsts, t_ms)]
        candidates = [i for i in existing if i not in excluded]
        if candidates:
            picks = rng.choice(len(candidates), size=min(need, len(candidates)), replace=False)
            for p in picks:
                chosen.append(candidates[int(p)])
                sources.append(source)

    if cfg.negative_scope == "any":
        take_low(low)
    else:
        take_low(low_same)
    draw(cat_sorted[category], cat_first[category], "same_category")
    take_low(low_other)
    draw(all_sorted, all_first, "catalog")
    return tuple(corpus.item_ids[i] for i in chosen), tuple(sources)


def split_seeds(seeds: list[Seed], fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
                ) -> tuple[list[Seed], SplitCuts]:
    """Seeds labelled train / validation / test by global cut points on target time."""
    if not seeds:
        return [], SplitCuts(train_end=0, validation_end=0, counts={})
    if abs(sum(fractions) - 1.0) > 1e-6 or min(fractions) < 0:
        raise ValueError(f"split fractions must be non-negative and sum to 1, got {fractions}")
    times = np.sort(np.array([to_millis(s.target.timestamp) for s in seeds], dtype=np.int64))
    n = len(times)
    train_end = int(times[min(n - 1, max(0, int(np.ceil(fractions[0] * n)) - 1))])
    validation_end = int(times[min(n - 1, max(0, int(np.ceil((fractions[0] + fractions[1]) * n)) - 1))])
    out: list[Seed] = []
    counts = {"train": 0, "validation": 0, "test": 0}
    for s in seeds:
        t = to_millis(s.target.timestamp)
        split: Split = "train" if t <= train_end else "validation" if t <= validation_end else "test"
        counts[split] += 1
        out.append(s.model_copy(update={"split": split}))
    return out, SplitCuts(train_end=train_end, validation_end=validation_end, counts=counts)
