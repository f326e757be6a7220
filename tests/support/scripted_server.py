"""Answers for the OpenAI-compatible test server: a scripted backend's turns, and a model's rewrites.

A request carrying a directive (``--directive on``) gets the turn the scripted backend would write; a
polish request (``agents.polish``'s prompt: the draft framed as ``The shopper says: "..."``) gets a
light, deterministic rewrite of the draft, as a small but well-behaved model would write it.
"""

from __future__ import annotations

import re
from typing import Any

from agents.directive import parse_directive
from agents.scripted import realise

__all__ = ["last_user", "polish_answer", "scripted_answer"]

_FRAMED = re.compile(r'^The (?:shopper|shop assistant) says: "(.*)"$', re.S)
_SWAPS = (("I am ", "I'm "), ("I will ", "I'll "), ("It is ", "It's "), ("do not ", "don't "),
          ("I would ", "I'd "), ("you are ", "you're "), ("I have ", "I've "), ("Thanks", "Thank you"))


def last_user(body: dict[str, Any]) -> str:
    users = [m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "user"]
    return users[-1] if users else ""


def polish_answer(text: str) -> str | None:
    """The rewrite of a framed draft (contractions and a few words swapped), None if ``text`` is no
    polish request. A draft with nothing to swap comes back as it was (a rewrite the check refuses)."""
    m = _FRAMED.match(text.strip())
    if m is None:
        return None
    draft = m.group(1)
    for old, new in _SWAPS:
        draft = draft.replace(old, new)
    return draft


def scripted_answer(body: dict[str, Any]) -> str:
    """The turn the request's directive asks for (the scripted backend's), or the rewrite it asks for."""
    text = last_user(body)
    rewrite = polish_answer(text)
    return rewrite if rewrite is not None else realise(parse_directive(text))
