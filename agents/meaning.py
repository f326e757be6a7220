"""The meaning check of the polish mode: does a model's rewrite of a draft turn keep the draft's meaning?

A rewrite keeps the draft's meaning when (each rule gives a reason written for the trace when broken):

1. it is a rewrite: not empty, not the draft unchanged (a copy is no polish), not much longer than
   the draft (a small model that rambles adds claims), said rather than reported (no "the shop
   assistant says: ..." left of the prompt's frame, no unmatched quote);
2. it names every item the draft names, and no product the draft does not (catalog titles, the
   plan's items, and product-like names, as the validators find them);
3. it names every aspect the draft names, and no aspect the draft does not, each taking the draft's
   side (a stance, read as the validators read one, is never flipped);
4. it performs the draft's speech acts and no others: a question stays a question addressed to the
   listener, an acceptance, a decline, an offer, a greeting or a farewell stays one, and none appears
   that the draft did not make;
5. its sentence embedding (the fast encoder, :mod:`profiling.encoders`) is at least ``threshold``
   cosine-similar to the draft's.

The rules read text with the validators' own signals (:mod:`agents.validators.signals`), so a
rewrite is judged by the same definitions as any turn. The threshold is calibrated on hand-labelled
SmolLM2 rewrites (``tests/data/polish_labels.jsonl``, ``bench/bench_meaning_check.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from agents.catalog import Catalog, normalise_tokens
from agents.dialog import ValidationInput
from agents.validators.mentions import item_referenced
from agents.validators.signals import (
    AspectTerms,
    accepts,
    clauses,
    declines,
    farewell,
    greets,
    is_question,
    mentioned_aspects,
    product_names,
    recommends,
    stance,
)
from agents.validators.view import AttemptView

__all__ = ["MEANING_THRESHOLD", "MeaningCheck", "MeaningReference", "Similarity", "encoder_similarity",
           "reference_for"]

# Calibrated on tests/data/polish_labels.jsonl (bench/bench_meaning_check.py prints the figures).
MEANING_THRESHOLD = 0.80

Similarity = Callable[[str, str], float]

_YOU = re.compile(r"\b(?:you|your|you're|you've|yours)\b", re.I)
# The prompt's frame left in a rewrite: the turn reported ("the shop assistant says: ...") instead of
# said. A draft never names the roles nor quotes a whole turn.
_REPORTED = re.compile(r"\b(?:the\s+)?(?:shop\s+assistant|shopper)\b"
                       r"|\b(?:says|said|asks|asking|replies|responds)\s*:"
                       r'|^[^"]*"[^"]*$', re.I)


@dataclass(frozen=True)
class MeaningReference:
    """What a rewrite is checked against besides its draft: who speaks, the aspects and items in play."""

    speaker: str
    table: Sequence[AspectTerms]
    catalog: Catalog
    titles: tuple[str, ...] = ()  # the plan's items (target, alternatives), named by title


def reference_for(data: ValidationInput, speaker: str) -> MeaningReference:
    """The reference of a turn of the node attempt ``data``: the aspect table the validators read with,
    the catalog, and the titles of the items the plan puts on the table."""
    view = AttemptView(data)
    items = {data.plan.target}
    for n in data.plan.nodes:
        items |= {slot.item for slot in (n.negative, n.critique, n.inquiry) if slot is not None}
    return MeaningReference(speaker=speaker, table=view.table, catalog=data.catalog,
                            titles=tuple(sorted({view.title(i) for i in items})))


def _items(text: str, ref: MeaningReference) -> set[str]:
    """Titles of the items the text names (catalog mentions, and the plan's items by brand and model)."""
    found = {ref.catalog.title(i) for i in ref.catalog.mentions(text)}
    found |= {t for t in ref.titles if item_referenced(text, t)}
    return found


def _aspect_stances(text: str, table: Sequence[AspectTerms]) -> dict[int, set[int]]:
    """Per aspect the text names, the stances of the clauses naming it (0: none taken)."""
    out: dict[int, set[int]] = {}
    for clause in clauses(text):
        for a in mentioned_aspects(clause, table):
            out.setdefault(a, set()).add(stance(clause, table))
    return out


def _acts(text: str, speaker: str) -> dict[str, bool]:
    question = is_question(text)
    return {
        "a question": question,
        "a question to the listener": question and bool(_YOU.search(text)) if speaker == "system" else False,
        "an acceptance": accepts(text),
        "a decline": declines(text),
        "an offer": recommends(text) if speaker == "system" else False,
        "a greeting": greets(text),
        "a farewell": farewell(text),
    }


def _label(table: Sequence[AspectTerms], aspect: int) -> str:
    return next((t.label for t in table if t.aspect == aspect), str(aspect))


class MeaningCheck:
    """Reasons a rewrite does not keep its draft's meaning (none: it does); see the module docstring."""

    def __init__(self, similarity: Similarity | None, threshold: float = MEANING_THRESHOLD,
                 max_growth: float = 1.6) -> None:
        self.similarity = similarity
        self.threshold = threshold
        self.max_growth = max_growth

    def rule_reasons(self, draft: str, rewrite: str, ref: MeaningReference) -> list[str]:
        """Rules 1 to 4 (everything but the similarity)."""
        text = rewrite.strip()
        if not text:
            return ["the rewrite is empty"]
        if normalise_tokens(text) == normalise_tokens(draft):
            return ["the rewrite is the draft unchanged"]
        out: list[str] = []
        if _REPORTED.search(text) and not _REPORTED.search(draft):
            out.append("the rewrite reports the turn (the prompt's frame) instead of saying it")
        n_draft, n_new = len(draft.split()), len(text.split())
        if n_new > self.max_growth * n_draft + 6:
            out.append(f"the rewrite is much longer than the draft ({n_new} words for {n_draft})")
        before, after = _items(draft, ref), _items(text, ref)
        out += [f"the rewrite drops the item '{t}'" for t in sorted(before - after)]
        out += [f"the rewrite names '{t}', which the draft does not" for t in sorted(after - before)]
        draft_tokens = set(normalise_tokens(draft))
        for name in product_names(text):
            said = set(normalise_tokens(name)) <= draft_tokens
            if not said and not any(item_referenced(name, t) for t in before):
                out.append(f"the rewrite names '{name}', which the draft does not")
        was, now = _aspect_stances(draft, ref.table), _aspect_stances(text, ref.table)
        out += [f"the rewrite drops the aspect '{_label(ref.table, a)}'" for a in sorted(set(was) - set(now))]
        out += [f"the rewrite adds the aspect '{_label(ref.table, a)}'" for a in sorted(set(now) - set(was))]
        for a in sorted(set(was) & set(now)):
            sides, new_sides = was[a] - {0}, now[a] - {0}
            if new_sides - sides:
                out.append(f"the rewrite takes the other side on '{_label(ref.table, a)}'")
        acts_before, acts_after = _acts(draft, ref.speaker), _acts(text, ref.speaker)
        for act, had in acts_before.items():
            if had and not acts_after[act]:
                out.append(f"the draft is {act} and the rewrite is not")
            elif not had and acts_after[act] and act not in ("a greeting", "a farewell"):
                out.append(f"the rewrite is {act} and the draft is not")
        return out

    def score(self, draft: str, rewrite: str) -> float | None:
        """Cosine similarity of the two texts' embeddings (None without an encoder)."""
        return None if self.similarity is None else self.similarity(draft, rewrite)

    def reasons(self, draft: str, rewrite: str, ref: MeaningReference) -> list[str]:
        """Every rule's reason, then the similarity's, for one rewrite."""
        out = self.rule_reasons(draft, rewrite, ref)
        if out:
            return out
        sim = self.score(draft, rewrite)
        if sim is not None and sim < self.threshold:
            out.append(f"the rewrite is too far from the draft (similarity {sim:.2f} < {self.threshold:.2f})")
        return out


def encoder_similarity(encode: Callable[[Sequence[str]], np.ndarray]) -> Similarity:
    """A Similarity from an encoder's ``encode`` (rows L2-normalised, as profiling.encoders returns)."""
    def similarity(a: str, b: str) -> float:
        va, vb = encode([a, b])
        return float(np.dot(va, vb))

    return similarity
