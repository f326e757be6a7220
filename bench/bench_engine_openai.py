"""The engine through the ``openai`` backend against a local OpenAI-compatible server in another process.

Run from the repository root:
    .venv/bin/python bench/bench_engine_openai.py [--dialogs 500] [--concurrency 500] [--keepalive N]

bench/openai_server_proc.py starts tests/support/openai_server.py's OpenAITestServer (threaded http.server,
keep-alive, Nagle off) in a child process; it answers each call with the scripted realizer's turn for
the directive in the prompt, so dialogs pass the validators. The engine plays ``--dialogs`` sample-world
dialogs with ``--concurrency`` live at once and the same endpoint concurrency, wired as ``engine.run``
wires it (store, gateway, validators, scheduler), through the real OpenAIBackend (openai SDK, HTTP
over loopback). Figures: model calls per second of wall time, the client's CPU per call
(``time.process_time`` of this process: engine + SDK + HTTP client), and the server's CPU per call
(its own process). ``--keepalive`` hands the SDK an HTTP client keeping that many idle connections
(default: the SDK's own, which keeps 100).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio
import structlog
from autogen_core.models import CreateResult, LLMMessage
from engine_rig import add_world_arguments, clone_inputs, engine_play, load_dialogs, machine
from machine import load_note

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.backends import BackendConfig
from agents.backends.openai_backend import OpenAIBackend
from agents.backends.wire import to_chat_dicts
from engine.store import TraceStore, single_error
from profiling.errors import ConvRecError

KEY_ENV = "CONVREC_BENCH_OPENAI_KEY"


class _Sampling(OpenAIBackend):
    """The real backend, keeping the messages of its first calls (for the SDK-overhead figure)."""

    sample: list[list[LLMMessage]]

    async def create(self, messages: Sequence[LLMMessage], **kwargs: Any) -> CreateResult:
        if len(self.sample) < 50:
            self.sample.append(list(messages))
        return await super().create(messages, **kwargs)


async def sdk_transform_cost(config: BackendConfig, sample: Sequence[Sequence[LLMMessage]]) -> float:
    """Seconds per call the openai SDK spends transforming the request params (its typed-dict walk).

    Reaches into the SDK's ``_utils`` on purpose: this is the step ``chat.completions.create`` runs
    on every call before sending, timed alone on the same params the backend sent.
    """
    from openai._utils import async_maybe_transform
    from openai.types.chat import completion_create_params

    params = [{"model": config.model, "messages": to_chat_dicts(m, model=config.model),
               "max_tokens": config.max_tokens,
               "temperature": config.temperature, "seed": config.seed} for m in sample]
    started = time.process_time()
    for p in params * 4:
        await async_maybe_transform(p, completion_create_params.CompletionCreateParamsNonStreaming)
    return (time.process_time() - started) / (len(params) * 4)


class ServerError(ConvRecError):
    """Raised when the test server process does not start or report as expected."""


def start_server() -> tuple[subprocess.Popen[str], int]:
    """The server process and its port (read from its first line)."""
    launcher = Path(__file__).with_name("openai_server_proc.py")
    proc = subprocess.Popen([sys.executable, str(launcher)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline().split()
    if len(first) != 2 or first[0] != "port":
        proc.kill()
        raise ServerError(f"the server process did not print its port (got {first!r})")
    return proc, int(first[1])


def stop_server(proc: subprocess.Popen[str]) -> dict[str, float]:
    """Closes the server's stdin and returns the figures it prints on the way out."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()
    last = proc.stdout.readline().split()
    proc.wait(timeout=30)
    if len(last) != 8:
        raise ServerError(f"the server process did not report its figures (got {last!r})")
    return {last[k]: float(last[k + 1]) for k in range(0, 8, 2)}


T = TypeVar("T")


def run_with_server(play: Callable[[int, int], Awaitable[T]]) -> tuple[T, dict[str, float]]:
    """``play(port, server pid)`` run in an event loop against a server process started for it; its
    result and the figures the server reports on the way out (the server is killed if ``play`` fails)."""
    proc, port = start_server()
    try:
        try:
            result = anyio.run(play, port, proc.pid)
        except BaseExceptionGroup as group:
            raise single_error(group) from None
    except BaseException:
        proc.kill()
        proc.wait(timeout=30)
        raise
    return result, stop_server(proc)


