"""SentenceFacts: the aspect mentions profiles are computed from, one row each, as parallel arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["SentenceFacts"]


@dataclass(frozen=True, slots=True)
class SentenceFacts:
    """One row per aspect mention (or per sentence): where it comes from, its aspect and its sentiment.

    With ``sentence`` given, row ``j`` is a mention in sentence ``sentence[j]`` (a sentence about two
    aspects has two rows) and ``texts`` holds the sentences; without it, rows are the sentences themselves.
    """

    row: np.ndarray  # int64 corpus row
    user: np.ndarray  # int32 index into corpus.users
    item: np.ndarray  # int32 index into corpus.item_ids
    ts: np.ndarray  # int64 epoch ms
    label: np.ndarray  # int32 aspect id, -1 = no aspect
    sentiment: np.ndarray  # float32 in [-1, 1]
    texts: Sequence[str]
    sentence: np.ndarray | None = None  # int64 index into texts per row

    def __len__(self) -> int:
        return len(self.row)

    def sentence_id(self, j: int) -> int:
        """The sentence (index into ``texts``) of row ``j``."""
        return int(self.sentence[j]) if self.sentence is not None else j
