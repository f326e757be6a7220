"""``python -m recommender.train``: train one of the five recommenders on a ``dialogs.jsonl`` dataset.

Trains one model per seed (early-stopped on the validation split, the best epoch saved as a checkpoint
in ``OUT/seed<N>``), evaluates each on the test split under both protocols, prints the results table
and writes ``OUT/results.json``. A ConvRecError (bad input) is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from rich.console import Console

from profiling.errors import ConvRecError
from recommender.config import MODEL_NAMES, ModelConfig, TrainConfig

if TYPE_CHECKING:
    from recommender.training import EpochLog

__all__ = ["add_model_arguments", "build_parser", "main", "model_config"]

_D = ModelConfig()
_T = TrainConfig()


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """Architecture options (shared with the benchmark)."""
    g = p.add_argument_group("model")
    g.add_argument("--model", choices=MODEL_NAMES, default="cross", help="which recommender")
    g.add_argument("--dim", type=int, default=_D.dim, help="width of every state and embedding")
    g.add_argument("--heads", type=int, default=_D.heads, help="attention heads")
    g.add_argument(
        "--history-layers", type=int, default=_D.history_layers, help="causal blocks over the history"
    )
    g.add_argument("--dialog-layers", type=int, default=_D.dialog_layers, help="blocks over the dialog words")
    g.add_argument(
        "--fusion-layers",
        type=int,
        default=_D.fusion_layers,
        help="cross only: blocks where dialog states attend to history states",
    )
    g.add_argument(
        "--ff-mult", type=int, default=_D.ff_mult, help="feed-forward width as a multiple of --dim"
    )
    g.add_argument("--dropout", type=float, default=_D.dropout, help="dropout rate")
    g.add_argument("--max-history", type=int, default=_D.max_history, help="most recent history items read")
    g.add_argument(
        "--max-turns",
        type=int,
        default=_D.max_turns,
        help="dialog turns read (the most recent before the recommendation)",
    )
    g.add_argument(
        "--max-turn-features",
        type=int,
        default=_D.max_turn_features,
        help="words and word pairs read per turn",
    )
    g.add_argument(
        "--no-item-text",
        action="store_true",
        help="item embeddings from ids only (default: id plus mean of title word vectors)",
    )
    g.add_argument(
        "--min-word-count",
        type=int,
        default=_D.min_word_count,
        help="words and word pairs seen fewer times in training dialogs map to [UNK]",
    )


def model_config(args: argparse.Namespace) -> ModelConfig:
    return ModelConfig(
        name=args.model,
        dim=args.dim,
        heads=args.heads,
        history_layers=args.history_layers,
        dialog_layers=args.dialog_layers,
        fusion_layers=args.fusion_layers,
        ff_mult=args.ff_mult,
        dropout=args.dropout,
        max_history=args.max_history,
        max_turns=args.max_turns,
        max_turn_features=args.max_turn_features,
        item_text=not args.no_item_text,
        min_word_count=args.min_word_count,
    )


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (every option documented with its default)."""
    p = argparse.ArgumentParser(
        prog="python -m recommender.train",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train a recommender on a dialogs.jsonl dataset (accepted dialogs; chronological split "
        "from each line's `split`), early-stopped on validation, and report test metrics under full ranking "
        "and the sampled protocol.",
    )
    p.add_argument("--data", type=Path, required=True, help="dialogs.jsonl written by python -m engine.run")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for seed<N>/ checkpoints and results.json (default: runs/recommender/<model>)",
    )
    add_model_arguments(p)
    t = p.add_argument_group("training")
    t.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2], help="one run per seed; the table shows mean ± std"
    )
    t.add_argument(
        "--epochs", type=int, default=_T.epochs, help="most epochs (early stopping usually ends sooner)"
    )
    t.add_argument(
        "--patience", type=int, default=_T.patience, help="epochs without improvement before stopping"
    )
    t.add_argument(
        "--monitor",
        choices=("ndcg@10", "hit@10", "hit@1", "mrr"),
        default=_T.monitor,
        help="validation metric (full ranking) that picks the best epoch",
    )
    t.add_argument("--batch-size", type=int, default=_T.batch_size, help="dialogs per step")
    t.add_argument("--lr", type=float, default=_T.lr, help="AdamW learning rate")
    t.add_argument("--weight-decay", type=float, default=_T.weight_decay, help="AdamW weight decay")
    t.add_argument(
        "--candidates",
        type=int,
        default=_T.sampled_candidates,
        help="sampled protocol: candidates per dialog (target included)",
    )
    t.add_argument(
        "--threads",
        type=int,
        default=_T.threads,
        help="torch CPU threads (more help on an idle machine only; then set OMP_WAIT_POLICY=PASSIVE)",
    )
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def train_config(args: argparse.Namespace, seed: int) -> TrainConfig:
    return TrainConfig(
        seed=seed,
        epochs=args.epochs,
        patience=args.patience,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        monitor=args.monitor,
        sampled_candidates=args.candidates,
        threads=args.threads,
    )


