"""Readable aspect names: each cluster's top phrases by class-based TF-IDF over its sentences.

All sentences of one aspect form one "class document". A phrase (a unigram or a bigram that neither starts nor
ends with a stopword) scores ``tf(phrase, class) / words(class) * log(1 + mean_words / freq(phrase, all))``:
frequent in this aspect, rare over the whole corpus. The name joins the top three phrases, skipping a unigram
already inside a chosen bigram.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

__all__ = ["STOPWORDS", "name_of", "phrases_of", "tokenize", "top_phrases"]

STOPWORDS = frozenset([
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at",
    "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could",
    "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has",
    "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if",
    "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor",
    "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "out", "over", "own",
    "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them",
    "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under",
    "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom",
    "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "im", "ive", "id",
    "dont", "didnt", "doesnt", "isnt", "wasnt", "arent", "werent", "cant", "couldnt", "wont", "wouldnt",
    "shouldnt", "thats", "theres", "its", "it's", "i'm", "i've", "don't", "didn't", "doesn't", "isn't",
    "wasn't", "can't", "won't", "also", "really", "one", "get", "got", "would", "could", "much", "even",
    "still", "well", "bit", "lot", "little", "way", "go", "going", "since", "though", "although", "however",
    "yet", "ever", "every", "made", "make", "makes", "s", "t", "ll", "re", "ve", "d", "m"
])
_TOKEN = re.compile(r"[a-z][a-z'\-]*[a-z]|[a-z]")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens (letters, inner apostrophes and hyphens)."""
    return [t.replace("'", "") for t in _TOKEN.findall(text.lower())]


def phrases_of(tokens: Sequence[str]) -> list[str]:
    """Candidate phrases of a token list: content unigrams and bigrams with content words at both ends."""
    out = [t for t in tokens if t not in STOPWORDS and len(t) > 1]
    out.extend(f"{a} {b}" for a, b in itertools.pairwise(tokens)
               if a not in STOPWORDS and b not in STOPWORDS and len(a) > 1 and len(b) > 1)
    return out


def top_phrases(texts: Sequence[str], labels: np.ndarray, k: int, n: int = 10,
                min_count: int = 3) -> list[list[str]]:
    """For each label 0..k-1, its ``n`` best phrases by class-based TF-IDF (fewer if the class is small)."""
    per_class: list[Counter[str]] = [Counter() for _ in range(k)]
    for text, lab in zip(texts, labels.tolist(), strict=True):
        if lab >= 0:
            per_class[lab].update(phrases_of(tokenize(text)))
    total: Counter[str] = Counter()
    for c in per_class:
        total.update(c)
    sizes = [sum(c.values()) for c in per_class]
    mean_words = max(1.0, float(np.mean([s for s in sizes if s] or [1])))
    result: list[list[str]] = []
    for c, size in zip(per_class, sizes, strict=True):
        if not size:
            result.append([])
            continue
        scored = [(tf / size * math.log(1.0 + mean_words / total[p]), p)
                  for p, tf in c.items() if tf >= min_count]
        if not scored:  # a tiny class: take what it has rather than name it by nothing
            scored = [(tf / size * math.log(1.0 + mean_words / total[p]), p) for p, tf in c.items()]
        # Ties broken by the phrase itself, so names are deterministic.
        scored.sort(key=lambda sp: (-sp[0], sp[1]))
        result.append([p for _, p in scored[:n]])
    return result


def name_of(phrases: Sequence[str], fallback: str) -> str:
    """A short name from top phrases: the best three, skipping words already inside a chosen bigram."""
    chosen: list[str] = []
    for p in phrases:
        words = set(p.split())
        if any(words <= set(c.split()) or set(c.split()) <= words for c in chosen):
            continue
        chosen.append(p)
        if len(chosen) == 3:
            break
    return " / ".join(chosen) if chosen else fallback
