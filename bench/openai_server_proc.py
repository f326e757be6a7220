"""Runs tests/support/openai_server.py's OpenAITestServer in its own process, answering like the scripted
backend.

    .venv/bin/python bench/openai_server_proc.py [--backlog 1024]

Prints ``port N`` on its first line once it listens on 127.0.0.1, then serves until its stdin closes
(or SIGTERM), then prints one line of figures: ``requests N in_flight_max N cpu_s X handler_errors N``
(its own CPU while serving, so the client's figures are the client's alone).

Each answer is the scripted realizer's turn for the directive in the request's last user message,
so dialogs pass the validators exactly as with the scripted backend; a polish request (--realize
polish) gets a light rewrite of its draft (tests/support/scripted_server.py). ``--backlog`` is the listen
queue: http.server's default of 5 drops connection attempts when hundreds arrive at once (the client
then retries the SYN a second later), which would measure the kernel, not the client; real servers
(uvicorn, vLLM, llama.cpp) listen with a backlog of 2048.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.openai_server import OpenAITestServer, _Server
from tests.support.scripted_server import scripted_answer


def scripted_body_answer(body: dict[str, Any]) -> str:
    """The scripted realizer's turn for the directive in the request body (or the rewrite a polish
    request asks for)."""
    if not any(m.get("role") == "user" for m in body.get("messages", [])):
        raise ValueError("the request has no user message with a directive")
    return scripted_answer(body)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backlog", type=int, default=1024, help="listen queue length (default: 1024)")
    args = p.parse_args(argv)
    _Server.request_queue_size = args.backlog  # read by server_activate() when the server starts
    server = OpenAITestServer(scripted_body_answer, model="test-model")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with server:
        cpu0 = time.process_time()  # serving only, not the imports
        print(f"port {server.port}", flush=True)
        reader = threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True)
        reader.start()
        stop.wait()
        cpu = time.process_time() - cpu0
        print(f"requests {len(server.requests)} in_flight_max {server.max_in_flight} cpu_s {cpu:.3f} "
              f"handler_errors {len(server.handler_errors)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