def _epoch_json(e: EpochLog) -> dict[str, Any]:
    return {"epoch": e.epoch, "loss": e.loss, "seconds": e.seconds, "validation": e.validation}


def run(args: argparse.Namespace, console: Console) -> int:
    # torch is imported here, not at module import: --help must not wait for it.
    from recommender.checkpoint import save_checkpoint
    from recommender.dataset import ItemCatalog, examples_from_records, load_records
    from recommender.tables import protocol_note, results_tables
    from recommender.training import evaluate, prepare, torch_threads, train

    out: Path = args.out or Path("runs/recommender") / args.model
    mcfg = model_config(args)
    started = time.perf_counter()
    records = load_records(args.data)
    examples = examples_from_records(records)
    catalog = ItemCatalog.from_records(records)
    prepared = prepare(examples, mcfg, catalog=catalog)
    sizes = {k: len(v) for k, v in prepared.splits.items()}
    console.print(
        f"data: {args.data} · {len(records):,} lines · {len(examples):,} accepted "
        f"(train {sizes['train']:,} · validation {sizes['validation']:,} · test {sizes['test']:,}) · "
        f"{prepared.featurizer.n_items:,} items · {len(prepared.featurizer.vocab):,} words and pairs "
        f"(loaded in {time.perf_counter() - started:.1f} s)"
    )
    per_seed: list[dict[str, Any]] = []
    for seed in args.seeds:
        tcfg = train_config(args, seed)
        folder = out / f"seed{seed}"

        def save(model: Any, log: EpochLog, folder: Path = folder, tcfg: TrainConfig = tcfg) -> None:
            save_checkpoint(
                folder,
                model,
                prepared.featurizer,
                mcfg,
                tcfg,
                extra={"data": str(args.data), "epoch": log.epoch, "validation": log.validation},
            )

        result = train(prepared, mcfg, tcfg, quiet=args.quiet, console=console, on_best=save)
        with torch_threads(tcfg.threads):
            test = evaluate(
                result.model, prepared.splits["test"], seed=seed, n_candidates=tcfg.sampled_candidates
            )
        secs = [e.seconds for e in result.epochs]
        console.print(
            f"seed {seed}: best epoch {result.best_epoch} of {len(result.epochs)} · "
            f"{sum(secs) / len(secs):.1f} s/epoch · test hit@1 {test['full']['hit@1']:.4f} · "
            f"checkpoint {folder}"
        )
        per_seed.append(
            {
                "seed": seed,
                "best_epoch": result.best_epoch,
                "test": test,
                "epochs": [_epoch_json(e) for e in result.epochs],
            }
        )
    console.print(
        protocol_note(prepared.featurizer.n_items, sizes["test"], args.candidates, args.seeds), soft_wrap=True
    )
    for table in results_tables(
        {args.model: [r["test"] for r in per_seed]},
        n_items=prepared.featurizer.n_items,
        n_candidates=args.candidates,
    ):
        console.print(table)
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        "data": str(args.data),
        "model": mcfg.model_dump(),
        "splits": sizes,
        "n_items": prepared.featurizer.n_items,
        "candidates": args.candidates,
        "runs": per_seed,
    }
    (out / "results.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    console.print(f"wrote {out / 'results.json'}")
    return 0


def _console() -> Console:
    # Piped output (logs, CI) gets a wide console: the tables' "mean ± std" cells would wrap at 80.
    console = Console()
    return console if console.is_terminal else Console(width=170)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0, or 2 for bad input)."""
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
