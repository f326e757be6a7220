"""One place for the recommender's defaults: model sizes and training settings (saved in checkpoints)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MODEL_NAMES", "ModelConfig", "ModelName", "TrainConfig"]

ModelName = Literal["cross", "fusion", "history", "dialog", "popularity"]
MODEL_NAMES: tuple[ModelName, ...] = ("cross", "fusion", "history", "dialog", "popularity")


class ModelConfig(BaseModel):
    """Architecture and sizes; the defaults are the compact CPU model."""

    model_config = ConfigDict(extra="forbid")

    name: ModelName = "cross"
    dim: int = Field(64, ge=8, description="width of every state and embedding")
    heads: int = Field(2, ge=1, description="attention heads (dim must divide by it)")
    history_layers: int = Field(2, ge=1, description="causal self-attention blocks over the item history")
    dialog_layers: int = Field(2, ge=1, description="self-attention blocks over the dialog turns")
    fusion_layers: int = Field(
        2, ge=1, description="cross: blocks where dialog states attend to history states"
    )
    ff_mult: int = Field(2, ge=1, description="feed-forward width as a multiple of dim")
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    max_history: int = Field(50, ge=1, description="most recent history items read")
    max_turns: int = Field(
        24, ge=1, description="dialog turns read (the most recent before the recommendation)"
    )
    max_turn_features: int = Field(96, ge=1, description="words and word pairs read per turn")
    item_text: bool = Field(
        True, description="an item's embedding adds the mean of its title's feature vectors"
    )
    min_word_count: int = Field(2, ge=1, description="words seen fewer times in training map to [UNK]")


class TrainConfig(BaseModel):
    """Optimisation, early stopping and evaluation settings."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    epochs: int = Field(30, ge=1, description="upper bound; early stopping usually ends sooner")
    patience: int = Field(3, ge=1, description="epochs without a better validation score before stopping")
    batch_size: int = Field(128, ge=1)
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    grad_clip: float = Field(1.0, gt=0)
    monitor: Literal["ndcg@10", "hit@10", "hit@1", "mrr"] = Field(
        "ndcg@10", description="validation metric (full ranking) that picks the best epoch"
    )
    sampled_candidates: int = Field(25, ge=2, description="sampled protocol: target plus this many minus one")
    # One thread by default: these models are small, and on a shared machine OpenMP worker threads
    # spin-wait against other processes (measured at load 13 on 2 cores: 4.7 s per step with 2
    # threads, 0.52 s with 1). Set 2+ (and OMP_WAIT_POLICY=PASSIVE) on an idle machine.
    threads: int = Field(1, ge=1, description="torch CPU threads while training (restored afterwards)")
