"""A prototype for the lead: TraceStore with each batch's transaction run in ONE worker-thread hop.

engine.store.trace_store.TraceStore._transaction awaits aiosqlite once per run of equal statements (BEGIN,
each executemany or execute, COMMIT). Realistic events alternate statements (turn, model call, turn,
nine verdicts, attempt ended, ...), about 2.1 rows per run, so a 5,000-row batch costs ~2,400 thread
hops, each a queue put, a thread wake-up, a future resolved through the loop's self-pipe, and a GIL
hand-over both ways; on a busy machine every hop also waits for the OS to schedule the other thread.
Here the whole batch (BEGIN, the runs, COMMIT; ROLLBACK on error) is one function sent to aiosqlite's
thread: one hop per transaction. Same rows, same order, same atomicity.

This reaches into aiosqlite's private ``_execute`` / ``_conn`` because it is a bench prototype; the
engine version would give the writer its own ``sqlite3`` connection (``check_same_thread=False``) and
run the batch with ``anyio.to_thread.run_sync(write, rows, limiter=CapacityLimiter(1))``, keeping
aiosqlite for the read connection.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.store.schema import Row
from engine.store.trace_store import TraceStore

__all__ = ["FastTraceStore", "write_batch"]


def write_batch(con: sqlite3.Connection, rows: Sequence[Row]) -> None:
    """One transaction of ``rows`` in order; consecutive equal statements as one executemany."""
    con.execute("BEGIN")
    try:
        start = 0
        while start < len(rows):
            sql = rows[start][0]
            end = start + 1
            while end < len(rows) and rows[end][0] == sql:
                end += 1
            if end - start == 1:
                con.execute(sql, rows[start][1])
            else:
                con.executemany(sql, [r[1] for r in rows[start:end]])
            start = end
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


class FastTraceStore(TraceStore):
    """TraceStore whose batches are written in one thread hop each (see the module doc)."""

    async def _transaction(self, rows: Sequence[Row]) -> None:
        db = self._db
        await db._execute(write_batch, db._conn, rows)
