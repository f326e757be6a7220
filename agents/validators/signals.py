"""Text signals the rule validators read from turns: speech acts, aspects, stance, product names.

This module is the one place validators and quality metrics import signals from; each kind lives in its
own module: speech acts (:mod:`agents.validators.speech_acts`), aspect mentions by the aspect's own terms
in any word form (:mod:`agents.validators.aspect_mentions`), the stance of a clause
(:mod:`agents.validators.sentiment`) and, here, product-like names checked against the catalog. The signals
are about what a reader of the turn would conclude, not about how any one realizer phrases things, so the
same checks judge scripted text and real LLM text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from agents.catalog import Catalog, normalise_tokens
from agents.validators.aspect_mentions import GENERIC_WORDS, AspectTerms, aspect_terms, mentioned_aspects
from agents.validators.mentions import item_referenced
from agents.validators.sentiment import clause_sentiment, clauses, sentences, stance
from agents.validators.speech_acts import (
    accepts,
    declines,
    farewell,
    greets,
    is_question,
    recommends,
    role_slips,
)
from agents.validators.wordforms import lemma

__all__ = [
    "AspectTerms",
    "accepts",
    "aspect_terms",
    "clause_sentiment",
    "clauses",
    "declines",
    "farewell",
    "greets",
    "is_question",
    "item_referenced",
    "mentioned_aspects",
    "product_names",
    "recommends",
    "role_slips",
    "sentences",
    "stance",
    "unknown_product_names",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"\S+", text))


# -- items and product names ------------------------------------------------------------------------
_NAME_TOKEN = r"(?:[A-Z][A-Za-z0-9'&+-]*|[A-Za-z]*\d[A-Za-z0-9-]*)"
_CAPITAL_RUN = re.compile(rf"\b{_NAME_TOKEN}(?:\s+{_NAME_TOKEN})+")
# Quoted names; not *emphasis*: models bold headings ("**My recommendation:**"), and a bold product name
# of two capitalised words is a capital run anyway.
_QUOTED = re.compile(r"[\"“]([A-Z][^\"”\n]{2,60})[\"”]")
# Capitalised words that start many sentences or name things that are not products.
_NOT_NAME = _words("""
the a an this that these those it its i i'm i'd i'll my our your you we they he she his her their hi hello
hey yes no ok okay great good sure thanks thank well so and but or if as also just how what which when
where who why do does did is are was were be can could would should will may might let here there
""")


_POSSESSIVE = re.compile(r"['’]s?$")


def product_names(text: str) -> list[str]:
    """Product-like names: runs of two or more capitalised or model-number words, and quoted names.

    A run needs a model-number token (a digit) or two capitalised words that do not open a sentence;
    a leading article or sentence opener is dropped. Single capitalised words are never names here:
    too many ordinary words are capitalised (sentence openers, brands used as adjectives).
    """
    found: list[str] = []
    for m in _CAPITAL_RUN.finditer(text):
        # "the Calder S10's straps": the possessive is no part of the name.
        words = [_POSSESSIVE.sub("", w) for w in m.group(0).split()]
        while words and words[0].lower().strip("'") in _NOT_NAME:
            words = words[1:]
        if len(words) < 2:
            continue
        start = m.start() + m.group(0).find(words[0])
        sentence_initial = start == 0 or bool(re.search(r"[.!?:]\s*[\"“*]?$", text[:start]))
        has_digit = any(any(ch.isdigit() for ch in w) for w in words)
        if has_digit or len(words) - (1 if sentence_initial else 0) >= 2:
            found.append(" ".join(words).strip(".,;:!?'\""))
    for m in _QUOTED.finditer(text):
        name = m.group(1).strip(" .,;:!?")
        if 1 <= len(name.split()) <= 6 and name not in found:
            found.append(name)
    return found


class _TitleIndex:
    """Token -> item ids over catalog titles: a name is known when all its tokens share one title."""

    def __init__(self, catalog: Catalog) -> None:
        self.by_token: dict[str, set[str]] = {}
        for iid in catalog.items:
            for t in {lemma(t) for t in normalise_tokens(f"{catalog.title(iid)} {iid}")}:
                self.by_token.setdefault(t, set()).add(iid)

    def known(self, name: str, vocabulary: frozenset[str]) -> bool:
        # Lemmas: a plural model number ("the Orbis S80s") is the model.
        toks = [lemma(t) for t in normalise_tokens(name) if t not in GENERIC_WORDS and t not in _NOT_NAME]
        toks = [t for t in toks if t not in vocabulary]
        if not toks:
            return True  # nothing left to name a product: aspect words, categories, fillers
        ids: set[str] | None = None
        for t in toks:
            hit = self.by_token.get(t, set())
            ids = set(hit) if ids is None else ids & hit
            if not ids:
                return False
        return True


_INDEXES: dict[int, tuple[Catalog, _TitleIndex]] = {}


def _index(catalog: Catalog) -> _TitleIndex:
    # Keyed by id with the catalog kept alongside, so a recycled id never returns a stale index.
    entry = _INDEXES.get(id(catalog))
    if entry is None or entry[0] is not catalog:
        if len(_INDEXES) > 8:
            _INDEXES.clear()
        entry = (catalog, _TitleIndex(catalog))
        _INDEXES[id(catalog)] = entry
    return entry[1]


@lru_cache(maxsize=256)
def _vocabulary(words: tuple[str, ...]) -> frozenset[str]:
    # A dialog's vocabulary (its aspect names and phrases) is the same on every attempt: lemmatised once.
    return frozenset(lemma(t) for w in words for t in normalise_tokens(w))


def unknown_product_names(text: str, catalog: Catalog, vocabulary: Iterable[str] = ()) -> list[str]:
    """Product-like names in ``text`` matching no catalog title (``vocabulary``: words that are no names)."""
    vocab = _vocabulary(tuple(vocabulary))
    index = _index(catalog)
    return [n for n in product_names(text) if not index.known(n, vocab)]
