"""The SQLite trace store: every event of every dialog, the dataset lines, and the runs they belong to.

One aiosqlite connection writes, a second (read-only) one reads. The database is in WAL mode with
``synchronous=NORMAL``: a transaction is atomic and survives a killed process (SIGKILL), and readers do
not block the writer. The executor's ``emit`` is synchronous and must not wait, so events go on a queue
that one writer task drains in batched transactions; the queue is bounded softly: ``backpressure()``
(awaited by the LLM call gateway before every model call) holds new calls while more than
``max_pending`` items wait, so memory stays bounded whatever the write speed (events per call are few).
A failed write (a full disk, a read-only file) stops the writer and every later ``emit``, ``flush`` or
``backpressure`` raises :class:`TraceStoreError` naming the database and the reason.

A run is written by the one process holding its lease (:mod:`engine.store.lease`): recording a run
takes it, resuming takes it over when its owner is gone, a heartbeat task renews it, and every write
transaction checks it first. A file that is not a ConvRec store (another program's SQLite database,
or no SQLite at all) is refused before anything is written to it.

Schema and event-to-row mapping: :mod:`engine.store.schema`; what is read: :mod:`engine.store.queries`.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import anyio
import anyio.abc
import orjson

from engine.core.events import TraceEvent
from engine.store import lease as leases
from engine.store import queries
from engine.store.lease import LeaseLostError, RunLease
from engine.store.migrations import inspect_existing, migrate, prepare
from engine.store.rows import RunInfo, RunStatus, SeedRow, TraceStoreError
from engine.store.schema import PER_DIALOG_TABLES, Row, event_rows

__all__ = ["TraceStore", "single_error"]

T = TypeVar("T")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _explain(exc: BaseException) -> str:
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return f"the database is read-only ({text}); choose a writable --db path"
    if "disk is full" in text or "disk I/O" in text:
        return f"no space left for the database ({text}); free space or choose another --db path"
    if "unable to open" in text:
        return f"cannot open the database file ({text}); check that its folder exists and is writable"
    return text


def single_error(group: BaseExceptionGroup) -> BaseException:
    """The one exception of a (nested) group, or the group itself when it holds several."""
    leaves: list[BaseException] = []

    def walk(e: BaseException) -> None:
        if isinstance(e, BaseExceptionGroup):
            for sub in e.exceptions:
                walk(sub)
        else:
            leaves.append(e)

    walk(group)
    return leaves[0] if len(leaves) == 1 else group


class TraceStore:
    """Open with ``async with TraceStore.open(path) as store:``; see the module doc."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection, *,
                 max_pending: int, batch_rows: int) -> None:
        self.path = path
        self._db = writer
        self._ro = reader
        self._pending: deque[TraceEvent | Row] = deque()
        self._max_pending = max_pending
        self._batch = batch_rows
        self._wake = anyio.Event()
        self._committed_event = anyio.Event()
        self._enqueued = 0
        self._committed = 0
        self._closing = False
        self._error: TraceStoreError | None = None
        self._lease: RunLease | None = None
        self._beat = anyio.CancelScope()
        self._tg: anyio.abc.TaskGroup | None = None
        self.heartbeat_s = leases.HEARTBEAT_S
        self.rows_written = 0
        self.transactions = 0

    # -- lifecycle -------------------------------------------------------------------------------
    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path, *, max_pending: int = 50_000, batch_rows: int = 5_000
                   ) -> AsyncIterator[TraceStore]:
        """The store at ``path`` (created and migrated as needed), its writer running until exit."""
        path = Path(path)
        try:
            # Before anything touches the file: another program's database is refused unchanged.
            problem = inspect_existing(path)
        except sqlite3.Error as exc:
            raise TraceStoreError(path, _explain(exc)) from exc
        if problem is not None:
            raise TraceStoreError(path, problem)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Opened once here first: aiosqlite's failed connect stops its worker thread without waiting
            # for it, and the thread then reports to a closed event loop (a traceback after our error).
            sqlite3.connect(path).close()
            writer = await aiosqlite.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise TraceStoreError(path, _explain(exc)) from exc
        try:
            await prepare(writer)
            await migrate(writer)
            reader = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True)
        except (OSError, sqlite3.Error) as exc:
            await writer.close()
            raise TraceStoreError(path, _explain(exc)) from exc
        store = cls(path, writer, reader, max_pending=max_pending, batch_rows=batch_rows)
        try:
            async with anyio.create_task_group() as tg:
                store._tg = tg
                tg.start_soon(store._writer)
                try:
                    yield store
                finally:
                    with anyio.CancelScope(shield=True):
                        store._beat.cancel()
                        store._closing = True
                        store._wake.set()
        except BaseExceptionGroup as group:
            # The caller's own error, not wrapped in the writer's task group.
            raise single_error(group) from None
        finally:
            if store._lease is not None:  # not released (an error): a later resume may take it over
                leases.forget(store._lease)
            with anyio.CancelScope(shield=True):
                await reader.close()
                await writer.close()
        if store._error is not None:
            raise store._error

    # -- writing ---------------------------------------------------------------------------------
    def emit(self, event: TraceEvent) -> None:
        """Queue one trace event (a TraceSink); never waits."""
        self._put(event)

    def _put(self, item: TraceEvent | Row) -> None:
        if self._error is not None:
            raise self._error
        self._pending.append(item)
        self._enqueued += 1
        self._wake.set()

    def put_rows(self, rows: Iterable[Row]) -> None:
        """Queue raw statements, written in order with the events."""
        for row in rows:
            self._put(row)

    @property
    def pending(self) -> int:
        """Items queued and not yet committed."""
        return self._enqueued - self._committed

    async def backpressure(self) -> None:
        """Wait while the queue is over ``max_pending`` (until it is under half of it)."""
        if self.pending <= self._max_pending:
            return
        while self.pending > self._max_pending // 2:
            await self._wait_commit()

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        target = self._enqueued
        while self._committed < target:
            await self._wait_commit()

    async def _wait_commit(self) -> None:
        if self._error is not None:
            raise self._error
        event = self._committed_event
        await event.wait()
        if self._error is not None:
            raise self._error

    async def _writer(self) -> None:
        try:
            while True:
                if not self._pending:
                    if self._closing:
                        return
                    self._wake = anyio.Event()
                    await self._wake.wait()
                    continue
                items = [self._pending.popleft() for _ in range(min(self._batch, len(self._pending)))]
                rows: list[Row] = []
                for item in items:
                    if isinstance(item, tuple):
                        rows.append(item)
                    else:
                        rows.extend(event_rows(item))
                await self._transaction(rows)
                self._committed += len(items)
                self.rows_written += len(rows)
                self.transactions += 1
                done, self._committed_event = self._committed_event, anyio.Event()
                done.set()
        except LeaseLostError as exc:
            self._error = exc
            self._committed_event.set()
        except (OSError, sqlite3.Error) as exc:
            self._error = TraceStoreError(self.path, _explain(exc))
            self._committed_event.set()
        except BaseException:
            self._committed_event.set()
            raise

    async def _transaction(self, rows: Sequence[Row]) -> None:
        # The whole batch in one hop to aiosqlite's thread (its ``_execute``, the same call its public
        # methods use): one await per statement cost two thread hops each, half the store's CPU.
        await self._db._execute(_write_batch, self._db._conn, rows, self._lease, self.path)

    # -- the run's lease -------------------------------------------------------------------------
    def _hold(self, lease: RunLease) -> None:
        """Fence every later write with ``lease`` and keep it alive with a heartbeat."""
        # One heartbeat at a time: a store that records a second run stops the first one's (left
        # running, it would keep the store's task group, and so its exit, waiting forever).
        self._beat.cancel()
        self._lease = lease
        self._beat = anyio.CancelScope()
        if self._tg is not None:
            self._tg.start_soon(self._heartbeat, lease, self._beat)

    async def _heartbeat(self, lease: RunLease, scope: anyio.CancelScope) -> None:
        with scope:
            while self._error is None:
                await anyio.sleep(self.heartbeat_s)
                try:
                    await self._db._execute(leases.heartbeat, self._db._conn, lease, self.path)
                except LeaseLostError as exc:
                    self._fail(exc)
                except sqlite3.Error as exc:
                    self._fail(TraceStoreError(self.path, _explain(exc)))

    def _fail(self, error: TraceStoreError) -> None:
        """Stop the store: every later write, flush or backpressure raises ``error``."""
        if self._error is None:
            self._error = error
        self._committed_event.set()
        self._wake.set()

    async def take_over(self, run_id: str) -> str | None:
        """Take the lease of the existing run ``run_id`` (RunBusyError while another process plays it);
        who held it before, when a stale lease was taken over."""
        await self.flush()
        try:
            lease, before = await self._db._execute(leases.acquire, self._db._conn, run_id)
        except sqlite3.Error as exc:
            raise TraceStoreError(self.path, _explain(exc)) from exc
        self._hold(lease)
        return before

    async def release_lease(self) -> None:
        """Flush, then give the run's lease up (the run may be resumed, replayed and exported)."""
        lease = self._lease
        if lease is None:
            return
        self._beat.cancel()
        if self._error is None:
            await self.flush()
            try:
                await self._db._execute(leases.release, self._db._conn, lease)
            except sqlite3.Error as exc:
                raise TraceStoreError(self.path, _explain(exc)) from exc
        self._lease = None

    async def refuse_if_live(self, run_id: str, what: str) -> None:
        """RunBusyError when another process plays ``run_id`` now (``what``: the refused action)."""
        await self._read(leases.refuse_if_live, run_id, what)

    # -- runs ------------------------------------------------------------------------------------
    async def begin_run(self, info: RunInfo, seeds: Sequence[SeedRow],
                        personas: dict[str, tuple[str, dict[str, Any]]]) -> None:
        """Record a new run with its planned dialogs (seeds, plans) and personas (role -> name, spec),
        and take its lease.

        In one transaction, written now (not queued): a run is recorded whole or not at all, however
        many seeds it has, so a kill while it is written never leaves a run that resume cannot match.
        """
        if await self._read(queries.run_row, info.run_id) is not None:
            raise TraceStoreError(self.path, f"a run {info.run_id!r} is already recorded here; resume it "
                                  "with --resume --run-id, or give a new run another --run-id")
        lease, lease_row = leases.new_lease(info.run_id)
        rows: list[Row] = [(
            "INSERT INTO runs (run_id, status, started_at, ended_at, seed, backend, model, n_dialogs, "
            "config_json, note, input_json) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (info.run_id, info.status, info.started_at, info.ended_at, info.seed, info.backend, info.model,
             info.n_dialogs, orjson.dumps(info.config).decode(), info.note,
             orjson.dumps(info.input).decode() if info.input is not None else None)), lease_row]
        for role, (name, spec) in personas.items():
            rows.append(("INSERT INTO personas (run_id, role, name, spec_json) VALUES (?,?,?,?)",
                         (info.run_id, role, name, orjson.dumps(spec).decode())))
        for s in seeds:
            rows.append(("INSERT OR IGNORE INTO plans (plan_hash, path_json, plan_json) VALUES (?,?,?)",
                         (s.plan_hash, orjson.dumps(s.plan_path).decode(), s.plan_json)))
            rows.append(("INSERT INTO seeds (run_id, dialog_id, position, user_id, split, target_item, "
                         "target_time, n_history, negatives_json, plan_hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
                         (info.run_id, s.dialog_id, s.position, s.user_id, s.split, s.target_item,
                          s.target_time, s.n_history, orjson.dumps(s.negatives).decode(), s.plan_hash)))
        await self.flush()
        try:
            await self._db._execute(_write_batch, self._db._conn, rows, None, self.path)
        except sqlite3.Error as exc:
            leases.forget(lease)
            raise TraceStoreError(self.path, _explain(exc)) from exc
        self._hold(lease)

    def set_input(self, run_id: str, report: dict[str, Any] | None) -> None:
        """Queue the input counts of a resumed run (its data loaded again)."""
        self._put(("UPDATE runs SET input_json=? WHERE run_id=?",
                   (orjson.dumps(report).decode() if report is not None else None, run_id)))

    def finish_dialog(self, run_id: str, dialog_id: str, record: dict[str, Any]) -> None:
        """Queue the dataset line of an ended dialog (after its events: it marks the dialog complete)."""
        self._put(("UPDATE dialogs SET record_json=? WHERE run_id=? AND dialog_id=?",
                   (orjson.dumps(record).decode(), run_id, dialog_id)))

    def set_run_status(self, run_id: str, status: RunStatus, note: str | None = None) -> None:
        """Queue a status change of a run (ended_at is set unless it goes back to running)."""
        ended = None if status == "running" else _now()
        self._put(("UPDATE runs SET status=?, ended_at=?, note=COALESCE(?, note) WHERE run_id=?",
                   (status, ended, note, run_id)))

    async def reset_incomplete(self, run_id: str) -> list[str]:
        """Delete the rows of the run's dialogs that started but have no dataset line; their ids."""
        return await self.reset_dialogs(run_id, None)

    async def reset_dialogs(self, run_id: str, dialog_ids: Sequence[str] | None) -> list[str]:
        """Like :meth:`reset_incomplete`, among ``dialog_ids`` only (None: all of the run's).

        What a cluster run does for the dialogs of a shard whose worker died: the other shards' running
        dialogs have no dataset line yet either, and must keep their rows.
        """
        await self.flush()
        try:
            cur = await self._db.execute(
                "SELECT dialog_id FROM dialogs WHERE run_id=? AND record_json IS NULL ORDER BY dialog_id",
                (run_id,))
            ids = [r[0] for r in await cur.fetchall()]
            if dialog_ids is not None:
                wanted = set(dialog_ids)
                ids = [i for i in ids if i in wanted]
            if ids:
                await self._db.execute("BEGIN")
                for table in PER_DIALOG_TABLES:
                    await self._db.executemany(f"DELETE FROM {table} WHERE run_id=? AND dialog_id=?",
                                               [(run_id, i) for i in ids])
                await self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise TraceStoreError(self.path, _explain(exc)) from exc
        return ids

    # -- reading (the read-only connection sees what is committed) -------------------------------
    async def _read(self, query: Callable[..., T], *args: Any) -> T:
        """``query(connection, *args)`` on the read connection's thread (one hop per query)."""
        try:
            self._ro.row_factory = sqlite3.Row
            return await self._ro._execute(query, self._ro._conn, *args)
        except sqlite3.Error as exc:
            raise TraceStoreError(self.path, _explain(exc)) from exc

    async def runs(self) -> list[RunInfo]:
        """Every run of the database, oldest first."""
        return [queries.run_info(r) for r in await self._read(queries.all_runs)]

    async def run(self, run_id: str | None = None) -> RunInfo:
        """One run by id, or the latest when None; TraceStoreError when there is none."""
        row = await self._read(queries.run_row, run_id)
        if row is None:
            raise TraceStoreError(self.path, f"no run {run_id!r}" if run_id else "no runs yet")
        return queries.run_info(row)

    async def seeds(self, run_id: str) -> list[SeedRow]:
        """The run's planned dialogs in dataset order."""
        return await self._read(queries.seeds, run_id)

    async def completed(self, run_id: str) -> dict[str, str]:
        """Dialog id -> status of the run's complete dialogs (those with a dataset line)."""
        return await self._read(queries.completed, run_id)

    async def records(self, run_id: str) -> list[dict[str, Any]]:
        """The dataset lines of the run's complete dialogs, in dataset order."""
        return [orjson.loads(text) for _, text in await self._read(queries.record_rows, run_id)]

    async def recorded_responses(self, run_id: str, dialog_id: str) -> dict[str, list[str]]:
        """Request hash -> the answers recorded for it in this dialog, in call order (replay's input)."""
        return await self._read(queries.recorded_responses, run_id, dialog_id)

    async def call_totals(self, run_id: str) -> dict[str, float]:
        """The run's model calls added up (see :func:`engine.store.queries.call_totals`)."""
        return await self._read(queries.call_totals, run_id)

    async def realizer_totals(self, run_id: str) -> dict[str, dict[str, int]]:
        """Accepted dialogs' turns and rewrites per realizer (see :func:`queries.realizer_totals`)."""
        return await self._read(queries.realizer_totals, run_id)

    async def table(self, table: str, run_id: str, dialog_id: str | None = None) -> list[dict[str, Any]]:
        """Rows of one per-run table (of one dialog when given), in event order."""
        return await self._read(queries.table_rows, table, run_id, dialog_id)


def _write_batch(con: sqlite3.Connection, rows: Sequence[Row], lease: RunLease | None, path: Path) -> None:
    """One transaction (fenced by ``lease``: LeaseLostError, nothing written, when it is no longer
    ours); consecutive rows with the same statement go in one executemany."""
    con.execute("BEGIN IMMEDIATE" if lease is not None else "BEGIN")
    try:
        if lease is not None:
            leases.check_fence(con, lease, path)
        start = 0
        while start < len(rows):
            sql = rows[start][0]
            end = start + 1
            while end < len(rows) and rows[end][0] == sql:
                end += 1
            con.executemany(sql, [r[1] for r in rows[start:end]])
            start = end
        con.execute("COMMIT")
    except BaseException:
        # SQLite may already have rolled back (a full disk or I/O error during COMMIT); a failing
        # ROLLBACK must not hide the error that says what went wrong.
        if con.in_transaction:
            with suppress(sqlite3.Error):
                con.execute("ROLLBACK")
        raise


