"""Word forms: the lemma and the root of a token, so an aspect's own terms are found as people inflect them.

Models rarely repeat an aspect's noun: they write "well-organized" for organization, "pricey" or
"overpriced" for price, "built to last" for build, "fits" and "fitted" for fit. Two tokens are forms of
one word when their :func:`root` is equal: the lemma (:func:`lemma`: plural, past, -ing, a few irregular
verbs) with a negative or degree prefix ("un", "over", ...) and derivational suffixes ("-able", "-ation",
"-y", ...) taken off while at least four letters stay. Both sides of a comparison go through the same
function, so the root need not be a real word, only the same for the forms of one word.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["lemma", "root", "roots"]

# Irregular forms people use of product words (past tenses, spellings, the odd adjective).
_IRREGULAR = {
    "built": "build", "broke": "break", "broken": "break", "fell": "fall", "worn": "wear", "wore": "wear",
    "held": "hold", "kept": "keep", "felt": "feel", "ran": "run", "bought": "buy", "paid": "pay",
    "smelt": "smell", "ate": "eat", "lasted": "last", "comfy": "comfort", "flavour": "flavor",
    "flavours": "flavor", "flavoured": "flavor", "colour": "color", "colours": "color",
    "fragrant": "fragrance",
    "durable": "durability", "sturdier": "sturdy", "cheaper": "cheap", "cheapest": "cheap",
}
_PREFIXES = ("under", "over", "non", "un")
_SUFFIXES = tuple(sorted((
    "ization", "isation", "ations", "ation", "itions", "ition", "ilities", "ility", "ness", "ments", "ment",
    "ables", "able", "ibles", "ible", "ably", "ibly", "fully", "ful", "less", "ives", "ive", "ious", "ous",
    "ances", "ance", "ences", "ence", "ants", "ant", "ions", "ion", "ities", "ity", "ated", "ates", "ate",
    "ating", "ily", "ly", "y", "al",
), key=len, reverse=True))
_VOWELS = frozenset("aeiou")
# British -ise spellings ("moisturiser", "organised") are the -ize ones.
_ISE = re.compile(r"(?<=[a-z]{3})is(?=(?:e|er|ers|ed|es|ing|ation|ations)$)")


def _inflection(token: str) -> str:
    t = token.lower()
    if t in _IRREGULAR:
        return _IRREGULAR[t]
    if len(t) > 6:
        t = _ISE.sub("iz", t)
    if len(t) > 4 and t.endswith("ies"):
        t = t[:-3] + "y"
    elif len(t) > 4 and t.endswith(("ches", "shes", "sses", "xes")):
        t = t[:-2]
    elif len(t) > 3 and t.endswith("s") and not t.endswith(("ss", "us", "is")):
        t = t[:-1]
    elif len(t) > 4 and t.endswith("ing") and _VOWELS & set(t[:-3]):
        t = t[:-3]  # "using" -> "us", but "thing" and "string" stay
    elif len(t) > 3 and t.endswith("ed") and t[-3] != "e":
        t = t[:-2]  # "sized" -> "siz", but "speed" stays
    if len(t) > 3 and t[-1] == t[-2] and t[-1] not in _VOWELS and t[-1] not in "ls":
        t = t[:-1]  # fitt -> fit, runn -> run
    return t


def _drop_e(t: str) -> str:
    # One spelling for "use"/"using", "price"/"priced": the final e goes.
    return t[:-1] if len(t) > 2 and t.endswith("e") else t


@lru_cache(maxsize=65536)
def lemma(token: str) -> str:
    """The token without its inflection: plural, past, -ing ("fitted" -> "fit", "prices" -> "pric")."""
    return _drop_e(_inflection(token))


@lru_cache(maxsize=65536)
def root(token: str) -> str:
    """The lemma with a prefix and derivational suffixes off, four letters kept ("overpriced" -> "pric")."""
    t = _inflection(token)
    for p in _PREFIXES:
        if t.startswith(p) and len(t) - len(p) >= 4:
            t = t[len(p):]
            break
    changed = True
    while changed:
        changed = False
        for s in _SUFFIXES:
            if t.endswith(s) and len(t) - len(s) >= 4:
                t = t[: -len(s)]
                changed = True
                break
    t = _drop_e(t)
    for end in ("iz", "is", "at"):
        if len(t) > 4 and t.endswith(end):
            t = t[:-2]  # organiz(ed) -> organ as organization, hydrat(ing) -> hydr as hydration
            break
    if len(t) > 4 and t[-1] == t[-2] and t[-1] not in _VOWELS:
        t = t[:-1]
    return t


def roots(tokens: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The root of each token."""
    return tuple(root(t) for t in tokens)
