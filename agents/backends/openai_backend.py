"""OpenAIBackend: a ChatCompletionClient for any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp).

Built on the ``openai`` SDK directly rather than autogen's OpenAI client, because we need what that
client does not give: JSON requests in the shape a server accepts (``json_mode``), token counting
without a network, our own errors (``RateLimited`` with Retry-After, ...), and usage and cost per call.
The SDK's own retries are off (``max_retries=0``): the engine owns retries, so every one is recorded.
A query in ``base_url`` (``?api-version=...``) is sent as the SDK's default query, so request paths
stay ``<root>/chat/completions``; credentials in the URL are refused by :class:`BackendConfig`. Error
texts are redacted of the key and anything shaped like one (:func:`agents.secrets.redact`).
"""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from autogen_core.models import LLMMessage

from agents.backends.base import ChatRequest, Completion, RecordingClient
from agents.backends.config import BackendConfig
from agents.backends.tokens import TiktokenCounter, TokenCounter
from agents.backends.wire import JsonOutput, finish_reason, response_format, to_chat_dicts
from agents.errors import (
    BackendConfigError,
    LLMError,
    LLMRequestRejected,
    LLMServerError,
    LLMTimeout,
    RateLimited,
)

__all__ = ["OpenAIBackend", "parse_retry_after", "split_base_url"]

OPENAI_BASE_URL = "https://api.openai.com/v1"
# The SDK refuses an empty key; servers that need none (vLLM, llama.cpp, Ollama) ignore this one.
_NO_KEY = "no-key"


def split_base_url(url: str) -> tuple[str, dict[str, str]]:
    """A server root without its query, and the query as parameters (sent with every request)."""
    parts = urlsplit(url)
    root = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return root, dict(parse_qsl(parts.query, keep_blank_values=True))


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds to wait per ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date); None if absent."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if (ms := lowered.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class OpenAIBackend(RecordingClient):
    """A ChatCompletionClient for an OpenAI-compatible ``/v1/chat/completions`` endpoint."""

    provider = "openai"
    streams = True

    def __init__(self, config: BackendConfig, *, counter: TokenCounter | None = None,
                 http_client: Any = None) -> None:
        try:
            import openai
        except ImportError as exc:  # a declared dependency, so this is a broken install
            raise BackendConfigError("the openai package is not installed") from exc
        super().__init__(config, counter or TiktokenCounter(config.model))
        key = config.resolve_api_key()
        self._openai = openai
        # Taken out of every error text, whatever form a server echoes it in.
        self._secrets = (key.get_secret_value(),) if key is not None else ()
        root, query = split_base_url(config.base_url or OPENAI_BASE_URL)
        # base_url and api_key are always passed: the SDK would otherwise read OPENAI_* variables,
        # and the config must be the only thing that decides where calls go.
        self._client = openai.AsyncOpenAI(
            api_key=key.get_secret_value() if key is not None else _NO_KEY,
            base_url=root,
            default_query=query or None,
            timeout=config.timeout_s,
            max_retries=0,
            http_client=http_client,
        )

    def _request(self, messages: Sequence[LLMMessage], json_output: JsonOutput,
                 extra_create_args: Mapping[str, Any]) -> dict[str, Any]:
        c = self._config
        kwargs: dict[str, Any] = {"model": c.model, "messages": to_chat_dicts(messages, model=c.model),
                                  "temperature": c.temperature, "max_tokens": c.max_tokens}
        if c.seed is not None:
            kwargs["seed"] = c.seed
        extra = dict(extra_create_args)
        for name in ("temperature", "max_tokens", "seed"):  # per-call overrides of the config
            if name in extra:
                kwargs[name] = extra.pop(name)
        rf = response_format(json_output, c.json_mode)
        if rf is not None:
            # Through extra_body, so the exact dict reaches the server (llama.cpp's "schema" key
            # is not part of the SDK's typed response_format).
            extra["response_format"] = rf
        if extra:
            kwargs["extra_body"] = extra
        return kwargs

    async def _complete(self, request: ChatRequest) -> Completion:
        kwargs = self._request(request.messages, request.json_output, request.extra_create_args)
        task = asyncio.ensure_future(self._client.chat.completions.create(**kwargs))
        if request.cancellation_token is not None:
            request.cancellation_token.link_future(task)
        try:
            result = await task
        except (self._openai.OpenAIError, ValueError) as exc:  # ValueError: a body that is not JSON
            raise self._map_error(exc) from exc
        if not result.choices:
            raise LLMServerError("the server answered with no choices", model=self._config.model)
        choice = result.choices[0]
        usage = result.usage
        return Completion(choice.message.content or "", finish_reason(choice.finish_reason),
                          usage.prompt_tokens if usage else None, usage.completion_tokens if usage else None,
                          result.model)

    async def _stream(self, request: ChatRequest) -> AsyncIterator[str | Completion]:
        """Text chunks as the server sends them, then the Completion with the call's usage."""
        kwargs = self._request(request.messages, request.json_output, request.extra_create_args)
        token = request.cancellation_token
        parts: list[str] = []
        finish = "unknown"
        input_tokens = output_tokens = None
        response_model: str | None = None
        try:
            stream = await self._client.chat.completions.create(
                **kwargs, stream=True, stream_options={"include_usage": True})
            read = 0
            async for chunk in stream:
                if token is not None and token.is_cancelled():
                    await stream.close()
                    raise asyncio.CancelledError
                if read > self._config.max_answer_chars:
                    # Over the limit: the rest is not read (the answer is refused as too long anyway).
                    await stream.close()
                    finish = "length"
                    break
                response_model = chunk.model or response_model
                if chunk.usage is not None:
                    input_tokens, output_tokens = chunk.usage.prompt_tokens, chunk.usage.completion_tokens
                for ch in chunk.choices:
                    if ch.delta.content:
                        parts.append(ch.delta.content)
                        read += len(ch.delta.content)
                        yield ch.delta.content
                    if ch.finish_reason is not None:
                        finish = finish_reason(ch.finish_reason)
        except (self._openai.OpenAIError, ValueError) as exc:  # ValueError: a body that is not JSON
            raise self._map_error(exc) from exc
        yield Completion("".join(parts), finish, input_tokens, output_tokens, response_model)

    def _map_error(self, exc: Exception) -> LLMError:
        """The SDK's exception as ours; the message carries the server's words, never the key."""
        # LLMError redacts what looks like a credential; the key itself is known here, in any form.
        return self._mapped(exc).without(self._secrets)

    def _mapped(self, exc: Exception) -> LLMError:
        o = self._openai
        model = self._config.model
        if isinstance(exc, o.APITimeoutError):
            return LLMTimeout(f"no answer within {self._config.timeout_s:g} s", model=model)
        if isinstance(exc, o.APIConnectionError):
            cause = exc.__cause__ or exc
            return LLMServerError(f"connection failed: {type(cause).__name__}: {cause}", model=model)
        if isinstance(exc, o.RateLimitError):
            return RateLimited(f"rate limited (429): {exc.message}", model=model,
                               retry_after=parse_retry_after(exc.response.headers))
        if isinstance(exc, o.APIStatusError):
            status = exc.status_code
            if status >= 500:
                return LLMServerError(f"server error {status}: {exc.message}", model=model, status=status)
            return LLMRequestRejected(f"request rejected ({status}): {exc.message}", model=model,
                                      status=status)
        # APIResponseValidationError and anything else the SDK raises about an unreadable answer.
        return LLMServerError(f"unreadable answer: {type(exc).__name__}: {exc}", model=model)

    async def close(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.close()
