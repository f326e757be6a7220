"""What the lean openai client (HttpBackend, over aiohttp) owes beyond the tests both clients share:
its session opened in the running loop, proxy variables, bounded bodies, its own error texts and the
cancellation token, against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest
from autogen_core import CancellationToken
from autogen_core.models import UserMessage
from multidict import CIMultiDict, CIMultiDictProxy

from agents.backends import BackendConfig
from agents.backends.http_backend import MAX_BODY_BYTES, HttpBackend, body_limit
from agents.backends.openai_backend import parse_retry_after
from agents.errors import AnswerTooLong, LLMServerError, LLMTimeout, UnsupportedRequest
from tests.support.openai_server import Fault, OpenAITestServer

HI = [UserMessage(content="hi", source="user")]


def _backend(base_url: str, **overrides: Any) -> HttpBackend:
    return HttpBackend(BackendConfig(**({"kind": "openai", "model": "lean-test", "base_url": base_url}
                                        | overrides)))


def test_built_outside_a_loop_it_opens_a_session_in_each_loop_that_uses_it() -> None:
    with OpenAITestServer() as srv:
        client = _backend(srv.base_url)  # no loop is running here

        async def call_then_close() -> str:
            result = await client.create(HI)
            await client.close()
            return str(result.content)

        assert anyio.run(call_then_close) == anyio.run(call_then_close) == "You said: hi"
        anyio.run(client.close)  # closed, or never opened: nothing to do
        assert _backend(srv.base_url) is not None  # built and dropped unused: no session, no warning
        assert len(srv.requests) == 2
        assert srv.requests[0].headers["content-type"] == "application/json"


def test_a_session_still_open_in_another_live_loop_is_refused_not_shared() -> None:
    with OpenAITestServer() as srv:
        client = _backend(srv.base_url)
        first = asyncio.new_event_loop()
        try:
            first.run_until_complete(client.create(HI))
            with pytest.raises(UnsupportedRequest, match="another event loop"):
                anyio.run(client.create, HI)
            first.run_until_complete(client.close())
        finally:
            first.close()

        async def call_then_close() -> str:
            result = await client.create(HI)
            await client.close()
            return str(result.content)

        assert anyio.run(call_then_close) == "You said: hi"  # closed there: usable here


class _Proxy(ThreadingHTTPServer):
    """A plain forward proxy for http:// URLs, recording the absolute URLs it was asked for."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.seen: list[str] = []


