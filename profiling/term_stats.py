"""How each noun is used in a corpus: the evidence stage 1 uses to tell aspect terms from other nouns.

For every noun lemma (tags ``NN``/``NNS``), and every compound of a noun run's last two nouns ("battery
life", "sound quality": a term of its own, keyed "battery life"), one pass over the tagged sentences counts

``n``           its occurrences;
``demonstrative`` occurrences right after *this, these, that, those*: "this dress", "these pants". Shoppers
                point at the product with a demonstrative, not at its properties ("the fabric", not "this
                fabric"): a noun used so is a **product type**, not an aspect;
``personal``    right after *my, your, her, his, our*: "my husband", "my closet" are about the reviewer;
``definite``    right after *the, its, their*: properties of the product are definite ("the fit");
``circumstantial`` inside a bare prepositional phrase ("for summer", "with boots", "at retailer", "for
                reference"): the setting of the purchase, not a property;
``predicated``  as the subject of an evaluative predicate: the noun, a linking verb (*be, feel, look,
                seem, run, fit, ...*), optional adverbs, then an adjective ("the fabric is so soft");
``modified``    right after an opinion adjective (VADER lexicon, |valence| >= 0.5): "great color".

plus the surface forms of the noun (to name an aspect the way people write it) and the adjectives of the
corpus (which may derive from a term: "comfortable" from "comfort").

``specificity`` compares a noun's frequency here with its frequency in general English (``wordfreq``):
aspects of a domain are far more frequent in its reviews than in English at large ("neckline", "fabric"),
generic nouns are not ("time", "way", "thing").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from profiling.tagging import TaggedText

__all__ = ["ADJECTIVE_TAGS", "NOUN_TAGS", "NounStats", "TermUse", "count_terms", "product_type_words",
           "specificity", "valence"]

NOUN_TAGS = frozenset({"NN", "NNS"})
ADJECTIVE_TAGS = frozenset({"JJ", "JJR", "JJS"})
# Participles used as adjectives ("fitted", "lined", "stretched") can derive from a term as well.
_DERIVABLE_TAGS = ADJECTIVE_TAGS | {"VBN", "VBD"}
_DEMONSTRATIVE = frozenset({"this", "these", "that", "those"})
_PERSONAL = frozenset({"my", "your", "her", "his", "our"})
_DEFINITE = frozenset({"the", "its", "their"})
_PREPOSITIONS = frozenset({"for", "with", "in", "at", "from", "during", "on", "to", "into", "over", "under",
                           "after", "before", "around", "without"})
_LINKING = frozenset({"be", "feel", "look", "seem", "run", "fit", "appear", "sound", "smell", "taste", "stay",
                      "remain", "get", "turn"})
_ADVERB_TAGS = frozenset({"RB", "RBR", "RBS"})
_PREDICATE_TAGS = frozenset({"JJ", "JJR", "JJS", "VBN"})
_BEFORE_BARE = frozenset({"JJ", "DT", "CD", "HYPH"})


@cache
def valence() -> Mapping[str, float]:
    """VADER's lexicon: word -> valence in about [-4, 4]."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer().lexicon


@dataclass
class TermUse:
    """Counts of one noun lemma's uses (see the module docstring)."""

    n: int = 0
    demonstrative: int = 0
    personal: int = 0
    definite: int = 0
    circumstantial: int = 0
    predicated: int = 0
    modified: int = 0
    forms: Counter[str] = field(default_factory=Counter)
    before: Counter[str] = field(default_factory=Counter)  # noun lemma right before it ("water" resistance)
    # a descriptive adjective or participle right before it ("moisturizing" effect), opinion words excluded
    modifier: Counter[str] = field(default_factory=Counter)
    after: Counter[str] = field(default_factory=Counter)  # noun lemma right after it (battery "life")

    def rate(self, what: str) -> float:
        return getattr(self, what) / self.n if self.n else 0.0


@dataclass
class NounStats:
    """Per-lemma uses of every noun, the adjectives of the corpus, and the token count."""

    nouns: dict[str, TermUse]
    adjectives: Counter[str]
    tokens: int


