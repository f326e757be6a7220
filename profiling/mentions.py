"""Aspect mentions in tagged sentences: which aspect each clause speaks of, and with what polarity.

A clause mentions an aspect when it holds

1. one of the aspect's **terms** as a noun ("the *fabric* is soft"); in a noun compound the head wins
   ("*sleeve length*" is length);
2. an adjective **derived** from a term ("so *comfortable*" is comfort, "*stylish*" is style), a term used
   as a predicate adjective ("it runs *small*" when "small" is a size term), or the verb of a general
   attribute ("it *fits* perfectly" is fit);
3. failing both, a **cue**: an adjective that, in this corpus, nearly always comes with one aspect's terms
   ("*vibrant*" with color, "*sheer*" with fabric). A cue is only read in a clause without a term.

A sentence whose clauses hold none of these has no aspect (an empty list): verdicts ("love it!"), purchase
stories ("bought it for a wedding") and product types alone ("this dress") never ground a fact. An aspect
mentioned twice in one sentence counts once, with the polarity of its first clause.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from profiling.clause_polarity import PolarityModel, vader_compound
from profiling.clauses import clause_spans, marked_words
from profiling.tagging import TaggedText
from profiling.term_stats import NOUN_TAGS

__all__ = ["CUE", "DERIVED", "SOURCES", "TERM", "WEAK_CLAUSE", "AspectLexicon", "Mentions", "clause_aspects",
           "find_mentions"]

TERM, DERIVED, CUE = 0, 1, 2
# A clause scoring closer to 0 than this says nothing for or against on its own.
WEAK_CLAUSE = 0.15
SOURCES = ("term", "derived", "cue")
_VERB_PREFIX = "VB"
_DERIVED_TAGS = frozenset({"JJ", "JJR", "JJS", "VBN", "VBD"})
_ADJECTIVE_TAGS = frozenset({"JJ", "JJR", "JJS"})


@dataclass(frozen=True)
class AspectLexicon:
    """The words that mention each aspect: noun terms, derived adjectives (and attribute verbs), cues."""

    terms: Mapping[str, int]  # noun lemma -> aspect id
    derived: Mapping[str, int]  # adjective / participle form -> aspect id
    verbs: Mapping[str, int]  # verb lemma -> aspect id (general attributes only: "fit", "wash")
    cues: Mapping[str, int]  # adjective lemma -> aspect id


def clause_aspects(forms: Sequence[str], tags: Sequence[str], lemmas: Sequence[str], start: int, end: int,
                   lex: AspectLexicon, *, use_cues: bool = True) -> list[tuple[int, int, int]]:
    """(aspect, source, token index) of each aspect mentioned in one clause, first mention first."""
    found: list[tuple[int, int, int]] = []
    seen: set[int] = set()
    for i in range(start, end):
        tag = tags[i]
        aspect = source = None
        if tag in NOUN_TAGS:
            if i + 1 < end and tags[i + 1] in NOUN_TAGS:
                continue  # a noun run is read at its last noun
            # A run names one aspect: its compound term ("battery life"), else its head ("sleeve length"
            # is length), else the nearest other noun that is a term ("color combo" is color).
            run = i
            while run > start and tags[run - 1] in NOUN_TAGS:
                run -= 1
            a = lex.terms.get(f"{lemmas[i - 1]} {lemmas[i]}") if run < i else None
            for j in range(i, run - 1, -1):
                if a is not None:
                    break
                a = lex.terms.get(lemmas[j])
            if a is not None:
                aspect, source = a, TERM
        elif forms[i] in lex.derived:
            # Whatever its tag: a derived adjective mis-tagged as a verb ("super stylish" read as VB) is one.
            aspect, source = lex.derived[forms[i]], DERIVED
        elif (tag in _ADJECTIVE_TAGS and lemmas[i] in lex.terms
              and not (i + 1 < end and tags[i + 1] in NOUN_TAGS)):
            # A term said as a predicate adjective names its aspect: "it runs small" (size), "it's navy".
            aspect, source = lex.terms[lemmas[i]], DERIVED
        elif tag.startswith(_VERB_PREFIX) and lemmas[i] in lex.verbs:
            aspect, source = lex.verbs[lemmas[i]], DERIVED
        if aspect is not None and aspect not in seen:
            seen.add(aspect)
            found.append((aspect, source, i))
    if use_cues:
        # A cue adds its aspect beside the clause's terms ("soft and comfortable": fabric and comfort).
        for i in range(start, end):
            # Only a predicate adjective cues its aspect: in "light rain" or "the big brands" it describes
            # the noun after it, not the product.
            attributive = i + 1 < end and tags[i + 1] in NOUN_TAGS
            a = lex.cues.get(lemmas[i]) if tags[i].startswith("JJ") and not attributive else None
            if a is not None and a not in seen:
                seen.add(a)
                found.append((a, CUE, i))
    return found


@dataclass(frozen=True)
class Mentions:
    """One row per (sentence, aspect): the sentence's index, aspect, polarity, how it was found, the word."""

    sentence: np.ndarray  # int64 index into the sentences given
    aspect: np.ndarray  # int32
    polarity: np.ndarray  # float32 in [-1, 1]
    source: np.ndarray  # int8: TERM, DERIVED or CUE
    word: list[str]  # the token that mentions the aspect, as written (lower case)

    def __len__(self) -> int:
        return len(self.sentence)

    def by_sentence(self, n: int) -> list[list[int]]:
        """Row numbers of each sentence's mentions (``n`` sentences)."""
        out: list[list[int]] = [[] for _ in range(n)]
        for r, s in enumerate(self.sentence.tolist()):
            out[s].append(r)
        return out

    def primary(self, n: int) -> np.ndarray:
        """One aspect per sentence (its first mention), -1 for a sentence without one."""
        labels = np.full(n, -1, dtype=np.int32)
        rows = np.flatnonzero(np.r_[True, self.sentence[1:] != self.sentence[:-1]]) if len(self) else []
        labels[self.sentence[rows]] = self.aspect[rows]
        return labels


