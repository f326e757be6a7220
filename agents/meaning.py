"""The meaning check of the polish mode: does a model's rewrite of a draft turn keep the draft's meaning?

A rewrite keeps the draft's meaning when (each rule gives a reason written for the trace when broken):

1. it is a rewrite: not empty, not the draft unchanged (a copy is no polish), not much longer than
   the draft (a small model that rambles adds claims), said rather than reported (no "the shop
   assistant says: ..." left of the prompt's frame, no unmatched quote), the speaker still speaking
   as "I" when the draft does;
2. it names every item the draft names, spelled as the catalog spells it (a shortened title is fine),
   and no product the draft does not (catalog titles, the plan's items, and product-like names, as the
   validators find them);
3. it names every aspect the draft names, and no aspect the draft does not, each taking the draft's
   side (a stance, read as the validators read one, is never flipped nor dropped), with the draft's
   counts ("14 of the 16 buyers": a proportion is grounding);
4. it adds at most ``max_new_words`` content words the draft does not have (more is a new claim:
   on the labelled rewrites no faithful one added more than two);
5. it performs the draft's speech acts and no others: a question (by its mark) stays a question
   addressed to the listener, an acceptance, a decline, an offer, the assistant's confirmation of the
   choice, a greeting or a farewell stays one, and none appears that the draft did not make;
6. its sentence embedding (the fast encoder, :mod:`profiling.encoders`) is at least ``threshold``
   cosine-similar to the draft's.

The rules read text with the validators' own signals (:mod:`agents.validators.signals`), so a
rewrite is judged by the same definitions as any turn. The rules and the threshold are calibrated on
240 hand-labelled SmolLM2 rewrites (``tests/data/polish_labels.md``; ``bench/bench_meaning_check.py``
prints what the check accepts and refuses of them).
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
    mentioned_aspects,
    product_names,
    recommends,
    stance,
)
from agents.validators.view import AttemptView

__all__ = ["MEANING_THRESHOLD", "MeaningCheck", "MeaningReference", "Similarity", "encoder_similarity",
           "reference_for"]

# Calibrated on tests/data/polish_labels.jsonl (bench/bench_meaning_check.py prints the figures).
MEANING_THRESHOLD = 0.75

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


_NUMBER = re.compile(r"\b(?:\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
                     r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty)\b", re.I)
_FIRST = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|me|my|mine)\b", re.I)
_SECOND_OR_THIRD = re.compile(r"\b(?:you|your|you're|yours|they|their|he|she|his|her)\b", re.I)


def _numbers(text: str) -> list[str]:
    """The counts a text says ("14 of the 16", "all of the nine"): a proportion is grounding."""
    return sorted(m.group(0).lower() for m in _NUMBER.finditer(text))


def _person_shift(draft: str, rewrite: str) -> bool:
    """The speaker no longer speaks as "I": the draft does, the rewrite does not and speaks of someone
    the draft did not ("I check first" -> "you're checking first", "I hate" -> "they have")."""
    if not _FIRST.search(draft) or _FIRST.search(rewrite):
        return False
    before = {m.group(0).lower() for m in _SECOND_OR_THIRD.finditer(draft)}
    return any(m.group(0).lower() not in before for m in _SECOND_OR_THIRD.finditer(rewrite))


def _misspelt_titles(rewrite: str, titles: Sequence[str]) -> list[str]:
    """Titles the rewrite starts right (brand and model) and then words differently ("Glenmark S90
    Espreso Machine"): a shortened title ("the Glenmark S90") is fine, a changed one names no item."""
    out = []
    for title in titles:
        words = title.split()
        if len(words) < 3:
            continue
        for m in re.finditer(re.escape(" ".join(words[:2])), rewrite):
            said: list[str] = []
            for word in rewrite[m.end():].split():
                bare = word.rstrip(".,!?;:")
                if not bare[:1].isupper() and not bare[:1].isdigit():
                    break
                said.append(bare)
                if bare != word:
                    break  # the sentence or clause ends with the title
            if said and said != words[2:2 + len(said)]:
                out.append(title)
    return out


# Words that carry no claim of their own: what a paraphrase may add freely.
_LIGHT = frozenset(" ".join((
    "a an the and or but so if as of to in on at for with from by about into than then that this",
    "these those it its it's is are was were be been being am do does did have has had i i'm i've",
    "i'd i'll me my mine you your you're yours we our they their he she his her them what which who",
    "how when where why any some more most much many very really just also too not no yes please",
    "thanks thank bye goodbye hi hello hey there here one ones would will can could should may might",
    "let let's get got go going make made",
)).split())


def _content(text: str) -> set[str]:
    # A word by its first five letters: "prioritise" and "prioritize", "shop" and "shopping" are one.
    return {w[:5] for w in re.findall(r"[a-z]+", text.lower()) if w not in _LIGHT and len(w) > 2}


_CONFIRM = re.compile(r"\b(?:is yours|it is[.!]|all set|ready|reserved|put aside|set aside|done[:,!])"
                      r"|\bnoted,?\s+(?:the|it|that|your|for)\b", re.I)


def _acts(text: str, speaker: str) -> dict[str, bool]:
    # A question by its mark: drafts always carry one, and a rewrite that drops it reads as a statement.
    question = "?" in text
    return {
        "a question": question,
        "a question to the listener": question and bool(_YOU.search(text)) if speaker == "system" else False,
        # Accepting and declining an offer are the shopper's acts (an assistant's "one more choice!" is no
        # acceptance, whatever its words).
        "an acceptance": accepts(text) if speaker == "user" else False,
        "a decline": declines(text) if speaker == "user" else False,
        "an offer": recommends(text) if speaker == "system" else False,
        # The assistant confirming the shopper's choice ("the Kestrel X40 is yours", "all set").
        "a confirmation": bool(_CONFIRM.search(text)) if speaker == "system" else False,
        "a greeting": greets(text),
        "a farewell": farewell(text),
    }


def _label(table: Sequence[AspectTerms], aspect: int) -> str:
    return next((t.label for t in table if t.aspect == aspect), str(aspect))


class MeaningCheck:
    """Reasons a rewrite does not keep its draft's meaning (none: it does); see the module docstring."""

    def __init__(self, similarity: Similarity | None, threshold: float = MEANING_THRESHOLD,
                 max_growth: float = 1.6, max_new_words: int = 2) -> None:
        self.similarity = similarity
        self.threshold = threshold
        self.max_growth = max_growth
        self.max_new_words = max_new_words

    def rule_reasons(self, draft: str, rewrite: str, ref: MeaningReference) -> list[str]:
        """Rules 1 to 5 (everything but the similarity)."""
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
        out += [f"the rewrite spells '{t}' differently" for t in _misspelt_titles(text, ref.titles)]
        if _numbers(text) != _numbers(draft):
            out.append(f"the rewrite changes the counts ({', '.join(_numbers(draft)) or 'none'} -> "
                       f"{', '.join(_numbers(text)) or 'none'})")
        added = sorted(_content(text) - _content(draft))
        if len(added) > self.max_new_words:
            out.append(f"the rewrite adds words the draft does not say ({', '.join(added)})")
        if _person_shift(draft, text):
            out.append("the speaker no longer speaks as 'I'")
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
            elif sides and not new_sides:
                out.append(f"the rewrite no longer takes a side on '{_label(ref.table, a)}'")
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
