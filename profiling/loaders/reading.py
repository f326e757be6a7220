"""Streaming records out of plain or gzip files, line by line, never the whole file in memory.

Files are opened in binary mode (gzip recognised by its magic bytes, not the extension) and decoded
line by line, so one line of bad bytes costs that record only. The first lines are checked against
the expected :class:`~profiling.loaders.formats.Format` before anything is loaded.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import os
import zlib
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from profiling.errors import DataError, WrongFormatError
from profiling.loaders.formats import KNOWN_FORMATS, Format
from profiling.loaders.report import FaultLog

__all__ = ["READ_ERRORS", "SNIFF_LINES", "LineReader", "csv_records", "json_records", "make_progress"]

GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
SNIFF_LINES = 20  # how many non-blank lines may pass before a file must have shown its format
MAX_FIELD = 1 << 20  # a CSV cell over 1 MiB is an unclosed quote swallowing the file, not a review
_PROGRESS_MASK = (1 << 14) - 1  # progress is updated every 16,384 lines: cheap enough to be invisible
# What a damaged stream raises while being read (gzip.BadGzipFile is an OSError).
READ_ERRORS = (OSError, EOFError, zlib.error)


def make_progress() -> Progress:
    """A rich progress bar over bytes read (compressed bytes for gzip files)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                    TimeRemainingColumn(), transient=False)


class LineReader:
    """Numbered raw lines of one file; counts lines read and reports bytes read to a progress bar."""

    def __init__(self, path: str | Path, progress: Progress | None = None) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.lines_read = 0
        try:
            # A 1 MiB buffer: fewer read calls than the 8 KiB default, a measurable gain per line.
            self._raw: BinaryIO = open(self.path, "rb", buffering=1 << 20)  # noqa: SIM115 (see close())
        except OSError as e:
            raise DataError(f"cannot open file: {e.strerror or e}", file=self.name,
                            kind="missing_file") from None
        self.gzip = self._raw.read(2) == GZIP_MAGIC
        self._raw.seek(0)
        self._stream: BinaryIO = gzip.GzipFile(fileobj=self._raw, mode="rb") if self.gzip else self._raw
        self._progress = progress
        self.has_progress = progress is not None
        self._task: TaskID | None = None
        if progress is not None:
            self._task = progress.add_task(self.path.name, total=os.fstat(self._raw.fileno()).st_size)

    def close(self) -> None:
        """Close the file and complete its progress bar."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=self._raw.tell())
        if self._stream is not self._raw:
            self._stream.close()
        self._raw.close()

    def __enter__(self) -> LineReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def numbered(self) -> Iterator[tuple[int, bytes]]:
        """``(line number from 1, raw bytes)`` of every line, a leading UTF-8 BOM dropped.

        A C-level iterator, for speed: the consumer keeps ``lines_read`` up to date, calls :meth:`tick`
        now and then, and turns :data:`READ_ERRORS` into :meth:`corrupt`.
        """
        try:
            first = self._stream.readline()
        except READ_ERRORS as e:
            raise self.corrupt(0, e) from None
        if not first:
            return iter(())
        if first.startswith(BOM):
            first = first[len(BOM):]
        return itertools.chain(((1, first),), enumerate(self._stream, 2))

    def tick(self) -> None:
        """Move the progress bar to the bytes read so far (no-op without a bar)."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=self._raw.tell())

    def corrupt(self, lineno: int, error: BaseException) -> DataError:
        """The error for a stream that cannot be read past ``lineno`` (e.g. a truncated gzip)."""
        # No policy can recover the rest of the stream, so this is raised whatever on_error says.
        return DataError(f"cannot read the file past line {lineno}: {error}", file=self.name, line=lineno + 1,
                         kind="corrupt_file")


def _describe_start(line: bytes) -> str:
    text = line[:60].decode("utf-8", "replace").rstrip()
    return repr(text) if len(line) <= 60 else repr(text) + "..."


