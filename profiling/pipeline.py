"""Stage 1 end to end: split, embed, score sentiment, discover aspects, build the profiler; cached.

``run_profiling(corpus, config)`` always computes; ``load_or_run_profiling(corpus, config)`` first
looks for a store of the same corpus and config (content hashes of both, plus the pipeline version)
under ``cache_dir("profiles")``, so the engine reuses stage 1 across runs.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from profiling.aspects import AspectConfig, AspectResult
from profiling.cache_dir import cache_dir
from profiling.corpus import Corpus, to_millis
from profiling.encoders import Encoder, encoder_name
from profiling.errors import ProfilingError
from profiling.mentions import Mentions
from profiling.profile_store import StoredRun, corpus_fingerprint, read_store, write_store
from profiling.profiler import ProfileSettings, SentenceFacts, TemporalProfiler
from profiling.profiles import Aspect
from profiling.sentences import SentenceTable
from profiling.sentiment import SentimentCalibration
from profiling.term_aspects import TermAspectModel, TermConfig
from profiling.term_stage import TermStage

__all__ = [
    "PIPELINE_VERSION",
    "STEPS",
    "ProfilingConfig",
    "ProfilingResult",
    "load_or_run_profiling",
    "load_result",
    "profiling_key",
    "run_profiling",
    "save_result",
]

# Bump when a change in any stage-1 step changes results, so old cached stores are not reused.
PIPELINE_VERSION = 2

# The steps timed in ProfilingResult.timings, in order (a method times only the steps it runs).
STEPS = ("split", "tag", "embed", "sentiment", "aspects", "profiles")
_EMBEDDING_METHODS = ("contrastive", "spherical", "kmeans")


class ProfilingConfig(ProfileSettings):
    """Every choice of stage 1 (profile settings inherited from ProfileSettings); one place for defaults."""

    encoder: Literal["fast", "minilm"] = Field(
        "fast", description="fast = model2vec distilled from MiniLM; minilm = all-MiniLM-L6-v2 itself"
    )
    aspects: AspectConfig = Field(default_factory=AspectConfig)
    terms: TermConfig = Field(default_factory=TermConfig, description="thresholds of the terms method")
    sentiment: Literal["fitted", "calibrated", "vader"] = Field(
        "fitted",
        description="fitted = clause polarity fitted on this corpus's ratings (profiling.clause_polarity); "
        "calibrated = VADER calibrated on the clothing reviews (profiling.sentiment); vader = raw compound",
    )
    calibration: Literal["clothing", "corpus"] = Field(
        "clothing",
        description="fit the calibration on the real clothing reviews, or on this corpus's ratings",
    )
    seed: int = Field(0, description="the run seed; also the aspect model's seed (aspects.seed follows it)")
    tag_cache: bool = Field(True, description="keep the sentences' tags on disk by content hash, so a re-run "
                            "with other aspect settings skips the tagger")
    fit_until: datetime | None = Field(
        None,
        description="fit the aspect model (and a corpus calibration) only on reviews strictly before "
        "this time and assign later sentences to its aspects; None = fit on all text. Set it to the "
        "training cut so that not even the aspect table has seen a test-period review.",
    )

    @field_validator("fit_until")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        # A naive time is a different instant on each machine; the cut must be exact.
        if v is not None and v.tzinfo is None:
            raise ValueError("fit_until must be timezone-aware (UTC)")
        return v

    @model_validator(mode="after")
    def _one_seed(self) -> ProfilingConfig:
        # One seed decides the run: two that could disagree would make "deterministic for a seed" ambiguous.
        if self.aspects.seed != self.seed:
            object.__setattr__(self, "aspects", self.aspects.model_copy(update={"seed": self.seed}))
        # One K too: aspects.k is the upper bound every method reads.
        if self.terms.k != self.aspects.k:
            object.__setattr__(self, "terms", self.terms.model_copy(update={"k": self.aspects.k}))
        return self

    def settings(self) -> ProfileSettings:
        """The profile settings part of this config."""
        return ProfileSettings.model_validate(self.model_dump(include=set(ProfileSettings.model_fields)))


@dataclass
class ProfilingResult:
    """What stage 1 produced: the profiler (a ProfileSource), aspects, per-sentence labels and sentiment."""

    profiles: TemporalProfiler
    aspects: list[Aspect]
    table: SentenceTable
    labels: np.ndarray  # int32 per sentence, -1 = no aspect
    similarity: np.ndarray  # float32 cosine to the assigned (or nearest) aspect centroid
    sentiments: np.ndarray  # float32 in [-1, 1] per sentence
    encoder: str
    config: ProfilingConfig
    key: str
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step
    calibration: SentimentCalibration | None = None
    mentions: Mentions | None = None  # one row per (sentence, aspect); None for sentence-level methods
    aspect_model: TermAspectModel | None = None  # the terms method's model (profiling.tag applies it)
    from_cache: bool = False
    store: Path | None = None


# Modules whose code decides what a store holds: a change to any of them must not reuse old stores.
_STAGE1_MODULES = (
    "sentences",
    "encoders",
    "aspects",
    "aspect_names",
    "sentiment",
    "pipeline",
    "profile_store",
    "tagging",
    "clauses",
    "clause_polarity",
    "term_stats",
    "term_aspects",
    "term_fit",
    "term_stage",
    "mentions",
    "cat_aspects",
)


@cache
def _code_digest() -> str:
    h = hashlib.sha256()
    for name in _STAGE1_MODULES:
        path = Path(__file__).parent / f"{name}.py"
        h.update(name.encode() + (path.read_bytes() if path.exists() else b"(absent)"))
    return h.hexdigest()[:16]


def profiling_key(corpus: Corpus, config: ProfilingConfig) -> str:
    """The cache key of (corpus content, config, pipeline version, source of the stage-1 modules)."""
    h = hashlib.sha256()
    h.update(
        f"v{PIPELINE_VERSION}|{_code_digest()}|{corpus_fingerprint(corpus)}|{config.model_dump_json()}".encode()
    )
    return h.hexdigest()[:24]


def _calibration(corpus: Corpus, config: ProfilingConfig, progress: bool) -> SentimentCalibration | None:
    from profiling.sentiment import calibrate_on_reviews, clothing_calibration

    if config.sentiment == "vader":
        return None
    if config.calibration == "clothing":
        return clothing_calibration(seed=config.seed, progress=progress)
    rows = np.arange(len(corpus))
    if config.fit_until is not None:
        rows = rows[corpus.columns.ts < to_millis(config.fit_until)]
    return calibrate_on_reviews(
        [corpus.texts[r] for r in rows],
        corpus.columns.rating[rows],
        source=f"corpus:{corpus_fingerprint(corpus)}",
        seed=config.seed,
        progress=progress,
    )


def _aspects(
    embeddings: np.ndarray,
    table: SentenceTable,
    sentiments: np.ndarray,
    cfg: ProfilingConfig,
    encoder: str,
    progress: bool,
    fit: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, AspectResult]:
    """Labels and similarities of every sentence, from an aspect model fitted before ``cfg.fit_until``."""
    from profiling.aspects import discover_aspects

    if cfg.fit_until is None:
        found = discover_aspects(
            embeddings, table.texts, cfg.aspects, encoder=encoder, sentiments=sentiments, progress=progress
        )
        return (
            np.asarray(found.labels, dtype=np.int32),
            np.asarray(found.similarity, dtype=np.float32),
            found,
        )
    fit = fit if fit is not None else table.ts < to_millis(cfg.fit_until)
    found = discover_aspects(
        embeddings[fit],
        [t for t, f in zip(table.texts, fit, strict=True) if f],
        cfg.aspects,
        encoder=encoder,
        sentiments=sentiments[fit],
        progress=progress,
    )
    labels = np.full(len(table), -1, dtype=np.int32)
    similarity = np.zeros(len(table), dtype=np.float32)
    labels[fit], similarity[fit] = found.labels, found.similarity
    if (~fit).any():
        later_labels, later_sim = found.assign(embeddings[~fit])
        labels[~fit], similarity[~fit] = later_labels, later_sim
    return labels, similarity, found


def run_profiling(
    corpus: Corpus,
    config: ProfilingConfig | None = None,
    *,
    progress: bool = False,
    calibration: SentimentCalibration | None = None,
    encoder: Encoder | None = None,
) -> ProfilingResult:
    """Run stage 1 on ``corpus``.

    ``calibration`` overrides the one the config names (sentence-level methods with ``calibrated``
    sentiment); ``encoder`` overrides ``config.encoder`` (a seam for tests and for callers holding a
    loaded model).
    """
    from profiling.encoders import get_encoder
    from profiling.sentences import sentence_table

    cfg = config or ProfilingConfig()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[step] = round(now - clock, 3)
        clock = now

    table = sentence_table(corpus, progress=progress)
    if len(table) == 0:
        raise ProfilingError(f"corpus {corpus.source or '(unnamed)'} has no review text to profile")
    fit = None if cfg.fit_until is None else table.ts < to_millis(cfg.fit_until)
    if fit is not None and not fit.any():
        raise ProfilingError(
            f"no review before fit_until={cfg.fit_until.isoformat()}: nothing to fit aspects on"
        )
    lap("split")
    encoder = encoder if encoder is not None else get_encoder(cfg.encoder)
    method = cfg.aspects.method
    mentions: Mentions | None = None
    model: TermAspectModel | None = None
    cal: SentimentCalibration | None = None
    if method in _EMBEDDING_METHODS:
        from profiling.sentiment import score_sentences

        embeddings = encoder.encode(table.texts, progress=progress)
        lap("embed")
        cal = (calibration if calibration is not None or cfg.sentiment != "calibrated"
               else _calibration(corpus, cfg, progress))
        sentiments = np.asarray(score_sentences(table.texts, cal, progress=progress), dtype=np.float32)
        lap("sentiment")
        labels, similarity, found = _aspects(embeddings, table, sentiments, cfg, encoder.name, progress, fit)
        aspects = list(found.aspects)
        lap("aspects")
    else:
        stage = _tagged_stage(corpus, table, cfg, encoder, fit, progress, lap)
        mentions, model, aspects, sentiments = stage.mentions, stage.model, stage.aspects, stage.sentiments
        labels = mentions.primary(len(table))
        similarity = np.zeros(len(table), dtype=np.float32)
    facts = facts_of(table, labels, sentiments, mentions)
    profiler = TemporalProfiler(corpus, facts, aspects, encoder=encoder.name, settings=cfg.settings())
    lap("profiles")
    return ProfilingResult(
        profiles=profiler,
        aspects=aspects,
        table=table,
        labels=labels,
        similarity=similarity,
        sentiments=np.asarray(sentiments, dtype=np.float32),
        encoder=encoder.name,
        config=cfg,
        key=profiling_key(corpus, cfg),
        timings=timings,
        calibration=cal,
        mentions=mentions,
        aspect_model=model,
    )


def _tagged_stage(corpus: Corpus, table: SentenceTable, cfg: ProfilingConfig, encoder: Encoder,
                  fit: np.ndarray | None, progress: bool, lap: Callable[[str], None]) -> TermStage:
    """The terms (or CAt) method: tag, fit on the ``fit`` rows, find mentions in every sentence."""
    from profiling.term_stage import run_term_stage

    kwargs = dict(config=cfg.terms, encoder=encoder, fit=fit, seed=cfg.seed, tag_cache=cfg.tag_cache,
                  source=f"corpus:{corpus_fingerprint(corpus)}",
                  polarity="vader" if cfg.sentiment == "vader" else "fitted", progress=progress, lap=lap)
    if cfg.aspects.method == "cat":
        from profiling.cat_aspects import run_cat_stage

        return run_cat_stage(corpus, table, **kwargs)  # type: ignore[arg-type]
    return run_term_stage(corpus, table, **kwargs)  # type: ignore[arg-type]


def facts_of(table: SentenceTable, labels: np.ndarray, sentiments: np.ndarray,
             mentions: Mentions | None) -> SentenceFacts:
    """The profiler's rows: one per mention when there are mentions, else one per labelled sentence."""
    if mentions is None:
        return SentenceFacts(row=table.row, user=table.user, item=table.item, ts=table.ts,
                             label=np.asarray(labels, dtype=np.int32),
                             sentiment=np.asarray(sentiments, dtype=np.float32), texts=table.texts)
    s = mentions.sentence
    return SentenceFacts(row=table.row[s], user=table.user[s], item=table.item[s], ts=table.ts[s],
                         label=mentions.aspect, sentiment=mentions.polarity, texts=table.texts, sentence=s)


