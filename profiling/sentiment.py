"""Sentence sentiment in [-1, 1]: VADER, calibrated against the star rating of the sentence's review.

Raw VADER scores a sentence from its lexicon alone. Product reviews carry signals VADER misreads
("I wish it came in blue", "returned it", "runs small but ..."), so we fit a small logistic model on
VADER's own outputs plus a few cue features (negation, contrast, regret, punctuation, length) to
predict the polarity of the review a sentence comes from (>= 4 stars positive, <= 2 stars negative,
3 stars left out). The calibrated sentiment is ``2 * P(positive) - 1 = tanh(z / 2)``.

Classes are weighted to balance, so the model does not win agreement by calling everything
positive (most reviews are). The fit is Newton's method on an L2-penalised log-loss: deterministic,
no random start, a dozen iterations on ~100k sentences.

Measured on the clothing reviews (train/held-out split by review, seeded): agreement of a sentence's
polarity with its review's, raw VADER vs calibrated, both plain and class-balanced; see
:class:`CalibrationReport` and ``bench/bench_profiling.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from profiling.cache_dir import cache_dir
from profiling.errors import ProfilingError

__all__ = [
    "FEATURES",
    "CalibrationError",
    "CalibrationReport",
    "SentimentCalibration",
    "calibrate_on_reviews",
    "clothing_calibration",
    "fit_calibration",
    "polarity_labels",
    "score_sentences",
    "sentence_features",
    "vader_compound",
]

# Bump when the features or the fit change, so cached calibrations are not reused across versions.
CALIBRATION_VERSION = 2

FEATURES: tuple[str, ...] = (
    "compound",
    "pos",
    "neg",
    "neu",
    "negation",
    "contrast",
    "regret",
    "question",
    "exclaim",
    "log_tokens",
    "compound_x_contrast",
    "compound_x_negation",
)

_NEGATION = re.compile(r"\b(?:not|no|never|nothing|nor|none|without|cannot)\b|n't\b", re.I)
_CONTRAST = re.compile(r"\b(?:but|however|although|though|except|yet)\b", re.I)
# Words that mark disappointment in reviews without being negative in VADER's lexicon.
_REGRET = re.compile(
    r"\b(?:wish|wished|unfortunately|sadly|return|returned|returning|hoped|expected)\b", re.I
)
_TOKEN = re.compile(r"\w+")


class CalibrationError(ProfilingError):
    """Raised when a calibration cannot be fitted (too few sentences of one polarity)."""


class CalibrationReport(BaseModel):
    """Agreement of sentence polarity with review polarity on held-out reviews, raw vs calibrated."""

    model_config = ConfigDict(frozen=True)

    n_train_sentences: int
    n_test_sentences: int
    test_positive_share: float = Field(description="share of held-out sentences from >= 4-star reviews")
    raw_agreement: float = Field(description="sign(VADER compound) == review polarity; 0 counts as positive")
    calibrated_agreement: float
    raw_balanced: float = Field(description="mean of per-polarity agreement (positive and negative reviews)")
    calibrated_balanced: float
    raw_auc: float = Field(description="P(score of a positive-review sentence > a negative-review one)")
    calibrated_auc: float


class SentimentCalibration(BaseModel):
    """A fitted logistic map from sentence features to review polarity; JSON-serialisable."""

    model_config = ConfigDict(frozen=True)

    version: int = CALIBRATION_VERSION
    source: str = Field(description="what it was fitted on, e.g. 'clothing' or a corpus fingerprint")
    features: tuple[str, ...] = FEATURES
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    report: CalibrationReport | None = None

    def score_features(self, x: np.ndarray) -> np.ndarray:
        """Calibrated sentiment in [-1, 1] for a feature matrix from :func:`sentence_features`."""
        if x.shape[1] != len(self.coef):
            raise CalibrationError(f"calibration expects {len(self.coef)} features, got {x.shape[1]}")
        z = ((x - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef) + self.intercept
        return np.tanh(z / 2.0).astype(np.float32)


_ANALYZER = None


def _analyzer() -> Any:  # vaderSentiment ships no type hints
    # Built once: loading the lexicon takes ~0.1 s, far more than scoring a sentence.
    global _ANALYZER
    if _ANALYZER is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _ANALYZER = SentimentIntensityAnalyzer()
    return _ANALYZER


def sentence_features(texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
    """The (n, len(FEATURES)) float64 feature matrix: VADER's four scores and the cue features."""
    analyzer = _analyzer()
    # VADER costs 50-300 us a sentence; reviews repeat sentences ("Love it!"), so each text is scored once.
    index: dict[str, int] = {}
    inverse = np.fromiter((index.setdefault(t, len(index)) for t in texts), dtype=np.int64, count=len(texts))
    unique = list(index)
    out = np.zeros((len(unique), len(FEATURES)), dtype=np.float64)
    it = range(len(unique))
    if progress:
        from rich.progress import track

        it = track(it, description="sentiment (VADER)", total=len(unique))
    for k in it:
        text = unique[k]
        s = analyzer.polarity_scores(text)
        comp = s["compound"]
        neg = 1.0 if _NEGATION.search(text) else 0.0
        con = 1.0 if _CONTRAST.search(text) else 0.0
        out[k] = (
            comp,
            s["pos"],
            s["neg"],
            s["neu"],
            neg,
            con,
            1.0 if _REGRET.search(text) else 0.0,
            1.0 if "?" in text else 0.0,
            1.0 if "!" in text else 0.0,
            np.log1p(len(_TOKEN.findall(text))),
            comp * con,
            comp * neg,
        )
    return out[inverse]


