"""A small OpenAI-compatible HTTP server for tests that must cross a real socket.

Bound to 127.0.0.1 on a free port, it answers ``POST /v1/chat/completions`` (plain and streamed as
server-sent events) and ``GET /v1/models``. Answers are a function of the request body (default:
the last user message echoed back), usage is counted in whitespace-separated words, every request is
recorded (path, headers, body), and concurrent requests are counted (``max_in_flight``).

Fault injection is by configuration: ``fault(n, body) -> Fault | None`` is asked before request ``n``
(1-based) is answered, and a Fault can be an HTTP status with headers (429 with or without
Retry-After, 500, 503), a hang, a connection reset, a truncated body, an empty body, an answer that
is not the JSON asked for, an answer in the wrong role, or a very long answer. The engine's retry
tests and fault tests build on these.

A request is in flight from the moment its body is read until its answer starts going out (or the
server drops it, or the client gives up on a hang): so ``max_in_flight`` is what a client's
concurrency limit must bound, with no race between one answer's last bytes and the next request.
A hung request whose client has gone is let go when the next request arrives, whoever notices first:
a client frees its slot only after closing the connection it gave up on, so the count does not
depend on how soon the hanging thread gets the CPU back.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

__all__ = ["FAULT_KINDS", "Fault", "FaultKind", "OpenAITestServer", "RecordedRequest", "echo_answer"]


FaultKind = Literal["status", "hang", "reset", "truncate", "empty", "invalid_json", "wrong_role", "long"]
FAULT_KINDS: tuple[FaultKind, ...] = ("status", "hang", "reset", "truncate", "empty", "invalid_json",
                                      "wrong_role", "long")


@dataclass(frozen=True)
class Fault:
    """One injected failure.

    - ``status``: an error answer (``status`` code, ``headers`` such as Retry-After, a JSON error body;
      with ``echo_headers`` the body repeats the request's headers, Authorization included, as some
      proxies and gateways do);
    - ``hang``: no answer for ``seconds``, then the normal one (a client that gives up first is let go);
    - ``reset``: the connection is reset (RST) instead of answering;
    - ``truncate``: half of the JSON body, then the connection closes;
    - ``empty``: 200 with an empty body;
    - ``invalid_json``: 200, but the message content is a broken JSON object (the JSON asked for, cut);
    - ``wrong_role``: 200, but the message comes back in role ``role`` (``text`` replaces the content,
      e.g. a turn written for the other speaker);
    - ``long``: 200, the answer repeated to ``size`` characters (a server that ignores max_tokens).
    """

    kind: FaultKind
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0  # hang: how long before answering normally (bounded by server stop)
    role: str = "user"  # wrong_role: the role the message claims
    text: str | None = None  # wrong_role (any answering kind): replaces the answer's text
    size: int = 100_000  # long: characters of the answer
    echo_headers: bool = False  # status: the error body repeats the request's headers
    usage: dict[str, int] | None = None  # any answering kind: the usage figure claimed instead of ours


@dataclass(frozen=True)
class RecordedRequest:
    """What the server received: path, headers (lower-cased names) and the parsed JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


def echo_answer(body: dict[str, Any]) -> str:
    """The default answer: the last user message, prefixed, so the answer depends on the prompt."""
    users = [m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "user"]
    return f"You said: {users[-1] if users else ''}"


def _words(text: str | None) -> int:
    return len((text or "").split())


