"""Fit the ``terms`` aspect model on tagged sentences: candidates, vectors, clusters, table, cues, polarity.

The steps and their reasons are in :mod:`profiling.term_aspects`; this module runs them in order and
records, for every cluster that does not become an aspect, why (``TermAspectModel.rejected``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from profiling.clause_polarity import PolarityError, PolarityModel, fit_polarity
from profiling.encoders import Encoder
from profiling.errors import ProfilingError
from profiling.tagging import TAGGER_NAME, TaggedText
from profiling.term_aspects import (
    AspectEntry,
    TermAspectModel,
    TermConfig,
    build_lexicon,
    candidate_terms,
    cluster_terms,
    context_vectors,
    derived_forms,
    entry_stats,
    judge_cluster,
    learn_cues,
    unit_rows,
)
from profiling.term_stats import NounStats, TermUse, count_terms, product_type_words

__all__ = ["fit_term_aspects"]

# A term used at least this often in one noun compound is named by the compound.
_COMPOUND_SHARE = 0.6


@dataclass
class _Cluster:
    members: list[str]
    centroid: np.ndarray
    stats: dict[str, float]
    reason: str
    mentions: int = 0
    derived: tuple[str, ...] = ()


def _compound(use: TermUse, form: str, members: Sequence[str]) -> str:
    """The phrase a term mostly lives in ("water resistance", "moisturizing effect"), else its form.

    Not with another term of the same aspect ("price tag" is the price): that word is the aspect too.
    """
    for side, counter in (("before", use.before), ("before", use.modifier), ("after", use.after)):
        if counter:
            other, c = counter.most_common(1)[0]
            if c >= _COMPOUND_SHARE * use.n and other.isalpha() and other not in members:
                return f"{other} {form}" if side == "before" else f"{form} {other}"
    return form


def _name(members: Sequence[str], stats: NounStats, derived: dict[str, str], taken: set[str]) -> str:
    # The most used term names the cluster, its adjectives counted ("comfort" with "comfortable") and its
    # uses in circumstances not ("price" over "sale", which is mostly "on sale").
    def weight(t: str) -> float:
        use = stats.nouns[t]
        # A word inside a compound of the cluster counts for the compound: "battery life", not "life".
        inside = sum(stats.nouns[c].n for c in members if " " in c and t in c.split(" "))
        return (use.n - use.circumstantial - inside
                + sum(stats.adjectives[f] for f, x in derived.items() if x == t))

    ordered = sorted(members, key=lambda t: (-weight(t), t))
    for term in ordered:
        use = stats.nouns[term]
        form = use.forms.most_common(1)[0][0]
        for candidate in (_compound(use, form, members), form, term):
            if candidate not in taken:
                return candidate
    return f"{members[0]} ({len(taken)})"


def fit_term_aspects(
    tagged: TaggedText,
    texts: Sequence[str],
    ratings: np.ndarray,
    *,
    categories: Iterable[str],
    titles: Iterable[str],
    encoder: Encoder,
    config: TermConfig | None = None,
    source: str,
    seed: int = 0,
    vader: np.ndarray | None = None,
) -> TermAspectModel:
    """The aspect model of these sentences (``ratings``: the star rating of each sentence's review)."""
    cfg = config or TermConfig()
    stats = count_terms(tagged)
    product_types = product_type_words(categories, titles, stats.nouns)
    cands = candidate_terms(stats, product_types, cfg)
    if len(cands) < 2:
        raise ProfilingError(f"only {len(cands)} candidate aspect terms in {len(tagged)} sentences: too "
                             f"little text to find aspects (a noun needs {cfg.min_term_count} occurrences)")
    vectors = unit_rows(np.hstack([unit_rows(encoder.encode(cands)),
                               context_vectors(tagged, cands, cfg.context_window, cfg.context_dims)]))
    weight = np.array([stats.nouns[t].n for t in cands], dtype=np.float64)
    labels = cluster_terms(vectors, cfg.cluster_distance)
    clusters: list[_Cluster] = []
    for lab in range(int(labels.max()) + 1):
        idx = np.flatnonzero(labels == lab)
        members = [cands[i] for i in sorted(idx.tolist(), key=lambda i: (-weight[i], cands[i]))]
        centroid = unit_rows((vectors[idx] * weight[idx, None]).sum(axis=0, keepdims=True))[0]
        s = entry_stats(members, stats)
        clusters.append(_Cluster(members, centroid, s, judge_cluster(members, s, cfg)))
    rejected: list[AspectEntry] = []

    def reject(c: _Cluster, status: str, why: str) -> None:
        rejected.append(AspectEntry(name=c.members[0], terms=tuple(c.members), derived=c.derived,
                                    mentions=c.mentions or sum(stats.nouns[t].n for t in c.members),
                                    status=status, reason=why, stats=c.stats))

    kept = []
    for c in clusters:
        if c.reason:
            reject(c, "dropped", c.reason)
        else:
            kept.append(c)
    # Mentions include the adjectives derived from a cluster's terms ("comfortable" counts for comfort).
    provisional = {t: i for i, c in enumerate(kept) for t in c.members}
    derived_terms = derived_forms(stats.adjectives, provisional, stats.nouns, max(2, cfg.min_term_count // 2))
    for i, c in enumerate(kept):
        forms = tuple(sorted((f for f, t in derived_terms.items() if provisional[t] == i),
                             key=lambda f: -stats.adjectives[f]))
        c.derived = forms
        c.mentions = sum(stats.nouns[t].n for t in c.members) + sum(stats.adjectives[f] for f in forms)
    tiny = max(5, int(cfg.min_aspect_share * len(tagged)))
    kept.sort(key=lambda c: (-c.mentions, c.members[0]))
    final: list[_Cluster] = []
    for c in kept:
        if c.mentions < tiny:
            reject(c, "dropped", f"tiny ({c.mentions} mentions < {tiny})")
            continue
        sims = [float(c.centroid @ f.centroid) for f in final]
        best = int(np.argmax(sims)) if sims else -1
        if best >= 0 and sims[best] >= cfg.merge_similarity:
            why = f"near-duplicate of '{final[best].members[0]}' (similarity {sims[best]:.2f})"
        elif len(final) >= cfg.k:
            if best >= 0 and sims[best] >= cfg.beyond_k_similarity:
                why = f"beyond k={cfg.k}: merged into nearest '{final[best].members[0]}' ({sims[best]:.2f})"
            else:
                reject(c, "dropped", f"beyond k={cfg.k} and like no kept aspect (best {max(sims):.2f})")
                continue
        else:
            final.append(c)
            continue
        reject(c, "merged", why)
        target = final[best]
        target.members = target.members + c.members
        target.derived = target.derived + c.derived
        target.mentions += c.mentions
    terms = {t: a for a, c in enumerate(final) for t in c.members}
    derived_terms = derived_forms(stats.adjectives, terms, stats.nouns, max(2, cfg.min_term_count // 2))
    derived = {f: terms[t] for f, t in derived_terms.items()}
    blocked = set(terms) | set(derived) | product_types
    cues = learn_cues(tagged, build_lexicon(terms, derived, stats.nouns), blocked, cfg)
    lex = build_lexicon(terms, derived, stats.nouns, cues)
    taken: set[str] = set()
    aspects = []
    for a, c in enumerate(final):
        name = _name(c.members, stats, derived_terms, taken)
        taken.add(name)
        aspects.append(AspectEntry(name=name, terms=tuple(c.members),
                                   derived=tuple(f for f, x in derived.items() if x == a),
                                   mentions=c.mentions, stats=c.stats))
    try:
        polarity = fit_polarity(tagged, texts, ratings, source=source, seed=seed, vader=vader,
                                exclude=set(terms) | set(derived) | product_types)
    except PolarityError:
        polarity = PolarityModel.vader_only()
    return TermAspectModel(tagger=TAGGER_NAME, encoder=encoder.name, config=cfg, aspects=aspects,
                           rejected=sorted(rejected, key=lambda e: -e.mentions), terms=dict(lex.terms),
                           derived=dict(lex.derived), verbs=dict(lex.verbs), cues=dict(lex.cues),
                           product_types=sorted(product_types), polarity=polarity)
