"""Answers for the OpenAI-compatible test server that a scripted backend would give."""

from __future__ import annotations

from typing import Any

from agents.directive import parse_directive
from agents.scripted import realise

__all__ = ["last_user", "scripted_answer"]


def last_user(body: dict[str, Any]) -> str:
    users = [m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "user"]
    return users[-1] if users else ""


def scripted_answer(body: dict[str, Any]) -> str:
    """The turn the request's directive asks for, as the scripted backend would write it."""
    return realise(parse_directive(last_user(body)))
