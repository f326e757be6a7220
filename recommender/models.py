"""The five recommenders: popularity, history-only, dialog-only, naive fusion and cross-attention.

Every neural model scores items by the dot product of a user state with item embeddings (plus an item
bias). An item's embedding is its id vector plus, with ``item_text``, the mean of its title's feature
vectors (words and word pairs); the feature table is shared with the dialog encoder, so "headphones"
said in a dialog and "headphones" in a title start from the same vector, and items never seen in
training still get a meaningful score.

- history: SASRec-style causal pre-LN transformer over the item history; the last state is the user.
- dialog: pre-LN transformer over the dialog turns (each turn the mean of its feature vectors plus
  speaker and position embeddings); the ``[CLS]`` slot's state is the user.
- fusion: both encoders, their two summary vectors concatenated and projected.
- cross: both encoders, then fusion layers in which the dialog states attend to themselves and to all
  history states (each sub-layer pre-LN with a residual); the fused ``[CLS]`` state is the user.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from recommender.config import ModelConfig
from recommender.features import FIRST_ITEM, Dialog

__all__ = ["PopularityModel", "RecModel", "build_model"]

_NEG = -1e9  # a finite mask value: a row with nothing to attend to gets uniform weights, never NaN


def mask_bias(allowed: torch.Tensor) -> torch.Tensor:
    """An additive attention bias [B, 1, Lq|1, Lk] from a bool mask [B, Lq|1, Lk] (True: may attend)."""
    return torch.zeros(allowed.shape, dtype=torch.float32).masked_fill(~allowed, _NEG).unsqueeze(1)


class Attention(nn.Module):
    """Multi-head attention of queries ``x`` over ``memory`` with an additive bias (see :func:`mask_bias`).

    No dropout on the attention weights: on CPU its random masks cost more than the attention itself.
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} must divide by heads {heads}")
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, lq, d = x.shape
        h = self.heads
        q = self.q(x).view(b, lq, h, d // h).transpose(1, 2)
        k, v = self.kv(memory).view(b, memory.shape[1], 2, h, d // h).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.out(y.transpose(1, 2).reshape(b, lq, d))


class Block(nn.Module):
    """Pre-LN block: self-attention, optional cross-attention over a memory, feed-forward; each residual."""

    def __init__(self, cfg: ModelConfig, cross: bool = False) -> None:
        super().__init__()
        d = cfg.dim
        self.ln_self = nn.LayerNorm(d)
        self.self_attn = Attention(d, cfg.heads)
        self.ln_cross = nn.LayerNorm(d) if cross else None
        self.ln_memory = nn.LayerNorm(d) if cross else None
        self.cross_attn = Attention(d, cfg.heads) if cross else None
        self.ln_ff = nn.LayerNorm(d)
        self.ff = nn.Sequential(
            nn.Linear(d, cfg.ff_mult * d), nn.GELU(), nn.Dropout(cfg.dropout), nn.Linear(cfg.ff_mult * d, d)
        )
        self.drop = nn.Dropout(cfg.dropout)

    def forward(
        self,
        x: torch.Tensor,
        bias: torch.Tensor,
        memory: torch.Tensor | None = None,
        memory_bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        y = self.ln_self(x)
        x = x + self.drop(self.self_attn(y, y, bias))
        if self.cross_attn is not None:
            assert memory is not None and memory_bias is not None
            assert self.ln_cross is not None and self.ln_memory is not None
            x = x + self.drop(self.cross_attn(self.ln_cross(x), self.ln_memory(memory), memory_bias))
        return x + self.drop(self.ff(self.ln_ff(x)))


class RecModel(nn.Module):
    """One of the four neural recommenders, chosen by ``cfg.name``."""

    def __init__(self, cfg: ModelConfig, n_items: int, n_words: int, title_ids: torch.Tensor) -> None:
        super().__init__()
        if cfg.name == "popularity":
            raise ValueError("popularity is PopularityModel, not a RecModel")
        self.cfg = cfg
        d = cfg.dim
        self.item_emb = nn.Embedding(FIRST_ITEM + n_items, d, padding_idx=0)
        self.word_emb = nn.Embedding(n_words, d, padding_idx=0)
        self.item_bias = nn.Parameter(torch.zeros(n_items))
        self.register_buffer("title_ids", title_ids, persistent=True)
        self.uses_history = cfg.name in ("history", "fusion", "cross")
        self.uses_dialog = cfg.name in ("dialog", "fusion", "cross")
        self.drop = nn.Dropout(cfg.dropout)
        if self.uses_history:
            self.history_pos = nn.Embedding(cfg.max_history + 1, d)
            self.history_blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.history_layers))
            self.history_ln = nn.LayerNorm(d)
        if self.uses_dialog:
            self.dialog_pos = nn.Embedding(cfg.max_turns + 1, d)
            self.speaker_emb = nn.Embedding(4, d, padding_idx=0)
            self.dialog_blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.dialog_layers))
            self.dialog_ln = nn.LayerNorm(d)
        if cfg.name == "fusion":
            self.fuse = nn.Sequential(
                nn.Linear(2 * d, 2 * d), nn.GELU(), nn.Linear(2 * d, d), nn.LayerNorm(d)
            )
        if cfg.name == "cross":
            self.fusion_blocks = nn.ModuleList(Block(cfg, cross=True) for _ in range(cfg.fusion_layers))
            self.fusion_ln = nn.LayerNorm(d)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
            if isinstance(m, nn.Embedding) and m.padding_idx is not None:
                with torch.no_grad():
                    m.weight[m.padding_idx].zero_()

    def item_table(self) -> torch.Tensor:
        """[FIRST_ITEM + n_items, dim]: id vectors plus, with item_text, the mean of title word vectors."""
        table = self.item_emb.weight
        if self.cfg.item_text:
            table = table + self._bag(self.title_ids)
        return table

    def _history(self, items: torch.Tensor, table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        length = items.shape[1]
        # Positions count back from the latest item: left padding leaves the latest at position 0.
        pos = torch.arange(length - 1, -1, -1, device=items.device)
        x = self.drop(table[items] + self.history_pos(pos))
        real = items != 0
        causal = torch.ones(length, length, dtype=torch.bool, device=items.device).tril()
        bias = mask_bias(causal.unsqueeze(0) & real.unsqueeze(1))
        for blk in self.history_blocks:
            x = blk(x, bias)
        return self.history_ln(x), real

    def _bag(self, ids: torch.Tensor) -> torch.Tensor:
        """Mean of the feature vectors over the last axis of ``ids`` (padding excluded; empty bags are 0)."""
        n = (ids != 0).sum(-1, keepdim=True).clamp(min=1)
        return self.word_emb(ids).sum(-2) / n

    def _dialog(self, dialog: Dialog) -> tuple[torch.Tensor, torch.Tensor]:
        speakers = dialog.speakers
        pos = torch.arange(speakers.shape[1], device=speakers.device)
        x = self.drop(self._bag(dialog.words) + self.speaker_emb(speakers) + self.dialog_pos(pos))
        real = speakers != 0
        bias = mask_bias(real.unsqueeze(1))
        for blk in self.dialog_blocks:
            x = blk(x, bias)
        return x, real

    def user_state(self, history: torch.Tensor, dialog: Dialog, table: torch.Tensor) -> torch.Tensor:
        name = self.cfg.name
        if name == "history":
            return self._history(history, table)[0][:, -1]
        d, d_real = self._dialog(dialog)
        if name == "dialog":
            return self.dialog_ln(d)[:, 0]
        h, h_real = self._history(history, table)
        if name == "fusion":
            return self.fuse(torch.cat([h[:, -1], self.dialog_ln(d)[:, 0]], dim=-1))
        d_bias, h_bias = mask_bias(d_real.unsqueeze(1)), mask_bias(h_real.unsqueeze(1))
        for blk in self.fusion_blocks:
            d = blk(d, d_bias, memory=h, memory_bias=h_bias)
        return self.fusion_ln(d)[:, 0]

    def forward(self, history: torch.Tensor, dialog: Dialog) -> torch.Tensor:
        """[batch, n_items] scores of every real item."""
        table = self.item_table()
        u = self.user_state(history, dialog, table)
        return u @ table[FIRST_ITEM:].T + self.item_bias


class PopularityModel(nn.Module):
    """Scores every item by how often it was a training target; the same list for everyone."""

    def __init__(self, cfg: ModelConfig, n_items: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.register_buffer("counts", torch.zeros(n_items))

    def fit(self, targets: torch.Tensor) -> None:
        self.counts.copy_(torch.bincount(targets, minlength=self.counts.numel()).to(self.counts.dtype))

    def forward(self, history: torch.Tensor, dialog: Dialog) -> torch.Tensor:
        return self.counts.unsqueeze(0).expand(history.shape[0], -1)


def build_model(cfg: ModelConfig, n_items: int, n_words: int, title_ids: torch.Tensor) -> nn.Module:
    """The model ``cfg.name`` names, freshly initialised."""
    if cfg.name == "popularity":
        return PopularityModel(cfg, n_items)
    return RecModel(cfg, n_items, n_words, title_ids)
