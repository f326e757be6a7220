"""Client CPU per model call, side by side in one process run: bare SDK, httpx2 and aiohttp loops, the engine.

Run from the repository root (under the shared lock):
    flock /work/.heavy.lock .venv/bin/python bench/bench_call_path.py [--dialogs 500] [--concurrency 500]
        [--engine-client lean|sdk] [--world default|small]

One local OpenAI-compatible server in another process (bench/openai_server_proc.py: it answers each
call with the scripted realizer's turn for the directive in the prompt, so dialogs pass the
validators). Against it, in this order:

(c) the engine end to end, as ``engine.run`` wires it: ``--dialogs`` sample-world dialogs with
    ``--concurrency`` live at once and the same endpoint limit; directive, prompt, agents, gateway,
    the nine rule validators, every trace row in a real SQLite file, the dataset line of each dialog,
    the loop-lag gate at ``--loop-lag-target-ms`` (engine.run's default unless given);
    the model client is ``--engine-client`` (lean: HttpBackend over aiohttp, the default; sdk: the
    openai SDK backend). Every request it sends is kept (the messages only) for (a), (b) and (b2).
(a) a bare loop of ``AsyncOpenAI().chat.completions.create`` on the same requests, ``--concurrency``
    workers, doing nothing else (reads the answer text);
(b) the same bare loop with httpx2's AsyncClient (pooled, keep-alive), body encoded with orjson,
    answer read with orjson;
(b2) the same bare loop with aiohttp's ClientSession (pooled, keep-alive), same encoding.

Figures: calls, wall time, client CPU per call (``time.process_time`` of this process: every thread,
SQLite's writer included; each phase after a warm-up of its own) and the server's CPU per request of
each phase (its /proc figures), then
the ratios (b)/(a), (b2)/(a), (c)/(a) and (c)/(b2) (the engine over the bare loop of its own HTTP client).
Aims: (c) <= (a); one core >= 600 engine calls/s, i.e. (c) <= 1.67 ms.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import orjson
import structlog
from autogen_core.models import CreateResult, LLMMessage
from bench_engine_openai import KEY_ENV, run_with_server
from engine_rig import add_world_arguments, clone_inputs, engine_play, load_dialogs, machine
from machine import load_note

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.backends import BackendConfig
from agents.backends.base import RecordingClient
from agents.backends.http_backend import HttpBackend
from agents.backends.openai_backend import OpenAIBackend
from agents.backends.wire import to_chat_dicts
from engine.config import RunSettings
from engine.store import TraceStore
from profiling.errors import ConvRecError


def _keeping(cls: type[RecordingClient]) -> type[RecordingClient]:
    """``cls`` keeping the messages of every request it is sent (a reference each: no copy, no work)."""

    class Keeping(cls):  # type: ignore[valid-type,misc]
        kept: list[Sequence[LLMMessage]]

        async def create(self, messages: Sequence[LLMMessage], **kwargs: Any) -> CreateResult:
            self.kept.append(messages)
            return await super().create(messages, **kwargs)

    return Keeping


def _server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the server process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Phase = tuple[int, float, float, float]  # calls answered, wall s, client CPU s, server CPU s


async def _loop(bodies: Sequence[dict[str, Any]], concurrency: int,
                call: Callable[[dict[str, Any]], Awaitable[str]]) -> int:
    """``call`` on every body, ``concurrency`` workers at once; the number of answers read."""
    it = iter(bodies)
    answered = 0

    async def worker() -> None:
        nonlocal answered
        for body in it:
            text = await call(body)
            answered += bool(text)

    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    return answered


async def _timed(bodies: Sequence[dict[str, Any]], concurrency: int, server_pid: int,
                 call: Callable[[dict[str, Any]], Awaitable[str]]) -> Phase:
    """A warm-up on the first 50 bodies (imports, connections), then every body timed."""
    await _loop(bodies[:50], concurrency, call)
    s0, cpu0, wall0 = _server_cpu(server_pid), time.process_time(), time.perf_counter()
    answered = await _loop(bodies, concurrency, call)
    return answered, time.perf_counter() - wall0, time.process_time() - cpu0, _server_cpu(server_pid) - s0


async def _bare_sdk(base_url: str, bodies: Sequence[dict[str, Any]], concurrency: int, server_pid: int
                    ) -> Phase:
    import openai

    client = openai.AsyncOpenAI(api_key=os.environ[KEY_ENV], base_url=base_url, max_retries=0, timeout=120.0)

    async def call(body: dict[str, Any]) -> str:
        result = await client.chat.completions.create(**body)
        return result.choices[0].message.content or ""

    try:
        return await _timed(bodies, concurrency, server_pid, call)
    finally:
        await client.close()


async def _bare_httpx(base_url: str, bodies: Sequence[dict[str, Any]], concurrency: int, server_pid: int
                      ) -> Phase:
    import httpx2

    client = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {os.environ[KEY_ENV]}", "Content-Type": "application/json"},
        timeout=120.0, limits=httpx2.Limits(max_connections=None, max_keepalive_connections=1024))
    url = base_url + "/chat/completions"

    async def call(body: dict[str, Any]) -> str:
        response = await client.post(url, content=orjson.dumps(body))
        response.raise_for_status()
        return orjson.loads(response.content)["choices"][0]["message"]["content"] or ""

    try:
        return await _timed(bodies, concurrency, server_pid, call)
    finally:
        await client.aclose()


async def _bare_aiohttp(base_url: str, bodies: Sequence[dict[str, Any]], concurrency: int, server_pid: int
                        ) -> Phase:
    import aiohttp

    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=120.0),
        headers={"Authorization": f"Bearer {os.environ[KEY_ENV]}", "Content-Type": "application/json"})
    url = base_url + "/chat/completions"

    async def call(body: dict[str, Any]) -> str:
        async with session.post(url, data=orjson.dumps(body)) as response:
            response.raise_for_status()
            return orjson.loads(await response.read())["choices"][0]["message"]["content"] or ""

    try:
        return await _timed(bodies, concurrency, server_pid, call)
    finally:
        await session.close()


async def bench(args: argparse.Namespace, port: int, server_pid: int) -> list[str]:
    corpus, prepared = load_dialogs(args.world, args.distinct)
    dialogs = clone_inputs(prepared.inputs, args.dialogs)
    os.environ[KEY_ENV] = "bench-key-not-a-secret"
    base_url = f"http://127.0.0.1:{port}/v1"
    config = BackendConfig(kind="openai", model="test-model", base_url=base_url, api_key_env=KEY_ENV,
                           max_tokens=64, temperature=0.0, timeout_s=120.0, openai_client=args.engine_client)
    inner = _keeping(HttpBackend if args.engine_client == "lean" else OpenAIBackend)(config)
    inner.kept = []  # type: ignore[attr-defined]
    phases: dict[str, Phase] = {}
    with tempfile.TemporaryDirectory() as tmp:
        async with TraceStore.open(Path(tmp) / "trace.db") as store:
            # Warm-up: lazy imports, first-use caches and the first connections are not per call.
            warm = clone_inputs(prepared.inputs, min(8, len(prepared.inputs)))
            await engine_play(store, corpus, prepared, warm, inner, concurrency=args.concurrency,
                              llm_concurrency=args.concurrency, backend="openai", run_id="warmup",
                              loop_lag_target_ms=args.loop_lag_target_ms)
            await store.flush()
            inner.kept.clear()  # type: ignore[attr-defined]
            s0, cpu0, wall0 = _server_cpu(server_pid), time.process_time(), time.perf_counter()
            played = await engine_play(store, corpus, prepared, dialogs, inner, concurrency=args.concurrency,
                                       llm_concurrency=args.concurrency, backend="openai", keep_results=True,
                                       loop_lag_target_ms=args.loop_lag_target_ms)
            await store.flush()
            phases["c"] = (played.registry.stats()[0].succeeded, time.perf_counter() - wall0,
                           time.process_time() - cpu0, _server_cpu(server_pid) - s0)
            rows = store.rows_written
    await inner.close()
    kept: list[Sequence[LLMMessage]] = inner.kept  # type: ignore[attr-defined]
    bodies = [{"model": config.model, "messages": to_chat_dicts(m, model=config.model),
               "max_tokens": config.max_tokens, "temperature": config.temperature, "seed": config.seed}
              for m in kept]
    for name, loop in (("a", _bare_sdk), ("b", _bare_httpx), ("b2", _bare_aiohttp)):
        phases[name] = await loop(base_url, bodies, args.concurrency, server_pid)
        if phases[name][0] != len(bodies):
            raise ConvRecError(f"({name}) read {phases[name][0]} answers for {len(bodies)} requests")
    results = played.results
    accepted = sum(r.status == "accepted" for r in results)
    per = {k: cpu / calls for k, (calls, _w, cpu, _s) in phases.items()}
    labels = {"a": "(a) bare AsyncOpenAI loop", "b": "(b) bare httpx2 loop     ",
              "b2": "(b2) bare aiohttp loop   ",
              "c": "(c) engine, " + ("lean (aiohttp)" if args.engine_client == "lean" else "sdk           ")}
    lines = [f"{len(results)} dialogs ({len(prepared.inputs)} distinct seeds, {args.world} world), "
             f"{accepted} accepted; concurrency {args.concurrency} (dialogs live, endpoint limit and bare "
             f"workers); engine wrote {rows:,} trace rows"]
    for k in ("a", "b", "b2", "c"):
        calls, wall, cpu, server = phases[k]
        lines.append(f"{labels[k]}: {calls:,} calls in {wall:.1f} s = {calls / wall:.0f} calls/s; client CPU "
                     f"{cpu:.2f} s = {per[k] * 1e3:.3f} ms per call ({1 / per[k]:.0f} calls/s per core); "
                     f"server {server / calls * 1e3:.2f} ms per request")
    lines.append(f"ratios of client CPU per call: (b)/(a) {per['b'] / per['a']:.2f}, (b2)/(a) "
                 f"{per['b2'] / per['a']:.2f}, (c)/(a) {per['c'] / per['a']:.2f}, (c)/(b2) "
                 f"{per['c'] / per['b2']:.2f}; aims: (c)/(a) <= 1.00, (c) <= 1.667 ms (600 calls/s per core)")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dialogs", type=int, default=500, help="dialogs the engine plays (default: 500)")
    p.add_argument("--concurrency", type=int, default=500,
                   help="dialogs live at once = endpoint limit = bare-loop workers (default: 500)")
    p.add_argument("--engine-client", choices=("lean", "sdk"), default="lean",
                   help="the engine's openai client: lean (aiohttp) or sdk (default: lean)")
    lag_default = RunSettings.model_fields["loop_lag_target_ms"].default
    p.add_argument("--loop-lag-target-ms", type=float, default=lag_default,
                   help="the engine's loop-lag gate, as engine.run's --loop-lag-target-ms (0: off) "
                   f"(default: {lag_default:g}, engine.run's)")
    add_world_arguments(p, distinct=300)
    args = p.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(machine())
    print(load_note())
    try:
        lines, server = run_with_server(lambda port, pid: bench(args, port, pid))
    except ConvRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    print(f"server (other process): {server['requests']:.0f} requests, at most {server['in_flight_max']:.0f} "
          f"in flight, {server['handler_errors']:.0f} handler errors")
    print(load_note())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
