"""``python -m engine.export RUN_DB --out DIR``: a run's dialogs as a dataset in standard formats.

From the run's SQLite trace store (``engine.run --db``), written under ``--out``, split by target time
into train / validation / test as the run's seeds were (the dataset line's ``split``):

- ``jsonl/<split>.jsonl``: the MobileConvRec / ConvRecStudio release layout plus our fields
  (:mod:`engine.export_layout` documents both);
- ``parquet/dialogs/<split>.parquet`` and ``parquet/turns/<split>.parquet``: one table of dialogs, one
  of turns; ``README.md`` declares them as the configs ``dialogs`` and ``turns`` of a Hugging Face
  dataset, so ``datasets.load_dataset(DIR, "dialogs")`` loads them;
- ``recbole/<name>/``: RecBole atomic files of the histories with the same split
  (:mod:`engine.recbole_files`);
- ``chat/<split>.jsonl``: ``{"messages": [{role, content}, ...]}`` per dialog for supervised
  fine-tuning, the system side as the assistant;
- ``manifest.json``: the run, what was included and the counts per split.

Only accepted dialogs by default; ``--include-failed`` adds failed ones, flagged ``fidelity_failed``
with their status and reason. A ConvRecError prints as one line and exits with code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import Progress

from engine.export_layout import (
    DIALOG_SCHEMA,
    DOMAIN_BY_DATA,
    TURN_SCHEMA,
    ExportError,
    chat_messages,
    dialog_row,
    release_line,
    turn_rows,
)
from engine.recbole_files import write_recbole
from engine.run_data import DialogData, RunData, read_run
from profiling.errors import ConvRecError

__all__ = ["FORMATS", "ExportError", "ExportSummary", "build_parser", "export_run", "main"]

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

    def manifest(self) -> dict[str, Any]:
        """The JSON written as manifest.json."""
        return {
            "run_id": self.run_id,
            "formats": list(self.formats),
            "domain": self.domain,
            "included_statuses": list(self.included),
            "dialogs_per_split": self.per_split,
            "left_out": self.skipped,
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
    """Write the run's dialogs under ``out`` in ``formats``; what was written."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ExportError(f"unknown export format(s) {', '.join(unknown)} (known: {', '.join(FORMATS)})")
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
    )
    try:
        out.mkdir(parents=True, exist_ok=True)
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
        (out / "manifest.json").write_bytes(orjson.dumps(summary.manifest(), option=orjson.OPT_INDENT_2))
        summary.files.append(out / "manifest.json")
    except OSError as exc:
        raise ExportError(f"cannot write the export under {out}: {exc.strerror or exc}") from exc
    return summary


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (every option documented with its default)."""
    p = argparse.ArgumentParser(
        prog="python -m engine.export",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Export a run's dialogs from its SQLite trace store as JSONL (release layout), Parquet "
        "(Hugging Face datasets), RecBole atomic files and chat-format JSONL, split into train / "
        "validation / test by target time.",
    )
    p.add_argument("db", type=Path, metavar="RUN_DB", help="the run's SQLite trace store (engine.run --db)")
    p.add_argument("--run-id", help="run to export (default: the latest run in RUN_DB)")
    p.add_argument("--out", type=Path, required=True, help="folder to write into (created if missing)")
    p.add_argument(
        "--format",
        nargs="+",
        choices=(*FORMATS, "all"),
        default=["all"],
        help="formats to write: jsonl (release layout + our fields), parquet, recbole, chat, or all",
    )
    p.add_argument(
        "--include-failed",
        action="store_true",
        help="also export dialogs that failed fidelity (or their backend), flagged fidelity_failed",
    )
    p.add_argument(
        "--domain",
        help="domain word of the release layout (recommended_<domain>, <domain>_name): "
        "app, place, product, book, item (default: from the run's data: mobilerec -> app, "
        "yelp -> place, amazon and sample -> product)",
    )
    p.add_argument("--recbole-name", default="convrec", help="RecBole dataset name (folder and file stem)")
    p.add_argument(
        "--chat-no-history",
        action="store_true",
        help="leave the user's past interactions out of the chat format's system message",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary table")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the exit code (0; 2 for a ConvRecError)."""
    args = build_parser().parse_args(argv)
    console, err = Console(quiet=args.quiet), Console(stderr=True)
    formats = FORMATS if "all" in args.format else tuple(dict.fromkeys(args.format))
    try:
        run = read_run(args.db, args.run_id)
        summary = export_run(
            run,
            args.out,
            formats=formats,
            include_failed=args.include_failed,
            domain=args.domain,
            recbole_name=args.recbole_name,
            chat_history=not args.chat_no_history,
            progress=not args.quiet,
        )
    except ConvRecError as exc:
        err.print(f"error: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
        return 2
    counts = ", ".join(f"{s} {n}" for s, n in summary.per_split.items()) or "none"
    left = ", ".join(f"{n} {s}" for s, n in summary.skipped.items())
    console.print(
        f"run {summary.run_id}: exported {sum(summary.per_split.values())} dialogs ({counts})"
        + (f"; left out {left} (use --include-failed)" if left else ""),
        highlight=False,
    )
    console.print(
        f"wrote {len(summary.files)} files under {args.out} ({', '.join(summary.formats)})", highlight=False
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
