"""The OpenAI chat wire format, shared by the HTTP and in-process backends (llama.cpp speaks it too).

autogen messages -> chat dicts, ``json_output`` -> ``response_format``, and the answer's JSON check.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from autogen_core import FunctionCall, Image
from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
    UserMessage,
)
from pydantic import BaseModel, ValidationError

from agents.backends.config import JsonMode
from agents.errors import BadOutput, UnsupportedRequest

__all__ = ["check_json_output", "finish_reason", "response_format", "to_chat_dicts"]

JsonOutput = bool | type[BaseModel] | None


def to_chat_dicts(messages: Sequence[LLMMessage], *, model: str) -> list[dict[str, Any]]:
    """The messages as OpenAI chat dicts; raises UnsupportedRequest for images (our models are text)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if isinstance(m, SystemMessage):
            out.append({"role": "system", "content": m.content})
        elif isinstance(m, UserMessage):
            if isinstance(m.content, str):
                out.append({"role": "user", "content": m.content})
            else:
                if any(isinstance(p, Image) for p in m.content):
                    raise UnsupportedRequest("image input is not supported by ConvRec backends", model=model)
                out.append({"role": "user", "content": "\n".join(str(p) for p in m.content)})
        elif isinstance(m, AssistantMessage):
            if isinstance(m.content, str):
                out.append({"role": "assistant", "content": m.content})
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                    for c in m.content if isinstance(c, FunctionCall)]})
        elif isinstance(m, FunctionExecutionResultMessage):
            out.extend({"role": "tool", "tool_call_id": r.call_id, "content": r.content} for r in m.content)
        else:  # a new autogen message type: fail loudly rather than drop it from the prompt
            raise UnsupportedRequest(f"unknown message type {type(m).__name__}", model=model)
    return out


def response_format(json_output: JsonOutput, mode: JsonMode) -> dict[str, Any] | None:
    """The ``response_format`` body field for ``json_output`` under ``mode``; None: send none."""
    if json_output is None or json_output is False or mode == "none":
        return None
    if json_output is True or mode == "json_object":
        return {"type": "json_object"}
    schema = json_output.model_json_schema()
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": json_output.__name__, "schema": schema}}


def check_json_output(content: str, json_output: JsonOutput, *, model: str) -> None:
    """Raise BadOutput unless ``content`` is JSON (and, for a model class, valid against it)."""
    if json_output is None or json_output is False:
        return
    if json_output is True:
        try:
            json.loads(content)
        except ValueError as exc:
            raise BadOutput(f"answer is not JSON: {exc}", model=model, content=content) from exc
        return
    try:
        json_output.model_validate_json(content)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadOutput(f"answer does not match {json_output.__name__}: {first['msg']} at "
                        f"{'.'.join(str(p) for p in first['loc']) or '(root)'}",
                        model=model, content=content) from exc


def finish_reason(raw: str | None) -> str:
    """The server's finish reason in autogen's vocabulary (stop, length, function_calls, ...)."""
    if raw in ("stop", "length", "content_filter"):
        return raw
    if raw in ("tool_calls", "function_call"):
        return "function_calls"
    return "unknown"
