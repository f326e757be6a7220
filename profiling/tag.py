"""``python -m profiling.tag --store DIR``: the aspects of new sentences, by a fitted stage-1 model.

Reads sentences from standard input (or ``--input FILE``), one per line, either plain text or JSON lines
with a ``"text"`` field, and writes one JSON line per input line, in order::

    {"text": "The color is gorgeous but it runs small.", "aspects": [
        {"id": 1, "name": "color", "polarity": 0.71, "term": "color"},
        {"id": 0, "name": "size", "polarity": -0.43, "term": "small"}]}

``aspects`` is empty when the sentence names no aspect ("Love it!", "Bought it for a wedding"). The model
is the one ``python -m profiling.run`` stored in DIR (``aspect_model.json``; the terms and cat methods write
one). Sentences are tagged in batches with the same spaCy pipeline the model was fitted with.

A bad input line (JSON without a string ``"text"``) stops the command with the line number and field
(exit code 2), after every earlier line was written; with ``--on-error skip`` it is written as
``{"line": N, "error": "...", "aspects": []}`` instead, so the output still has one line per input line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from profiling.errors import ConvRecError, DataError, ProfilingError

__all__ = ["build_parser", "load_model", "main", "tag_sentences"]


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (every option documented with its default)."""
    p = argparse.ArgumentParser(
        prog="python -m profiling.tag",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Tag sentences with the aspects (and the polarity of each) of a stage-1 store: one JSON "
        "line out per line in.",
    )
    p.add_argument("--store", type=Path, required=True, help="a folder written by python -m profiling.run")
    p.add_argument("--input", type=Path, default=None, help="read sentences from this file instead of stdin")
    p.add_argument("--format", choices=("auto", "text", "jsonl"), default="auto",
                   help="input lines: plain text, or JSON objects with a 'text' field; auto = JSON when the "
                   "first non-blank line starts with '{'")
    p.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                   help="at a bad line: stop (exit 2), or write an error line in its place and go on")
    p.add_argument("--batch", type=int, default=2000, help="sentences tagged per batch")
    return p


def load_model(store: Path) -> Any:  # TermAspectModel (imported lazily: the CLI starts fast on bad options)
    """The aspect model of a store folder (ProfilingError naming what is missing)."""
    from profiling.term_aspects import TermAspectModel

    path = Path(store) / "aspect_model.json"
    if not path.is_file():
        manifest = Path(store) / "manifest.json"
        if not manifest.is_file():
            raise ProfilingError(f"{store}: not a stage-1 store (no manifest.json): "
                                 "run python -m profiling.run")
        method = json.loads(manifest.read_text()).get("method", "?")
        raise ProfilingError(f"{store}: no aspect model (made with --method {method}); only the terms and "
                             "cat methods store one: run python -m profiling.run --method terms")
    return TermAspectModel.model_validate_json(path.read_text())


def tag_sentences(texts: Sequence[str], model: Any) -> list[list[dict[str, Any]]]:
    """For each text, its aspects as ``{"id", "name", "polarity", "term"}`` dicts, first mention first."""
    from profiling.clause_polarity import vader_compound
    from profiling.mentions import find_mentions
    from profiling.tagging import tag_texts
    from profiling.term_stage import sentence_polarity

    tagged = tag_texts(list(texts))
    vader = vader_compound(list(texts))
    whole = sentence_polarity(tagged, list(texts), model.polarity, vader)
    mentions = find_mentions(tagged, model.lexicon(), model.polarity, sentence_polarity=whole,
                             sentence_vader=vader)
    out: list[list[dict[str, Any]]] = [[] for _ in texts]
    for s, a, pol, word in zip(mentions.sentence.tolist(), mentions.aspect.tolist(),
                               mentions.polarity.tolist(), mentions.word, strict=True):
        out[s].append({"id": a, "name": model.aspects[a].name, "polarity": round(pol, 4), "term": word})
    return out


def _lines(stream: IO[str], fmt: str, source: str) -> Iterator[tuple[int, str | None, DataError | None]]:
    """(line number, text or None, error or None) per input line."""
    mode = fmt
    for number, raw in enumerate(stream, 1):
        line = raw.rstrip("\n").rstrip("\r")
        if mode == "auto" and line.strip():
            mode = "jsonl" if line.lstrip().startswith("{") else "text"
        if mode != "jsonl":
            yield number, line.strip(), None
            continue
        if not line.strip():
            yield number, "", None
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield number, None, DataError(f"not JSON: {e.msg}", file=source, line=number)
            continue
        text = obj.get("text") if isinstance(obj, dict) else None
        if not isinstance(text, str):
            what = "missing" if not isinstance(obj, dict) or "text" not in obj else "not a string"
            yield number, None, DataError(f"is {what}", file=source, line=number, field="text")
            continue
        yield number, text, None


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0, or 2 for bad input or a store without a model)."""
    args = build_parser().parse_args(argv)
    out = sys.stdout
    try:
        if args.batch < 1:
            raise ProfilingError(f"--batch must be at least 1, got {args.batch}")
        model = load_model(args.store)
        stream = args.input.open(encoding="utf-8") if args.input is not None else sys.stdin
        source = str(args.input) if args.input is not None else "<stdin>"
        skipped = 0
        with stream:
            batch: list[tuple[int, str | None, DataError | None]] = []

            def flush() -> None:
                texts = [t for _n, t, e in batch if e is None]
                tags = iter(tag_sentences(texts, model)) if texts else iter(())
                for number, text, error in batch:
                    if error is not None:
                        row: dict[str, Any] = {"line": number, "error": str(error), "aspects": []}
                    else:
                        row = {"text": text, "aspects": next(tags)}
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()
                batch.clear()

            for item in _lines(stream, args.format, source):
                if item[2] is not None:
                    if args.on_error == "raise":
                        flush()
                        raise item[2]
                    skipped += 1
                batch.append(item)
                if len(batch) >= args.batch:
                    flush()
            flush()
        if skipped:
            print(f"skipped {skipped} bad line(s) (written as error lines)", file=sys.stderr)
    except ConvRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
