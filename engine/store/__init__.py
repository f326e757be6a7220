"""The SQLite trace store: the writer a run records into, and the one reader of stored runs.

- :mod:`~engine.store.trace_store`: :class:`TraceStore`, one writer task, batched transactions, WAL;
- :mod:`~engine.store.schema` and :mod:`~engine.store.migrations`: the tables, event rows, migrations;
- :mod:`~engine.store.queries`: every read of a run (the store's and the exports' and reports');
- :mod:`~engine.store.reader`: a run read back whole (:func:`read_run`) for exports and reports;
- :mod:`~engine.store.rows`: RunInfo, SeedRow and the store's errors;
- :mod:`~engine.store.lease`: one owner per live run (a lease with a heartbeat, fenced writes).
"""

from engine.store.lease import LeaseLostError, RunBusyError
from engine.store.migrations import check_integrity, pending_migrations
from engine.store.reader import DialogData, RunData, list_runs, open_readonly, read_run, read_trace_rows
from engine.store.rows import RunDataError, RunInfo, RunStatus, SeedRow, TraceStoreError
from engine.store.trace_store import TraceStore, single_error

__all__ = [
    "DialogData",
    "LeaseLostError",
    "RunBusyError",
    "RunData",
    "RunDataError",
    "RunInfo",
    "RunStatus",
    "SeedRow",
    "TraceStore",
    "TraceStoreError",
    "check_integrity",
    "list_runs",
    "open_readonly",
    "pending_migrations",
    "read_run",
    "read_trace_rows",
    "single_error",
]