class OpenAITestServer:
    """Start with ``with OpenAITestServer() as server:``; ``server.base_url`` ends in ``/v1``."""

    def __init__(self, answer: Callable[[dict[str, Any]], str] = echo_answer, *, model: str = "test-model",
                 fault: Callable[[int, dict[str, Any] | None], Fault | None] | None = None,
                 report_usage: bool = True, delay_s: float = 0.0) -> None:
        self.answer = answer
        self.model = model
        self.fault = fault
        self.report_usage = report_usage
        self.delay_s = delay_s
        self.requests: list[RecordedRequest] = []
        self.handler_errors: list[str] = []  # exceptions inside handlers (expected after an injected reset)
        self.faults: dict[str, int] = {}  # kind -> faults injected
        self.abandoned = 0  # hung requests whose client gave up (closed the connection) first
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._hanging: set[_Handler] = set()  # handlers holding a hung request
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAITestServer:
        handler = type("Handler", (_Handler,), {"owner": self})
        # Port 0: the OS picks a free port, so parallel test runs never collide.
        self._server = _Server(("127.0.0.1", 0), handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="openai-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases hanging handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OpenAITestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- bookkeeping used by the handler ----------------------------------------------------

    def _enter(self, request: RecordedRequest) -> tuple[int, Fault | None]:
        with self._lock:
            for handler in list(self._hanging):
                if handler.client_gone():
                    handler.let_go()
            self.requests.append(request)
            n = len(self.requests)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        fault = self.fault(n, request.body) if self.fault else None
        if fault is not None:
            with self._lock:
                self.faults[fault.kind] = self.faults.get(fault.kind, 0) + 1
        return n, fault

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: OpenAITestServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Recorded, not printed: an injected reset makes the handler fail on purpose."""
        import sys

        self.owner.handler_errors.append(repr(sys.exc_info()[1]))


class _Handler(BaseHTTPRequestHandler):
    owner: OpenAITestServer
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    # Headers and body go out as separate writes; with Nagle on, each answer would wait ~40 ms for
    # the client's delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests read ``owner.requests`` instead of stderr."""

    def do_GET(self) -> None:
        if self.path.split("?")[0].rstrip("/") != "/v1/models":
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        self._send_json(200, {"object": "list", "data": [
            {"id": self.owner.model, "object": "model", "created": 0, "owned_by": "convrec-tests"}]})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = RecordedRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        n, fault = self.owner._enter(request)
        self._in_flight = True
        try:
            self._answer(n, body, fault, request.headers)
        finally:
            self._done()

    def _done(self) -> None:
        """This request is no longer in flight (once): called as its answer starts going out."""
        with self.owner._lock:
            if getattr(self, "_in_flight", False):
                self._in_flight = False
                self.owner.in_flight -= 1

    def client_gone(self) -> bool:
        """Whether the client closed this connection (nothing read: a peek at the socket)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def let_go(self) -> None:
        """The hung request's client gave up: no longer in flight, counted abandoned (once; under the
        server's lock)."""
        owner = self.owner
        if self in owner._hanging:
            owner._hanging.discard(self)
            owner.abandoned += 1
            if getattr(self, "_in_flight", False):
                self._in_flight = False
                owner.in_flight -= 1

    def _hang(self, seconds: float) -> bool:
        """Wait ``seconds`` (or until the server stops); False when the client closed the connection first."""
        deadline = time.monotonic() + seconds
        with self.owner._lock:
            self.owner._hanging.add(self)
        try:
            while not self.owner._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
                with self.owner._lock:
                    if self not in self.owner._hanging:  # let go by the next request's arrival
                        self.close_connection = True
                        return False
                readable, _, _ = select.select([self.connection], [], [], min(left, 0.05))
                if readable:
                    if self.client_gone():  # the client gave up: the request is no longer in flight
                        with self.owner._lock:
                            self.let_go()
                        self.close_connection = True
                        return False
                    time.sleep(0.01)  # data without an answer read (not expected from one client): wait
            return True
        finally:
            with self.owner._lock:
                self.owner._hanging.discard(self)

    def _answer(self, n: int, body: dict[str, Any] | None, fault: Fault | None,
                headers: dict[str, str]) -> None:
        if self.path.split("?")[0].rstrip("/") != "/v1/chat/completions":
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        if body is None or "messages" not in body:
            self._send_json(400, {"error": {"message": "body must be JSON with messages"}})
            return
        if fault is not None:
            if fault.kind == "status":
                message = f"injected {fault.status}"
                if fault.echo_headers:
                    message += f"; request headers: {headers}"
                self._send_json(fault.status, {"error": {"message": message, "type": "injected"}},
                                fault.headers)
                return
            if fault.kind == "hang":
                if not self._hang(fault.seconds):
                    return
            elif fault.kind == "reset":
                # SO_LINGER 0 makes close() send RST: the client sees "connection reset by peer".
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self._done()
                self.connection.close()
                return
            elif fault.kind == "empty":
                self._done()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", "0")
                self.end_headers()
                self.wfile.flush()
                return
        if self.owner.delay_s:
            self.owner._wait(self.owner.delay_s)
        text = self.owner.answer(body)
        role = "assistant"
        if fault is not None:
            if fault.text is not None:
                text = fault.text
            if fault.kind == "wrong_role":
                role = fault.role
            elif fault.kind == "long":
                text = " ".join([text] * (fault.size // (len(text) + 1) + 1))[: fault.size]
            elif fault.kind == "invalid_json":
                # The object a JSON request asks for, cut off: an answer that does not parse.
                text = '{"answer": ' + json.dumps(text)[: max(1, len(text) // 2)]
        usage = {"prompt_tokens": sum(_words(m.get("content")) for m in body["messages"]),
                 "completion_tokens": _words(text)}
        if fault is not None and fault.usage is not None:
            usage = dict(fault.usage)
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        model = body.get("model") or self.owner.model
        if body.get("stream"):
            wants_usage = (body.get("stream_options") or {}).get("include_usage")
            self._stream(text, model, usage if wants_usage else None, role)
            return
        payload: dict[str, Any] = {
            "id": f"chatcmpl-{n}", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": role, "content": text},
                         "finish_reason": "stop", "logprobs": None}],
        }
        if self.owner.report_usage:
            payload["usage"] = usage
        if fault is not None and fault.kind == "truncate":
            data = json.dumps(payload).encode()
            self._done()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self._send_json(200, payload)

    def _stream(self, text: str, model: str, usage: dict[str, int] | None, role: str = "assistant") -> None:
        self._done()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")  # no length: the stream ends when the socket closes
        self.end_headers()
        self.close_connection = True
        base = {"id": "chatcmpl-stream", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": model}
        pieces = [w + " " for w in text.split(" ")]
        pieces[-1] = pieces[-1].rstrip(" ")
        for i, piece in enumerate(pieces):
            delta = {"content": piece} if i else {"role": role, "content": piece}
            self._event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if usage is not None:
            self._event({**base, "choices": [], "usage": usage})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _event(self, obj: dict[str, Any]) -> None:
        self.wfile.write(b"data: " + json.dumps(obj).encode() + b"\n\n")
        self.wfile.flush()

    def _send_json(self, status: int, obj: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self._done()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
