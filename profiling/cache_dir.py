"""Where ConvRec Studio caches what it generates or derives (sample world, embeddings, encoders)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

__all__ = ["cache_dir"]


def cache_dir(*parts: str) -> Path:
    """The cache folder (``$CONVREC_CACHE_DIR``, else the user's cache directory) joined with ``parts``."""
    root = os.environ.get("CONVREC_CACHE_DIR") or user_cache_dir("convrec-studio")
    path = Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
