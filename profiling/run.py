"""``python -m profiling.run``: run stage 1 (aspects, sentiment, profiles) on a dataset and store it.

Prints the aspect table (name, top phrases, size, mean sentiment), the encoder, the time of each
step and where the store was written. A ConvRecError (bad input, missing encoder) is printed as one
line and exits with code 2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from profiling.datasets import add_data_arguments, load_corpus
from profiling.errors import ConvRecError

if TYPE_CHECKING:
    from profiling.pipeline import ProfilingResult

__all__ = ["build_parser", "main"]

def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (every option documented with its default)."""
    p = argparse.ArgumentParser(
        prog="python -m profiling.run",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Discover aspects in review sentences, score their sentiment and build time-decayed "
        "user profiles and item sentiment trajectories; write them to a store folder.",
    )
    add_data_arguments(p)
    m = p.add_argument_group("model")
    m.add_argument(
        "--encoder",
        choices=("fast", "minilm"),
        default="fast",
        help="encoder: fast = model2vec distilled from MiniLM, minilm = all-MiniLM-L6-v2 (embeds the "
        "candidate aspect terms for terms/cat, whole sentences for the clustering methods)",
    )
    m.add_argument("--k", type=int, default=20,
                   help="upper bound on the number of aspects (terms/cat keep fewer when the data has fewer)")
    m.add_argument(
        "--method",
        choices=("terms", "cat", "contrastive", "spherical", "kmeans"),
        default="terms",
        help="terms: aspect terms (nouns found by spaCy's tagger) clustered into aspects, each mention's "
        "polarity read from its clause, sentences without a term get no aspect; cat: CAt (attention over "
        "a sentence's nouns, one aspect per sentence); contrastive/spherical/kmeans: clusters of sentence "
        "embeddings (every sentence near a centroid gets one)",
    )
    m.add_argument(
        "--sentiment",
        choices=("fitted", "calibrated", "vader"),
        default="fitted",
        help="fitted: a polarity model of VADER and the corpus's words fitted on its star ratings; "
        "calibrated: VADER calibrated on the clothing reviews (clustering methods only); vader: raw VADER",
    )
    m.add_argument(
        "--calibration",
        choices=("clothing", "corpus"),
        default="clothing",
        help="with --sentiment calibrated: fit the calibration on the clothing reviews or this corpus",
    )
    m.add_argument(
        "--half-life-days",
        type=float,
        default=180.0,
        help="half-life of a sentence's weight in a user profile",
    )
    m.add_argument(
        "--bucket", choices=("month", "quarter", "year"), default="quarter", help="trajectory bucket"
    )
    m.add_argument("--smoothing", type=float, default=0.5, help="EMA carry-over of past buckets, in [0, 1)")
    m.add_argument(
        "--fit-until",
        type=_aware_time,
        default=None,
        help="fit aspects only on reviews before this ISO time (UTC if no zone); None = on all reviews",
    )
    m.add_argument("--seed", type=int, default=0, help="run seed (aspect model)")
    o = p.add_argument_group("output")
    o.add_argument("--out", type=Path, default=Path("runs/profiling"), help="folder the store is written to")
    o.add_argument(
        "--no-cache", action="store_true", help="recompute even if this corpus and config ran before"
    )
    o.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _aware_time(value: str) -> datetime:
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or time: {value!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def aspect_table(result: ProfilingResult) -> Table:
    """A rich table of the aspects of a ProfilingResult: id, name, top phrases, size, mean sentiment."""
    table = Table(title=f"Aspects ({result.encoder})")
    for name, justify in (
        ("id", "right"),
        ("name", "left"),
        ("top phrases", "left"),
        ("size", "right"),
        ("mean sentiment", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for a in result.aspects:
        table.add_row(str(a.id), a.name, ", ".join(a.phrases[:5]), f"{a.size:,}", f"{a.mean_sentiment:+.2f}")
    return table


def rejected_table(result: ProfilingResult, limit: int = 25) -> Table | None:
    """The clusters of candidate terms that did not become aspects, and why (terms and cat methods)."""
    model = result.aspect_model
    if model is None or not model.rejected:
        return None
    shown = min(limit, len(model.rejected))
    table = Table(title=f"Not aspects (the {shown} largest of {len(model.rejected)})")
    for name, justify in (("terms", "left"), ("mentions", "right"), ("", "left"), ("why", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for e in model.rejected[:limit]:
        table.add_row(", ".join(e.terms[:4]), f"{e.mentions:,}", e.status, e.reason)
    return table


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0, or 2 for a ConvRecError)."""
    args = build_parser().parse_args(argv)
    console = Console()
    err = Console(stderr=True)
    progress = not args.quiet
    from profiling.aspects import AspectConfig
    from profiling.pipeline import ProfilingConfig, load_or_run_profiling, save_result

    try:
        config = ProfilingConfig(
            encoder=args.encoder,
            aspects=AspectConfig(k=args.k, method=args.method),
            sentiment=args.sentiment,
            calibration=args.calibration,
            half_life_days=args.half_life_days,
            bucket=args.bucket,
            smoothing=args.smoothing,
            fit_until=args.fit_until,
            seed=args.seed,
        )
        corpus = load_corpus(args, progress)
        result = load_or_run_profiling(corpus, config, cache=not args.no_cache, progress=progress)
        out = save_result(result, args.out, corpus)
    except ValidationError as exc:  # an option out of range (e.g. --smoothing 1.5, a world too small)
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors())
        err.print(
            f"error: bad option: {problems}", style="red", markup=False, highlight=False, soft_wrap=True
        )
        return 2
    except ConvRecError as exc:
        err.print(f"error: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
        return 2
    console.print(aspect_table(result))
    rejected = rejected_table(result)
    if rejected is not None:
        console.print(rejected)
    labelled = int((result.labels >= 0).sum())
    mentions = f", {len(result.mentions):,} mentions" if result.mentions is not None else ""
    console.print(
        f"corpus: {corpus.source} · {len(corpus):,} reviews · {corpus.n_users:,} users · "
        f"{corpus.n_items:,} items · {len(result.table):,} sentences, {labelled / len(result.table):.0%} "
        f"with an aspect{mentions}"
    )
    if args.data == "clothing":
        console.print("clothing reviews: stage 1 only (no users or dates: the store's profiles mean nothing)")
    model = result.aspect_model
    if model is not None:
        pol = model.polarity
        if pol.source == "vader":
            console.print("polarity: VADER alone (too few high- and low-rated reviews to fit a model)",
                          style="yellow")
        else:
            r = {k: pol.report.get(k, float("nan")) for k in
                 ("sentences", "auc", "balanced_agreement", "general_balanced_agreement")}
            console.print(f"polarity: fitted on {int(r['sentences']):,} sentences of high/low rated reviews; "
                          f"held-out AUC {r['auc']:.3f}, balanced agreement {r['balanced_agreement']:.3f} "
                          f"(VADER's lexicon alone {r['general_balanced_agreement']:.3f})")
    console.print(f"encoder: {result.encoder}")
    steps = " · ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    console.print(
        f"timings: {steps}"
        + (" (read from the cache; timings of the run that made it)" if result.from_cache else "")
    )
    if result.calibration is not None and result.calibration.report is not None:
        r = result.calibration.report
        console.print(
            f"sentiment calibration ({result.calibration.source}): balanced agreement with review "
            f"polarity {r.raw_balanced:.3f} raw VADER -> {r.calibrated_balanced:.3f} calibrated"
        )
    console.print(f"wrote: {out}")
    if model is not None:
        console.print(f"tag new text with it: python -m profiling.tag --store {out} < sentences.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
