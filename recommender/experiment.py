"""One train-and-test run in process, for callers that pick their own splits (e.g. seed selection).

The three lists say which split each record is in (their ``split`` field is not read). Only accepted
records are examples; the item vocabulary is every item named in any record given (history, target,
negatives, all statuses), so items seen only in validation or test are still ranked.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from recommender import training
from recommender.config import MODEL_NAMES, ModelConfig, TrainConfig
from recommender.dataset import DialogRecord, ItemCatalog, examples_from_records, parse_record
from recommender.errors import UnknownModelError

__all__ = ["run_experiment"]


def _parse(records: list[dict[str, Any]], split: str) -> list[DialogRecord]:
    return [parse_record(r, file=f"<{split} records>", line=k + 1) for k, r in enumerate(records)]


def run_experiment(
    train: list[dict],
    validation: list[dict],
    test: list[dict],
    *,
    model: str = "cross",
    seed: int = 0,
    epochs: int | None = None,
    quiet: bool = True,
) -> dict[str, float]:
    """Train ``model`` on ``train`` (early-stopped on ``validation``) and return its metrics on ``test``.

    Keys: hit@1, hit@5, hit@10, ndcg@5, ndcg@10, mrr (full ranking over every item), the same with a
    ``sampled_`` prefix (target plus 24 uniformly sampled items), and n_train, n_validation, n_test
    (accepted dialogs used). ``epochs`` caps training (default: TrainConfig's, with early stopping).
    """
    if model not in MODEL_NAMES:
        raise UnknownModelError(f"unknown model {model!r}; choose one of {', '.join(MODEL_NAMES)}")
    parsed = {
        name: _parse(recs, name)
        for name, recs in (("train", train), ("validation", validation), ("test", test))
    }
    catalog = ItemCatalog.from_records(r for recs in parsed.values() for r in recs)
    examples = [
        dataclasses.replace(e, split=name)  # the list a record came in is its split
        for name, recs in parsed.items()
        for e in examples_from_records(recs)
    ]
    model_cfg = ModelConfig(name=model)  # type: ignore[arg-type]
    train_cfg = TrainConfig(seed=seed, **({"epochs": epochs} if epochs is not None else {}))
    prepared = training.prepare(examples, model_cfg, catalog=catalog)
    result = training.train(prepared, model_cfg, train_cfg, quiet=quiet)
    with training.torch_threads(train_cfg.threads):
        metrics = training.evaluate(
            result.model, prepared.splits["test"], seed=seed, n_candidates=train_cfg.sampled_candidates
        )
    out = dict(metrics["full"])
    out.update({f"sampled_{k}": v for k, v in metrics["sampled"].items()})
    out.update({f"n_{k}": float(len(v)) for k, v in prepared.splits.items()})
    return out
