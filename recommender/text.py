"""A vocabulary of words and word pairs built from training dialogs and item titles; dialogs as bags per turn.

A turn is read as the bag of its words and adjacent word pairs ("poor battery" is not "great battery");
a transformer then reads the sequence of turns. That keeps the sequence short (turns, not words), which
is what lets the models train on 2 CPU cores in seconds per epoch, while the pairs keep the local word
order that carries polarity. Features seen fewer than ``min_count`` times in training map to ``[UNK]``.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence

__all__ = [
    "PAD",
    "SPEAKER_CLS",
    "SPEAKER_SYSTEM",
    "SPEAKER_USER",
    "SPECIALS",
    "UNK",
    "Vocabulary",
    "features",
    "tokenize",
]

PAD, UNK = "[PAD]", "[UNK]"
SPECIALS = (PAD, UNK)
# Speaker ids of a turn (0 is padding): the first "turn" of every dialog is a [CLS] slot.
SPEAKER_CLS, SPEAKER_USER, SPEAKER_SYSTEM = 1, 2, 3
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[?!]")


def tokenize(text: str) -> list[str]:
    """Lower-cased words and numbers; '?' and '!' kept as tokens (a question reads differently)."""
    return _WORD.findall(text.lower())


def features(text: str) -> list[str]:
    """The words of ``text`` and its adjacent word pairs (``a_b``)."""
    words = tokenize(text)
    return words + [f"{a}_{b}" for a, b in itertools.pairwise(words)]


class Vocabulary:
    """Feature (word or word pair) to index; 0 is padding, 1 unknown."""

    def __init__(self, words: Sequence[str]) -> None:
        self.words = list(SPECIALS) + [w for w in words if w not in SPECIALS]
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, texts: Iterable[str], *, min_count: int = 2, max_size: int = 50000) -> Vocabulary:
        counts = Counter(f for t in texts for f in features(t))
        kept = [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count]
        return cls(kept[: max(0, max_size - len(SPECIALS))])

    def __len__(self) -> int:
        return len(self.words)

    def ids(self, text: str) -> list[int]:
        unk = self.index[UNK]
        return [self.index.get(f, unk) for f in features(text)]

    def encode_dialog(
        self, turns: Sequence[tuple[str, str]], max_turns: int, max_features: int
    ) -> list[tuple[int, list[int]]]:
        """(speaker id, feature ids) per turn, after a leading [CLS] slot; the latest ``max_turns`` kept.

        The end of the context is kept when it is too long: the latest turns (declines, critiques)
        are the closest to the recommendation.
        """
        body = [
            (SPEAKER_USER if speaker == "user" else SPEAKER_SYSTEM, self.ids(text)[:max_features])
            for speaker, text in turns
        ]
        return [(SPEAKER_CLS, []), *(body[-max_turns:] if max_turns else [])]
