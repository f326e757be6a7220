"""Stage-1 results on disk: one folder per (corpus, config), read back without recomputing anything.

Layout of a store folder::

    sentences.parquet   one row per sentence: row, user, item, ts, position, aspect (its first mention's,
                        -1 = none), similarity, sentiment, text (user/item index the corpus's users/item_ids)
    mentions.parquet    one row per (sentence, aspect) mention: sentence (row number in sentences.parquet),
                        aspect, polarity, source (term, derived, cue), word; absent for sentence-level methods
    aspects.json        the aspect table (profiling.profiles.Aspect, as JSON)
    aspect_model.json   the fitted terms model (terms, cues, rejected clusters and why, polarity model):
                        what ``python -m profiling.tag`` applies to new text; absent for other methods
    manifest.json       store version, corpus fingerprint, config, encoder, timings, calibration

Why Parquet and not the run's SQLite file: profiles are computed at arbitrary times from whole
columns (every sentence's time, aspect and sentiment), which Parquet hands to numpy in one read;
SQLite would return them row by row. The run's SQLite file belongs to the engine and is versioned by
its migrations; stage 1 stays a plain, typed, self-describing folder that the engine (and people,
with any Parquet reader) can open. The profiles themselves are not stored: they are a function of
these columns and a time, and recomputing one takes well under a millisecond.

A store is written to a temporary folder and renamed into place, so a reader never sees half a store.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from profiling.corpus import Corpus
from profiling.errors import ProfilingError
from profiling.mentions import SOURCES, Mentions
from profiling.profiles import Aspect

__all__ = [
    "STORE_VERSION",
    "ProfileStoreError",
    "StaleStoreError",
    "StoredRun",
    "corpus_fingerprint",
    "read_store",
    "write_store",
]

STORE_VERSION = 2


class ProfileStoreError(ProfilingError):
    """Raised when a profile store folder is missing, incomplete or of another store version."""


class StaleStoreError(ProfileStoreError):
    """Raised when a store was made from a different corpus than the one it is loaded with."""


@dataclass(frozen=True, slots=True)
class StoredRun:
    """What a store folder holds, as arrays (sentence columns), the aspect table and the manifest."""

    row: np.ndarray  # int64
    user: np.ndarray  # int32
    item: np.ndarray  # int32
    ts: np.ndarray  # int64 epoch ms
    position: np.ndarray  # int16
    label: np.ndarray  # int32, -1 = no aspect
    similarity: np.ndarray  # float32
    sentiment: np.ndarray  # float32
    texts: list[str]
    aspects: list[Aspect]
    manifest: dict[str, Any]
    mentions: Mentions | None = None
    aspect_model: dict[str, Any] | None = None  # TermAspectModel as JSON


def corpus_fingerprint(corpus: Corpus) -> str:
    """A content hash of the corpus (ids, interactions, texts): equal corpora, equal fingerprints."""
    h = hashlib.sha256()
    h.update(corpus.source.encode())
    for names in (corpus.users, corpus.item_ids):
        h.update(len(names).to_bytes(8, "little"))
        h.update("\x1f".join(names).encode("utf-8", "surrogatepass"))
    c = corpus.columns
    for arr in (c.user, c.item, c.rating, c.ts):
        h.update(np.ascontiguousarray(arr).tobytes())
    for t in corpus.texts:
        h.update(t.encode("utf-8", "surrogatepass"))
        h.update(b"\x1e")
    return h.hexdigest()[:24]


def write_store(directory: Path, run: StoredRun) -> Path:
    """Write ``run`` into ``directory`` (replacing what was there) atomically; returns the folder."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        table = pa.table(
            {
                "row": pa.array(run.row, pa.int64()),
                "user": pa.array(run.user, pa.int32()),
                "item": pa.array(run.item, pa.int32()),
                "ts": pa.array(run.ts, pa.int64()),
                "position": pa.array(run.position, pa.int16()),
                "aspect": pa.array(run.label, pa.int32()),
                "similarity": pa.array(run.similarity, pa.float32()),
                "sentiment": pa.array(run.sentiment, pa.float32()),
                "text": pa.array(run.texts, pa.string()),
            }
        )
        pq.write_table(table, tmp / "sentences.parquet", compression="zstd")
        if run.mentions is not None:
            m = run.mentions
            pq.write_table(pa.table({
                "sentence": pa.array(m.sentence, pa.int64()),
                "aspect": pa.array(m.aspect, pa.int32()),
                "polarity": pa.array(m.polarity, pa.float32()),
                "source": pa.DictionaryArray.from_arrays(pa.array(m.source, pa.int8()), pa.array(SOURCES)),
                "word": pa.array(m.word, pa.string()),
            }), tmp / "mentions.parquet", compression="zstd")
        if run.aspect_model is not None:
            (tmp / "aspect_model.json").write_text(json.dumps(run.aspect_model, indent=1))
        (tmp / "aspects.json").write_text(json.dumps([a.model_dump() for a in run.aspects], indent=1))
        manifest = {**run.manifest, "store_version": STORE_VERSION}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str))
        for _attempt in range(3):
            if directory.exists():
                shutil.rmtree(directory, ignore_errors=True)
            try:
                os.replace(tmp, directory)
                break
            except OSError:
                # Another writer put the folder back between our delete and our rename: try again.
                continue
        else:
            raise ProfileStoreError(f"{directory}: could not be replaced (another process keeps writing it)")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def read_store(directory: Path, corpus: Corpus | None = None) -> StoredRun:
    """The run stored in ``directory``; checked against ``corpus`` when given (StaleStoreError if not its)."""
    directory = Path(directory)
    paths = [directory / n for n in ("sentences.parquet", "aspects.json", "manifest.json")]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise ProfileStoreError(f"{directory}: not a profile store (missing {', '.join(missing)})")
    manifest = json.loads(paths[2].read_text())
    if manifest.get("store_version") != STORE_VERSION:
        raise ProfileStoreError(
            f"{directory}: store version {manifest.get('store_version')}, "
            f"this code reads version {STORE_VERSION}; re-run the profiling stage"
        )
    if corpus is not None and manifest.get("corpus") != corpus_fingerprint(corpus):
        raise StaleStoreError(
            f"{directory}: made from another corpus (fingerprint {manifest.get('corpus')}); "
            "re-run the profiling stage on this one"
        )
    t = pq.read_table(paths[0])

    def col(name: str, dtype: type) -> np.ndarray:
        return t.column(name).to_numpy().astype(dtype, copy=False)

    aspects = [Aspect.model_validate(a) for a in json.loads(paths[1].read_text())]
    mentions = None
    if (directory / "mentions.parquet").exists():
        mt = pq.read_table(directory / "mentions.parquet")
        mentions = Mentions(
            sentence=mt.column("sentence").to_numpy().astype(np.int64, copy=False),
            aspect=mt.column("aspect").to_numpy().astype(np.int32, copy=False),
            polarity=mt.column("polarity").to_numpy().astype(np.float32, copy=False),
            source=np.asarray(mt.column("source").combine_chunks().indices, dtype=np.int8),
            word=mt.column("word").to_pylist(),
        )
    model_path = directory / "aspect_model.json"
    return StoredRun(
        row=col("row", np.int64),
        user=col("user", np.int32),
        item=col("item", np.int32),
        ts=col("ts", np.int64),
        position=col("position", np.int16),
        label=col("aspect", np.int32),
        similarity=col("similarity", np.float32),
        sentiment=col("sentiment", np.float32),
        texts=t.column("text").to_pylist(),
        aspects=aspects,
        manifest=manifest,
        mentions=mentions,
        aspect_model=json.loads(model_path.read_text()) if model_path.exists() else None,
    )
