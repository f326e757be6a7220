"""Overhead of the Ray executor against the local one, for the same run on this machine, side by side.

Run from the repository root:
    .venv/bin/python bench/bench_engine_ray.py [--dialogs 400] [--rounds 2] [--actors 1 2]

Each round plays the same scripted run (default sample world, same seed, same dialogs) with
``python -m engine.run`` in this process: once with ``--executor local``, then with ``--executor ray``
for each ``--actors`` figure, on a local Ray cluster started once before the rounds (its start-up
time is printed apart: a long-lived cluster pays it once). Stage 1 is cached before the first round,
so every path pays the same planning. Reported per path: median wall seconds of the whole command,
dialogs/s, and the ratio to the local path (the overhead with 1 actor; with 2 actors on 2 cores it
may be a speed-up), plus the mean seconds a model call waited for its cluster lease. Every dataset
must equal the local one (checked).

Then the cluster limiter alone (the one actor every model call of a cluster run visits): ``--leases``
acquire + release pairs from ``--callers`` concurrent tasks of the driver, as leases per second: the
ceiling of model calls per second the whole cluster can make through one limiter actor.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
import orjson
import ray
from machine import load_note

from engine.run import main as engine_run


def _play(args: list[str], folder: Path) -> tuple[float, bytes, dict]:  # type: ignore[type-arg]
    started = time.perf_counter()
    rc = engine_run([*args, "--db", str(folder / "run.db"), "--out", str(folder / "out")])
    wall = time.perf_counter() - started
    if rc != 0:
        raise SystemExit(f"engine.run exited {rc}")
    summary = orjson.loads((folder / "out" / "summary.json").read_bytes())
    return wall, (folder / "out" / "dialogs.jsonl").read_bytes(), summary


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dialogs", type=int, default=400)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--actors", type=int, nargs="+", default=[1, 2])
    p.add_argument("--concurrency", type=int, default=8, help="live dialogs per shard (and locally)")
    p.add_argument("--leases", type=int, default=20_000, help="limiter part: leases to take and give back")
    p.add_argument("--callers", type=int, default=64, help="limiter part: concurrent callers")
    a = p.parse_args()
    base = ["--backend", "scripted", "--dialogs", str(a.dialogs), "--concurrency", str(a.concurrency),
            "--quiet", "--run-id", "bench"]
    print(f"# {load_note()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        engine_run([*base[:3], "1", "--quiet", "--db", str(root / "warm.db"), "--out", str(root / "warm")])
        started = time.perf_counter()
        ray.init(include_dashboard=False, namespace="convrec", configure_logging=False, log_to_driver=False)
        print(f"ray cluster start: {time.perf_counter() - started:.1f} s "
              f"({int(ray.cluster_resources().get('CPU', 0))} CPUs)")
        paths = [("local", [])] + [(f"ray x{n}", ["--executor", "ray", "--actors", str(n)]) for n in a.actors]
        walls: dict[str, list[float]] = {name: [] for name, _ in paths}
        waits: dict[str, float] = {}
        reference: bytes | None = None
        k = 0
        for _ in range(a.rounds):
            for name, extra in paths:
                k += 1
                folder = root / f"run{k}"
                wall, data, summary = _play([*base, *extra], folder)
                if reference is None:
                    reference = data
                elif data != reference:
                    raise SystemExit(f"{name}: the dataset differs from the local run's")
                walls[name].append(wall)
                [ep] = summary["endpoints"]
                waits[name] = ep["queued_s"] / max(ep["calls"], 1)
        lease_rate = anyio.run(_limiter_rate, a.leases, a.callers)
        ray.shutdown()
    local = statistics.median(walls["local"])
    print(f"{a.dialogs} scripted dialogs, concurrency {a.concurrency} per shard, {a.rounds} rounds "
          "(median wall of the whole engine.run, planning included)")
    print(f"{'path':<10} {'wall s':>8} {'dialogs/s':>10} {'x local':>8} {'queued ms/call':>15}")
    for name, _ in paths:
        w = statistics.median(walls[name])
        print(f"{name:<10} {w:8.2f} {a.dialogs / w:10.1f} {w / local:8.2f} {1000 * waits[name]:15.2f}")
    print(f"cluster limiter: {lease_rate:,.0f} leases/s (acquire + release, {a.callers} concurrent callers, "
          f"{a.leases:,} leases)")
    sys.stdout.flush()


async def _limiter_rate(n: int, callers: int) -> float:
    from engine.cluster_limits import ClusterLimits

    limiter = ray.remote(num_cpus=0, max_concurrency=10_000)(ClusterLimits).remote({"max_concurrency": 64})
    await limiter.stats.remote()  # started
    left = n

    async def caller() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            lease = await limiter.acquire.remote("bench", "ep", 0)
            limiter.release.remote(lease, 0)

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(callers):
            tg.start_soon(caller)
    await limiter.stats.remote()  # every release before it has been handled (the actor's queue is FIFO)
    rate = n / (time.perf_counter() - started)
    ray.kill(limiter)
    return rate


if __name__ == "__main__":
    main()
