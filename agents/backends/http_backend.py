"""HttpBackend: OpenAI-compatible chat completions posted with a pooled aiohttp session, no SDK in between.

The same wire format, settings and error mapping as :class:`~agents.backends.openai_backend.OpenAIBackend`
(the request body is built the same way, a status or a failed connection becomes the same LLMError
kind, Retry-After is honoured the same way), minus the SDK's per-call machinery: its typed-dict
transform of the request, its response models and its retry loop (the engine's gateway owns
retries). The body is encoded with orjson and the answer read as plain JSON. Streaming is off
(``streams = False``: ``create_stream`` gives the whole answer at once); select the SDK backend
(``BackendConfig.openai_client = "sdk"``) to stream.

The client is aiohttp: its whole request path costs about a sixth of httpx2's in client CPU
(``bench/bench_call_path.py``). HTTP/1.1 keep-alive (aiohttp has no HTTP/2 client), no connection
limit (the gateway's limiter bounds calls in flight, so a pool limit would only queue them twice). An
aiohttp session belongs to the event loop it was opened in, so it is opened on the first call, inside
the running loop (the backend may be built outside any loop), and :meth:`HttpBackend.close` closes it;
after a close the backend may be used again, in the same loop or another one. Proxy variables
(``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY``) are read when the session is opened, as the SDK's
client reads them when it is built.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

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
    UnsupportedRequest,
)

if TYPE_CHECKING:
    import aiohttp

__all__ = ["MAX_BODY_BYTES", "HttpBackend", "body_limit", "request_body"]

# Bodies up to this size are read whole, so that an answer over max_answer_chars is refused with the
# tokens it really spent counted (agents.backends.bounds); past it a server ignoring max_tokens would
# only cost memory, and the body is not read at all.
MAX_BODY_BYTES = 32 * 1024 * 1024
_NO_KEY = "no-key"


def body_limit(config: BackendConfig) -> int:
    """Most bytes of an answer's body read: MAX_BODY_BYTES, or more for a very large max_answer_chars
    (a character escaped in JSON takes at most 12 bytes, a surrogate pair; 1 MiB for the other fields)."""
    return max(MAX_BODY_BYTES, 12 * config.max_answer_chars + (1 << 20))


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


def _status_message(status: int, content: bytes | bytearray) -> str:
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
    """A ChatCompletionClient for an OpenAI-compatible ``/v1/chat/completions`` endpoint, over aiohttp."""

    provider = "openai"
    streams = False

    def __init__(self, config: BackendConfig, *, counter: TokenCounter | None = None,
                 max_body_bytes: int | None = None) -> None:
        try:
            import aiohttp
            from yarl import URL
        except ImportError as exc:  # a declared dependency: a broken install
            raise BackendConfigError("the aiohttp package is not installed") from exc
        super().__init__(config, counter or TiktokenCounter(config.model))
        key = config.resolve_api_key()
        self._aiohttp = aiohttp
        self._secrets = (key.get_secret_value(),) if key is not None else ()
        root, query = split_base_url(config.base_url or OPENAI_BASE_URL)
        # Parsed once; the query of base_url (``?api-version=``) goes with every request.
        self._url = URL(root.rstrip("/") + "/chat/completions").with_query(query or None)
        self._headers = {"Authorization": f"Bearer {key.get_secret_value() if key is not None else _NO_KEY}",
                         "Content-Type": "application/json", "Accept": "application/json"}
        self._body_limit = max_body_bytes if max_body_bytes is not None else body_limit(config)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._proxy: Any = None
        self._proxy_auth: Any = None

    def _session_here(self) -> aiohttp.ClientSession:
        """This backend's session, opened in the running loop on first use."""
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and self._loop is loop:
            return session
        if session is not None and self._loop is not None and not self._loop.is_closed() \
                and not session.closed:
            # Its connections are the other loop's: a call from here could not use them.
            raise UnsupportedRequest("this backend's HTTP session is open in another event loop; close() it "
                                     "there first", model=self._config.model)
        # A session whose loop ended without close() is left behind (aiohttp warns about it).
        return self._open(loop)

    def _open(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        aiohttp = self._aiohttp
        from aiohttp.helpers import get_env_proxy_for_url

        # The proxy is looked up once here rather than by trust_env, which reads the environment and
        # ~/.netrc again on every request, in worker threads (and a netrc entry for the host would
        # clash with our Authorization header).
        try:
            self._proxy, self._proxy_auth = get_env_proxy_for_url(self._url)
        except LookupError:  # no proxy variable for the scheme, or NO_PROXY names the host
            self._proxy = self._proxy_auth = None
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), headers=self._headers,
            timeout=aiohttp.ClientTimeout(total=self._config.timeout_s))
        self._session, self._loop = session, loop
        return session

    async def _post(self, body: bytes) -> tuple[int, Any, bytes | bytearray]:
        """Status, headers and body of one POST."""
        session = self._session_here()
        # Redirects are not followed (the key is not sent on to another address; a 3xx is no answer).
        async with session.post(self._url, data=body, proxy=self._proxy, proxy_auth=self._proxy_auth,
                                allow_redirects=False) as response:
            # Left with its body unread (refused as too long), the connection is closed, not reused.
            return response.status, response.headers, await self._read_body(response)

    async def _read_body(self, response: aiohttp.ClientResponse) -> bytes | bytearray:
        """The (decompressed) body; past :func:`body_limit` bytes the rest is not read (LLMServerError)."""
        limit = self._body_limit
        length = response.content_length
        if length is not None and length > limit:
            raise self._too_large(f"{length:,} bytes announced")
        content = response.content
        first = await content.readany()
        if content.at_eof():
            if len(first) > limit:
                raise self._too_large(f"over {limit:,} bytes")
            return first  # the usual case: the whole answer in one piece
        body = bytearray(first)
        async for chunk in content.iter_any():
            body += chunk
            if len(body) > limit:
                raise self._too_large(f"over {limit:,} bytes")
        return body

    def _too_large(self, what: str) -> LLMError:
        return self._map_error(LLMServerError(
            f"answer body not read: {what}, the limit is {self._body_limit:,} (a server ignoring "
            "max_tokens?)", model=self._config.model))

    async def _complete(self, request: ChatRequest) -> Completion:
        body = orjson.dumps(request_body(self._config, request.messages, request.json_output,
                                         request.extra_create_args))
        token = request.cancellation_token
        aiohttp = self._aiohttp
        model = self._config.model
        try:
            if token is None:
                status, headers, content = await self._post(body)
            else:
                task = asyncio.ensure_future(self._post(body))
                token.link_future(task)
                status, headers, content = await task
            if status >= 400:
                raise self._map_error(self._status_error(status, headers, content))
            data = orjson.loads(content)
            choice = data["choices"][0]
            usage = data.get("usage") or {}
            return Completion(choice["message"].get("content") or "",
                              finish_reason(choice.get("finish_reason")), usage.get("prompt_tokens"),
                              usage.get("completion_tokens"), data.get("model"))
        except TimeoutError as exc:  # aiohttp's own timeout errors are TimeoutErrors too
            raise self._map_error(LLMTimeout(f"no answer within {self._config.timeout_s:g} s",
                                             model=model)) from exc
        except aiohttp.ClientError as exc:  # refused, reset, dropped mid-body, a cut or bad payload
            raise self._map_error(LLMServerError(f"connection failed: {type(exc).__name__}: {exc}",
                                                 model=model)) from exc
        except (ValueError, LookupError, TypeError, AttributeError) as exc:
            # Not JSON, or JSON without choices / message: an answer we cannot read.
            raise self._map_error(LLMServerError(f"unreadable answer: {type(exc).__name__}: {exc}",
                                                 model=model)) from exc

    def _status_error(self, status: int, headers: Mapping[str, str], content: bytes | bytearray) -> LLMError:
        model = self._config.model
        message = _status_message(status, content)
        if status == 429:
            return RateLimited(f"rate limited (429): {message}", model=model,
                               retry_after=parse_retry_after(headers))
        if status >= 500:
            return LLMServerError(f"server error {status}: {message}", model=model, status=status)
        return LLMRequestRejected(f"request rejected ({status}): {message}", model=model, status=status)

    def _map_error(self, error: LLMError) -> LLMError:
        """``error`` with the key taken out of its text, whatever form a server echoes it in."""
        return error.without(self._secrets)

    async def close(self) -> None:
        """Close the HTTP session and its connections (nothing to do if no call opened one); in the loop
        that made the calls, as aiohttp's connections belong to it."""
        session, self._session, self._loop = self._session, None, None
        if session is not None:
            await session.close()
