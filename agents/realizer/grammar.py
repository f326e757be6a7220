"""A tiny phrasing grammar: one template string stands for many sentences, drawn with a seeded generator.

Syntax of a template:

- ``(a|b|c)``: one of the alternatives, uniformly (alternatives may hold any of the forms below);
- ``[x]``: ``x`` or nothing, each half the time;
- ``{slot}``: the value given for ``slot``; ``{Slot}`` the same value with a capital first letter.

``expand("(Hi|Hello)[ there], {name}!", rng, name="Ann")`` gives "Hi, Ann!", "Hello there, Ann!", ...
Templates are parsed once (cached); spaces and punctuation are tidied after expansion, so an
optional part may carry its own leading space. The same generator state always gives the same text.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

__all__ = ["GrammarError", "count_variants", "expand", "pick", "tidy"]


class GrammarError(ValueError):
    """Raised when a template has unbalanced brackets or names a slot given no value: a bug in a phrase
    bank, never a problem of the data (so not a ConvRecError)."""


# A parsed template: a sequence of parts; a part is literal text, a slot name (as ("slot", name)),
# a choice (("choice", [alternatives])) or an option (("option", sequence)).
_Node = str | tuple[str, object]


def _parse(text: str, pos: int, closers: str) -> tuple[list[_Node], int]:
    seq: list[_Node] = []
    buf: list[str] = []
    while pos < len(text):
        ch = text[pos]
        if ch in closers:
            break
        if ch in "([{":
            if buf:
                seq.append("".join(buf))
                buf = []
            if ch == "{":
                end = text.find("}", pos)
                if end < 0:
                    raise GrammarError(f"unclosed slot in {text!r}")
                seq.append(("slot", text[pos + 1:end]))
                pos = end + 1
                continue
            if ch == "[":
                inner, pos = _parse(text, pos + 1, "]")
                if pos >= len(text) or text[pos] != "]":
                    raise GrammarError(f"unclosed [ in {text!r}")
                seq.append(("option", inner))
                pos += 1
                continue
            alternatives: list[list[_Node]] = []
            pos += 1
            while True:
                inner, pos = _parse(text, pos, "|)")
                alternatives.append(inner)
                if pos >= len(text):
                    raise GrammarError(f"unclosed ( in {text!r}")
                if text[pos] == ")":
                    pos += 1
                    break
                pos += 1  # past "|"
            seq.append(("choice", alternatives))
            continue
        if ch in ")]|}":
            raise GrammarError(f"unbalanced {ch!r} in {text!r}")
        buf.append(ch)
        pos += 1
    if buf:
        seq.append("".join(buf))
    return seq, pos


@lru_cache(maxsize=4096)
def _parsed(template: str) -> list[_Node]:
    seq, pos = _parse(template, 0, "")
    if pos != len(template):
        raise GrammarError(f"unbalanced brackets in {template!r}")
    return seq


def _render(seq: Sequence[_Node], rng: random.Random, slots: Mapping[str, str], out: list[str]) -> None:
    for node in seq:
        if isinstance(node, str):
            out.append(node)
            continue
        kind, value = node
        if kind == "slot":
            name = str(value)
            key = name[:1].lower() + name[1:]
            if key not in slots:
                raise GrammarError(f"no value for slot {{{name}}}")
            text = slots[key]
            out.append(text[:1].upper() + text[1:] if name[:1].isupper() else text)
        elif kind == "choice":
            alternatives = value  # type: ignore[assignment]
            _render(rng.choice(alternatives), rng, slots, out)  # type: ignore[arg-type]
        elif rng.random() < 0.5:
            _render(value, rng, slots, out)  # type: ignore[arg-type]


_SPACES = re.compile(r"\s+")
_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")
_DOUBLE_PUNCT = re.compile(r"([,;:])\s*([,.;:!?])")
_SENTENCE_START = re.compile(r"(^|[.!?]\s+)([a-z])")


def tidy(text: str) -> str:
    """Spaces collapsed, none before punctuation, no doubled commas, sentences capitalised."""
    text = _SPACES.sub(" ", text).strip()
    text = _BEFORE_PUNCT.sub(r"\1", text)
    text = _DOUBLE_PUNCT.sub(r"\2", text)
    return _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), text)


def expand(template: str, rng: random.Random, **slots: str) -> str:
    """One sentence of ``template`` drawn with ``rng``, slots filled, tidied."""
    out: list[str] = []
    _render(_parsed(template), rng, slots, out)
    return tidy("".join(out))


def pick(bank: Sequence[str], rng: random.Random, **slots: str) -> str:
    """One template of ``bank`` (uniformly), expanded."""
    return expand(rng.choice(bank), rng, **slots)


def _count(seq: Sequence[_Node]) -> int:
    total = 1
    for node in seq:
        if isinstance(node, str):
            continue
        kind, value = node
        if kind == "choice":
            total *= sum(_count(alt) for alt in value)  # type: ignore[attr-defined]
        elif kind == "option":
            total *= 1 + _count(value)  # type: ignore[arg-type]
    return total


def count_variants(bank: Sequence[str]) -> int:
    """How many different texts a bank can give (before slots are filled): a check on its breadth."""
    return sum(_count(_parsed(t)) for t in bank)
