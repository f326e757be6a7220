"""A run's dialogs as a dataset in standard formats (what ``python -m engine.export`` writes).

From the run's SQLite trace store (``engine.run --db``), written under ``out``, split by target time
into train / validation / test as the run's seeds were (the dataset line's ``split``):

- ``jsonl/<split>.jsonl``: the MobileConvRec / ConvRecStudio release layout plus our fields
  (:mod:`engine.outputs.layout` documents both);
- ``parquet/dialogs/<split>.parquet`` and ``parquet/turns/<split>.parquet``: one table of dialogs, one
  of turns; ``README.md`` declares them as the configs ``dialogs`` and ``turns`` of a Hugging Face
  dataset, so ``datasets.load_dataset(DIR, "dialogs")`` loads them;
- ``recbole/<name>/``: RecBole atomic files of the histories with the same split
  (:mod:`engine.outputs.recbole_files`);
- ``chat/<split>.jsonl``: ``{"messages": [{role, content}, ...]}`` per dialog for supervised
  fine-tuning, the system side as the assistant;
- ``manifest.json``: the run, what was included and the counts per split.

Only accepted dialogs by default; ``include_failed`` adds failed ones, flagged ``fidelity_failed``
with their status and reason. The folder is written whole or not at all: under a staging folder
beside ``out``, fsynced, then renamed into place (:mod:`engine.outputs.staging`), so a killed export
leaves the previous export (or none), never a mix. The manifest says the run's status and how many of
its planned dialogs are complete (an interrupted run exports what it has, and says so).
"""

from __future__ import annotations

import shutil
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from rich.progress import Progress

from engine.outputs.layout import (
    DIALOG_SCHEMA,
    DOMAIN_BY_DATA,
    TURN_SCHEMA,
    ExportError,
    chat_messages,
    dialog_row,
    release_line,
    turn_rows,
)
from engine.outputs.recbole_files import write_recbole
from engine.outputs.staging import check_target, publish, staging_folder
from engine.store.reader import DialogData, RunData

__all__ = ["FORMATS", "ExportError", "ExportSummary", "export_run"]

FORMATS = ("jsonl", "parquet", "recbole", "chat")
SPLIT_ORDER = ("train", "validation", "test", "unsplit")


@dataclass
class ExportSummary:
    """What an export wrote: the run, the dialogs per split, the files."""

    run_id: str
    out: Path
    formats: tuple[str, ...]
    domain: str
    included: tuple[str, ...]
    per_split: dict[str, int]
    skipped: dict[str, int]
    files: list[Path] = field(default_factory=list)
    run_status: str = "completed"
    planned: int = 0
    complete: int = 0

    def manifest(self) -> dict[str, Any]:
        """The JSON written as manifest.json."""
        return {
            "run_id": self.run_id,
            "formats": list(self.formats),
            "domain": self.domain,
            "included_statuses": list(self.included),
            "dialogs_per_split": self.per_split,
            "left_out": self.skipped,
            "run_status": self.run_status,
            "dialogs_planned": self.planned,
            "dialogs_complete": self.complete,
            "files": sorted(str(p.relative_to(self.out)) for p in self.files),
        }


def _split(d: DialogData) -> str:
    return d.record["split"] or "unsplit"