class _ProxyHandler(BaseHTTPRequestHandler):
    server: _Proxy

    def do_POST(self) -> None:
        self.server.seen.append(self.path)
        target = urlsplit(self.path)
        body = self.rfile.read(int(self.headers["content-length"]))
        upstream = HTTPConnection(target.hostname or "", target.port, timeout=10)
        path = target.path + (f"?{target.query}" if target.query else "")
        upstream.request("POST", path, body=body, headers={k: v for k, v in self.headers.items()
                                                            if k.lower() not in ("host", "proxy-connection")})
        answer = upstream.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        self.send_header("content-type", answer.getheader("content-type") or "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    srv = _Proxy()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize("bypass", [False, True])
async def test_proxy_variables_are_honoured(proxy: _Proxy, monkeypatch: pytest.MonkeyPatch,
                                            bypass: bool) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    if bypass:
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with OpenAITestServer() as srv:
        client = _backend(srv.base_url + "?api-version=2024-06-01")
        result = await client.create(HI)
        await client.close()
        assert [r.path for r in srv.requests] == ["/v1/chat/completions?api-version=2024-06-01"]
    assert result.content == "You said: hi"
    assert proxy.seen == ([] if bypass else [srv.base_url + "/chat/completions?api-version=2024-06-01"])


def test_retry_after_is_read_from_aiohttps_case_insensitive_headers() -> None:
    headers = CIMultiDictProxy(CIMultiDict([("Retry-After-Ms", "250"), ("retry-after", "9")]))
    assert parse_retry_after(headers) == 0.25  # the finer figure wins
    assert parse_retry_after(CIMultiDictProxy(CIMultiDict([("RETRY-AFTER", "3")]))) == 3.0


def test_the_body_limit_covers_the_longest_answer_accepted_escaped() -> None:
    config = BackendConfig(kind="openai", model="m")
    assert body_limit(config) == MAX_BODY_BYTES
    big = config.model_copy(update={"max_answer_chars": 10_000_000})
    assert body_limit(big) > 12 * big.max_answer_chars


async def test_a_body_announced_over_the_limit_is_not_read_and_its_connection_not_reused() -> None:
    faults = {1: Fault("long", size=200_000)}
    with OpenAITestServer(fault=lambda n, body: faults.get(n)) as srv:
        client = HttpBackend(BackendConfig(kind="openai", model="lean-test", base_url=srv.base_url),
                             max_body_bytes=50_000)
        with pytest.raises(LLMServerError, match=r"answer body not read: 200,\d{3} bytes announced, the "
                                                 r"limit is 50,000") as info:
            await client.create(HI)
        assert info.value.retryable and info.value.status is None
        assert (await client.create(HI)).content == "You said: hi"  # a fresh connection, a clean answer
        await client.close()
    assert len(client.calls) == 1  # the unread answer is no call: nothing was recorded of it


def _close_delimited_server(size: int) -> tuple[socket.socket, threading.Thread]:
    """A server answering once with ``size`` bytes and no length: the body ends when it closes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Connection: close\r\n\r\n")
                for _ in range(size // 65536 + 1):
                    conn.sendall(b" " * 65536)
            except OSError:  # the client stopped reading and closed: expected
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


async def test_a_body_without_a_length_is_cut_at_the_limit() -> None:
    listener, thread = _close_delimited_server(4_000_000)
    try:
        client = HttpBackend(BackendConfig(kind="openai", model="lean-test",
                                           base_url=f"http://127.0.0.1:{listener.getsockname()[1]}/v1"),
                             max_body_bytes=100_000)
        with pytest.raises(LLMServerError, match="answer body not read: over 100,000 bytes"):
            await client.create(HI)
        await client.close()
    finally:
        thread.join(timeout=10)
        listener.close()
    assert not thread.is_alive()


async def test_a_long_body_under_the_limit_is_read_whole_and_refused_with_its_tokens() -> None:
    # The bounds of agents.backends.bounds, unchanged: the whole answer counted, recorded cut.
    with OpenAITestServer(fault=lambda n, body: Fault("long", size=300_000)) as srv:
        client = _backend(srv.base_url, max_answer_chars=1000)
        with pytest.raises(AnswerTooLong, match="300,000 characters"):
            await client.create(HI)
        await client.close()
    (call,) = client.calls
    assert len(call.response_text) < 1100 and call.output_tokens > 10_000


@pytest.mark.parametrize(("fault", "error", "words"), [
    (Fault("reset"), LLMServerError, "connection failed: "),
    (Fault("truncate"), LLMServerError, "connection failed: ClientPayloadError"),  # cut mid-body
    (Fault("empty"), LLMServerError, "unreadable answer: JSONDecodeError"),
    (Fault("hang", seconds=5.0), LLMTimeout, "no answer within 0.5 s"),
])
async def test_what_went_wrong_is_said(fault: Fault, error: type[Exception], words: str) -> None:
    with OpenAITestServer(fault=lambda n, body: fault) as srv:
        client = _backend(srv.base_url, timeout_s=0.5)
        with pytest.raises(error) as info:
            await client.create(HI)
        await client.close()
    assert words in str(info.value) and "lean-test" in str(info.value)


async def test_cancelling_the_token_cancels_the_call_in_flight() -> None:
    with OpenAITestServer(fault=lambda n, body: Fault("hang", seconds=30.0) if n == 1 else None) as srv:
        client = _backend(srv.base_url)
        token = CancellationToken()
        cancelled = False

        async def call() -> None:
            nonlocal cancelled
            try:
                await client.create(HI, cancellation_token=token)
            except asyncio.CancelledError:
                cancelled = True

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            while not srv.requests:  # the request has reached the server
                await anyio.sleep(0.01)
            token.cancel()
        assert cancelled and client.calls == type(client.calls)()
        assert (await client.create(HI)).content == "You said: hi"  # the backend is still usable
        await client.close()


async def test_a_redirect_is_not_followed_so_the_key_stays_with_the_configured_server(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVREC_TEST_LLM_KEY", "sk-convrec-redirect-5a6b7c8d")
    with OpenAITestServer() as elsewhere:
        moved = Fault("status", 307, {"Location": elsewhere.base_url + "/chat/completions"})
        with OpenAITestServer(fault=lambda n, body: moved) as srv:
            client = _backend(srv.base_url, api_key_env="CONVREC_TEST_LLM_KEY")
            with pytest.raises(LLMServerError, match="unreadable answer"):
                await client.create(HI)
            await client.close()
        assert elsewhere.requests == []