def _guess(names: set[str], syntax: str) -> str:
    hits = [label for label, fmt in KNOWN_FORMATS.items() if fmt.syntax == syntax and fmt.matches(names)]
    return f" (it looks like {' or '.join(hits)})" if hits else ""


def _wrong(reader: LineReader, fmt: Format, reason: str, line: int) -> WrongFormatError:
    return WrongFormatError(f"not {fmt.description}: {reason}", file=reader.name, line=line,
                            expected=fmt.description)


def _decode_error(line: bytes) -> UnicodeDecodeError | None:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as e:
        return e
    return None


def _json_fault(reader: LineReader, lineno: int, line: bytes, err: Exception) -> DataError:
    bad = _decode_error(line)
    if bad is not None:
        return DataError(f"bytes that are not UTF-8 at byte {bad.start + 1} of the line: {bad.reason}",
                         file=reader.name, line=lineno, kind="encoding")
    return DataError(f"not a JSON line: {err}", file=reader.name, line=lineno, kind="malformed")


def json_records(reader: LineReader, fmt: Format,
                 faults: FaultLog) -> Generator[tuple[int, dict[str, Any]], None, None]:
    """``(line, record)`` of a JSON-lines file of format ``fmt``; bad lines go to ``faults``.

    Raises WrongFormatError when none of the first :data:`SNIFF_LINES` non-blank lines is a record
    of ``fmt`` (or the file is empty).
    """
    loads = orjson.loads
    numbered = reader.numbered()
    head: list[tuple[int, bytes]] = []
    lineno = 0
    try:
        for lineno, line in numbered:
            if line.strip():
                head.append((lineno, line))
                if len(head) == SNIFF_LINES:
                    break
            else:
                faults.report.blank_lines += 1
        reader.lines_read = lineno
        _sniff_json(reader, fmt, head)
        tick = reader.tick if reader.has_progress else None
        # The hot loop: one C-level line iterator, one orjson call; everything unusual is off the fast path.
        for lineno, line in itertools.chain(head, numbered):
            try:
                rec = loads(line)
            except orjson.JSONDecodeError as e:
                if not line.strip():
                    faults.report.blank_lines += 1
                else:
                    faults.fail(_json_fault(reader, lineno, line, e))
                continue
            if type(rec) is not dict:
                faults.fail(DataError(f"expected a JSON object, got a JSON {type(rec).__name__}",
                                      file=reader.name, line=lineno, kind="malformed"))
                continue
            if tick is not None and not lineno & _PROGRESS_MASK:
                tick()
            yield lineno, rec
    except READ_ERRORS as e:
        raise reader.corrupt(lineno, e) from None
    finally:
        reader.lines_read = max(reader.lines_read, lineno)


def _sniff_json(reader: LineReader, fmt: Format, head: list[tuple[int, bytes]]) -> None:
    if not head:
        raise _wrong(reader, fmt, "the file is empty", 1)
    objects: list[dict[str, Any]] = []
    for _, line in head:
        try:
            rec = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if type(rec) is dict:
            if fmt.matches(rec):
                return
            objects.append(rec)
    first = head[0][0]
    if objects:
        names = set(objects[0])
        shown = ", ".join(sorted(names)[:12])
        raise _wrong(reader, fmt, f"its records have the keys {shown}{_guess(names, 'jsonl')}", first)
    try:
        header = set(next(csv.reader([head[0][1].decode("utf-8", "replace")]), []))
    except csv.Error:  # e.g. NUL bytes: then it is not CSV either
        header = set()
    hint = _guess({h.strip() for h in header}, "csv") or (" (it looks like CSV)" if len(header) > 2 else "")
    raise _wrong(reader, fmt, f"no JSON object among its first lines; line {first} starts "
                 f"{_describe_start(head[0][1])}{hint}", first)


