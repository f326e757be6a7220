"""Aspects as clusters of aspect terms: fitting the ``terms`` method of stage 1.

1. **Candidates.** Noun lemmas seen at least ``min_term_count`` times, minus product types (category
   words, titles' head nouns, nouns shoppers point at with "this"/"these": see :mod:`profiling.term_stats`),
   nouns mostly about the reviewer ("my husband") and opinion nouns ("love", "winner"; VADER valence
   >= ``opinion_valence``), except the general product attributes of :data:`ATTRIBUTES`.
2. **Vectors.** Each candidate gets two unit vectors, concatenated: the sentence encoder's embedding of the
   word (what it means in English) and a distributional vector from this corpus (PPMI of the content words
   within ``context_window`` tokens, reduced by truncated SVD: how shoppers here use it).
3. **Clusters.** Average-linkage agglomerative clustering on cosine distance, cut at ``cluster_distance``.
4. **Which clusters are aspects.** A cluster is an aspect when it holds a general attribute among its five
   most used terms, or when, over its mentions, it is specific to this domain, definite, evaluated,
   not personal and not circumstantial (thresholds below; the reason of every refusal is kept). Clusters
   with fewer mentions than ``min_aspect_share`` of the sentences are dropped as tiny.
5. **A data-sized table.** Kept clusters whose centroids are at least ``merge_similarity`` alike are merged;
   beyond ``k`` aspects, the smallest are merged into their nearest aspect when alike enough, else dropped.
6. **Names.** An aspect is named by its most used term as people write it ("sleeves", "fit", "fabric"),
   unique in the table; a term is a noun by construction, never a product type, verb or opinion word.
7. **Derived words and cues** (see :mod:`profiling.mentions`): adjectives formed from a term
   ("comfortable" from "comfort") and adjectives that nearly always come with one aspect's terms.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from profiling.clause_polarity import PolarityModel
from profiling.clauses import STOPWORDS, clause_spans
from profiling.mentions import AspectLexicon, clause_aspects
from profiling.tagging import TaggedText
from profiling.term_stats import NounStats, TermUse, specificity, valence

__all__ = ["ATTRIBUTES", "AspectEntry", "TermAspectModel", "TermConfig", "build_lexicon", "candidate_terms",
           "cluster_terms", "context_vectors", "derived_forms", "entry_stats", "judge_cluster", "learn_cues",
           "unit_rows"]

# General product attributes: a cluster holding one of these is an aspect in any domain.
ATTRIBUTES = frozenset(
    ["size", "sizing", "color", "colour", "weight", "length", "width", "height", "depth", "shape", "price",
     "cost", "value", "quality", "material", "style", "design", "fit", "comfort", "durability",
     "performance", "speed", "capacity", "noise", "sound", "smell", "scent", "taste", "texture", "finish",
     "service"]
)
# Verbs that mention their attribute ("it fits", "it washes well") when that attribute is an aspect.
_ATTRIBUTE_VERBS = frozenset({"fit", "size", "price", "wash", "shrink", "fade", "stretch", "wrinkle"})
# Adjectives that say how much or which, not what a thing is like: never a cue for an aspect.
_NOT_DESCRIPTIVE = frozenset(
    ["same", "other", "whole", "less", "more", "main", "real", "full", "own", "only", "such", "many",
     "much", "few", "several", "first", "last", "new", "old", "entire", "certain", "various", "different",
     "similar", "overall", "total", "extra", "additional", "actual", "particular", "general", "usual",
     "normal", "regular", "next", "previous"]
)
_SUFFIXES = ("able", "ible", "ish", "ful", "ey", "y", "ed", "ing", "ic", "al", "ous", "ive", "ly")


class TermConfig(BaseModel):
    """Every threshold of the ``terms`` method (one place for the defaults; see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    k: int = Field(20, ge=1, le=500, description="upper bound on the number of aspects")
    min_term_count: int = Field(10, ge=2, description="occurrences a noun needs to be a candidate term")
    max_terms: int = Field(3000, ge=2, description="at most this many candidates (the most frequent) are "
                           "clustered: the clustering's memory grows with the square of the count")
    product_type_rate: float = Field(0.15, gt=0, le=1, description="share of uses after this/these/that/"
                                     "those from which a noun is a product type")
    max_personal_term: float = Field(0.5, gt=0, le=1, description="share after my/your/... from which a noun "
                                     "is about the reviewer")
    opinion_valence: float = Field(1.0, gt=0, description="|VADER valence| from which a noun is an opinion")
    compound_share: float = Field(0.25, gt=0, le=1, description="share of its first noun's uses a noun "
                                  "compound needs to be a term of its own")
    context_window: int = Field(4, ge=1, description="tokens each side counted as a term's context")
    context_dims: int = Field(100, ge=2, description="dimensions of the distributional term vectors")
    cluster_distance: float = Field(0.6, gt=0, lt=2, description="cosine distance cut of the term clustering")
    min_specificity: float = Field(0.5, description="log10 over-representation vs general English")
    min_definite: float = Field(0.10, ge=0, le=1, description="share of mentions after the/its/their")
    min_evaluated: float = Field(0.08, ge=0, le=1, description="share of mentions judged by an adjective")
    max_personal: float = Field(0.3, ge=0, le=1, description="share of mentions after my/your/...")
    max_circumstantial: float = Field(0.3, ge=0, le=1, description="share in bare prepositional phrases")
    min_aspect_share: float = Field(0.002, ge=0, lt=1, description="aspects with fewer mentions than this "
                                    "share of the sentences are dropped as tiny")
    merge_similarity: float = Field(0.8, gt=0, le=1, description="centroid cosine from which aspects merge")
    beyond_k_similarity: float = Field(0.5, ge=0, le=1, description="an aspect beyond k merges into its "
                                       "nearest when this alike, else it is dropped")
    cue_min_count: int = Field(30, ge=1, description="single-aspect clauses a cue adjective must appear in")
    cue_min_share: float = Field(0.55, gt=0, le=1, description="share of them about its aspect")
    cue_min_lift: float = Field(3.0, ge=1, description="that share over the aspect's share of all clauses")


class AspectEntry(BaseModel):
    """A row of the aspect table: a kept aspect, or a cluster merged or dropped, with the reason."""

    model_config = ConfigDict(frozen=True)

    name: str
    terms: tuple[str, ...] = Field(description="noun lemmas, most mentioned first")
    derived: tuple[str, ...] = ()
    mentions: int = 0
    status: Literal["kept", "merged", "dropped"] = "kept"
    reason: str = ""
    stats: dict[str, float] = Field(default_factory=dict)


class TermAspectModel(BaseModel):
    """A fitted aspect model: the table, the words that mention each aspect, and the polarity model."""

    version: int = 1
    tagger: str
    encoder: str
    config: TermConfig
    aspects: list[AspectEntry] = Field(description="kept aspects; an aspect's id is its position")
    rejected: list[AspectEntry] = Field(default_factory=list, description="merged and dropped clusters")
    terms: dict[str, int] = Field(default_factory=dict)
    derived: dict[str, int] = Field(default_factory=dict)
    verbs: dict[str, int] = Field(default_factory=dict)
    cues: dict[str, int] = Field(default_factory=dict)
    product_types: list[str] = Field(default_factory=list)
    polarity: PolarityModel

    def lexicon(self) -> AspectLexicon:
        """The lookup tables :func:`profiling.mentions.find_mentions` reads."""
        return AspectLexicon(self.terms, self.derived, self.verbs, self.cues)


def candidate_terms(stats: NounStats, product_types: set[str], cfg: TermConfig) -> list[str]:
    """Noun lemmas that may be aspect terms (step 1), most frequent first."""
    lex = valence()
    out = []
    for lemma, use in stats.nouns.items():
        parts = lemma.split(" ")
        if use.n < cfg.min_term_count or any(not p.isalpha() or len(p) < 3 or p in STOPWORDS for p in parts):
            continue
        if any(p in product_types for p in parts) or use.rate("demonstrative") >= cfg.product_type_rate:
            continue
        # A compound is a term of its own only when it is a fixed expression: a good share of its first
        # word's uses ("battery life"), not a free combination ("quality fabric", "cotton fabric").
        if len(parts) == 2 and use.n < cfg.compound_share * stats.nouns[parts[0]].n:
            continue
        if use.rate("personal") >= cfg.max_personal_term:
            continue
        if abs(lex.get(lemma, 0.0)) >= cfg.opinion_valence and lemma not in ATTRIBUTES:
            continue
        out.append(lemma)
    return sorted(out, key=lambda w: (-stats.nouns[w].n, w))[: cfg.max_terms]


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float64)


