"""Sentence sentiment: VADER features, the calibration fit, and its gain on real clothing reviews."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from profiling.cache_dir import cache_dir
from profiling.sentiment import (
    FEATURES,
    CalibrationError,
    SentimentCalibration,
    clothing_calibration,
    fit_calibration,
    polarity_labels,
    score_sentences,
    sentence_features,
    vader_compound,
)


def test_polarity_labels_leave_three_stars_out() -> None:
    assert polarity_labels(np.array([1, 2, 2.5, 3, 3.5, 4, 5])).tolist() == [-1, -1, 0, 0, 0, 1, 1]


def test_features_flag_cues() -> None:
    texts = ["I did not like it.", "Soft, but it runs small", "I wish it came in blue!", "Is it warm?"]
    x = sentence_features(texts)
    assert x.shape == (4, len(FEATURES))
    col = {name: x[:, k] for k, name in enumerate(FEATURES)}
    assert col["negation"].tolist() == [1, 0, 0, 0]
    assert col["contrast"].tolist() == [0, 1, 0, 0]
    assert col["regret"].tolist() == [0, 0, 1, 0]
    assert col["exclaim"].tolist() == [0, 0, 1, 0] and col["question"].tolist() == [0, 0, 0, 1]
    assert np.array_equal(x[:, 0].astype(np.float32), vader_compound(texts))
    assert np.array_equal(x, sentence_features(texts))


def _reviews() -> tuple[list[str], np.ndarray]:
    """Sentences as reviews write them; the negative ones use words VADER reads as neutral or positive."""
    things = ["dress", "top", "skirt", "sweater", "coat"]
    good = [
        "I love this {}.",
        "The {} is beautiful and fits great.",
        "This {} is so comfortable!",
        "Great {}, very happy with it.",
    ]
    bad = [
        "I wish the {} were longer.",
        "I returned the {}.",
        "Unfortunately the {} runs small.",
        "I expected the {} to be thicker.",
        "The {} looked nothing like the picture.",
    ]
    texts = [t.format(x) for t, x in itertools.product(good, things)] + [
        t.format(x) for t, x in itertools.product(bad, things)
    ]
    return texts, np.array([1] * (len(good) * len(things)) + [-1] * (len(bad) * len(things)), dtype=np.int8)


def test_calibration_learns_what_raw_vader_misses() -> None:
    texts, pol = _reviews()
    cal = fit_calibration(sentence_features(texts), pol, source="templates")
    probe = ["I wish the jacket were longer.", "I returned the jacket.", "I love this jacket."]
    raw = vader_compound(probe)
    calibrated = score_sentences(probe, cal)
    assert raw[0] >= 0 and raw[1] >= 0  # VADER sees nothing negative in these
    assert calibrated[0] < 0 and calibrated[1] < 0 and calibrated[2] > 0
    assert np.all(np.abs(calibrated) <= 1)
    # Deterministic, and the JSON round trip keeps it exact.
    again = SentimentCalibration.model_validate_json(cal.model_dump_json())
    assert np.array_equal(score_sentences(probe, again), calibrated)
    assert np.array_equal(score_sentences(probe, None), raw)


def test_one_polarity_cannot_be_calibrated() -> None:
    texts, pol = _reviews()
    with pytest.raises(CalibrationError, match="each polarity"):
        fit_calibration(sentence_features(texts), np.abs(pol), source="positives only")


@pytest.mark.slow
def test_clothing_calibration_beats_raw_vader_on_held_out_reviews() -> None:
    # The first 6,000 of the 23,486 reviews keep the test short; the bench fits on all of them.
    cal = clothing_calibration(limit=6000)
    rep = cal.report
    assert rep is not None and cal.source == "clothing-first6000"
    assert rep.n_train_sentences > 3 * rep.n_test_sentences > 1000
    # Threshold-free and class-balanced figures: most reviews are positive, so plain agreement
    # rewards calling everything positive.
    assert rep.calibrated_auc > rep.raw_auc
    assert rep.calibrated_balanced > rep.raw_balanced
    assert rep.calibrated_agreement > 0.5 and rep.raw_agreement > 0.5
    # Fitted once, then read from the cache.
    # (other tests of the session may have cached the full fit beside it)
    cached = {p.name for p in cache_dir("sentiment").glob("clothing-*.json")}
    assert "clothing-v2-seed0-first6000.json" in cached
    assert clothing_calibration(limit=6000) == cal