def vader_compound(texts: Sequence[str]) -> np.ndarray:
    """Raw VADER compound scores in [-1, 1] (float32)."""
    analyzer = _analyzer()
    return np.fromiter(
        (analyzer.polarity_scores(t)["compound"] for t in texts), dtype=np.float32, count=len(texts)
    )


def polarity_labels(ratings: np.ndarray, *, high: float = 4.0, low: float = 2.0) -> np.ndarray:
    """+1 for ratings >= ``high``, -1 for ratings <= ``low``, 0 (unlabelled) between (int8)."""
    r = np.asarray(ratings, dtype=np.float64)
    return np.where(r >= high, 1, np.where(r <= low, -1, 0)).astype(np.int8)


def fit_calibration(
    features: np.ndarray, polarity: np.ndarray, *, source: str, l2: float = 1.0, max_iter: int = 50
) -> SentimentCalibration:
    """A class-balanced L2 logistic model of ``polarity`` (+1/-1) from ``features``, by Newton steps."""
    keep = polarity != 0
    x, y = features[keep], (polarity[keep] > 0).astype(np.float64)
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if min(n_pos, n_neg) < 10:
        raise CalibrationError(
            f"calibration needs >= 10 sentences of each polarity, got {n_pos} positive and "
            f"{n_neg} negative ({source})"
        )
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0  # a constant feature carries no signal; keep it harmless
    xs = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    # Balanced weights: each class contributes half of the loss whatever its share.
    sw = np.where(y > 0, 0.5 / n_pos, 0.5 / n_neg) * len(y)
    beta = np.zeros(xs.shape[1])
    penalty = np.full(xs.shape[1], l2)
    penalty[-1] = 0.0  # the intercept is not shrunk
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-(xs @ beta)))
        grad = xs.T @ (sw * (p - y)) + penalty * beta
        hess = (xs * (sw * p * (1 - p))[:, None]).T @ xs + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return SentimentCalibration(
        source=source,
        mean=tuple(mean.tolist()),
        scale=tuple(scale.tolist()),
        coef=tuple(beta[:-1].tolist()),
        intercept=float(beta[-1]),
    )


def _agreement(score: np.ndarray, polarity: np.ndarray) -> tuple[float, float]:
    # A score of exactly 0 (VADER found no sentiment word) is read as positive, the majority class:
    # the most generous reading of raw VADER.
    pred = np.where(score >= 0, 1, -1)
    hit = pred == polarity
    per_class = [float(hit[polarity == c].mean()) for c in (1, -1) if np.any(polarity == c)]
    return float(hit.mean()), float(np.mean(per_class))


