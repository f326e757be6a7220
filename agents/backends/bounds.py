"""Bounds on what a model may answer, and token counts that do not take a server's word blindly.

A server that ignores ``max_tokens`` can send megabytes per call; stored twice (the call and the turn)
a few dialogs would fill a disk, and ``--tpm`` / ``--budget-usd`` would count what the server claims.
So every answer is measured here, once, before it is recorded:

- longer than ``max_answer_chars`` characters, or (for a model: the scripted realizer is not bound by
  ``max_tokens``) more than ``answer_token_cap`` tokens counted locally: the answer is refused
  (:class:`~agents.errors.AnswerTooLong`), the call recorded with its text cut to the limit and
  :data:`REFUSED_MARK` appended (so a replay of the recording refuses it again, without the megabytes);
- a usage figure the text makes implausible (fewer tokens than one per 16 characters, or more tokens
  than characters) is replaced by our own count and the call is flagged ``tokens_estimated``.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.backends.config import BackendConfig
from agents.backends.tokens import TokenCounter

__all__ = ["REFUSED_MARK", "AnswerSize", "cut_answer", "measure_answer", "plausible", "refused_reason"]

REFUSED_MARK = "\n[convrec: answer refused as too long: "


@dataclass(frozen=True, slots=True)
class AnswerSize:
    """An answer measured: its tokens counted locally (extrapolated past the character limit) and,
    when it is over a limit, why."""

    tokens: int
    too_long: str | None


def plausible(reported: int, chars: int) -> bool:
    """Whether a token count is believable for a text of ``chars`` characters (any tokenizer gives
    at least one token per 16 characters and never more tokens than characters, overheads aside)."""
    return chars // 16 - 8 <= reported <= chars + 64


def measure_answer(content: str, config: BackendConfig, counter: TokenCounter, *,
                   bound_tokens: bool = True) -> AnswerSize:
    """``content``'s local token count and whether it is over a limit of ``config``."""
    limit = config.max_answer_chars
    if len(content) > limit:
        # Counting megabytes costs seconds: the limit's worth is counted and the rest extrapolated.
        head = counter.count(content[:limit])
        tokens = max(head, round(head * len(content) / limit))
        return AnswerSize(tokens, f"{len(content):,} characters (the limit is {limit:,})")
    tokens = counter.count(content)
    cap = config.answer_token_cap
    if bound_tokens and tokens > cap:
        return AnswerSize(tokens, f"{tokens:,} tokens counted locally (max_tokens is {config.max_tokens}, "
                                  f"the limit {cap})")
    return AnswerSize(tokens, None)


def cut_answer(content: str, why: str, limit: int) -> str:
    """What is recorded of a refused answer: its first ``limit`` characters and the refusal mark."""
    return content[:limit] + REFUSED_MARK + why + "]"


def refused_reason(recorded: str) -> str | None:
    """Why a recorded answer was refused as too long (None: it was not)."""
    k = recorded.rfind(REFUSED_MARK)
    if k < 0 or not recorded.endswith("]"):
        return None
    return recorded[k + len(REFUSED_MARK):-1]