def count_terms(tagged: TaggedText) -> NounStats:
    """One pass over the sentences collecting :class:`TermUse` per noun lemma and adjective counts."""
    forms, lemmas, tags = tagged.forms, tagged.lemmas, tagged.tags
    noun_tag = [t in NOUN_TAGS for t in tags]
    adv_tag = [t in _ADVERB_TAGS for t in tags]
    pred_tag = [t in _PREDICATE_TAGS for t in tags]
    bare_tag = [t in _BEFORE_BARE for t in tags]
    derivable = [t in _DERIVABLE_TAGS for t in tags]
    describes = [t in ("JJ", "VBG", "VBN") for t in tags]
    adj_tag = [t == "JJ" for t in tags]
    lex = valence()
    opinion_form = [abs(lex.get(f, 0.0)) >= 0.5 for f in forms]
    linking = [m in _LINKING for m in lemmas]
    dem = [f in _DEMONSTRATIVE for f in forms]
    per = [f in _PERSONAL for f in forms]
    dfn = [f in _DEFINITE for f in forms]
    prep = [f in _PREPOSITIONS for f in forms]
    article = [f in ("a", "an") for f in forms]
    stop_bare = [f in ("the", "this", "my") for f in forms]
    nouns: dict[str, TermUse] = {}
    adjectives: Counter[str] = Counter()
    def record(key: str, form: str, s: int, e: int,
               f_ids: list[int], t_ids: list[int], m_ids: list[int]) -> None:
        n = len(f_ids)
        use = nouns.get(key)
        if use is None:
            use = nouns[key] = TermUse()
        use.n += 1
        use.forms[form] += 1
        if s and noun_tag[t_ids[s - 1]]:
            use.before[lemmas[m_ids[s - 1]]] += 1
        elif s and describes[t_ids[s - 1]] and not opinion_form[f_ids[s - 1]]:
            use.modifier[forms[f_ids[s - 1]]] += 1
        if e + 1 < n and noun_tag[t_ids[e + 1]]:
            use.after[lemmas[m_ids[e + 1]]] += 1
        if s:
            p = f_ids[s - 1]
            use.demonstrative += dem[p]
            use.personal += per[p]
            use.definite += dfn[p]
            use.modified += adj_tag[t_ids[s - 1]] and opinion_form[p]
        j = s - 1
        while j >= 0 and bare_tag[t_ids[j]] and not stop_bare[f_ids[j]]:
            j -= 1
        if j >= 0 and prep[f_ids[j]] and (j == s - 1 or article[f_ids[j + 1]] or bare_tag[t_ids[j + 1]]):
            use.circumstantial += 1
        k = e + 1
        if k < n and linking[m_ids[k]]:
            k += 1
            while k < n and adv_tag[t_ids[k]]:
                k += 1
            if k < n and pred_tag[t_ids[k]]:
                use.predicated += 1

    for f_ids, t_ids, m_ids in tagged.iter_ids():
        n = len(f_ids)
        for i in range(n):
            t = t_ids[i]
            if derivable[t]:
                adjectives[forms[f_ids[i]]] += 1
            if not noun_tag[t]:
                continue
            record(lemmas[m_ids[i]], forms[f_ids[i]], i, i, f_ids, t_ids, m_ids)
            # The last two nouns of a noun run are also counted as a compound term ("battery life").
            if i and noun_tag[t_ids[i - 1]] and not (i + 1 < n and noun_tag[t_ids[i + 1]]):
                compound = f"{lemmas[m_ids[i - 1]]} {lemmas[m_ids[i]]}"
                record(compound, f"{forms[f_ids[i - 1]]} {forms[f_ids[i]]}", i - 1, i, f_ids, t_ids, m_ids)
    return NounStats(nouns=nouns, adjectives=adjectives, tokens=len(tagged.form))


def specificity(stats: NounStats, lemma: str) -> float:
    """log10 of (frequency per million tokens here) / (frequency in general English, wordfreq)."""
    from wordfreq import zipf_frequency

    use = stats.nouns.get(lemma)
    if use is None or not stats.tokens:
        return 0.0
    here = use.n / stats.tokens * 1e6
    form = use.forms.most_common(1)[0][0] if use.forms else lemma
    zipf = max(zipf_frequency(lemma, "en"), zipf_frequency(form, "en"))
    # zipf = log10(frequency per billion words); a word wordfreq has never seen counts as 0.01 per million.
    general = 10 ** (zipf - 3) if zipf > 0 else 0.01
    return math.log10(here / general)


_WORD = re.compile(r"[a-z]+")
_TITLE_STOP = re.compile(r"\s(?:with|for|by|in|and|&|-|–|\||,|\(|/)\s?", re.I)


def product_type_words(categories: Iterable[str], titles: Iterable[str],
                       known: Mapping[str, Any]) -> set[str]:
    """Lemma-like words naming product types: every category word, and each title's head noun.

    A title's head is its last word before the first "with", "for", "-", "," or "(" ("Calder S10 Rolltop
    Commuter Pack with Laptop Sleeve" -> "pack"): the other title words are brands, models and features,
    which may well be aspects ("battery", "sleeve"). Plurals are reduced when the singular is a known noun.
    """
    out: set[str] = set()

    def add(word: str) -> None:
        out.add(word)
        for suffix in ("s", "es"):  # "jeans" -> "jean", "dresses" -> "dress"
            stem = word.removesuffix(suffix)
            if stem != word and len(stem) >= 3 and stem in known:
                out.add(stem)

    for c in categories:
        for w in _WORD.findall(c.lower()):
            if len(w) >= 3:
                add(w)
    for title in titles:
        head = _TITLE_STOP.split(title, maxsplit=1)[0]
        words = [w for w in _WORD.findall(head.lower()) if len(w) >= 3]
        if words:
            add(words[-1])
    return out
