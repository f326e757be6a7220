"""Overhead of the Ray executor against the local one, for the same run on this machine, side by side.

Run from the repository root:
    .venv/bin/python bench/bench_engine_ray.py [--dialogs 400] [--rounds 2] [--actors 1 2]

Each round plays the same scripted run (default sample world, same seed, same dialogs) with
``python -m engine.run`` in a fresh process, as a user would: once with ``--executor local``, then with
``--executor ray`` for each ``--actors`` figure (each starts its own local Ray cluster). Stage 1 is
cached before the first round, so every path pays the same planning. Reported per path, medians: wall
seconds of the whole command (Ray's start-up included), the run's own ``elapsed_s`` (store opened to
dataset written: start-up excluded), dialogs/s on that, the ratio to the local path (the overhead with
1 actor; with 2 actors on 2 cores it may be a speed-up), the mean ms a model call queued, and the
round trips to the cluster limiter per model call. Every dataset must equal the local one (checked).

Then the cluster limiter alone (the one actor every shard's quota requests go to): ``--leases`` bare
round trips (a ``draw`` with no bucket) from ``--callers`` concurrent tasks of the driver, per second:
the ceiling of quota requests the whole cluster can make to one limiter actor. Each Ray run also
reports its round trips to the limiter per model call.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import orjson
import ray
from machine import load_note


def _play(args: list[str], folder: Path) -> tuple[float, bytes, dict]:  # type: ignore[type-arg]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "engine.run", *args, "--db", str(folder / "run.db"),
                           "--out", str(folder / "out")], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"engine.run exited {done.returncode}: {done.stderr[-2000:]}")
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
        _play([*base[:3], "1", "--quiet"], root / "warm")
        paths = [("local", [])] + [(f"ray x{n}", ["--executor", "ray", "--actors", str(n)]) for n in a.actors]
        walls: dict[str, list[float]] = {name: [] for name, _ in paths}
        elapsed: dict[str, list[float]] = {name: [] for name, _ in paths}
        waits: dict[str, float] = {}
        trips: dict[str, float] = {}
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
                elapsed[name].append(summary["elapsed_s"])
                [ep] = summary["endpoints"]
                waits[name] = ep["queued_s"] / max(ep["calls"], 1)
                trips[name] = summary.get("ray", {}).get("limiter_round_trips", 0) / max(ep["calls"], 1)
        ray.init(include_dashboard=False, namespace="convrec", configure_logging=False, log_to_driver=False)
        lease_rate = anyio.run(_limiter_rate, a.leases, a.callers)
        ray.shutdown()
    local = statistics.median(elapsed["local"])
    print(f"{a.dialogs} scripted dialogs, concurrency {a.concurrency} per shard, {a.rounds} rounds "
          "(median wall of the whole engine.run, planning included)")
    print(f"{'path':<10} {'wall s':>8} {'run s':>8} {'dialogs/s':>10} {'x local':>8} {'queued ms/call':>15} "
          f"{'limiter trips/call':>19}")
    for name, _ in paths:
        w, e = statistics.median(walls[name]), statistics.median(elapsed[name])
        print(f"{name:<10} {w:8.2f} {e:8.2f} {a.dialogs / e:10.1f} {e / local:8.2f} "
              f"{1000 * waits[name]:15.2f} {trips[name]:19.4f}")
    print(f"cluster limiter: {lease_rate:,.0f} round trips/s ({a.callers} concurrent callers, "
          f"{a.leases:,} round trips)")
    sys.stdout.flush()


async def _limiter_rate(n: int, callers: int) -> float:
    from engine.cluster.limits import ClusterLimits

    limiter = ray.remote(num_cpus=0, max_concurrency=10_000)(ClusterLimits).remote({"max_concurrency": 64})
    await limiter.stats.remote()  # started
    left = n

    async def caller() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await limiter.draw.remote("ep", "requests", 1)  # no bucket: the bare round trip

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(callers):
            tg.start_soon(caller)
    rate = n / (time.perf_counter() - started)
    ray.kill(limiter)
    return rate


if __name__ == "__main__":
    main()
