"""CAt (Tulkens and van Cranenburgh, ACL 2020) as a stage-1 method, for comparison with ``terms``.

CAt labels a sentence with one aspect from its nouns alone: each noun ``w`` of the sentence gets the
attention ``softmax_w( sum_c rbf(v_w, v_c) )`` over the candidate aspect terms ``c`` (``rbf(x, y) =
exp(-gamma |x - y|^2)``), the sentence is the attention-weighted mean of its noun vectors, and its aspect is
the label whose vector is nearest by cosine. CAt's labels are words given by the user; here they are the
aspects of the ``terms`` model fitted on the same sentences (each label vector the frequency-weighted mean
of its terms), so the two methods differ only in how a sentence is assigned: CAt gives every sentence
with a known noun its nearest aspect (one per sentence, no clause polarity), unless the cosine is under
``min_similarity``. Word vectors are the ``terms`` method's (encoder + distributional, concatenated).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from profiling.corpus import Corpus
from profiling.encoders import Encoder
from profiling.mentions import TERM, Mentions
from profiling.sentences import SentenceTable
from profiling.tagging import tag_texts
from profiling.term_aspects import TermConfig, context_vectors, unit_rows
from profiling.term_fit import fit_term_aspects
from profiling.term_stage import TermStage, aspect_table_of, sentence_polarity
from profiling.term_stats import NOUN_TAGS, count_terms

__all__ = ["GAMMA", "MIN_SIMILARITY", "run_cat_stage"]

GAMMA = 0.03  # the RBF width CAt uses on unit vectors
MIN_SIMILARITY = 0.3  # below this cosine to every label a sentence has no aspect


def run_cat_stage(
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
    """Tag, fit the terms model for its labels and polarity, then label each sentence the CAt way."""
    tagged = tag_texts(table.texts, progress=progress, cache=tag_cache)
    if lap is not None:
        lap("tag")
    texts = table.texts
    rows = np.arange(len(texts)) if fit is None else np.flatnonzero(fit)
    fit_tagged = tagged if fit is None else tagged.select(rows)
    ratings = corpus.columns.rating[table.row[rows]].astype(np.float64)
    if polarity == "vader":
        ratings = np.full(len(rows), 3.0)
    model = fit_term_aspects(fit_tagged, [texts[r] for r in rows.tolist()], ratings,
                             categories=[" ".join(i.categories) for i in corpus.items.values()],
                             titles=[i.title for i in corpus.items.values()], encoder=encoder, config=config,
                             source=source, seed=seed)
    stats = count_terms(fit_tagged)
    nouns = sorted(w for w, u in stats.nouns.items() if u.n >= config.min_term_count and w.isalpha())
    context = context_vectors(fit_tagged, nouns, config.context_window, config.context_dims)
    vec = unit_rows(np.hstack([unit_rows(encoder.encode(nouns)), context]))
    index = {w: i for i, w in enumerate(nouns)}
    cand = np.array([index[t] for t in model.terms if t in index], dtype=np.int64)
    labels = np.zeros((len(model.aspects), vec.shape[1]))
    for t, a in model.terms.items():
        if t in index:
            labels[a] += vec[index[t]] * stats.nouns[t].n
    labels = unit_rows(labels)
    # Each noun's attention score is fixed (it does not depend on the sentence): compute it once.
    d2 = np.maximum(2.0 - 2.0 * vec @ vec[cand].T, 0.0)
    score = np.exp(-GAMMA * d2).sum(axis=1)
    sentiments = sentence_polarity(tagged, texts, model.polarity)
    sent, asp, pol, word = [], [], [], []
    noun_tag = [t in NOUN_TAGS for t in tagged.tags]
    lemma_index = [index.get(m, -1) for m in tagged.lemmas]
    for k, (_forms, t_ids, m_ids) in enumerate(tagged.iter_ids()):
        ids = [lemma_index[m] for m, t in zip(m_ids, t_ids, strict=True)
               if noun_tag[t] and lemma_index[m] >= 0]
        if not ids:
            continue
        att = np.exp(score[ids] - score[ids].max())
        att /= att.sum()
        s = att @ vec[ids]
        sims = labels @ (s / max(float(np.linalg.norm(s)), 1e-12))
        best = int(np.argmax(sims))
        if sims[best] < MIN_SIMILARITY:
            continue
        sent.append(k)
        asp.append(best)
        pol.append(float(sentiments[k]))
        word.append(nouns[ids[int(np.argmax(att))]])
    mentions = Mentions(np.asarray(sent, dtype=np.int64), np.asarray(asp, dtype=np.int32),
                        np.asarray(pol, dtype=np.float32), np.full(len(sent), TERM, dtype=np.int8), word)
    if lap is not None:
        lap("aspects")
    return TermStage(model=model, mentions=mentions, sentiments=sentiments,
                     aspects=aspect_table_of(model, mentions, texts, fit=fit))