def _auc(score: np.ndarray, polarity: np.ndarray) -> float:
    # Mann-Whitney with mid-ranks for ties (VADER gives many sentences exactly 0).
    order = np.argsort(score, kind="stable")
    ranks = np.empty(len(score))
    sorted_scores = score[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], len(score)]
    for s, e in zip(starts, ends, strict=True):
        ranks[order[s:e]] = (s + e - 1) / 2
    pos = polarity > 0
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos - 1) / 2) / (n_pos * n_neg))


def calibrate_on_reviews(
    review_texts: Sequence[str],
    ratings: np.ndarray,
    *,
    source: str,
    seed: int = 0,
    test_fraction: float = 0.2,
    progress: bool = False,
) -> SentimentCalibration:
    """Fit on the sentences of a seeded train split of reviews; report agreement on the held-out split.

    Reviews are split, not sentences, so no held-out sentence shares a review with a training one.
    """
    from profiling.sentences import split_reviews

    labels = polarity_labels(np.asarray(ratings))
    labelled = np.flatnonzero(labels != 0)
    rng = np.random.default_rng(seed)
    test_mask = np.zeros(len(review_texts), dtype=bool)
    test_mask[rng.permutation(labelled)[: round(test_fraction * len(labelled))]] = True
    review_idx, _pos, sentences = split_reviews([review_texts[i] for i in labelled])
    review_idx = labelled[review_idx]
    sent_pol = labels[review_idx]
    feats = sentence_features(sentences, progress=progress)
    test = test_mask[review_idx]
    cal = fit_calibration(feats[~test], sent_pol[~test], source=source)
    if not test.any():
        return cal
    raw_score, cal_score = feats[test, 0], cal.score_features(feats[test])
    raw = _agreement(raw_score, sent_pol[test])
    calibrated = _agreement(cal_score, sent_pol[test])
    report = CalibrationReport(
        n_train_sentences=int((~test).sum()),
        n_test_sentences=int(test.sum()),
        test_positive_share=float((sent_pol[test] > 0).mean()),
        raw_agreement=raw[0],
        calibrated_agreement=calibrated[0],
        raw_balanced=raw[1],
        calibrated_balanced=calibrated[1],
        raw_auc=_auc(raw_score, sent_pol[test]),
        calibrated_auc=_auc(cal_score.astype(np.float64), sent_pol[test]),
    )
    return cal.model_copy(update={"report": report})


def clothing_calibration(
    *, cache: bool = True, seed: int = 0, limit: int | None = None, progress: bool = False
) -> SentimentCalibration:
    """The calibration fitted on the 23,486 real clothing reviews (title and text), cached once fitted.

    The fit takes about 35 s on 2 cores (VADER on ~130k sentences). ``limit`` fits on the first
    ``limit`` reviews only (for tests); it is part of the cache key and of ``source``.
    """
    tag = "" if limit is None else f"-first{limit}"
    path = cache_dir("sentiment") / f"clothing-v{CALIBRATION_VERSION}-seed{seed}{tag}.json"
    if cache and path.exists():
        try:
            return SentimentCalibration.model_validate_json(path.read_text())
        except ValueError:
            pass  # a cache file cut short or from another version: fit again and overwrite it
    from profiling.loaders import load_clothing_reviews

    reviews = load_clothing_reviews()
    n = len(reviews) if limit is None else min(limit, len(reviews))
    texts = [
        f"{t}. {x}" if t and x else (t or x)
        for t, x in zip(reviews.titles[:n], reviews.texts[:n], strict=True)
    ]
    cal = calibrate_on_reviews(
        texts, np.asarray(reviews.ratings[:n]), source=f"clothing{tag}", seed=seed, progress=progress
    )
    if cache:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(cal.model_dump_json(indent=1))
        tmp.replace(path)  # atomic: a concurrent reader never sees half a file
    return cal


def score_sentences(
    texts: Sequence[str], calibration: SentimentCalibration | None, *, progress: bool = False
) -> np.ndarray:
    """Sentiment in [-1, 1] per sentence (float32): calibrated, or raw VADER compound when None."""
    feats = sentence_features(texts, progress=progress)
    if calibration is None:
        return feats[:, 0].astype(np.float32)
    return calibration.score_features(feats)
