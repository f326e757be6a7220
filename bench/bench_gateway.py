"""Benchmark the LLM call gateway: CPU it adds per call, and throughput at high concurrency.

Against an in-process FakeChatClient (this measures everything but the HTTP figure
that way): the per-call CPU of a direct call, of a ManagedClient with only its limiter, and with rpm
and tpm buckets too; then N concurrent callers, each making calls of a fixed latency, through an
endpoint limited to N, as calls/s against the ideal N / latency. Run from the repository root:
    .venv/bin/python bench/bench_gateway.py [--calls N] [--concurrency N] [--latency-ms N] [--rounds N]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from pathlib import Path

import anyio
import structlog
from autogen_core.models import LLMMessage, UserMessage
from machine import load_note

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.backends import FakeChatClient
from engine.gateway import EndpointLimits, EndpointRegistry

PROMPT: list[LLMMessage] = [UserMessage(content="Which hiking boots keep feet dry?", source="user")]


async def cpu_per_call(calls: int) -> list[str]:
    out = []
    plain = FakeChatClient(lambda ms: "fine, thanks")
    variants = {
        "direct FakeChatClient": plain,
        "ManagedClient, limiter only": EndpointRegistry().wrap(FakeChatClient(lambda ms: "fine, thanks"),
                                                               EndpointLimits(max_concurrency=8)),
        "ManagedClient, limiter + rpm + tpm buckets": EndpointRegistry().wrap(
            FakeChatClient(lambda ms: "fine, thanks"),
            EndpointLimits(max_concurrency=8, rpm=1e12, tpm=1e15)),
    }
    base = None
    for name, client in variants.items():
        for _ in range(200):  # warm-up
            await client.create(PROMPT)
        cpu = time.process_time()
        for _ in range(calls):
            await client.create(PROMPT)
        us = (time.process_time() - cpu) / calls * 1e6
        base = us if base is None else base
        extra = "" if us is base else f" (+{us - base:.1f} us over direct)"
        out.append(f"cpu per call, {name}: {us:.1f} us{extra}  [{calls} sequential calls]")
    return out


async def throughput(concurrency: int, latency_s: float, rounds: int) -> str:
    async def slow(_: object) -> str:
        await anyio.sleep(latency_s)
        return "ok"

    client = EndpointRegistry().wrap(FakeChatClient(slow), EndpointLimits(max_concurrency=concurrency))

    async def caller() -> None:
        for _ in range(rounds):
            await client.create(PROMPT)

    started = time.perf_counter()
    cpu = time.process_time()
    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(caller)
    wall = time.perf_counter() - started
    cpu_used = time.process_time() - cpu
    calls = concurrency * rounds
    ideal = concurrency / latency_s
    stats = client.endpoint.stats()
    return (f"throughput, {concurrency} concurrent callers x {rounds} calls of {latency_s * 1000:.0f} ms, "
            f"limit {concurrency}: {calls / wall:,.0f} calls/s = {calls / wall / ideal:.1%} of ideal "
            f"{ideal:,.0f}/s; wall {wall:.2f} s, cpu {cpu_used / calls * 1e6:.0f} us/call, "
            f"max in flight {stats.max_in_flight}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=20_000,
                    help="sequential calls per CPU figure (default 20000)")
    ap.add_argument("--concurrency", type=int, default=2000, help="concurrent callers (default 2000)")
    ap.add_argument("--latency-ms", type=float, default=200.0, help="fake call latency (default 200)")
    ap.add_argument("--rounds", type=int, default=5, help="calls per caller (default 5)")
    args = ap.parse_args()
    # The backends log every call at debug level; a bench measures the gateway, not the console.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(f"machine: {platform.platform()} | cpus: {os.cpu_count()} | python {platform.python_version()}")
    print(load_note())
    for line in anyio.run(cpu_per_call, args.calls):
        print(line)
    print(anyio.run(throughput, args.concurrency, args.latency_ms / 1000, args.rounds))
    print(load_note())


if __name__ == "__main__":
    main()
