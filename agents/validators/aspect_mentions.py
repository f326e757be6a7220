"""Which aspects a text speaks of: the aspect's own terms, in any of their word forms, and loose words.

An aspect's terms are the parts of its name and the phrases stage 1 found for it. A text mentions the
aspect when it holds a term with every word in some form of it (:mod:`agents.validators.wordforms`:
"well-organized" mentions organization, "overpriced" price, "fits" fit). Loosely (``loose=True``, read
only where the node binds the aspect), also when it holds a content word of the aspect's name on its own
("battery" for "battery runtime", "water" for "water resistance") or an everyday word of the attribute
(:mod:`agents.validators.attribute_words`: "pricey", "sturdy").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from agents.catalog import normalise_tokens
from agents.validators.attribute_words import attribute_words
from agents.validators.wordforms import lemma, root
from profiling.profiles import Aspect

__all__ = ["GENERIC_WORDS", "AspectTerms", "aspect_terms", "lexicon", "mentioned_aspects", "text_roots"]


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"\S+", text))


# Words that say nothing about which aspect a review talks of; an aspect table learnt from reviews
# picks some of them up as "phrases", and matching them would find aspects everywhere.
GENERIC_WORDS = _words("""
a an the and or of to in on for with at by from as is are was were be been it its this that these those
i me my we our you your they them their he she his her one ones thing things very really so too also just
use used uses using work works worked working first time times bought buy buying ordered order pair second
old new top love loved like liked hate mostly much many lot bit get got make made item product products
seems seem whatsoever turned update research friend bunch writing gift dad daughter wife husband son mom
recommended recommend overall quite well still even ever never always again back day days week weeks
last year years hour hours daily without nothing real level review reviews reviewer reviewers reading
buyer buyers
""")
# Name words too vague to stand for their aspect on their own ("build quality" is not "sound quality").
_VAGUE = _words("quality effect life level box resistance speed process")
_FUNCTION = frozenset(("a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "with", "at", "by",
                       "from", "as", "is", "are", "it", "its", "this", "that", "i", "my", "you", "your"))


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def lexicon() -> Mapping[str, float]:
    """VADER's word valences (the one analyser's; building an analyser reads the file)."""
    return _analyzer().lexicon


@dataclass(frozen=True)
class AspectTerms:
    """The token sequences that name one aspect (lower case); ``primary`` come from its names.

    ``loose``: single name words and everyday attribute words (roots), read only where a node binds it.
    """

    aspect: int
    name: str
    terms: tuple[tuple[str, ...], ...]
    primary: tuple[tuple[str, ...], ...] = ()
    loose: tuple[tuple[str, ...], ...] = field(default=(), compare=False)

    @property
    def label(self) -> str:
        """A short readable name: the first part of the aspect's name."""
        return self.name.split(" / ")[0].strip()

    @cached_property
    def term_lemmas(self) -> tuple[tuple[str, ...], ...]:
        """The terms as lemmas (what is masked before a clause is scored: the nouns, not derived words)."""
        return tuple(tuple(lemma(t) for t in term) for term in self.terms)

    @cached_property
    def term_roots(self) -> tuple[tuple[str, ...], ...]:
        """The terms as roots (what text is matched on)."""
        return tuple(tuple(root(t) for t in term) for term in self.terms)

    @cached_property
    def primary_roots(self) -> tuple[tuple[str, ...], ...]:
        """The primary terms as roots."""
        return tuple(tuple(root(t) for t in term) for term in self.primary)


def _usable(tokens: tuple[str, ...], *, label: bool = False, bound: bool = False) -> bool:
    if bound:
        # A name the realizer was given: any of its parts is how it may refer to the aspect.
        return any(t not in _FUNCTION and (label or t not in lexicon()) for t in tokens)
    content = [t for t in tokens if t not in GENERIC_WORDS]
    if not content:
        return False
    if len(tokens) == 1 and not label:
        t = tokens[0]
        # A sentiment word ("great", "solid") is how people judge an aspect, not what they judge.
        return len(t) >= 3 and not t.isdigit() and t not in lexicon()
    return True


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(normalise_tokens(text))


