"""Checkpoints (a folder: config.json, featurizer.json, model.pt) and ``recommend`` on a loaded one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import torch
from torch import nn

from recommender.config import ModelConfig, TrainConfig
from recommender.dataset import Example, Turn, dialog_context
from recommender.errors import CheckpointError
from recommender.features import Featurizer
from recommender.models import build_model

__all__ = ["FORMAT_VERSION", "Recommender", "load_recommender", "save_checkpoint"]

FORMAT_VERSION = 1
_FILES = ("config.json", "featurizer.json", "model.pt")


def save_checkpoint(
    folder: Path,
    model: nn.Module,
    featurizer: Featurizer,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write the model, its vocabulary and item index, and both configs to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "format_version": FORMAT_VERSION,
        "model": model_cfg.model_dump(),
        "train": train_cfg.model_dump(),
        **(extra or {}),
    }
    (folder / "config.json").write_bytes(orjson.dumps(config, option=orjson.OPT_INDENT_2))
    (folder / "featurizer.json").write_bytes(orjson.dumps(featurizer.state()))
    torch.save(model.state_dict(), folder / "model.pt")


class Recommender:
    """A trained model with its featurizer: ranks items for a history and a dialog."""

    def __init__(
        self,
        model: nn.Module,
        featurizer: Featurizer,
        model_cfg: ModelConfig,
        train_cfg: TrainConfig,
        info: dict[str, Any],
    ) -> None:
        self.model = model.eval()
        self.featurizer = featurizer
        self.model_cfg = model_cfg
        self.train_cfg = train_cfg
        self.info = info

    @torch.no_grad()
    def recommend(
        self,
        user_history: Sequence[str | dict[str, Any]],
        dialog: Sequence[dict[str, Any] | tuple[str, str]] | str,
        k: int = 10,
    ) -> list[tuple[str, float]]:
        """The top ``k`` items as (item id, score), best first.

        ``user_history``: item ids (or dataset history entries with ``item``), oldest first; items the
        model never saw are skipped. ``dialog``: the turns so far as dataset turns (``speaker``, ``text``,
        optionally ``node``) or (speaker, text) pairs, or one user utterance as a string; turns from a
        ``recommend_target`` node on are not read, as in training.
        """
        items = [h["item"] if isinstance(h, dict) else h for h in user_history]
        if isinstance(dialog, str):
            turns = [Turn(speaker="user", text=dialog)]
        else:
            turns = [
                Turn.model_validate(t) if isinstance(t, dict) else Turn(speaker=t[0], text=t[1])
                for t in dialog
            ]
        context = [(t.speaker, t.text) for t in dialog_context(turns, None)]
        f = self.featurizer
        query = Example(
            dialog_id="query",
            user_id="",
            split=None,
            history=tuple(items),
            context=tuple(context),
            target="",
            target_title="",
        )
        hist, dial, _ = f.encode([query], with_targets=False).batch(slice(None))
        scores = self.model(hist, dial)[0]
        top = torch.topk(scores, min(k, scores.numel()))
        return [(f.items[int(i)], float(s)) for s, i in zip(top.values, top.indices, strict=True)]


def load_recommender(folder: str | Path) -> Recommender:
    """The checkpoint in ``folder``; CheckpointError when it is missing, incomplete or of another format."""
    folder = Path(folder)
    missing = [name for name in _FILES if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"{folder}: not a recommender checkpoint (missing {', '.join(missing)})")
    try:
        config = orjson.loads((folder / "config.json").read_bytes())
        if config.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(
                f"{folder / 'config.json'}: format_version {config.get('format_version')!r}, "
                f"this code reads {FORMAT_VERSION}"
            )
        model_cfg = ModelConfig.model_validate(config["model"])
        train_cfg = TrainConfig.model_validate(config["train"])
        featurizer = Featurizer.from_state(orjson.loads((folder / "featurizer.json").read_bytes()))
        model = build_model(model_cfg, featurizer.n_items, len(featurizer.vocab), featurizer.title_ids())
        model.load_state_dict(torch.load(folder / "model.pt", weights_only=True))
    except CheckpointError:
        raise
    except (orjson.JSONDecodeError, KeyError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{folder}: unreadable checkpoint: {exc}") from None
    info = {k: v for k, v in config.items() if k not in ("model", "train")}
    return Recommender(model, featurizer, model_cfg, train_cfg, info)
