"""Stage 1 by aspect terms on a sentence table: tag, fit the aspect and polarity models, find mentions.

What :func:`profiling.pipeline.run_profiling` calls for ``method="terms"``. The models are fitted on the
sentences before ``fit_until`` (all when None) and applied to every sentence, so not even the aspect
table has seen a later review. The sentence-level sentiment (one number per sentence, used where a whole
sentence is scored) comes from the same polarity model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from profiling.clause_polarity import PolarityModel, sentence_words, vader_compound
from profiling.clauses import OFF_THE_MARK
from profiling.corpus import Corpus
from profiling.encoders import Encoder
from profiling.mentions import Mentions, find_mentions
from profiling.profiles import Aspect
from profiling.sentences import SentenceTable
from profiling.tagging import TaggedText, tag_texts
from profiling.term_aspects import TermAspectModel, TermConfig
from profiling.term_fit import fit_term_aspects

__all__ = ["TermStage", "aspect_table_of", "run_term_stage", "sentence_polarity"]


@dataclass
class TermStage:
    """What the terms method produced for a sentence table."""

    model: TermAspectModel
    mentions: Mentions
    sentiments: np.ndarray  # float32 per sentence
    aspects: list[Aspect]


def sentence_polarity(tagged: TaggedText, texts: list[str], model: PolarityModel,
                      vader: np.ndarray | None = None) -> np.ndarray:
    """The polarity model applied to each whole sentence (float32); ``vader``: their VADER scores if known."""
    vader = vader_compound(texts) if vader is None else vader
    out = np.zeros(len(texts), dtype=np.float32)
    skipped = model.skipped
    for k in range(len(texts)):
        tokens = tagged.sentence(k)
        forms, tags, lemmas = [t[0] for t in tokens], [t[1] for t in tokens], [t[2] for t in tokens]
        # A sentence as a whole is not a complaint because one clause says "runs small": the rule for
        # excess and off sizes (profiling.clauses) speaks for its clause only.
        words = [w for w in sentence_words(forms, tags, lemmas, skipped) if w != OFF_THE_MARK]
        out[k] = model.score(words, texts[k], float(vader[k]))
    return out


def aspect_table_of(model: TermAspectModel, mentions: Mentions, texts: list[str], n_examples: int = 5,
                    n_phrases: int = 10, fit: np.ndarray | None = None) -> list[Aspect]:
    """The :class:`Aspect` rows of a term model: name, terms then derived words, mentions, mean polarity.

    Counted over the sentences the model was fitted on (``fit``, a boolean mask; None = all), so that not
    even the table shows a review from after ``fit_until``.
    """
    out = []
    seen = np.ones(len(mentions), dtype=bool) if fit is None else np.asarray(fit)[mentions.sentence]
    for a, entry in enumerate(model.aspects):
        rows = np.flatnonzero((mentions.aspect == a) & seen)
        # Examples: the first mentions found by a term (the clearest), in corpus order.
        term_rows = [r for r in rows.tolist() if mentions.source[r] == 0][:n_examples]
        examples = tuple(dict.fromkeys(texts[int(mentions.sentence[r])] for r in term_rows))
        phrases = tuple(dict.fromkeys((*entry.terms, *entry.derived)))[:n_phrases]
        out.append(Aspect(id=a, name=entry.name, phrases=phrases, size=len(rows),
                          mean_sentiment=float(mentions.polarity[rows].mean()) if len(rows) else 0.0,
                          examples=examples))
    return out


def run_term_stage(
    corpus: Corpus,
    table: SentenceTable,
    *,
    config: TermConfig,
    encoder: Encoder,
    fit: np.ndarray | None,
    seed: int,
    source: str,
    polarity: str,
    progress: bool,
    lap: Callable[[str], None] | None = None,
    tag_cache: bool = False,
) -> TermStage:
    """Tag, fit on the ``fit`` rows (a boolean mask; None = all), find mentions everywhere.

    ``polarity`` is "fitted" (the model of :mod:`profiling.clause_polarity` fitted on this corpus's
    ratings, VADER alone when they are too few: ``model.polarity.source`` then says ``vader``) or "vader".
    """
    def mark(step: str) -> None:
        if lap is not None:
            lap(step)

    tagged = tag_texts(table.texts, progress=progress, cache=tag_cache)
    mark("tag")
    texts = table.texts
    rows = np.arange(len(texts)) if fit is None else np.flatnonzero(fit)
    fit_tagged = tagged if fit is None else tagged.select(rows)
    fit_texts = texts if fit is None else [texts[r] for r in rows.tolist()]
    ratings = corpus.columns.rating[table.row[rows]].astype(np.float64)
    if polarity == "vader":
        ratings = np.full(len(rows), 3.0)  # no high or low review: the fit falls back to VADER alone
    model = fit_term_aspects(fit_tagged, fit_texts, ratings, categories=_categories(corpus),
                             titles=[i.title for i in corpus.items.values()], encoder=encoder, config=config,
                             source=source, seed=seed)
    # VADER's own scorer only when the model falls back to it: the fitted model reads its lexicon instead.
    vader = vader_compound(texts) if model.polarity.needs_vader else None
    sentiments = sentence_polarity(tagged, texts, model.polarity, vader)
    mark("sentiment")
    mentions = find_mentions(tagged, model.lexicon(), model.polarity, sentence_polarity=sentiments,
                             sentence_vader=vader)
    mark("aspects")
    return TermStage(model=model, mentions=mentions, sentiments=sentiments,
                     aspects=aspect_table_of(model, mentions, texts, fit=fit))


def _categories(corpus: Corpus) -> list[str]:
    return [" ".join(i.categories) for i in corpus.items.values()]
