"""When a text names an item: the one definition used by the validators, the quality metrics and the
recommender's dialog cut.

A text names an item when it holds the item's whole title, its first two title tokens (brand and
model), or a run of two or more title tokens that holds the model ("the S60 Travel Backpack"), as whole
tokens, case, punctuation, a possessive and a plural model aside ("the calder s10's", "the Orbis S80s")
(:func:`item_referenced`). Another item sharing
those words ("Fenwick S80 Drip" vs "Fenwick S80 Single Serve") is not a mention of it: the titles of
the other items in play are cut out first, longest first (:func:`names_item`). A clause speaks of an
item when it names one, or says "it" or speaks of its buyers without addressing the listener
(:func:`speaks_of_item`: "I will look for options with better padding for you" is no claim).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import pairwise

from agents.catalog import Catalog, normalise_tokens

__all__ = ["cut_titles", "item_referenced", "names_item", "short_mentions", "speaks_of_item"]


def _contains(tokens: Sequence[str], term: tuple[str, ...]) -> bool:
    n = len(term)
    if n and term[0] not in tokens:  # most terms miss at their first word: no window built
        return False
    return any(tuple(tokens[k:k + n]) == term for k in range(len(tokens) - n + 1))


_MODEL = re.compile(r"^(?=.*\d)(?=.*[a-z])[a-z0-9]+$")


def _is_model(token: str) -> bool:
    return bool(_MODEL.match(token))


def text_tokens(text: str) -> list[str]:
    """The text's tokens as titles are matched on: a possessive's "s" dropped, a plural model singular."""
    out = []
    for t in normalise_tokens(text):
        if t == "s":
            continue  # "Calder S10's" and "it's" leave a lone "s"
        if _is_model(t) and t.endswith("s") and _is_model(t[:-1]):
            t = t[:-1]  # "S80s"
        out.append(t)
    return out


# Several validators ask about the same (clause, title) pairs of an attempt: answered once.
@lru_cache(maxsize=16384)
def item_referenced(text: str, title: str) -> bool:
    """Whether ``text`` names the item: its whole title, brand and model, or title words around the model."""
    toks = text_tokens(text)
    title_toks = tuple(normalise_tokens(title))
    if not title_toks:
        return False
    if _contains(toks, title_toks):
        return True
    if len(title_toks) >= 2 and _contains(toks, title_toks[:2]):
        return True
    # "the S60 Travel Backpack": two or more consecutive title words, one of them the model.
    model = next((k for k, t in enumerate(title_toks) if _is_model(t)), None)
    if model is None:
        return False
    for a in range(model + 1):
        for b in range(max(a + 2, model + 1), len(title_toks) + 1):
            if _contains(toks, title_toks[a:b]):
                return True
    return False


def cut_title(text: str, tokens: Sequence[str]) -> str:
    """``text`` with the title made of ``tokens`` (whole words, any punctuation between) cut out."""
    if not tokens:
        return text
    return _title_pattern(tuple(tokens)).sub(" ", text)


@lru_cache(maxsize=4096)
def _title_pattern(tokens: tuple[str, ...]) -> re.Pattern[str]:
    # Compiled once per title: validators cut the same few titles from every clause of every attempt.
    return re.compile(r"\b" + r"\W+".join(map(re.escape, tokens)) + r"\b", flags=re.I)


def cut_titles(text: str, titles: Iterable[str]) -> str:
    """``text`` with each of ``titles`` cut out in full, longest first."""
    for title in sorted(set(titles), key=len, reverse=True):
        text = cut_title(text, normalise_tokens(title))
    return text


def names_item(text: str, title: str, others: Iterable[str] = ()) -> bool:
    """Whether ``text`` names the item titled ``title``, once the ``others`` titles are cut out."""
    return item_referenced(cut_titles(text, (o for o in others if o != title)), title)


_ITEM_WORDS = re.compile(r"\b(?:it|its|it's|they|them|their|these|those|this one|that one|this model|buyers|"
                         r"reviewers|reviews|owners|customers|users|people|the community)\b", re.I)
_SECOND_PERSON = re.compile(r"\b(?:you|your|you're|you've)\b", re.I)
# What the assistant will do next ("I'll narrow it down to better-organized packs") is no claim.
_OWN_ACTION = re.compile(
    r"^\W*(?:i(?:'ll| will| am going to|'m going to| can| could)|let me|we(?:'ll| will))\b", re.I)


def speaks_of_item(clause: str, titles: Sequence[str] = ()) -> bool:
    """Whether ``clause`` is about an item: it names one of ``titles``, or speaks of "it" or of its
    buyers without addressing the listener or saying what the speaker will do."""
    if any(item_referenced(clause, t) for t in titles):
        return True
    if _SECOND_PERSON.search(clause) or _OWN_ACTION.match(clause):
        return False
    return bool(_ITEM_WORDS.search(clause))


class _ShortIndex:
    """(brand, model) -> catalog item ids: the short names ("the Norden A30") of every catalog item."""

    def __init__(self, catalog: Catalog) -> None:
        self.by_pair: dict[tuple[str, str], list[str]] = {}
        for iid in catalog.items:
            toks = normalise_tokens(catalog.title(iid))
            if len(toks) >= 2 and _is_model(toks[1]):
                self.by_pair.setdefault((toks[0], toks[1]), []).append(iid)


_SHORT: dict[int, tuple[Catalog, _ShortIndex]] = {}


def short_mentions(text: str, catalog: Catalog, prefer: Iterable[str] = ()) -> list[str]:
    """Catalog items ``text`` names by brand and model only, in order; a pair several items share
    names the ``prefer`` items among them (the plan's), else all of them."""
    entry = _SHORT.get(id(catalog))
    if entry is None or entry[0] is not catalog:
        if len(_SHORT) > 8:
            _SHORT.clear()
        entry = (catalog, _ShortIndex(catalog))
        _SHORT[id(catalog)] = entry
    index, preferred = entry[1], set(prefer)
    toks = text_tokens(text)
    out: list[str] = []
    for pair in pairwise(toks):
        ids = index.by_pair.get(pair, [])
        mine = [i for i in ids if i in preferred] or ids
        out.extend(i for i in mine if i not in out)
    return out
