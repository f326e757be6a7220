"""RecBole's own atomic-file reader, run with the least of RecBole around it.

RecBole (installed ``--no-deps``) reads atomic files in ``Dataset._load_feat``: the header's
``field:type`` names decide each column's type, pandas parses the rows, ``token_seq`` columns are
split into arrays. That reader is what runs here, unchanged; only its ``Config`` object (which needs a
model name, YAML defaults and the model zoo) is replaced by a dict holding the keys the reader reads,
with RecBole's own defaults. ``load_dataset`` additionally builds a full ``recbole`` ``Dataset``
(ids remapped, the benchmark split) through RecBole's ``Config`` and ``create_dataset``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

__all__ = ["load_atomic"]

# RecBole's defaults for the keys its reader reads (recbole/properties/overall.yaml and dataset.yaml).
_READER_CONFIG: dict[str, Any] = {
    "field_separator": "\t",
    "seq_separator": " ",
    "encoding": "utf-8",
    "load_col": None,
    "unload_col": None,
    "seq_len": None,
}


def load_atomic(folder: Path, name: str, *, suffix: str | None = None) -> tuple[dict[str, list[Any]], ...]:
    """(inter, item, user) columns of ``folder/name`` as RecBole's reader parses them; ``suffix`` reads
    ``name.<suffix>.inter`` (a benchmark split) instead of ``name.inter``."""
    import pandas as pd
    from recbole.data.dataset.dataset import Dataset
    from recbole.utils import FeatureSource

    reader = Dataset.__new__(Dataset)  # the reader's state, without Config's model zoo
    reader.config = dict(_READER_CONFIG)
    import logging

    reader.logger = logging.getLogger("recbole-reader")
    reader.field2type, reader.field2source, reader.field2seqlen, reader.field2bucketnum = {}, {}, {}, {}
    base = folder / name
    inter_path = base / (f"{name}.{suffix}.inter" if suffix else f"{name}.inter")
    with warnings.catch_warnings():
        # RecBole fills missing token_seq values with a chained in-place fillna, which pandas 2.2 warns
        # about and pandas 3 (copy-on-write) turns into a no-op with a ChainedAssignmentError warning;
        # our files have no missing values, so neither changes what is read.
        warnings.simplefilter("ignore", FutureWarning)
        if hasattr(pd.errors, "ChainedAssignmentError"):
            warnings.simplefilter("ignore", pd.errors.ChainedAssignmentError)
        frames = [
            reader._load_feat(str(inter_path), FeatureSource.INTERACTION),
            reader._load_feat(str(base / f"{name}.item"), FeatureSource.ITEM),
            reader._load_feat(str(base / f"{name}.user"), FeatureSource.USER),
        ]
    out = []
    for df in frames:
        out.append({c: [x.tolist() if hasattr(x, "tolist") else x for x in df[c]] for c in df.columns})
    return tuple(out)
