"""Clauses of a tagged sentence: the unit an aspect mention's polarity is read from.

"The color is gorgeous but it runs small" says two things, one per clause, so stage 1 scores the clause
that holds an aspect term, not the whole sentence. Clauses are cut, without a parser, at

* punctuation that separates thoughts (``, ; : . ! ?``, dashes, brackets);
* contrast and cause connectives (``but``, ``though``, ``although``, ``however``, ``yet``, ``except``,
  ``whereas``, ``while``, ``because``, ``so``);
* ``and`` when a new subject follows (a determiner or pronoun: "and the sleeves are ..."), not in a list
  of adjectives ("soft and comfortable").

Negation is read inside a clause: a negator (``not``, ``n't``, ``no``, ``never``, ``nothing``, ``without``,
``hardly``) marks every later word of its clause as negated, which the polarity model sees as a feature
of its own (``NOT_flattering`` is not ``flattering``).
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence

__all__ = ["BREAKS", "NEGATORS", "OFF_THE_MARK", "STOPWORDS", "clause_spans", "marked_words"]

BREAKS = frozenset({
    ",", ";", ":", ".", "!", "?", "...", "--", "-", "–", "—", "(", ")", "[", "]", "but", "though", "although",
    "however", "yet", "except", "whereas", "while", "because", "so",
})
_NEW_SUBJECT_TAGS = frozenset({"DT", "PRP", "PRP$", "EX", "WP"})
NEGATORS = frozenset({"not", "n't", "no", "never", "nothing", "without", "nor", "hardly", "barely", "none",
                      "cannot", "nt"})
# The feature a statement of excess or of an off size adds to its clause (see _off_the_mark).
OFF_THE_MARK = "OFF_THE_MARK"
_OFF_SIZE = frozenset({"small", "large", "big", "narrow", "wide", "short", "long", "tight", "loose", "snug",
                       "huge", "tiny", "smaller", "larger", "bigger"})
# "too" before these is praise or a plain intensifier, not excess: "too cute", "love it too much".
_NOT_EXCESS = frozenset({"cute", "good", "pretty", "beautiful", "much", "many", "bad"})
# Function words carry no polarity of their own; the polarity model ignores them.
STOPWORDS = frozenset(
    ["a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "with", "at", "by", "from", "as", "is",
     "are", "was", "were", "be", "been", "being", "am", "it", "its", "this", "that", "these", "those", "i",
     "me", "my", "we", "our", "you", "your", "they", "them", "their", "he", "she", "her", "his", "him",
     "it's", "i'm", "i've", "'s", "'m", "'re", "'ve", "'d", "'ll", "do", "does", "did", "have", "has",
     "had", "will", "would", "should", "could", "can", "may", "might", "must", "shall", "there", "here",
     "then", "than"]
)


def clause_spans(forms: Sequence[str], tags: Sequence[str]) -> list[tuple[int, int]]:
    """Half-open token ranges of the clauses of one sentence (break tokens belong to no clause)."""
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(forms)
    for i, f in enumerate(forms):
        cut = f in BREAKS or (f == "and" and i + 1 < n and tags[i + 1] in _NEW_SUBJECT_TAGS)
        if cut:
            if i > start:
                spans.append((start, i))
            start = i + 1
    if n > start:
        spans.append((start, n))
    return spans


def _off_the_mark(forms: Sequence[str], tags: Sequence[str], lemmas: Sequence[str], i: int, end: int) -> bool:
    """Whether token ``i`` opens a statement of excess or of a size off the label: "too long", "way too
    small", "runs small", "ran a bit large". A review of five stars says these too, so star ratings teach a
    model nothing about them; to a reader they are complaints about the aspect.
    """
    j = i + 1
    if forms[i] == "too":
        return j < end and tags[j][:2] in ("JJ", "RB") and forms[j] not in _NOT_EXCESS
    if lemmas[i] != "run":
        return False
    while j < end and (tags[j] in ("RB", "DT") or forms[j] in ("bit", "little", "tad")):
        j += 1
    return j < end and lemmas[j] in _OFF_SIZE


def marked_words(forms: Sequence[str], lemmas: Sequence[str], start: int, end: int,
                 tags: Sequence[str] = (), skip_nouns: Collection[str] = frozenset()) -> list[str]:
    """Features of a clause for the polarity model: content lemmas, ``NOT_`` after a negator, and each pair
    of adjacent content lemmas ("run small" is not "run" and "small"). Nouns in ``skip_nouns`` (aspect
    terms) are left out: what is judged is not how it is judged.
    """
    words: list[str] = []
    negated = False
    for i in range(start, end):
        f, w = forms[i], lemmas[i]
        if f in NEGATORS or w in NEGATORS:
            negated = True
            continue
        if not negated and tags and _off_the_mark(forms, tags, lemmas, i, end):
            words.append(OFF_THE_MARK)
        if w in STOPWORDS or not w[:1].isalpha():
            continue
        if skip_nouns and tags and tags[i] in ("NN", "NNS") and w in skip_nouns:
            continue
        words.append("NOT_" + w if negated else w)
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
