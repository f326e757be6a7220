"""Dataset lines (what ``python -m engine.run`` writes) read into examples the models train on.

An :class:`Example` keeps what a recommender may see at the moment of recommendation: the user's
history (strictly before the target, as the seed cut it) and the dialog context, i.e. the accepted
turns before the target is first put on the table. The cut is the earliest of

- the first turn of a ``recommend_target`` node (the node that names the target), and
- the first turn that names the target: its whole title or its brand and model words, the way the
  validators read a mention (:mod:`agents.validators.mentions`),

so neither the naming turn nor anything after it, nor an earlier slip that names the target, reaches
the model. Only ``status == "accepted"`` lines are examples; unknown fields are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from agents.validators.mentions import names_item
from profiling.errors import DataError

__all__ = [
    "RECOMMEND_NODE",
    "DialogRecord",
    "Example",
    "ItemCatalog",
    "dialog_context",
    "examples_from_records",
    "load_records",
    "parse_record",
    "split_examples",
]

RECOMMEND_NODE = "recommend_target"
Split = Literal["train", "validation", "test"]


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class HistoryEntry(_Loose):
    item: str
    title: str
    date: str
    rating: float | None = None


class Negative(_Loose):
    item: str
    title: str
    source: str | None = None


class Turn(_Loose):
    speaker: str
    text: str
    node: str | None = None
    node_index: int | None = None


class DialogRecord(_Loose):
    """The fields of one dataset line that the recommender reads (others are ignored)."""

    dialog_id: str
    status: str
    user_id: str
    split: Split | None
    history: list[HistoryEntry]
    target: HistoryEntry
    negatives: list[Negative] = []
    turns: list[Turn]


@dataclass(frozen=True, slots=True)
class Example:
    """One accepted dialog as a model sees it: history item ids, the context turns, and the answer."""

    dialog_id: str
    user_id: str
    split: Split | None
    history: tuple[str, ...]
    context: tuple[tuple[str, str], ...]  # (speaker, text) of the turns before the recommendation
    target: str
    target_title: str


@dataclass
class ItemCatalog:
    """Every item named anywhere in the records (history, target, negatives) with its title."""

    titles: dict[str, str]

    @classmethod
    def from_records(cls, records: Iterable[DialogRecord]) -> ItemCatalog:
        titles: dict[str, str] = {}
        for r in records:
            for h in r.history:
                titles.setdefault(h.item, h.title)
            titles.setdefault(r.target.item, r.target.title)
            for n in r.negatives:
                titles.setdefault(n.item, n.title)
        # Sorted ids: the same records always give the same item indices, whatever their order.
        return cls(titles=dict(sorted(titles.items())))


def dialog_context(turns: Sequence[Turn], target_title: str | None, others: Sequence[str] = ()) -> list[Turn]:
    """The turns before the recommendation: cut at the recommend node or the first turn naming the target
    (:func:`agents.validators.mentions.names_item`, the ``others`` titles cut out first)."""
    out: list[Turn] = []
    for t in turns:
        if t.node == RECOMMEND_NODE or (target_title and names_item(t.text, target_title, others)):
            break
        out.append(t)
    return out


def _data_error(exc: ValidationError, file: str | Path | None, line: int | None) -> DataError:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    kind = "missing_field" if first["type"] == "missing" else "bad_type"
    return DataError(first["msg"], file=file, line=line, field=field, kind=kind)


def parse_record(
    raw: dict[str, Any], *, file: str | Path | None = None, line: int | None = None
) -> DialogRecord:
    """One dataset line as a :class:`DialogRecord`; a bad one raises DataError naming file, line and field."""
    if not isinstance(raw, dict):
        raise DataError(
            f"a dataset line must be a JSON object, got {type(raw).__name__}", file=file, line=line
        )
    try:
        return DialogRecord.model_validate(raw)
    except ValidationError as exc:
        raise _data_error(exc, file, line) from None


def load_records(path: str | Path) -> list[DialogRecord]:
    """Every line of a ``dialogs.jsonl`` file (all statuses), validated."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such dataset file", file=path, kind="missing_file")
    out: list[DialogRecord] = []
    with path.open("rb") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                raw = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise DataError(f"not JSON: {exc}", file=path, line=n, kind="malformed") from None
            out.append(parse_record(raw, file=path, line=n))
    return out


def examples_from_records(records: Iterable[DialogRecord | dict[str, Any]]) -> list[Example]:
    """The accepted records as examples (other statuses are dropped: they are not training data)."""
    out: list[Example] = []
    for k, r in enumerate(records):
        rec = r if isinstance(r, DialogRecord) else parse_record(r, line=k + 1)
        if rec.status != "accepted":
            continue
        ctx = dialog_context(rec.turns, rec.target.title, [n.title for n in rec.negatives])
        out.append(
            Example(
                dialog_id=rec.dialog_id,
                user_id=rec.user_id,
                split=rec.split,
                history=tuple(h.item for h in rec.history),
                context=tuple((t.speaker, t.text) for t in ctx),
                target=rec.target.item,
                target_title=rec.target.title,
            )
        )
    return out


def split_examples(examples: Sequence[Example]) -> dict[str, list[Example]]:
    """Examples by the record's chronological split (train, validation, test)."""
    out: dict[str, list[Example]] = {"train": [], "validation": [], "test": []}
    for e in examples:
        if e.split in out:
            out[e.split].append(e)
    return out
