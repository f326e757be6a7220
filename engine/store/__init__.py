"""The SQLite trace store: the writer a run records into, and the one reader of stored runs."""

from engine.store.reader import (
    DialogData,
    RunData,
    RunDataError,
    list_runs,
    open_readonly,
    read_run,
    read_trace_rows,
)
from engine.store.trace_store import (
    RunInfo,
    RunStatus,
    SeedRow,
    TraceStore,
    TraceStoreError,
    check_integrity,
    pending_migrations,
    single_error,
)

__all__ = [
    "DialogData",
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
