"""When a text names an item: the one definition used by the validators, the quality metrics and the
recommender's dialog cut.

A text names an item when it holds the item's whole title, or its first two title tokens (brand and
model), as whole tokens, case and punctuation aside (:func:`item_referenced`). Another item sharing
those words ("Fenwick S80 Drip" vs "Fenwick S80 Single Serve") is not a mention of it: the titles of
the other items in play are cut out first, longest first (:func:`names_item`). A clause speaks of an
item when it names one, or says "it" or speaks of its buyers without addressing the listener
(:func:`speaks_of_item`: "I will look for options with better padding for you" is no claim).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from agents.catalog import normalise_tokens

__all__ = ["cut_titles", "item_referenced", "names_item", "speaks_of_item"]


def _contains(tokens: Sequence[str], term: tuple[str, ...]) -> bool:
    n = len(term)
    return any(tuple(tokens[k:k + n]) == term for k in range(len(tokens) - n + 1))


def item_referenced(text: str, title: str) -> bool:
    """Whether ``text`` names the item: its whole title, or its first two title tokens (brand and model)."""
    toks = normalise_tokens(text)
    title_toks = tuple(normalise_tokens(title))
    if not title_toks:
        return False
    if _contains(toks, title_toks):
        return True
    return len(title_toks) >= 2 and _contains(toks, title_toks[:2])


def cut_title(text: str, tokens: Sequence[str]) -> str:
    """``text`` with the title made of ``tokens`` (whole words, any punctuation between) cut out."""
    if not tokens:
        return text
    return re.sub(r"\b" + r"\W+".join(map(re.escape, tokens)) + r"\b", " ", text, flags=re.I)


def cut_titles(text: str, titles: Iterable[str]) -> str:
    """``text`` with each of ``titles`` cut out in full, longest first."""
    for title in sorted(set(titles), key=len, reverse=True):
        text = cut_title(text, normalise_tokens(title))
    return text


def names_item(text: str, title: str, others: Iterable[str] = ()) -> bool:
    """Whether ``text`` names the item titled ``title``, once the ``others`` titles are cut out."""
    return item_referenced(cut_titles(text, (o for o in others if o != title)), title)


_ITEM_WORDS = re.compile(r"\b(?:it|its|it's|this one|that one|this model|buyers|reviewers|reviews|owners|"
                         r"customers|users|people|the community)\b", re.I)
_SECOND_PERSON = re.compile(r"\b(?:you|your|you're|you've)\b", re.I)


def speaks_of_item(clause: str, titles: Sequence[str] = ()) -> bool:
    """Whether ``clause`` is about an item: it names one of ``titles``, or speaks of "it" or of its
    buyers without addressing the listener."""
    if any(item_referenced(clause, t) for t in titles):
        return True
    return bool(_ITEM_WORDS.search(clause)) and not _SECOND_PERSON.search(clause)