def find_mentions(tagged: TaggedText, lex: AspectLexicon, polarity: PolarityModel, *,
                  use_cues: bool = True, sentence_polarity: np.ndarray | None = None,
                  weak: float = WEAK_CLAUSE, sentence_vader: np.ndarray | None = None) -> Mentions:
    """Every aspect mention of every sentence of ``tagged``, in sentence order.

    With ``sentence_polarity`` (one score per sentence), a clause that says nothing for or against on its
    own (|score| < ``weak``: "the detail, the weight" in "I love the detail, the weight, the fringe")
    takes its sentence's score: the judgement of a list is often said once for all its items.
    ``sentence_vader`` (VADER per sentence) is reused for clauses that are their whole sentence.
    """
    forms_v, tags_v, lemmas_v = tagged.forms, tagged.tags, tagged.lemmas
    skipped = polarity.skipped
    sent: list[int] = []
    asp: list[int] = []
    src: list[int] = []
    words: list[str] = []
    clause_text: list[str] = []
    clause_words: list[list[str]] = []
    clause_of: list[int] = []
    whole: list[int] = []  # the sentence a clause is all of (its VADER score is known), else -1
    for k, (f_ids, t_ids, m_ids) in enumerate(tagged.iter_ids()):
        forms = [forms_v[f] for f in f_ids]
        tags = [tags_v[t] for t in t_ids]
        lemmas = [lemmas_v[m] for m in m_ids]
        seen: set[int] = set()
        for a, b in clause_spans(forms, tags):
            found = [x for x in clause_aspects(forms, tags, lemmas, a, b, lex, use_cues=use_cues)
                     if x[0] not in seen]
            if not found:
                continue
            clause_of.extend([len(clause_text)] * len(found))
            whole.append(k if sentence_vader is not None and a == 0 and b == len(forms) else -1)
            clause_text.append(" ".join(forms[a:b]))
            clause_words.append(marked_words(forms, lemmas, a, b, tags, skipped))
            for aspect, source, i in found:
                seen.add(aspect)
                sent.append(k)
                asp.append(aspect)
                src.append(source)
                words.append(forms[i])
    vader = np.zeros(len(clause_text))
    parts = [c for c, k in enumerate(whole) if k < 0] if polarity.needs_vader else []
    if parts:
        vader[parts] = vader_compound([clause_text[c] for c in parts])
    if sentence_vader is not None and polarity.needs_vader:
        known = [(c, k) for c, k in enumerate(whole) if k >= 0]
        if known:
            vader[[c for c, _k in known]] = np.asarray(sentence_vader)[[k for _c, k in known]]
    clause_pol = [polarity.score(w, t, float(v))
                  for w, t, v in zip(clause_words, clause_text, vader, strict=True)]
    pol = np.asarray([clause_pol[c] for c in clause_of], dtype=np.float32)
    if sentence_polarity is not None and len(pol):
        s_pol = np.asarray(sentence_polarity, dtype=np.float32)[np.asarray(sent, dtype=np.int64)]
        pol = np.where(np.abs(pol) < weak, s_pol, pol).astype(np.float32)
    return Mentions(np.asarray(sent, dtype=np.int64), np.asarray(asp, dtype=np.int32), pol,
                    np.asarray(src, dtype=np.int8), words)
