"""Trace store write throughput: rows/s sustained, writing realistic events into a real SQLite file.

Run from the repository root:
    .venv/bin/python bench/bench_trace_store.py [--seconds 10] [--dialogs 100] [--world default|small]
        [--profile]

Events come from real dialogs: ``--dialogs`` sample-world seeds played by the engine's executor on the
scripted backend into a MemorySink. They are then replayed into ``TraceStore`` (engine.store.trace_store:
the writer task, batched transactions, WAL, synchronous=NORMAL) again and again, each copy under new
dialog ids, for at least ``--seconds``; the figure is rows committed per second of wall time, the
producer (copying events with their new ids, in the same event loop, as the executor emits them)
included. It also prints what SQLite alone does with the same rows (plain sqlite3, one executemany
per statement run, one transaction per batch of the same size), which bounds what the store can reach.

``--profile`` prints the main thread's cProfile of the store run.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import anyio
import structlog
from anyio.lowlevel import checkpoint
from engine_rig import add_world_arguments, load_dialogs, machine
from machine import load_note

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.scripted import ScriptedClient
from agents.validators import default_validators
from engine.core.events import MemorySink, TraceEvent
from engine.store import TraceStore
from engine.store.schema import MIGRATIONS, Row, event_rows
from profiling.errors import ConvRecError


async def record_events(world: str, n: int) -> list[list[TraceEvent]]:
    """The events of ``n`` scripted dialogs, grouped by dialog in emission order."""
    _corpus, prepared = load_dialogs(world, n)
    client = ScriptedClient()
    validators = default_validators()
    sink = MemorySink()
    for d in prepared.inputs:
        ex = prepared.executor(d, client, validators, sink, run_id="bench")
        await ex.run(d.plan, d.context)
    groups: dict[str, list[TraceEvent]] = {}
    for e in sink.events:
        groups.setdefault(e.dialog_id, []).append(e)
    return list(groups.values())


async def replay_into(store: TraceStore, dialogs: Sequence[Sequence[TraceEvent]], seconds: float
                      ) -> tuple[int, float, float, int]:
    """Copies of the dialogs' events under new ids until ``seconds`` pass; (events, wall s, CPU s, copies)."""
    events = copies = 0
    cpu0, t0 = time.process_time(), time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        copies += 1
        for evs in dialogs:
            new = f"{evs[0].dialog_id}#{copies}"
            for e in evs:
                store.emit(e.model_copy(update={"dialog_id": new}))
            events += len(evs)
            await store.backpressure()
            await checkpoint()  # the executor yields between events too; the writer needs the loop
    await store.flush()
    return events, time.perf_counter() - t0, time.process_time() - cpu0, copies


def copy_cost(dialogs: Sequence[Sequence[TraceEvent]], rounds: int = 3) -> float:
    """CPU seconds per event of the producer's copying under a new id (bench work, not the store's)."""
    n = 0
    started = time.process_time()
    for k in range(rounds):
        for evs in dialogs:
            for e in evs:
                e.model_copy(update={"dialog_id": f"{e.dialog_id}#c{k}"})
                n += 1
    return (time.process_time() - started) / n


async def store_run(store_cls: type[TraceStore], db: Path, dialogs: Sequence[Sequence[TraceEvent]],
                    seconds: float, profile: bool, producer_s: float) -> tuple[str, float]:
    async with store_cls.open(db) as store:
        # Warm-up (schema pages, statement cache), not counted.
        await replay_into(store, dialogs[:5], 0.0)
        rows0, tx0 = store.rows_written, store.transactions
        prof = None
        if profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        events, wall, cpu, copies = await replay_into(store, dialogs, seconds)
        if prof is not None:
            prof.disable()
        rows, tx = store.rows_written - rows0, store.transactions - tx0
    rate = rows / wall
    own = cpu / rows - producer_s * events / rows
    line = (f"{store_cls.__module__}.{store_cls.__name__}: {rate:,.0f} rows/s sustained over {wall:.1f} s "
            f"({rows:,} rows from {events:,} events, {copies} copies of {len(dialogs)} dialogs; "
            f"{tx:,} transactions, {rows / max(tx, 1):.0f} rows each; "
            f"{db.stat().st_size / 2**20:.0f} MiB file); "
            f"process CPU {cpu / rows * 1e6:.1f} µs/row ({cpu / wall:.0%} of a core), of which the store "
            f"{own * 1e6:.1f} µs/row -> {1 / own:,.0f} rows/s for one core's worth of CPU")
    if prof is not None:
        import io
        import pstats

        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(15)
        line += "\n" + buf.getvalue()
    return line, rate