async def bench(args: argparse.Namespace, port: int) -> tuple[list[str], dict[str, float]]:
    corpus, prepared = load_dialogs(args.world, args.distinct)
    dialogs = clone_inputs(prepared.inputs, args.dialogs)
    os.environ[KEY_ENV] = "bench-key-not-a-secret"
    config = BackendConfig(kind="openai", model="test-model", base_url=f"http://127.0.0.1:{port}/v1",
                           api_key_env=KEY_ENV, max_tokens=64, temperature=0.0, timeout_s=120.0)
    http_client = None
    if args.keepalive:
        import httpx2
        import openai

        http_client = openai.DefaultAsyncHttpxClient(limits=httpx2.Limits(
            max_connections=max(1000, args.concurrency), max_keepalive_connections=args.keepalive))
    inner = _Sampling(config, http_client=http_client)
    inner.sample = []
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        async with TraceStore.open(Path(tmp) / "trace.db") as store:
            cpu0, wall0 = time.process_time(), time.perf_counter()
            played = await engine_play(store, corpus, prepared, dialogs, inner, concurrency=args.concurrency,
                                       llm_concurrency=args.concurrency, backend="openai", keep_results=True)
            await store.flush()
            out.update(cpu=time.process_time() - cpu0, wall=time.perf_counter() - wall0)
    # The backend alone on the same requests, one at a time: what a call costs the client without the engine.
    bare = _Sampling(config, http_client=None)
    bare.sample = inner.sample  # full already: records nothing more
    sample = inner.sample * 4
    cpu0 = time.process_time()
    for m in sample:
        await bare.create(m)
    out["bare"] = (time.process_time() - cpu0) / len(sample)
    await bare.close()
    await inner.close()
    stats = played.registry.stats()[0]
    results = played.results
    accepted = sum(r.status == "accepted" for r in results)
    calls = stats.succeeded
    lines = [
        f"{len(results)} dialogs ({len(prepared.inputs)} distinct seeds, {args.world} world), concurrency "
        f"{args.concurrency} (endpoint limit the same; max in flight {stats.max_in_flight}); "
        f"{accepted} accepted; keep-alive pool: {args.keepalive or 'SDK default (100)'}",
        f"{calls:,} model calls ({stats.failed} failed, {stats.retries} retries) in {out['wall']:.1f} s: "
        f"{calls / out['wall']:.1f} calls/s",
        f"client CPU: {out['cpu']:.1f} s = {out['cpu'] / calls * 1e3:.2f} ms per call (engine + openai SDK + "
        f"HTTP; {out['cpu'] / out['wall']:.0%} of a core)",
    ]
    out["calls"] = calls
    sdk = await sdk_transform_cost(config, inner.sample)
    lines.append(f"the backend alone (OpenAIBackend.create on {len(inner.sample) * 4} of the same requests, "
                 f"one at a time, no engine): {out['bare'] * 1e3:.2f} ms client CPU per call, of which the "
                 f"openai SDK's request transform (timed apart) {sdk * 1e3:.2f} ms")
    return lines, out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dialogs", type=int, default=500, help="dialogs played (default: 500)")
    p.add_argument("--concurrency", type=int, default=500,
                   help="dialogs live at once, and model calls in flight at once (default: 500)")
    p.add_argument("--keepalive", type=int, default=0,
                   help="idle connections the HTTP client keeps (0: the SDK's default) (default: 0)")
    add_world_arguments(p, distinct=300)
    args = p.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(machine())
    print(load_note())
    try:
        (lines, _out), server = run_with_server(lambda port, _pid: bench(args, port))
    except ConvRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    per_request = server["cpu_s"] / max(server["requests"], 1)
    print(f"server (other process): {server['requests']:.0f} requests (the bare calls included), at most "
          f"{server['in_flight_max']:.0f} in flight, CPU {server['cpu_s']:.1f} s = {per_request * 1e3:.2f} "
          f"ms per request, {server['handler_errors']:.0f} handler errors")
    print(load_note())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