def context_vectors(tagged: TaggedText, terms: Sequence[str], window: int, dims: int) -> np.ndarray:
    """PPMI-SVD vectors of how ``terms`` are used here (step 2, the distributional half)."""
    from scipy.sparse import coo_matrix

    index = {t: i for i, t in enumerate(terms)}
    lemma_term = [index.get(m, -1) for m in tagged.lemmas]
    content = [m.isalpha() and m not in STOPWORDS for m in tagged.lemmas]
    noun = [t in ("NN", "NNS") for t in tagged.tags]
    lemmas = tagged.lemmas
    rows: list[int] = []
    cols: list[int] = []

    def add(r: int, s: int, e: int, m_ids: list[int]) -> None:
        for j in range(max(0, s - window), min(len(m_ids), e + window + 1)):
            if not s <= j <= e and content[m_ids[j]]:
                rows.append(r)
                cols.append(m_ids[j])

    for _f, t_ids, m_ids in tagged.iter_ids():
        n = len(m_ids)
        for i in range(n):
            if not noun[t_ids[i]]:
                continue
            r = lemma_term[m_ids[i]]
            if r >= 0:
                add(r, i, i, m_ids)
            if i and noun[t_ids[i - 1]] and not (i + 1 < n and noun[t_ids[i + 1]]):
                rc = index.get(f"{lemmas[m_ids[i - 1]]} {lemmas[m_ids[i]]}", -1)
                if rc >= 0:
                    add(rc, i - 1, i, m_ids)
    # Context columns in the order of the lemma strings, not of the tagger's ids (which depend on every
    # sentence tagged, later ones included): the same fitted sentences must give the same vectors.
    canonical = np.argsort(np.argsort(np.array(lemmas, dtype=object), kind="stable"), kind="stable")
    m = coo_matrix((np.ones(len(rows)), (rows, canonical[np.asarray(cols, dtype=np.int64)])),
                   shape=(len(terms), len(lemmas))).tocsr()
    m.sum_duplicates()
    m = m.tocoo()
    row_sum = np.asarray(m.tocsr().sum(axis=1)).ravel()
    col_p = np.asarray(m.tocsr().sum(axis=0)).ravel() ** 0.75  # context-distribution smoothing
    col_p /= max(col_p.sum(), 1e-12)
    pmi = np.maximum(np.log(m.data / (row_sum[m.row] * col_p[m.col])), 0.0)
    ppmi = coo_matrix((pmi, (m.row, m.col)), shape=m.shape).tocsr()
    # The truncated SVD from the Gram matrix by a dense symmetric eigensolver (LAPACK): exact and
    # repeatable, unlike an iterative sparse solver, and cheap for a few thousand terms.
    gram = (ppmi @ ppmi.T).toarray()
    eigval, eigvec = np.linalg.eigh(gram)
    top = np.argsort(eigval)[::-1][: max(1, min(dims, len(terms)))]
    # P = U S V' gives U S^(1/2) as the term vectors; the Gram's eigenvalues are S^2.
    return unit_rows(eigvec[:, top] * np.maximum(eigval[top], 0.0) ** 0.25)