def save_result(result: ProfilingResult, directory: Path, corpus: Corpus) -> Path:
    """Write a result to a store folder (see profiling.profile_store); returns the folder."""
    t = result.table
    model = result.aspect_model
    manifest = {
        "key": result.key,
        "corpus": corpus_fingerprint(corpus),
        "source": corpus.source,
        "pipeline_version": PIPELINE_VERSION,
        "encoder": result.encoder,
        "method": result.config.aspects.method,
        "config": result.config.model_dump(mode="json"),
        "timings": result.timings,
        "calibration": result.calibration.model_dump(mode="json") if result.calibration else None,
        "polarity": model.polarity.source if model is not None else result.config.sentiment,
        "n_sentences": len(t),
        "n_aspects": len(result.aspects),
        "n_mentions": len(result.mentions) if result.mentions is not None else None,
    }
    return write_store(
        directory,
        StoredRun(
            row=t.row,
            user=t.user,
            item=t.item,
            ts=t.ts,
            position=t.position,
            label=result.labels,
            similarity=result.similarity,
            sentiment=result.sentiments,
            texts=list(t.texts),
            aspects=result.aspects,
            manifest=manifest,
            mentions=result.mentions,
            aspect_model=model.model_dump(mode="json") if model is not None else None,
        ),
    )