def aspect_terms(aspect: Aspect | None, *, aspect_id: int, names: Iterable[str] = ()) -> AspectTerms:
    """The usable terms of an aspect: the parts of its name and its phrases, plus any extra ``names``.

    An aspect whose every word is generic (a table learnt from reviews can name one "use / love /
    mostly") keeps its whole name and the first part of it as terms: that is how a realizer given
    the name refers to it, and without a term it could never be found.
    """
    # Built once per (name, phrases, names): a run asks for the same aspects' terms on every attempt.
    if aspect is None:
        return _terms(None, (), aspect_id, tuple(names))
    return _terms(aspect.name, tuple(aspect.phrases), aspect_id, tuple(names))


@lru_cache(maxsize=4096)
def _terms(aspect_name: str | None, phrases: tuple[str, ...], aspect_id: int, names: tuple[str, ...]
           ) -> AspectTerms:
    name_parts: list[tuple[str, bool, bool]] = []
    own = [(aspect_name, False)] if aspect_name is not None else []
    for n, bound in [*((n, True) for n in names), *own]:
        # The first part is the aspect's label ("comfort / padding"): a term even when VADER's lexicon
        # holds it as a sentiment word, as it does "comfort".
        name_parts.extend((part, k == 0, bound) for k, part in enumerate(n.split("/")))
    primary: list[tuple[str, ...]] = []
    for part, is_label, bound in name_parts:
        toks = _tokens(part)
        if toks and _usable(toks, label=is_label, bound=bound) and toks not in primary:
            primary.append(toks)
    name = aspect_name if aspect_name is not None else next(iter(names), str(aspect_id))
    if not primary:
        for fallback in (_tokens(name), _tokens(name.split("/")[0])):
            if fallback and fallback not in primary:
                primary.append(fallback)
    terms = list(primary)
    for phrase in phrases:
        toks = _tokens(phrase)
        if toks and _usable(toks) and toks not in terms:
            terms.append(toks)
    term_roots = [root(t) for term in terms for t in term]
    loose: list[tuple[str, ...]] = []
    for part, _, _ in name_parts:
        for w in normalise_tokens(part):
            if w not in GENERIC_WORDS and w not in _VAGUE and w not in _FUNCTION and len(w) >= 3:
                r = (root(w),)
                if r not in loose:
                    loose.append(r)
    loose.extend(p for p in attribute_words(term_roots) if p not in loose)
    return AspectTerms(aspect=aspect_id, name=name, terms=tuple(terms), primary=tuple(primary),
                       loose=tuple(loose))


def _cover(tokens: Sequence[str], where: Mapping[str, list[int]], terms: Iterable[tuple[str, ...]]
           ) -> frozenset[int]:
    """Positions of ``tokens`` covered by an occurrence of one of ``terms``; ``where``: each token's
    positions (a term is only tried where its first word is)."""
    out: set[int] = set()
    for term in terms:
        if not term or (starts := where.get(term[0])) is None:
            continue
        n = len(term)
        for k in starts:
            if n == 1 or tuple(tokens[k:k + n]) == term:
                out.update(range(k, k + n))
    return frozenset(out)


def _positions(tokens: Sequence[str]) -> dict[str, list[int]]:
    where: dict[str, list[int]] = {}
    for k, t in enumerate(tokens):
        where.setdefault(t, []).append(k)
    return where


def text_roots(text: str) -> list[str]:
    """The roots of the text's tokens (what terms are matched against)."""
    return [root(t) for t in normalise_tokens(text)]


def mentioned_aspects(text: str, table: Iterable[AspectTerms], *, primary_only: bool = False,
                      loose: bool = False) -> list[int]:
    """Ids of the aspects in ``table`` that ``text`` names by one of their terms.

    When the words that name one aspect are all part of a stronger mention of another (more of its
    name, or more words), only the stronger is kept: "marks / top / build" said in full is not also
    a mention of "build / quality" through the shared word "build". ``primary_only``: by name parts
    only, not by the phrases a table learnt (stronger evidence). ``loose``: also by single name words
    and everyday attribute words (for a table of the aspects a node binds).
    """
    toks = text_roots(text)
    where = _positions(toks)
    hits: list[tuple[int, frozenset[int], tuple[int, int]]] = []
    for a in table:
        terms = a.primary_roots if primary_only else a.term_roots
        cov = _cover(toks, where, terms)
        if loose and not cov:
            cov = _cover(toks, where, a.loose)
            if cov:
                hits.append((a.aspect, cov, (-1, len(cov))))
            continue
        if cov:
            prim = _cover(toks, where, a.primary_roots)
            hits.append((a.aspect, cov, (len(prim), len(cov))))
    return [a for a, cov, score in hits
            if not any(cov <= c2 and s2 > score for b, c2, s2 in hits if b != a)]
