"""Polarity of a clause in [-1, 1]: VADER plus the words of the domain, weighted by the star ratings.

VADER knows general English ("gorgeous" +, "awful" -) but not a domain's complaints: "runs small",
"see-through", "had to return it" score 0 in VADER and are how shoppers say something is wrong. The model
here is a logistic regression that predicts whether a sentence comes from a high (>= 4 stars) or a low
(<= 2 stars) review, from

* VADER's compound score of the text, and
* the presence of each content lemma, negated lemmas as separate words (``NOT_flattering``),

with class-balanced weights (most reviews are positive: an unbalanced fit would call everything positive)
and an L2 penalty, fitted by L-BFGS. It is trained on whole sentences (the rating belongs to the review)
and applied to single clauses, where one aspect is judged: ``polarity = 2 P(high) - 1``.

Measured on the clothing reviews' hand-labelled sentences, against raw VADER: see BENCHMARKS.md
("Stage 1 on real text"). The held-out agreement with the review's stars is in ``PolarityModel.report``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from functools import cache
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from profiling.clauses import OFF_THE_MARK, clause_spans, marked_words
from profiling.errors import ProfilingError
from profiling.tagging import TaggedText

__all__ = ["PolarityError", "PolarityModel", "fit_polarity", "sentence_words", "vader_compound"]


# The polarity at most of a clause saying "too long" or "runs small" (a clear, mild complaint).
OFF_THE_MARK_POLARITY = 0.4


class PolarityError(ProfilingError):
    """Raised when a polarity model cannot be fitted (too few high- and low-rated sentences)."""


@cache
def _vader() -> Any:  # vaderSentiment ships no type hints
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_compound(texts: Sequence[str]) -> np.ndarray:
    """VADER compound scores (float64), each distinct text scored once."""
    analyzer = _vader()
    index: dict[str, int] = {}
    inverse = np.fromiter((index.setdefault(t, len(index)) for t in texts), dtype=np.int64, count=len(texts))
    unique = np.fromiter((analyzer.polarity_scores(t)["compound"] for t in index), dtype=np.float64,
                         count=len(index))
    return unique[inverse]


def lexicon_score(words: Sequence[str]) -> float:
    """VADER's lexicon summed over a clause's words (a negated word counts -0.74 times), squashed to [-1, 1]
    as VADER squashes its sum. VADER's own scorer reads the raw text again and costs ~100 us a sentence;
    this reads the words the model already has, and its boosters and "but" rule are the clause split's job.
    """
    lex = _lexicon()
    total = 0.0
    for w in words:
        if " " in w:
            continue
        if w.startswith("NOT_"):
            total -= 0.74 * lex.get(w[4:], 0.0)
        else:
            total += lex.get(w, 0.0)
    return total / math.sqrt(total * total + 15.0)


@cache
def _lexicon() -> dict[str, float]:
    return dict(_vader().lexicon)


def sentence_words(forms: Sequence[str], tags: Sequence[str], lemmas: Sequence[str],
                   skip_nouns: Collection[str] = frozenset()) -> list[str]:
    """The polarity features of a whole sentence, negation scoped to each clause."""
    out: list[str] = []
    for a, b in clause_spans(forms, tags):
        out.extend(marked_words(forms, lemmas, a, b, tags, skip_nouns))
    return out


class PolarityModel(BaseModel):
    """A fitted clause-polarity model (JSON-serialisable: it is stored with the aspect model)."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(description="what it was fitted on ('corpus:<fingerprint>'); 'vader' = VADER only")
    general: Literal["vader", "lexicon"] = Field(
        "lexicon", description="the general-English sentiment feature: VADER's scorer on the clause text, "
        "or VADER's lexicon summed over the clause's words (lexicon_score)")
    bias: float = 0.0
    vader_weight: float = 1.0
    weights: dict[str, float] = Field(default_factory=dict, description="per feature (lemma, NOT_x, pair)")
    skip_nouns: tuple[str, ...] = Field((), description="nouns left out of the features (aspect terms)")
    report: dict[str, float] = Field(default_factory=dict, description="held-out figures of the fit")

    @classmethod
    def vader_only(cls) -> PolarityModel:
        """Raw VADER compound (no fitted words): what is used when no ratings are available."""
        return cls(source="vader", vader_weight=0.0)

    @property
    def needs_vader(self) -> bool:
        """Whether :meth:`score` reads VADER's score of the text (else the words alone suffice)."""
        return self.source == "vader" or self.general == "vader"

    @property
    def skipped(self) -> frozenset[str]:
        """``skip_nouns`` as a set (what :func:`profiling.clauses.marked_words` takes)."""
        return frozenset(self.skip_nouns)

    def score(self, words: Sequence[str], text: str, vader: float | None = None) -> float:
        """Polarity in [-1, 1] of a clause given its marked words and its text (or VADER's score of it)."""
        if self.source == "vader":
            base = float(_vader().polarity_scores(text)["compound"] if vader is None else vader)
        else:
            general = (lexicon_score(words) if self.general == "lexicon"
                       else _vader().polarity_scores(text)["compound"] if vader is None else vader)
            base = self._learned(words, general)
        if OFF_THE_MARK in words:
            # Excess and off sizes are complaints whatever the stars say (see profiling.clauses).
            return min(base, -OFF_THE_MARK_POLARITY)
        return base

    def _learned(self, words: Sequence[str], v: float) -> float:
        # Features are read once per distinct word: a repeated word is no stronger evidence.
        z = self.bias + self.vader_weight * v + sum(self.weights.get(w, 0.0) for w in set(words))
        return math.tanh(z / 2.0)


