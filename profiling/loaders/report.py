"""What a load did: the :class:`LoadReport`, the :class:`LoadResult`, and the error policy that fills them.

Policy (``on_error``): ``"raise"`` stops at the first bad record with a DataError naming file, line and
field; ``"skip"`` drops it and counts it by kind. Two things ignore the policy on purpose:

* a file of the wrong format always raises WrongFormatError (skipping would drop the whole file);
* duplicate reviews are always dropped and counted, never raised, because identical repeated
  reviews are common in real dumps and carry no extra information.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from profiling.corpus import Corpus
from profiling.errors import DataError, WrongFormatError

__all__ = ["FaultLog", "LoadReport", "LoadResult", "OnError"]

OnError = Literal["raise", "skip"]


class LoadReport(BaseModel):
    """Counts of one load: what was read, kept, skipped (by kind, with the first message of each kind)."""

    source: str = Field(description="the dataset, e.g. 'amazon2023'")
    on_error: OnError
    files: list[str] = Field(default_factory=list, description="files read, reviews first")
    lines_read: int = Field(0, description="physical lines read over all files")
    loaded: int = Field(0, description="reviews kept in the corpus")
    items_loaded: int = Field(0, description="metadata records turned into catalog items")
    skipped: dict[str, int] = Field(default_factory=dict, description="kind -> records skipped")
    examples: dict[str, str] = Field(default_factory=dict, description="kind -> first message of that kind")
    duplicates: int = Field(0, description="duplicate reviews dropped (always dropped, never raised)")
    duplicate_items: int = Field(0, description="repeated metadata records for one item (first kept)")
    blank_lines: int = Field(0, description="empty lines passed over")
    notes: dict[str, int] = Field(default_factory=dict,
                                  description="counted non-errors, e.g. no_text (a rating-only review, kept) "
                                              "or a date taken from a fallback field")
    truncated: bool = Field(False, description="reading stopped at `limit` reviews")
    elapsed_s: float = 0.0

    @property
    def n_skipped(self) -> int:
        """Records skipped over all kinds."""
        return sum(self.skipped.values())

    def summary(self) -> str:
        """A few human-readable lines: sizes, rate, and each kind of skip with its first example."""
        rate = self.loaded / self.elapsed_s if self.elapsed_s > 0 else 0.0
        lines = [
            f"{self.source}: loaded {self.loaded:,} reviews and {self.items_loaded:,} items from "
            f"{self.lines_read:,} lines of {len(self.files)} file(s) in {self.elapsed_s:.2f} s "
            f"({rate:,.0f}/s)"
            + (" [stopped at limit]" if self.truncated else ""),
        ]
        if self.duplicates:
            lines.append(f"  dropped {self.duplicates:,} duplicate reviews "
                         f"(e.g. {self.examples['duplicate']})")
        if self.duplicate_items:
            lines.append(f"  ignored {self.duplicate_items:,} repeated metadata records "
                         f"(e.g. {self.examples['duplicate_item']})")
        if self.blank_lines:
            lines.append(f"  passed over {self.blank_lines:,} blank lines")
        for kind, n in sorted(self.notes.items()):
            lines.append(f"  note {kind}: {n:,}")
        if self.skipped:
            lines.append(f"  skipped {self.n_skipped:,} bad records:")
            for kind, n in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"    {kind}: {n:,} (first: {self.examples.get(kind, '')})")
        else:
            lines.append("  no bad records")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True, slots=True)
class LoadResult:
    """A loaded corpus and the report of how it was read."""

    corpus: Corpus
    report: LoadReport


class FaultLog:
    """Applies the error policy and keeps the counts that become the :class:`LoadReport`."""

    def __init__(self, source: str, on_error: OnError) -> None:
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
        self.report = LoadReport(source=source, on_error=on_error)
        self._raise = on_error == "raise"

    def fail(self, error: DataError) -> None:
        """Raise ``error`` (raise mode, or a wrong format), else count it as skipped."""
        if self._raise or isinstance(error, WrongFormatError):
            raise error
        skipped = self.report.skipped
        skipped[error.kind] = skipped.get(error.kind, 0) + 1
        self.report.examples.setdefault(error.kind, str(error))

    def duplicate(self, message: str, item: bool = False) -> None:
        """Count a dropped duplicate review (or a repeated metadata record when ``item``)."""
        if item:
            self.report.duplicate_items += 1
            self.report.examples.setdefault("duplicate_item", message)
        else:
            self.report.duplicates += 1
            self.report.examples.setdefault("duplicate", message)

    def note(self, kind: str) -> None:
        """Count a non-error worth telling (e.g. a date read from the fallback field)."""
        self.report.notes[kind] = self.report.notes.get(kind, 0) + 1
