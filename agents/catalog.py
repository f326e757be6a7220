"""The catalog as the agents see it: item titles, and which catalog items a message names.

Mention detection matches whole normalised titles (lower case, runs of letters and digits) as
token sequences, indexed by first token, so it costs O(tokens of the message x titles sharing a
first token) rather than a scan of the whole catalog per message.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping

from profiling.corpus import Item

__all__ = ["Catalog", "normalise_tokens"]

_TOKEN = re.compile(r"[a-z0-9]+")


def normalise_tokens(text: str) -> list[str]:
    """Lower-case alphanumeric tokens of ``text`` (punctuation and case never block a match)."""
    return _TOKEN.findall(text.lower())


class Catalog:
    """Item ids and titles, with a first-token index for finding titles inside free text."""

    def __init__(self, items: Mapping[str, Item]) -> None:
        self.items = items
        self._index: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        for iid, item in items.items():
            for name in {item.title or iid, iid}:
                toks = tuple(normalise_tokens(name))
                if toks:
                    self._index[toks[0]].append((toks, iid))
        for entries in self._index.values():
            entries.sort(key=lambda e: -len(e[0]))  # longest title first: "Aria Pro" beats "Aria"

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.items

    def __len__(self) -> int:
        return len(self.items)

    def title(self, item_id: str) -> str:
        """The display title of an item (its id when it has none)."""
        return self.items[item_id].title or item_id

    def mentions(self, text: str) -> list[str]:
        """Catalog item ids whose title (or id) appears in ``text``, in order of first appearance."""
        toks = normalise_tokens(text)
        found: list[str] = []
        k = 0
        while k < len(toks):
            step = 1
            for cand, iid in self._index.get(toks[k], ()):
                if tuple(toks[k:k + len(cand)]) == cand:
                    if iid not in found:
                        found.append(iid)
                    step = len(cand)
                    break
            k += step
        return found