def _fit_logistic(x: Any, y: np.ndarray, sample_weight: np.ndarray, l2: float) -> np.ndarray:
    """Weights (last one the bias, unpenalised) of an L2 logistic regression on a sparse matrix."""
    from scipy.optimize import minimize

    d = x.shape[1]
    total = sample_weight.sum()

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w[:-1] + w[-1]
        # log(1 + e^-yz) written stably for y in {0, 1} as softplus(z) - y z
        sp = np.logaddexp(0.0, z)
        value = float((sample_weight * (sp - y * z)).sum() / total + 0.5 * l2 * (w[:-1] ** 2).sum())
        g = sample_weight * (1.0 / (1.0 + np.exp(-z)) - y) / total
        grad = np.empty_like(w)
        grad[:-1] = x.T @ g + l2 * w[:-1]
        grad[-1] = g.sum()
        return value, grad

    # 100 iterations: on the clothing reviews the held-out AUC is then within 1e-4 of the converged fit's
    # (0.8448 at 80, 0.8449 at 200+), at a fifth of the time.
    res = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"maxiter": 100})
    return np.asarray(res.x)


def _auc(score: np.ndarray, y: np.ndarray) -> float:
    pos, neg = score[y == 1], score[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    ranks = np.argsort(np.argsort(np.concatenate([pos, neg]), kind="stable"), kind="stable") + 1.0
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def fit_polarity(
    tagged: TaggedText,
    texts: Sequence[str],
    ratings: np.ndarray,
    *,
    source: str,
    seed: int = 0,
    min_count: int = 5,
    l2: float = 5e-5,
    min_sentences: int = 200,
    exclude: frozenset[str] | set[str] = frozenset(),
    vader: np.ndarray | None = None,
    general: Literal["vader", "lexicon"] = "lexicon",
) -> PolarityModel:
    """Fit on sentences of high (>= 4) and low (<= 2) rated reviews; 10% held out (seeded) for the report.

    ``l2`` was chosen by the held-out AUC on the clothing reviews' stars (5e-5: 0.846; 2e-4: 0.843;
    1e-3: 0.825; 1e-5: 0.834), not by the hand-labelled sentences.

    PolarityError when fewer than ``min_sentences`` of either class exist: the caller decides what to
    use instead and says so. ``vader`` (one compound score per text) saves scoring the texts again. Nouns
    in ``exclude`` (aspect terms, product types) are no features: a clause
    about the fabric is not negative because fabric is often complained about.
    """
    from scipy.sparse import csr_matrix

    ratings = np.asarray(ratings, dtype=np.float64)
    keep = np.flatnonzero((ratings >= 4) | (ratings <= 2))
    y_all = (ratings[keep] >= 4).astype(np.float64)
    n_pos, n_neg = int(y_all.sum()), int(len(y_all) - y_all.sum())
    if min(n_pos, n_neg) < min_sentences:
        raise PolarityError(f"{n_pos} sentences from high-rated and {n_neg} from low-rated reviews; "
                            f"at least {min_sentences} of each are needed to fit a polarity model")
    words = []
    for k in keep.tolist():
        s = tagged.sentence(k)
        words.append(sentence_words([t[0] for t in s], [t[1] for t in s], [t[2] for t in s], exclude))
    counts: dict[str, int] = {}
    for ws in words:
        for w in set(ws):
            counts[w] = counts.get(w, 0) + 1
    # The excess rule's marker is no learned feature: stars say nothing about it (see profiling.clauses).
    vocab = {w: i for i, w in enumerate(sorted(w for w, c in counts.items()
                                               if c >= min_count and OFF_THE_MARK not in w))}
    d = len(vocab)
    if general == "lexicon":
        vader = np.array([lexicon_score(ws) for ws in words])
    else:
        vader = (np.asarray(vader, dtype=np.float64)[keep] if vader is not None
                 else vader_compound([texts[k] for k in keep.tolist()]))
    rows, cols, vals = [], [], []
    for r, ws in enumerate(words):
        for j in {vocab[w] for w in ws if w in vocab}:
            rows.append(r)
            cols.append(j)
            vals.append(1.0)
        rows.append(r)
        cols.append(d)
        vals.append(float(vader[r]))
    x = csr_matrix((vals, (rows, cols)), shape=(len(keep), d + 1))
    rng = np.random.default_rng(seed)
    held = rng.random(len(keep)) < 0.1
    train = ~held
    w_cls = np.where(y_all == 1, 0.5 / max(n_pos, 1), 0.5 / max(n_neg, 1)) * len(y_all)
    w = _fit_logistic(x[train], y_all[train], w_cls[train], l2)
    z_held = x[held] @ w[:-1] + w[-1]
    y_held = y_all[held]
    pred = z_held > 0
    balanced = float(np.mean([(pred[y_held == c] == bool(c)).mean() for c in (0, 1) if (y_held == c).any()]))
    vader_bal = float(np.mean([((vader[held][y_held == c] > 0) == bool(c)).mean()
                               for c in (0, 1) if (y_held == c).any()]))
    names = list(vocab)
    weights = {names[j]: round(float(w[j]), 5) for j in range(d) if abs(w[j]) >= 1e-4}
    return PolarityModel(
        source=source,
        general=general,
        skip_nouns=tuple(sorted(exclude)),
        bias=float(w[-1]),
        vader_weight=float(w[d]),
        weights=weights,
        report={"sentences": float(len(keep)), "held_out": float(held.sum()), "auc": _auc(z_held, y_held),
                "balanced_agreement": balanced, "general_balanced_agreement": vader_bal},
    )
