"""HttpBackend: OpenAI-compatible chat completions posted with a pooled httpx client, no SDK in between.

The same wire format, settings and error mapping as :class:`~agents.backends.openai_backend.OpenAIBackend`
(the request body is built the same way, a status or a failed connection becomes the same LLMError
kind, Retry-After is honoured the same way), minus the SDK's per-call machinery: its typed-dict
transform of the request, its response models and its retry loop (the engine's gateway owns
retries). The body is encoded with orjson and the answer read as plain JSON. Streaming is off
(``streams = False``: ``create_stream`` gives the whole answer at once); select the SDK backend
(``BackendConfig.openai_client = "sdk"``) to stream.

The client is httpx2 (the HTTP client the openai SDK itself is built on), with HTTP/1.1 keep-alive
and a pool that keeps as many idle connections as the engine has calls in flight: the gateway's
limiter bounds concurrency, so a smaller keep-alive pool would only close and reopen connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from autogen_core.models import LLMMessage

from agents.backends.base import ChatRequest, Completion, RecordingClient
from agents.backends.config import BackendConfig
from agents.backends.openai_backend import OPENAI_BASE_URL, parse_retry_after, split_base_url
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
from agents.secrets import redact

__all__ = ["KEEPALIVE_CONNECTIONS", "HttpBackend", "request_body"]

# Idle connections kept open; the gateway's endpoint limit, not the pool, bounds calls in flight.
KEEPALIVE_CONNECTIONS = 1024
_NO_KEY = "no-key"


def request_body(config: BackendConfig, messages: Sequence[LLMMessage], json_output: JsonOutput,
                 extra_create_args: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of one chat request (the fields and overrides the SDK backend sends)."""
    c = config
    body: dict[str, Any] = {"model": c.model, "messages": to_chat_dicts(messages, model=c.model),
                            "temperature": c.temperature, "max_tokens": c.max_tokens}
    if c.seed is not None:
        body["seed"] = c.seed
    if extra_create_args:
        body.update(extra_create_args)  # per-call overrides of the config, and anything else passed through
    rf = response_format(json_output, c.json_mode)
    if rf is not None:
        body["response_format"] = rf
    return body


def _status_message(status: int, content: bytes) -> str:
    """``Error code: N``, with the server's ``error.message`` when its body has one (the SDK's words)."""
    text = f"Error code: {status}"
    try:
        body = orjson.loads(content)
    except ValueError:
        return text
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return f"{text} - {message}" if isinstance(message, str) and message else text


class HttpBackend(RecordingClient):
    """A ChatCompletionClient for an OpenAI-compatible ``/v1/chat/completions`` endpoint, over httpx."""

    provider = "openai"
    streams = False

    def __init__(self, config: BackendConfig, *, counter: TokenCounter | None = None,
                 http_client: Any = None) -> None:
        try:
            import httpx2
        except ImportError as exc:  # installed with openai, a declared dependency: a broken install
            raise BackendConfigError("the httpx2 package is not installed") from exc
        super().__init__(config, counter or TiktokenCounter(config.model))
        key = config.resolve_api_key()
        self._httpx = httpx2
        self._secrets = (key.get_secret_value(),) if key is not None else ()
        root, query = split_base_url(config.base_url or OPENAI_BASE_URL)
        self._url = root.rstrip("/") + "/chat/completions"
        self._query = query or None
        headers = {"Authorization": f"Bearer {key.get_secret_value() if key is not None else _NO_KEY}",
                   "Content-Type": "application/json", "Accept": "application/json"}
        # Proxy variables are honoured as the SDK's client honours them (trust_env, httpx's default).
        self._client = http_client if http_client is not None else httpx2.AsyncClient(
            headers=headers, timeout=httpx2.Timeout(config.timeout_s),
            limits=httpx2.Limits(max_connections=None, max_keepalive_connections=KEEPALIVE_CONNECTIONS))
        if http_client is not None:
            http_client.headers.update(headers)

    async def _complete(self, request: ChatRequest) -> Completion:
        body = orjson.dumps(request_body(self._config, request.messages, request.json_output,
                                         request.extra_create_args))
        token = request.cancellation_token
        try:
            if token is None:
                response = await self._client.post(self._url, content=body, params=self._query)
            else:
                task = asyncio.ensure_future(self._client.post(self._url, content=body, params=self._query))
                token.link_future(task)
                response = await task
            status = response.status_code
            if status >= 400:
                raise self._map_error(self._status_error(status, response))
            data = orjson.loads(response.content)
            choice = data["choices"][0]
            usage = data.get("usage") or {}
            return Completion(choice["message"].get("content") or "",
                              finish_reason(choice.get("finish_reason")), usage.get("prompt_tokens"),
                              usage.get("completion_tokens"), data.get("model"))
        except self._httpx.TimeoutException as exc:
            raise self._map_error(LLMTimeout(f"no answer within {self._config.timeout_s:g} s",
                                             model=self._config.model)) from exc
        except self._httpx.TransportError as exc:
            raise self._map_error(LLMServerError(f"connection failed: {type(exc).__name__}: {exc}",
                                                 model=self._config.model)) from exc
        except (ValueError, LookupError, TypeError, AttributeError) as exc:
            # Not JSON, or JSON without choices / message: an answer we cannot read.
            raise self._map_error(LLMServerError(f"unreadable answer: {type(exc).__name__}: {exc}",
                                                 model=self._config.model)) from exc

    def _status_error(self, status: int, response: Any) -> LLMError:
        model = self._config.model
        message = _status_message(status, response.content)
        if status == 429:
            return RateLimited(f"rate limited (429): {message}", model=model,
                               retry_after=parse_retry_after(response.headers))
        if status >= 500:
            return LLMServerError(f"server error {status}: {message}", model=model, status=status)
        return LLMRequestRejected(f"request rejected ({status}): {message}", model=model, status=status)

    def _map_error(self, error: LLMError) -> LLMError:
        """``error`` with the key taken out of its text, whatever form a server echoes it in."""
        error.message = redact(error.message, self._secrets)
        error.args = (redact(str(error.args[0]), self._secrets),) if error.args else error.args
        return error

    async def close(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()
