"""Training with early stopping on validation, and evaluation under both protocols.

Loss: softmax cross-entropy over every item (the catalogs here are small enough for the full softmax,
which is also exactly the full-ranking task). The best epoch by the monitored validation metric is
kept; training stops after ``patience`` epochs without improvement.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

from recommender.config import ModelConfig, TrainConfig
from recommender.dataset import Example, ItemCatalog, split_examples
from recommender.errors import EmptySplitError
from recommender.features import Encoded, Featurizer
from recommender.metrics import full_ranks, metrics_from_ranks, sampled_candidates, sampled_ranks
from recommender.models import PopularityModel, build_model

__all__ = ["EpochLog", "Prepared", "TrainResult", "evaluate", "prepare", "torch_threads", "train"]


@dataclass
class Prepared:
    """A dataset ready for a model: its featurizer and each split as tensors."""

    featurizer: Featurizer
    splits: dict[str, Encoded]


@dataclass
class EpochLog:
    epoch: int
    loss: float
    seconds: float
    validation: dict[str, float]


@dataclass
class TrainResult:
    model: nn.Module
    best_epoch: int
    epochs: list[EpochLog] = field(default_factory=list)
    stopped_early: bool = False


def prepare(examples: list[Example], model_cfg: ModelConfig, *, catalog: ItemCatalog) -> Prepared:
    """Split examples chronologically, fit the vocabulary on training dialogs, encode every split."""
    by_split = split_examples(examples)
    for name in ("train", "validation", "test"):
        if not by_split[name]:
            raise EmptySplitError(
                f"the {name} split has no accepted dialog ({len(examples)} accepted in all)"
            )
    feat = Featurizer.fit(
        catalog,
        by_split["train"],
        max_history=model_cfg.max_history,
        max_turns=model_cfg.max_turns,
        max_turn_features=model_cfg.max_turn_features,
        min_word_count=model_cfg.min_word_count,
    )
    return Prepared(featurizer=feat, splits={k: feat.encode(v) for k, v in by_split.items()})


@torch.no_grad()
def _scores(model: nn.Module, data: Encoded, batch_size: int = 512) -> torch.Tensor:
    model.eval()
    out = []
    for start in range(0, len(data), batch_size):
        h, d, _ = data.batch(slice(start, start + batch_size))
        out.append(model(h, d))
    return torch.cat(out) if out else torch.empty(0)


def evaluate(
    model: nn.Module, data: Encoded, *, seed: int, n_candidates: int = 25
) -> dict[str, dict[str, float]]:
    """Metrics of ``data`` under full ranking and under target + sampled candidates (seeded)."""
    scores = _scores(model, data)
    n_items = scores.shape[1]
    rng = np.random.default_rng(seed)
    full = metrics_from_ranks(full_ranks(scores, data.targets, rng))
    cand = sampled_candidates(data.dialog_ids, data.targets.numpy(), n_items, n_candidates, seed)
    sampled = metrics_from_ranks(sampled_ranks(scores, cand, rng))
    return {"full": full, "sampled": sampled}


def _progress(quiet: bool, console: Console | None) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console or Console(),
        disable=quiet,
    )


def train(
    prepared: Prepared,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    *,
    quiet: bool = True,
    console: Console | None = None,
    on_best: Callable[[nn.Module, EpochLog], None] | None = None,
) -> TrainResult:
    """Train ``model_cfg.name`` on the train split, early-stopped on validation; returns the best model."""
    with torch_threads(train_cfg.threads):
        return _train(prepared, model_cfg, train_cfg, quiet=quiet, console=console, on_best=on_best)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op thread count set to ``n`` inside the block, and put back after it."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train(
    prepared: Prepared,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    *,
    quiet: bool,
    console: Console | None,
    on_best: Callable[[nn.Module, EpochLog], None] | None,
) -> TrainResult:
    torch.manual_seed(train_cfg.seed)
    feat = prepared.featurizer
    tr, va = prepared.splits["train"], prepared.splits["validation"]
    model = build_model(model_cfg, feat.n_items, len(feat.vocab), feat.title_ids())
    if isinstance(model, PopularityModel):
        start = time.perf_counter()
        model.fit(tr.targets)
        log = EpochLog(
            1,
            0.0,
            time.perf_counter() - start,
            evaluate(model, va, seed=train_cfg.seed, n_candidates=train_cfg.sampled_candidates)["full"],
        )
        if on_best:
            on_best(model, log)
        return TrainResult(model=model, best_epoch=1, epochs=[log])

    opt = torch.optim.AdamW(
        model.parameters(), lr=train_cfg.lr, weight_decay=train_cfg.weight_decay, fused=True
    )
    gen = torch.Generator().manual_seed(train_cfg.seed)
    result = TrainResult(model=model, best_epoch=0)
    best_score, best_state, waited = -1.0, copy.deepcopy(model.state_dict()), 0
    n_batches = (len(tr) + train_cfg.batch_size - 1) // train_cfg.batch_size
    with _progress(quiet, console) as bar:
        task = bar.add_task(model_cfg.name, total=n_batches * train_cfg.epochs, status="")
        for epoch in range(1, train_cfg.epochs + 1):
            model.train()
            started = time.perf_counter()
            order = torch.randperm(len(tr), generator=gen)
            total = 0.0
            for b in range(n_batches):
                h, d, t = tr.batch(order[b * train_cfg.batch_size : (b + 1) * train_cfg.batch_size])
                loss = F.cross_entropy(model(h, d), t)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), train_cfg.grad_clip)
                opt.step()
                total += float(loss.detach()) * len(t)
                bar.update(task, advance=1)
            seconds = time.perf_counter() - started
            val = evaluate(model, va, seed=train_cfg.seed, n_candidates=train_cfg.sampled_candidates)["full"]
            log = EpochLog(epoch, total / len(tr), seconds, val)
            result.epochs.append(log)
            score = val[train_cfg.monitor]
            if score > best_score:
                best_score, best_state, waited, result.best_epoch = (
                    score,
                    copy.deepcopy(model.state_dict()),
                    0,
                    epoch,
                )
                if on_best:
                    on_best(model, log)
            else:
                waited += 1
            bar.update(
                task,
                status=f"epoch {epoch} loss {log.loss:.3f} val {train_cfg.monitor} {score:.4f} "
                f"(best {best_score:.4f} @ {result.best_epoch})",
            )
            if waited >= train_cfg.patience:
                result.stopped_early = epoch < train_cfg.epochs
                bar.update(task, completed=n_batches * train_cfg.epochs)
                break
    model.load_state_dict(best_state)
    model.eval()
    return result