def cluster_terms(vectors: np.ndarray, distance: float) -> np.ndarray:
    """Cluster label (0-based) of each term vector: average linkage on cosine distance, cut there."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(vectors) == 1:
        return np.zeros(1, dtype=np.int64)
    z = linkage(vectors, method="average", metric="cosine")
    return fcluster(z, t=distance, criterion="distance").astype(np.int64) - 1


def derived_forms(adjectives: Counter[str], terms: Collection[str], uses: dict[str, TermUse],
                  min_count: int) -> dict[str, str]:
    """Adjective and participle forms derived from a term by a suffix, with that term ("comfy" -> comfort)."""
    out: dict[str, str] = {}
    by_prefix = sorted(terms, key=lambda t: -uses[t].n)
    for form, count in adjectives.items():
        if count < min_count or form in terms or not form.isalpha():
            continue
        for suffix in _SUFFIXES:
            stem = form[: -len(suffix)]
            if not form.endswith(suffix) or len(stem) < 4:
                continue
            hit = next((t for t in by_prefix if t in (stem, stem + "e", stem[:-1])
                        or (t.startswith(stem) and len(t) - len(stem) <= 3)), None)
            if hit is not None:
                out[form] = hit
                break
    return out


def learn_cues(tagged: TaggedText, lex: AspectLexicon, blocked: set[str], cfg: TermConfig) -> dict[str, int]:
    """Adjectives that nearly always come with one aspect's terms in single-aspect clauses (step 7).

    Strong general praise or blame (|VADER valence| >= 2.5: "perfect", "awful") is a verdict on anything,
    and quantity or order words ("same", "whole", "next") describe nothing: neither is ever a cue.
    """
    lexicon = valence()
    per_word: dict[str, Counter[int]] = {}
    per_aspect: Counter[int] = Counter()
    clauses = 0
    forms_v, tags_v, lemmas_v = tagged.forms, tagged.tags, tagged.lemmas
    for f_ids, t_ids, m_ids in tagged.iter_ids():
        forms = [forms_v[f] for f in f_ids]
        tags = [tags_v[t] for t in t_ids]
        lemmas = [lemmas_v[m] for m in m_ids]
        for a, b in clause_spans(forms, tags):
            found = clause_aspects(forms, tags, lemmas, a, b, lex, use_cues=False)
            if len(found) != 1:
                continue
            aspect = found[0][0]
            clauses += 1
            per_aspect[aspect] += 1
            for w in {lemmas[i] for i in range(a, b) if tags[i].startswith("JJ")}:
                if (w.isalpha() and len(w) >= 3 and w not in blocked and w not in _NOT_DESCRIPTIVE
                        and abs(lexicon.get(w, 0.0)) < 2.5):
                    per_word.setdefault(w, Counter())[aspect] += 1
    cues: dict[str, int] = {}
    for w, counts in per_word.items():
        n = sum(counts.values())
        if n < cfg.cue_min_count:
            continue
        aspect, c = counts.most_common(1)[0]
        share = c / n
        if share >= cfg.cue_min_share and share / (per_aspect[aspect] / clauses) >= cfg.cue_min_lift:
            cues[w] = aspect
    return cues


def build_lexicon(terms: dict[str, int], derived: dict[str, int], uses: dict[str, TermUse],
                  cues: dict[str, int] | None = None) -> AspectLexicon:
    """The lexicon of a set of aspects: attribute verbs are added for terms that are such verbs."""
    verbs = {t: a for t, a in terms.items() if t in _ATTRIBUTE_VERBS}
    return AspectLexicon(terms, derived, verbs, cues or {})


def entry_stats(members: Sequence[str], stats: NounStats) -> dict[str, float]:
    n = sum(stats.nouns[t].n for t in members)
    out = {what: sum(getattr(stats.nouns[t], what) for t in members) / n
           for what in ("definite", "personal", "circumstantial")}
    out["evaluated"] = sum(stats.nouns[t].predicated + stats.nouns[t].modified for t in members) / n
    out["specificity"] = sum(specificity(stats, t) * stats.nouns[t].n for t in members) / n
    return {k: round(v, 4) for k, v in out.items()}


def judge_cluster(members: Sequence[str], s: dict[str, float], cfg: TermConfig) -> str:
    """'' when a cluster is an aspect (step 4), else why not."""
    if any(t in ATTRIBUTES for t in members[:5]):
        return ""
    checks = (
        (s["specificity"] < cfg.min_specificity, f"generic words (specificity {s['specificity']:.2f})"),
        (s["personal"] > cfg.max_personal, f"about the reviewer ({s['personal']:.0%} after my/your)"),
        (s["circumstantial"] > cfg.max_circumstantial,
         f"circumstances ({s['circumstantial']:.0%} in phrases like 'for summer')"),
        (s["definite"] < cfg.min_definite,
         f"never a property of the product ({s['definite']:.0%} after the/its)"),
        (s["evaluated"] < cfg.min_evaluated, f"rarely judged ({s['evaluated']:.0%} of mentions)"),
    )
    return next((why for failed, why in checks if failed), "")