def sqlite_alone(db: Path, dialogs: Sequence[Sequence[TraceEvent]], batch: int, min_rows: int) -> str:
    """The same rows through plain sqlite3 (what the writer thread does, without any of the plumbing)."""
    rows: list[Row] = []
    copy = 0
    while len(rows) < min_rows:
        copy += 1
        for evs in dialogs:
            new = f"{evs[0].dialog_id}#{copy}"
            for e in evs:
                rows.extend(event_rows(e.model_copy(update={"dialog_id": new})))
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    for _v, _name, sql in MIGRATIONS:
        con.executescript(sql)
    cpu0, t0 = time.process_time(), time.perf_counter()
    for start in range(0, len(rows), batch):
        chunk = rows[start:start + batch]
        con.execute("BEGIN")
        k = 0
        while k < len(chunk):
            sql = chunk[k][0]
            end = k + 1
            while end < len(chunk) and chunk[end][0] == sql:
                end += 1
            con.executemany(sql, [r[1] for r in chunk[k:end]])
            k = end
        con.execute("COMMIT")
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    con.close()
    return (f"plain sqlite3, same rows and statement runs, {batch}-row transactions: "
            f"{len(rows) / wall:,.0f} rows/s ({len(rows):,} rows, CPU {cpu / len(rows) * 1e6:.1f} µs/row)")


async def bench(args: argparse.Namespace) -> list[str]:
    dialogs = await record_events(args.world, args.dialogs)
    n_events = sum(len(d) for d in dialogs)
    n_rows = sum(len(event_rows(e)) for d in dialogs for e in d)
    kinds: dict[str, int] = {}
    for d in dialogs:
        for e in d:
            kinds[e.kind] = kinds.get(e.kind, 0) + 1
    mix = ", ".join(f"{k} {v / n_events:.0%}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
    lines = [f"events of {len(dialogs)} scripted dialogs ({args.world} world): {n_events:,} events, "
             f"{n_rows:,} rows ({n_events / len(dialogs):.0f} per dialog); {mix}"]
    producer = copy_cost(dialogs)
    lines.append(f"producer (bench): copying an event under a new dialog id costs {producer * 1e6:.1f} µs "
                 "(measured apart; subtracted below to give the store's own CPU)")
    classes: list[type[TraceStore]] = [TraceStore]
    with tempfile.TemporaryDirectory() as tmp:
        for k, cls in enumerate(classes):
            db = Path(tmp) / f"store{k}.db"
            line, _rate = await store_run(cls, db, dialogs, args.seconds, args.profile, producer)
            print(line, flush=True)
            lines.append(line)
        lines.append(sqlite_alone(Path(tmp) / "plain.db", dialogs, 5000, 300_000))
    lines.append("target: >= 50,000 rows/s")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0, help="seconds of sustained writing (default: 10)")
    p.add_argument("--dialogs", type=int, default=100,
                   help="scripted dialogs whose events are replayed (default: 100)")
    p.add_argument("--profile", action="store_true", help="print the main thread's profile (default: off)")
    add_world_arguments(p, distinct=None)
    args = p.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(machine())
    print(load_note())
    try:
        lines = anyio.run(bench, args)
    except ConvRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    print(load_note())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
