"""``python -m recommender.evaluate``: the results table of saved checkpoints on a dataset's split.

``--checkpoint`` is one checkpoint folder, or a training ``--out`` folder holding ``seed<N>/``
checkpoints (all are evaluated, the table shows mean ± std). Each checkpoint is evaluated with its own
training seed (tie-breaking and the sampled candidates), so the figures match what training printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from profiling.errors import ConvRecError
from recommender.errors import CheckpointError, RecommenderError

__all__ = ["build_parser", "checkpoint_folders", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (every option documented with its default)."""
    p = argparse.ArgumentParser(
        prog="python -m recommender.evaluate",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Evaluate recommender checkpoints on a dialogs.jsonl split: full ranking over all items "
        "(primary) and target + sampled items, with chance levels.",
    )
    p.add_argument(
        "--checkpoint",
        type=Path,
        required=True,
        help="a checkpoint folder, or a folder of seed<N>/ checkpoints (from recommender.train --out)",
    )
    p.add_argument(
        "--data", type=Path, required=True, help="dialogs.jsonl (the one the model was trained on)"
    )
    p.add_argument(
        "--split", choices=("train", "validation", "test"), default="test", help="split to evaluate"
    )
    p.add_argument(
        "--candidates",
        type=int,
        default=None,
        help="sampled protocol: candidates per dialog, target included (default: as trained)",
    )
    return p


def checkpoint_folders(path: Path) -> list[Path]:
    """``path`` itself when it is a checkpoint, else its ``seed*/`` checkpoint subfolders."""
    if (path / "config.json").is_file():
        return [path]
    found = sorted(p for p in path.glob("seed*") if (p / "config.json").is_file())
    if not found:
        raise CheckpointError(f"{path}: neither a checkpoint nor a folder of seed<N>/ checkpoints")
    return found


def run(args: argparse.Namespace, console: Console) -> int:
    # torch is imported here, not at module import: --help must not wait for it.
    from recommender.checkpoint import load_recommender
    from recommender.dataset import examples_from_records, load_records, split_examples
    from recommender.tables import protocol_note, results_tables
    from recommender.training import evaluate, torch_threads

    recs = [load_recommender(p) for p in checkpoint_folders(args.checkpoint)]
    names = {r.model_cfg.name for r in recs}
    if len(names) > 1:
        raise CheckpointError(f"{args.checkpoint}: checkpoints of different models {sorted(names)}")
    examples = split_examples(examples_from_records(load_records(args.data)))[args.split]
    if not examples:
        raise RecommenderError(f"{args.data}: the {args.split} split has no accepted dialog")
    feat = recs[0].featurizer
    unknown = sum(e.target not in feat.item_index for e in examples)
    if unknown:
        raise RecommenderError(
            f"{args.data}: {unknown} {args.split} targets are not in the checkpoint's item "
            "index; evaluate on the dataset the model was trained on"
        )
    runs = []
    candidates = args.candidates
    for r in recs:
        n_cand = candidates or r.train_cfg.sampled_candidates
        with torch_threads(r.train_cfg.threads):
            data = r.featurizer.encode(examples)
            runs.append(evaluate(r.model, data, seed=r.train_cfg.seed, n_candidates=n_cand))
    n_cand = candidates or recs[0].train_cfg.sampled_candidates
    seeds = [r.train_cfg.seed for r in recs]
    console.print(protocol_note(feat.n_items, len(examples), n_cand, seeds, args.split), soft_wrap=True)
    for table in results_tables({recs[0].model_cfg.name: runs}, n_items=feat.n_items, n_candidates=n_cand):
        console.print(table)
    return 0


def _console() -> Console:
    # Piped output (logs, CI) gets a wide console: the tables' "mean ± std" cells would wrap at 80.
    console = Console()
    return console if console.is_terminal else Console(width=170)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0, or 2 for bad input or an unreadable checkpoint)."""
    args = build_parser().parse_args(argv)
    try:
        return run(args, _console())
    except ConvRecError as exc:
        Console(stderr=True).print(
            f"error: {exc}", style="red", markup=False, highlight=False, soft_wrap=True
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
