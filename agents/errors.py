"""The failures the agents package owns: model calls and backend set-up (the whole tree of ConvRecError
is drawn once, in ARCHITECTURE.md, and checked by tests/test_errors.py).

``retryable`` on each LLM error tells the engine's gateway whether the same call may simply be tried
again; ``BadOutput`` is not retryable as-is, because the executor retries it at the node level with
the reasons in the prompt.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from agents.secrets import redact
from profiling.errors import ConvRecError

__all__ = [
    "AnswerTooLong",
    "BackendConfigError",
    "BadOutput",
    "LLMError",
    "LLMRequestRejected",
    "LLMServerError",
    "LLMTimeout",
    "RateLimited",
    "UnsupportedRequest",
]


class LLMError(ConvRecError):
    """Raised when a model call fails; names the model so a log line says which endpoint misbehaved.

    The message is redacted (:func:`agents.secrets.redact`): a server that repeats the request's
    Authorization header in its error body must not put the key into a failure reason.
    """

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, model: str | None = None) -> None:
        message = redact(message)
        self.message = message
        self.model = model
        super().__init__(f"{model}: {message}" if model else message)

    def without(self, secrets: Iterable[str | None]) -> LLMError:
        """This error with ``secrets`` (a backend's key, known exactly) taken out of its text, whatever
        form a server echoed them in."""
        self.message = redact(self.message, secrets)
        self.args = (redact(str(self.args[0]), secrets),) if self.args else self.args
        return self


class RateLimited(LLMError):
    """Raised when the server answers 429; ``retry_after`` is its Retry-After in seconds, or None."""

    retryable = True

    def __init__(self, message: str, *, model: str | None = None, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, model=model)


class LLMTimeout(LLMError):
    """Raised when a model call gets no complete answer within its time limit."""

    retryable = True


class LLMServerError(LLMError):
    """Raised when the server fails (5xx), the connection drops, or the body cannot be read."""

    retryable = True

    def __init__(self, message: str, *, model: str | None = None, status: int | None = None) -> None:
        self.status = status
        super().__init__(message, model=model)


class LLMRequestRejected(LLMError):
    """Raised when the server rejects the request (4xx other than 429, e.g. a bad key or an unknown model)."""

    def __init__(self, message: str, *, model: str | None = None, status: int | None = None) -> None:
        self.status = status
        super().__init__(message, model=model)


class UnsupportedRequest(LLMError):
    """Raised when a request needs what the model or backend lacks (tools, images, JSON); never sent."""


class BadOutput(LLMError):
    """Raised when the model's answer is not in the form asked for (not JSON, not matching the schema)."""

    def __init__(self, message: str, *, model: str | None = None, content: str = "") -> None:
        # The raw answer travels with the error so the retry prompt can quote what went wrong.
        self.content = content
        super().__init__(message, model=model)


class AnswerTooLong(BadOutput):
    """Raised when a model's answer is over the length limits (a server that ignores max_tokens); the
    call is recorded with its text cut, and the node attempt fails with the reason."""

    def __init__(self, message: str, *, model: str | None = None, content: str = "",
                 tokens_used: int = 0) -> None:
        # What the call really spent, for the endpoint's tokens-per-minute bucket.
        self.tokens_used = tokens_used
        super().__init__(message, model=model, content=content)


class BackendConfigError(ConvRecError):
    """Raised when a backend cannot be built: a missing API-key variable, runtime package or model file."""