def _jsonl(path: Path, lines: Sequence[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        for line in lines:
            f.write(orjson.dumps(line) + b"\n")
    return path


def _parquet(path: Path, rows: list[dict[str, Any]], schema: pa.Schema) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def _card(summary: ExportSummary, run: RunData) -> str:
    splits = [s for s in SPLIT_ORDER if summary.per_split.get(s)]
    yaml = ["---", "configs:"]
    for table in ("dialogs", "turns"):
        yaml += [f"- config_name: {table}", "  data_files:"]
        yaml += [f"  - split: {s}\n    path: parquet/{table}/{s}.parquet" for s in splits]
    yaml.append("---")
    counts = ", ".join(f"{s}: {summary.per_split[s]}" for s in splits)
    return (
        "\n".join(yaml)
        + f"""

# ConvRec Studio dialogs of run {run.run_id}

Backend `{run.backend}` (model `{run.model}`), run seed {run.seed}; dialogs per split: {counts}.
Statuses included: {", ".join(summary.included)}. Split by target time with global cut points.

- `jsonl/<split>.jsonl`: MobileConvRec / ConvRecStudio release layout (domain word `{summary.domain}`) plus
  plan, super-node per turn, attempts, verdicts, personas and backend.
- `parquet/dialogs`, `parquet/turns`: `datasets.load_dataset(this_folder, "dialogs")` (or `"turns"`).
- `recbole/`: RecBole atomic files of the histories (`benchmark_filename: [train, valid, test]`).
- `chat/<split>.jsonl`: role/content messages for supervised fine-tuning (system side = assistant).
"""
    )


def export_run(
    run: RunData,
    out: Path,
    *,
    formats: Sequence[str] = FORMATS,
    include_failed: bool = False,
    domain: str | None = None,
    recbole_name: str = "convrec",
    chat_history: bool = True,
    progress: bool = False,
) -> ExportSummary:
    """Write the run's dialogs under ``out`` in ``formats`` (all at once, see the module docstring);
    what was written."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ExportError(f"unknown export format(s) {', '.join(unknown)} (known: {', '.join(FORMATS)})")
    if not run.dialogs:
        raise ExportError(f"run {run.run_id} has no complete dialog to export (status {run.status}, "
                          f"{run.n_planned} planned); resume it first")
    if (why := check_target(out)) is not None:
        raise ExportError(why)
    domain = domain or DOMAIN_BY_DATA.get(str(run.config.get("data")), "item")
    included = ("accepted", "failed_fidelity", "failed_backend") if include_failed else ("accepted",)
    chosen = [d for d in run.dialogs if d.status in included]
    skipped = dict(Counter(d.status for d in run.dialogs if d.status not in included))
    by_split: dict[str, list[DialogData]] = defaultdict(list)
    for d in chosen:
        by_split[_split(d)].append(d)
    summary = ExportSummary(
        run_id=run.run_id,
        out=out,
        formats=tuple(formats),
        domain=domain,
        included=included,
        per_split={s: len(by_split[s]) for s in SPLIT_ORDER if by_split.get(s)},
        skipped=skipped,
        run_status=run.status,
        planned=run.n_planned,
        complete=len(run.dialogs),
    )
    final = out
    try:
        out = summary.out = staging_folder(final)
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task("exporting", total=len(chosen))
            for split in summary.per_split:
                dialogs = by_split[split]
                if "jsonl" in formats:
                    summary.files.append(
                        _jsonl(
                            out / "jsonl" / f"{split}.jsonl", [release_line(d, run, domain) for d in dialogs]
                        )
                    )
                if "parquet" in formats:
                    summary.files.append(
                        _parquet(
                            out / "parquet" / "dialogs" / f"{split}.parquet",
                            [dialog_row(d, run) for d in dialogs],
                            DIALOG_SCHEMA,
                        )
                    )
                    summary.files.append(
                        _parquet(
                            out / "parquet" / "turns" / f"{split}.parquet",
                            [t for d in dialogs for t in turn_rows(d)],
                            TURN_SCHEMA,
                        )
                    )
                if "chat" in formats:
                    summary.files.append(
                        _jsonl(
                            out / "chat" / f"{split}.jsonl",
                            [
                                {
                                    "dialog_id": d.dialog_id,
                                    "split": split,
                                    "status": d.status,
                                    "messages": chat_messages(d, with_history=chat_history),
                                }
                                for d in dialogs
                            ],
                        )
                    )
                bar.advance(task, len(dialogs))
        if "recbole" in formats:
            summary.files += write_recbole([d.record for d in chosen], out / "recbole", recbole_name)
        if "parquet" in formats:
            (out / "README.md").write_text(_card(summary, run), encoding="utf-8")
            summary.files.append(out / "README.md")
        # The manifest last: it lists every other file.
        (out / "manifest.json").write_bytes(orjson.dumps(summary.manifest(), option=orjson.OPT_INDENT_2))
        summary.files.append(out / "manifest.json")
        publish(out, final)
    except BaseException as exc:
        if out != final:
            shutil.rmtree(out, ignore_errors=True)  # the staging folder of an export that failed
        if isinstance(exc, OSError):
            raise ExportError(f"cannot write the export under {final}: {exc.strerror or exc}") from exc
        raise
    summary.files = [final / p.relative_to(out) for p in summary.files]
    summary.out = final
    return summary
