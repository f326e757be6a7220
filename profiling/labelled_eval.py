"""Score found aspects against sentences labelled by hand (``tests/data/clothing_aspects.jsonl``).

Found aspects have no names in common with the labels, so each found aspect is first **mapped** to the
label it most often carries among the labelled sentences it tags (a sentence with several labels counts
for each; a sentence with none counts for "none"). Then, over the labelled sentences:

``precision``        share of predicted mentions whose mapped label is among the sentence's labels;
``recall``           share of (sentence, label) pairs found by a mention mapped to that label;
``no_aspect_recall`` share of sentences labelled with no aspect that get no mention;
``junk_share``       share of tagged sentences with a mention of an aspect mapped to "none" (an aspect
                     whose sentences mostly carry no label);
``polarity_accuracy`` over found pairs labelled ``pos`` or ``neg``: the sign of the predicted polarity
                     agrees (0 counts as wrong).

The mapping is fitted on the scored sentences themselves (the usual many-to-one protocol of unsupervised
clustering evaluation); ``mapping`` in the result says what each aspect became.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LabelledScores", "LabelledSentence", "load_labelled", "score_labelled"]

NONE = "none"


class GoldLabel(BaseModel):
    """One labelled aspect of a sentence."""

    model_config = ConfigDict(frozen=True)

    aspect: str
    polarity: str = Field(pattern="^(pos|neg|neu)$")


class LabelledSentence(BaseModel):
    """A sentence of the hand-labelled set, its split (dev for tuning, test for reporting) and labels."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    split: str
    text: str
    labels: tuple[GoldLabel, ...] = ()


class LabelledScores(BaseModel):
    """The figures of :func:`score_labelled` (see the module docstring)."""

    sentences: int
    precision: float
    recall: float
    no_aspect_recall: float
    junk_share: float
    polarity_accuracy: float
    polar_pairs: int
    mapping: dict[str, str]


def load_labelled(path: str | Path, split: str | None = None) -> list[LabelledSentence]:
    """The labelled sentences of ``path`` (one JSON object per line), optionally one split only."""
    out = []
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                s = LabelledSentence.model_validate(json.loads(line))
                if split is None or s.split == split:
                    out.append(s)
    return out


def score_labelled(gold: Sequence[LabelledSentence],
                   predicted: Sequence[Mapping[str, float]]) -> LabelledScores:
    """Scores of ``predicted`` (per sentence: found aspect name -> polarity) against ``gold``."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} labelled sentences but {len(predicted)} predictions")
    carried: dict[str, Counter[str]] = {}
    for g, p in zip(gold, predicted, strict=True):
        labels = {x.aspect for x in g.labels} or {NONE}
        for a in p:
            carried.setdefault(a, Counter()).update(labels)
    # Ties go to the alphabetically first label, so the mapping does not depend on input order.
    mapping = {a: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for a, c in carried.items()}
    right = wrong = pairs = found = none_total = none_right = tagged = junk = polar = polar_right = 0
    for g, p in zip(gold, predicted, strict=True):
        labels = {x.aspect: x.polarity for x in g.labels}
        pairs += len(labels)
        if not labels:
            none_total += 1
            none_right += not p
        if p:
            tagged += 1
            junk += any(mapping[a] == NONE for a in p)
        for a in p:
            if mapping[a] in labels:
                right += 1
            else:
                wrong += 1
        for label, gold_pol in labels.items():
            hits = [pol for a, pol in p.items() if mapping[a] == label]
            if not hits:
                continue
            found += 1
            if gold_pol != "neu":
                polar += 1
                polar_right += (hits[0] > 0) if gold_pol == "pos" else (hits[0] < 0)
    return LabelledScores(
        sentences=len(gold),
        precision=right / max(1, right + wrong),
        recall=found / max(1, pairs),
        no_aspect_recall=none_right / max(1, none_total),
        junk_share=junk / max(1, tagged),
        polarity_accuracy=polar_right / max(1, polar),
        polar_pairs=polar,
        mapping=dict(sorted(mapping.items())),
    )
