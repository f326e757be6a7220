"""CallUsage: what one model call cost (tokens, latency, money), and the request hash that keys it.

Attribute names follow the OpenTelemetry GenAI semantic conventions (``gen_ai.*``) so the trace store
and OpenTelemetry exporters can write them as they are; what the conventions do not cover is
prefixed ``convrec.``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from autogen_core.models import LLMMessage
from pydantic import BaseModel, ConfigDict

__all__ = ["CallUsage", "request_hash"]

AttributeValue = str | int | float | bool | list[str]


class CallUsage(BaseModel):
    """Tokens, latency and cost of one model call; ``tokens_estimated`` when we counted, not the server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str  # "openai" (any OpenAI-compatible server), "llama_cpp" (in process), "fake"
    request_model: str
    response_model: str | None = None
    input_tokens: int
    output_tokens: int
    tokens_estimated: bool = False
    latency_s: float
    cost_usd: float = 0.0
    finish_reason: str = "unknown"
    request_hash: str
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    server_address: str | None = None
    # The answer itself: replay serves it again for the same request hash.
    response_text: str = ""

    def otel_attributes(self) -> dict[str, AttributeValue]:
        """The call as OpenTelemetry GenAI span attributes (None-valued ones left out)."""
        attrs: dict[str, AttributeValue | None] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": self.provider,
            "gen_ai.request.model": self.request_model,
            "gen_ai.response.model": self.response_model,
            "gen_ai.request.temperature": self.temperature,
            "gen_ai.request.max_tokens": self.max_tokens,
            "gen_ai.request.seed": self.seed,
            "gen_ai.response.finish_reasons": [self.finish_reason],
            "gen_ai.usage.input_tokens": self.input_tokens,
            "gen_ai.usage.output_tokens": self.output_tokens,
            "server.address": self.server_address,
            "convrec.request_hash": self.request_hash,
            "convrec.latency_s": self.latency_s,
            "convrec.cost_usd": self.cost_usd,
            "convrec.usage_estimated": self.tokens_estimated,
        }
        return {k: v for k, v in attrs.items() if v is not None}


_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def request_hash(messages: Sequence[LLMMessage], params: Mapping[str, Any], *,
                 memo: dict[int, tuple[LLMMessage, bytes]] | None = None) -> str:
    """A sha256 hex digest of the messages and request parameters, identical across runs and machines.

    Key order, float formatting and message classes are normalised by serialising to canonical JSON
    (sorted keys) of ``{"messages": [...], "params": {...}}``; replay matches recorded responses by
    this value. ``memo``: a dict the caller keeps, where each message's canonical JSON is kept by
    identity (a dialog's history is the same message objects call after call); the digest is the same
    with or without it. A message must not be changed once hashed with a memo.
    """
    parts: list[bytes] = []
    for m in messages:
        cached = memo.get(id(m)) if memo is not None else None
        if cached is not None and cached[0] is m:
            parts.append(cached[1])
            continue
        blob = orjson.dumps(m.model_dump(mode="json"), option=_CANONICAL)
        if memo is not None:  # kept with the message: its id is not reused meanwhile
            memo[id(m)] = (m, blob)
        parts.append(blob)
    # The bytes orjson writes for the whole payload with sorted keys ("messages" < "params"), composed.
    blob = (b'{"messages":[' + b",".join(parts) + b'],"params":'
            + orjson.dumps(dict(params), option=_CANONICAL) + b"}")
    return hashlib.sha256(blob).hexdigest()
