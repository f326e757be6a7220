"""Benchmark the LLM backends: SmolLM2-135M tokens/s in process and over HTTP, and per-call overheads.

Prints the machine it ran on, then one line per figure. Run from the repository root:
    .venv/bin/python bench/bench_backends.py [--calls N] [--max-tokens N] [--threads N] [--skip-http]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import anyio
import structlog
from autogen_core.models import LLMMessage, SystemMessage, UserMessage
from machine import load_note

# The OpenAI-compatible test server lives with the tests; the bench reuses it for the overhead figure.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.backends import BackendConfig, FakeChatClient, make_client, smollm2_gguf_path
from profiling.errors import ConvRecError
from tests.support.openai_server import OpenAITestServer

PROMPT = [SystemMessage(content="You are a helpful shopping assistant."),
          UserMessage(content="Describe, in detail, three gifts for someone who loves hiking and why.",
                      source="user")]


def machine() -> str:
    import torch

    return (f"machine: {platform.platform()} | cpus: {os.cpu_count()} | python {platform.python_version()} "
            f"| torch {torch.__version__}")


async def bench_fake(calls: int) -> str:
    client = FakeChatClient(lambda ms: "fine, thanks")
    started = time.perf_counter()
    for _ in range(calls):
        await client.create(PROMPT)
    per_call = (time.perf_counter() - started) / calls
    return f"fake client: {per_call * 1e6:.0f} us per call (recording layer only, {calls} calls)"


async def bench_http_overhead(calls: int) -> str:
    with OpenAITestServer() as srv:
        client = make_client(BackendConfig(kind="openai", model="test", base_url=srv.base_url))
        await client.create(PROMPT)  # connection set-up and imports out of the figure
        started = time.perf_counter()
        for _ in range(calls):
            await client.create(PROMPT)
        per_call = (time.perf_counter() - started) / calls
        await client.close()
    return (f"openai backend round trip to the Python test server on loopback: {per_call * 1e3:.2f} ms per "
            f"call ({calls} calls; client + server share this process)")


GIFTS_FOR = ["hiking", "cooking", "chess", "gardening", "running", "painting", "cycling", "reading"]


def _prompt(i: int) -> list[LLMMessage]:
    # A different request each call, as in a real run: the server's prompt-prefix cache would
    # otherwise skip re-reading a repeated prompt, which the in-process backend never does.
    topic = GIFTS_FOR[i % len(GIFTS_FOR)]
    return [PROMPT[0], UserMessage(content=f"Describe, in detail, three gifts for someone who loves {topic} "
                                           f"and why (request {i}).", source="user")]


async def _generate(client, calls: int) -> tuple[float, float, int]:
    """(median tokens/s per call, overall tokens/s, median prompt tokens) over ``calls`` calls."""
    await client.create(_prompt(-1))  # warm-up: model load, first-call allocation
    rates, tokens, seconds, prompts = [], 0, 0.0, []
    for i in range(calls):
        await client.create(_prompt(i))
        u = client.last_usage
        rates.append(u.output_tokens / u.latency_s)
        tokens += u.output_tokens
        seconds += u.latency_s
        prompts.append(u.input_tokens)
    return statistics.median(rates), tokens / seconds, int(statistics.median(prompts))


async def bench_local(calls: int, max_tokens: int, threads: int | None) -> str:
    config = BackendConfig(kind="local", temperature=0.0, max_tokens=max_tokens, n_threads=threads)
    client = make_client(config)
    started = time.perf_counter()
    await client.load()
    load_s = time.perf_counter() - started
    median, overall, prompt = await _generate(client, calls)
    await client.close()
    return (f"SmolLM2-135M Q4_1 in process: {median:.1f} tokens/s median per call, {overall:.1f} overall "
            f"({calls} calls x {max_tokens} max tokens, prompt {prompt} tokens, end to end incl. prompt "
            f"reading; load {load_s:.2f} s; threads {threads or 'llama.cpp default'})")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def bench_http(calls: int, max_tokens: int, threads: int | None) -> str:
    port = _free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf_path()), "--model_alias",
           "smollm2", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"]
    if threads:
        cmd += ["--n_threads", str(threads)]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://127.0.0.1:{port}/v1"
            deadline = time.monotonic() + 90
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    tail = log.read()[-2000:].decode(errors="replace")
                    raise SystemExit(f"llama_cpp.server exited: {tail}")
                try:
                    with urllib.request.urlopen(f"{base_url}/models", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("llama_cpp.server did not start within 90 s") from None
                    time.sleep(0.25)
            client = make_client(BackendConfig(kind="openai", model="smollm2", base_url=base_url,
                                               temperature=0.0, max_tokens=max_tokens))
            median, overall, prompt = await _generate(client, calls)
            await client.close()
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    return (f"SmolLM2-135M Q4_1 over HTTP (llama_cpp.server on 127.0.0.1): {median:.1f} tokens/s median per "
            f"call, {overall:.1f} overall ({calls} calls x {max_tokens} max tokens, prompt {prompt} tokens, "
            f"end to end incl. HTTP)")


async def main(args: argparse.Namespace) -> None:
    # Per-call debug lines off: they would flood the output and time the terminal, not the client.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    print(machine())
    print(load_note(), flush=True)
    print(await bench_fake(args.overhead_calls), flush=True)
    print(await bench_http_overhead(args.overhead_calls // 10), flush=True)
    print(await bench_local(args.calls, args.max_tokens, args.threads), flush=True)
    if not args.skip_http:
        print(await bench_http(args.calls, args.max_tokens, args.threads), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5,
                        help="timed model calls per backend, after one warm-up call (default: 5)")
    parser.add_argument("--max-tokens", type=int, default=64,
                        help="tokens generated per call; temperature 0 (default: 64)")
    parser.add_argument("--threads", type=int, default=None,
                        help="llama.cpp CPU threads for both the in-process model and the server "
                             "(default: llama.cpp's own choice, half the cores)")
    parser.add_argument("--overhead-calls", type=int, default=2000,
                        help="calls for the fake-client overhead figure; a tenth of it for the HTTP "
                             "round trip (default: 2000)")
    parser.add_argument("--skip-http", action="store_true",
                        help="skip starting llama_cpp.server (default: run it)")
    try:
        anyio.run(main, parser.parse_args())
    except ConvRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
