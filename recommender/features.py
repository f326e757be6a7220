"""Examples turned into index tensors: item indices for histories and targets, feature ids for dialogs.

A dialog is a sequence of turns, each a bag of word and word-pair ids (recommender.text), after a
leading [CLS] slot. Item index 0 is padding and 1 is the start-of-history marker (every history
begins with it, so even an empty history has one state to attend to); real items start at 2. Scores
cover real items only, so a target's column is its index minus :data:`FIRST_ITEM`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from recommender.dataset import Example, ItemCatalog
from recommender.text import Vocabulary

__all__ = ["FIRST_ITEM", "HISTORY_START", "Dialog", "Encoded", "Featurizer"]

HISTORY_START = 1
FIRST_ITEM = 2
MAX_TITLE_FEATURES = 32


@dataclass
class Encoded:
    """A whole split as tensors; :meth:`batch` slices rows and trims padding the rows do not need."""

    history: torch.Tensor  # [n, max_history + 1] item indices, left-padded (latest item last)
    speakers: torch.Tensor  # [n, max_turns + 1] speaker id per turn, [CLS] slot first, right-padded
    words: torch.Tensor  # [n, max_turns + 1, max_turn_features] feature ids per turn, right-padded
    targets: torch.Tensor  # [n] target columns (item index - FIRST_ITEM)
    dialog_ids: list[str]

    def __len__(self) -> int:
        return len(self.targets)

    def batch(self, rows: torch.Tensor | slice) -> tuple[torch.Tensor, Dialog, torch.Tensor]:
        h, s, w, t = self.history[rows], self.speakers[rows], self.words[rows], self.targets[rows]
        # Trim what is padding in every row: the cost follows the longest row of the batch only.
        h_used = max(1, int((h != 0).sum(1).max())) if len(h) else 1
        s_used = max(1, int((s != 0).sum(1).max())) if len(s) else 1
        w_used = max(1, int((w != 0).sum(2).max())) if len(w) else 1
        return h[:, h.shape[1] - h_used :], Dialog(s[:, :s_used], w[:, :s_used, :w_used].long()), t


@dataclass
class Dialog:
    """A batch of dialog contexts: speaker per turn [B, T] and feature ids per turn [B, T, F]."""

    speakers: torch.Tensor
    words: torch.Tensor


class Featurizer:
    """The item index and feature vocabulary of one trained model (saved with its checkpoint)."""

    def __init__(
        self,
        catalog: ItemCatalog,
        vocab: Vocabulary,
        *,
        max_history: int,
        max_turns: int,
        max_turn_features: int,
    ) -> None:
        self.catalog = catalog
        self.items = list(catalog.titles)
        self.item_index = {item: k + FIRST_ITEM for k, item in enumerate(self.items)}
        self.vocab = vocab
        self.max_history = max_history
        self.max_turns = max_turns
        self.max_turn_features = max_turn_features

    @classmethod
    def fit(
        cls,
        catalog: ItemCatalog,
        train: Sequence[Example],
        *,
        max_history: int,
        max_turns: int,
        max_turn_features: int,
        min_word_count: int,
    ) -> Featurizer:
        """Vocabulary from the training dialogs' context turns and every item title (catalog metadata)."""
        texts = [text for e in train for _, text in e.context]
        # Titles count once per item however rare: an item's name must be readable to be rankable.
        vocab = Vocabulary.build(
            [*texts, *(list(catalog.titles.values()) * min_word_count)], min_count=min_word_count
        )
        return cls(
            catalog, vocab, max_history=max_history, max_turns=max_turns, max_turn_features=max_turn_features
        )

    @property
    def n_items(self) -> int:
        """Rankable items (padding and the history marker excluded)."""
        return len(self.items)

    def title_ids(self) -> torch.Tensor:
        """[FIRST_ITEM + n_items, MAX_TITLE_FEATURES] feature ids of every title (rows 0 and 1 empty)."""
        out = torch.zeros(FIRST_ITEM + self.n_items, MAX_TITLE_FEATURES, dtype=torch.long)
        for k, item in enumerate(self.items):
            ids = self.vocab.ids(self.catalog.titles[item])[:MAX_TITLE_FEATURES]
            if ids:
                out[k + FIRST_ITEM, : len(ids)] = torch.tensor(ids)
        return out

    def history_row(self, items: Sequence[str]) -> list[int]:
        """Marker, then the most recent known items, oldest first (unknown items have no vector: skipped)."""
        known = [self.item_index[i] for i in items if i in self.item_index]
        return [HISTORY_START, *known[-self.max_history :]]

    def dialog_rows(self, turns: Sequence[tuple[str, str]]) -> list[tuple[int, list[int]]]:
        return self.vocab.encode_dialog(turns, self.max_turns, self.max_turn_features)

    def encode(self, examples: Sequence[Example], *, with_targets: bool = True) -> Encoded:
        """Tensors of ``examples``; without targets (a query), ``targets`` holds -1."""
        n = len(examples)
        hist = torch.zeros(n, self.max_history + 1, dtype=torch.long)
        speakers = torch.zeros(n, self.max_turns + 1, dtype=torch.long)
        # int32 halves the largest tensor; batches are widened to int64 for the embedding lookup.
        words = torch.zeros(n, self.max_turns + 1, self.max_turn_features, dtype=torch.int32)
        targets = torch.empty(n, dtype=torch.long)
        for r, e in enumerate(examples):
            h = self.history_row(e.history)
            hist[r, hist.shape[1] - len(h) :] = torch.tensor(h)
            for k, (speaker, ids) in enumerate(self.dialog_rows(e.context)):
                speakers[r, k] = speaker
                if ids:
                    words[r, k, : len(ids)] = torch.tensor(ids, dtype=torch.int32)
            targets[r] = self.item_index[e.target] - FIRST_ITEM if with_targets else -1
        return Encoded(
            history=hist,
            speakers=speakers,
            words=words,
            targets=targets,
            dialog_ids=[e.dialog_id for e in examples],
        )

    def state(self) -> dict[str, object]:
        return {
            "titles": self.catalog.titles,
            "words": self.vocab.words,
            "max_history": self.max_history,
            "max_turns": self.max_turns,
            "max_turn_features": self.max_turn_features,
        }

    @classmethod
    def from_state(cls, state: dict[str, object]) -> Featurizer:
        return cls(
            ItemCatalog(titles=dict(state["titles"])),  # type: ignore[arg-type]
            Vocabulary(list(state["words"])),  # type: ignore[arg-type]
            max_history=int(state["max_history"]),
            max_turns=int(state["max_turns"]),  # type: ignore[arg-type]
            max_turn_features=int(state["max_turn_features"]),
        )  # type: ignore[arg-type]
