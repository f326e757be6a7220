"""RecBole atomic files for the exported dialogs' histories: ``.inter``, ``.item``, ``.user`` and the split.

RecBole reads a dataset as ``<data_path>/<name>/<name>.<suffix>``: tab-separated text, a header of
``field:type`` names, one row per line. We write every interaction the exported dialogs hold (each
user's history before a target, and the target itself), once per (user, item, time):

- ``<name>.inter``: ``user_id:token item_id:token rating:float timestamp:float`` (Unix seconds);
- ``<name>.item``: ``item_id:token title:token_seq`` (title words, tabs and newlines removed);
- ``<name>.user``: ``user_id:token n_interactions:float``;
- ``<name>.train.inter``, ``<name>.valid.inter``, ``<name>.test.inter``: the same interactions cut at
  the dataset's split points (the earliest target time of a validation dialog and of a test dialog),
  for RecBole's ``benchmark_filename: [train, valid, test]``: its sequential baselines then train and
  evaluate on the split the dialogs use. Written only when every split has dialogs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["RECBOLE_SPLITS", "split_cuts", "write_recbole"]

RECBOLE_SPLITS = ("train", "valid", "test")
_BAD = re.compile(r"[\t\r\n]+")


def _seconds(date: str) -> float:
    return datetime.fromisoformat(date).timestamp()


def _clean(text: str) -> str:
    return _BAD.sub(" ", text).strip() or "untitled"


def split_cuts(records: Iterable[dict[str, Any]]) -> tuple[float, float] | None:
    """(validation cut, test cut) in Unix seconds: each split's first target time; None if one is empty."""
    first: dict[str, float] = {}
    for r in records:
        s = r["split"]
        if s in ("validation", "test"):
            t = _seconds(r["target"]["date"])
            first[s] = min(first.get(s, t), t)
    if "validation" not in first or "test" not in first:
        return None
    return first["validation"], first["test"]


def write_recbole(records: list[dict[str, Any]], folder: Path, name: str) -> list[Path]:
    """Write the atomic files of ``records`` (dataset lines) under ``folder/name``; the paths written."""
    out = folder / name
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[tuple[str, str, float], float] = {}
    titles: dict[str, str] = {}
    for r in records:
        for x in [*r["history"], r["target"]]:
            rows[(r["user_id"], x["item"], _seconds(x["date"]))] = float(x["rating"])
            titles.setdefault(x["item"], _clean(x["title"]))
        for n in r["negatives"]:
            titles.setdefault(n["item"], _clean(n["title"]))
    ordered = sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1]))
    header = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"

    def inter_lines(part: Iterable[tuple[tuple[str, str, float], float]]) -> str:
        return header + "".join(f"{u}\t{i}\t{rating:g}\t{t:.0f}\n" for (u, i, t), rating in part)

    written = [out / f"{name}.inter", out / f"{name}.item", out / f"{name}.user"]
    written[0].write_text(inter_lines(ordered), encoding="utf-8")
    written[1].write_text(
        "item_id:token\ttitle:token_seq\n" + "".join(f"{i}\t{t}\n" for i, t in sorted(titles.items())),
        encoding="utf-8",
    )
    per_user = Counter(u for (u, _, _) in rows)
    written[2].write_text(
        "user_id:token\tn_interactions:float\n" + "".join(f"{u}\t{n}\n" for u, n in sorted(per_user.items())),
        encoding="utf-8",
    )
    cuts = split_cuts(records)
    if cuts is not None:
        valid_cut, test_cut = cuts
        parts: dict[str, list[tuple[tuple[str, str, float], float]]] = {s: [] for s in RECBOLE_SPLITS}
        for key, rating in ordered:
            t = key[2]
            parts["test" if t >= test_cut else "valid" if t >= valid_cut else "train"].append((key, rating))
        for s in RECBOLE_SPLITS:
            path = out / f"{name}.{s}.inter"
            path.write_text(inter_lines(parts[s]), encoding="utf-8")
            written.append(path)
    return written