def load_result(directory: Path, corpus: Corpus) -> ProfilingResult:
    """A result read back from a store folder made from ``corpus`` (StaleStoreError when it was not)."""
    run = read_store(directory, corpus)
    m = run.manifest
    cfg = ProfilingConfig.model_validate(m["config"])
    table = SentenceTable(
        row=run.row, user=run.user, item=run.item, ts=run.ts, position=run.position, texts=run.texts
    )
    cal = SentimentCalibration.model_validate(m["calibration"]) if m.get("calibration") else None
    model = TermAspectModel.model_validate(run.aspect_model) if run.aspect_model is not None else None
    facts = facts_of(table, run.label, run.sentiment, run.mentions)
    return ProfilingResult(
        profiles=TemporalProfiler(corpus, facts, run.aspects, encoder=m["encoder"], settings=cfg.settings()),
        aspects=run.aspects,
        table=table,
        labels=run.label,
        similarity=run.similarity,
        sentiments=run.sentiment,
        encoder=m["encoder"],
        config=cfg,
        key=m["key"],
        timings=dict(m.get("timings", {})),
        calibration=cal,
        mentions=run.mentions,
        aspect_model=model,
        from_cache=True,
        store=Path(directory),
    )


def load_or_run_profiling(
    corpus: Corpus, config: ProfilingConfig | None = None, cache: bool = True, *, progress: bool = False,
    encoder: Encoder | None = None,
) -> ProfilingResult:
    """Stage 1 for ``corpus`` under ``config``: from the cache when this pair ran before, else run and store.

    With ``cache=False`` it always runs and writes nothing. ``encoder`` (when it runs) replaces the one
    ``config`` names; it must be that encoder (same name), e.g. run elsewhere, so the cache stays valid.
    """
    cfg = config or ProfilingConfig()
    if encoder is not None and encoder.name != encoder_name(cfg.encoder):
        raise ProfilingError(f"encoder {encoder.name} given for a config naming {cfg.encoder!r}")
    if not cache:
        return run_profiling(corpus, cfg, progress=progress, encoder=encoder)
    key = profiling_key(corpus, cfg)
    directory = cache_dir("profiles") / key
    if (directory / "manifest.json").exists():
        return load_result(directory, corpus)
    result = run_profiling(corpus, cfg, progress=progress, encoder=encoder)
    result.store = save_result(result, directory, corpus)
    return result