class _TextLines:
    """Decodes raw lines for the csv module, remembering which lines held bytes that are not UTF-8."""

    def __init__(self, reader: LineReader) -> None:
        self._reader = reader
        self.lineno = 0
        self.bad: list[tuple[int, UnicodeDecodeError]] = []

    def __iter__(self) -> Iterator[str]:
        tick = self._reader.tick if self._reader.has_progress else None
        for lineno, raw in self._reader.numbered():
            self.lineno = lineno
            if tick is not None and not lineno & _PROGRESS_MASK:
                tick()
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as e:
                # Decode anyway so the csv module keeps its place; the record is refused afterwards.
                self.bad.append((lineno, e))
                yield raw.decode("utf-8", "replace")


def csv_records(reader: LineReader, fmt: Format, faults: FaultLog, delimiter: str = ","
                ) -> tuple[dict[str, str], Generator[tuple[int, dict[str, str]], None, None]]:
    """The resolved column names (canonical -> header spelling) and ``(line, row)`` of a CSV file.

    Rows are dicts keyed by the header; a quoted cell may span lines (the line is where the row
    starts). Raises WrongFormatError when the header does not fit ``fmt``.
    """
    # The limit is process-wide in the csv module: raise it to MAX_FIELD, never lower another's choice.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD))
    text = _TextLines(reader)
    rows = csv.reader(text, delimiter=delimiter, strict=True)
    header: list[str] = []
    header_line = 0
    try:
        for row in rows:
            header_line = rows.line_num
            if row:
                header = [h.strip() for h in row]
                break
            faults.report.blank_lines += 1
    except csv.Error as e:
        raise _wrong(reader, fmt, f"the header cannot be read as CSV: {e}", rows.line_num or 1) from None
    except READ_ERRORS as e:
        raise reader.corrupt(text.lineno, e) from None
    finally:
        reader.lines_read = text.lineno
    if not header:
        raise _wrong(reader, fmt, "the file is empty", 1)
    names = fmt.resolve(header)
    if names is None or text.bad:
        shown = ", ".join(h if len(h) <= 30 else h[:27] + "..." for h in header[:12])
        shown += ", ..." if len(header) > 12 else ""
        if header[0].startswith(("{", "[")):
            hint = " (it looks like JSON lines)"
        else:
            hint = _guess(set(header), "csv")
        raise _wrong(reader, fmt, f"its header is {shown}{hint}", header_line)
    return names, _csv_rows(reader, rows, text, header, faults)


def _csv_rows(reader: LineReader, rows: Any, text: _TextLines, header: list[str],
              faults: FaultLog) -> Generator[tuple[int, dict[str, str]], None, None]:
    try:
        yield from _csv_rows_of(reader, rows, text, header, faults)
    finally:
        reader.lines_read = text.lineno


def _csv_rows_of(reader: LineReader, rows: Any, text: _TextLines, header: list[str],
                 faults: FaultLog) -> Generator[tuple[int, dict[str, str]], None, None]:
    width = len(header)
    end = rows.line_num
    while True:
        start = end + 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as e:
            end = rows.line_num
            # Bad bytes on the refused row's lines go with it: left over, they would blame the next row.
            text.bad.clear()
            faults.fail(DataError(f"not a CSV row: {e}", file=reader.name, line=start, kind="malformed"))
            continue
        except READ_ERRORS as e:
            raise reader.corrupt(text.lineno, e) from None
        end = rows.line_num
        if text.bad:
            lineno, err = text.bad[-1]
            text.bad.clear()
            faults.fail(DataError(f"bytes that are not UTF-8 at byte {err.start + 1} of the line: "
                                  f"{err.reason}", file=reader.name, line=lineno, kind="encoding"))
            continue
        if not row:
            faults.report.blank_lines += 1
            continue
        if len(row) != width:
            faults.fail(DataError(f"expected {width} columns as in the header, got {len(row)}",
                                  file=reader.name, line=start, kind="malformed"))
            continue
        yield start, dict(zip(header, row, strict=True))
