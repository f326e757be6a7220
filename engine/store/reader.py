"""One run read back from its SQLite trace store: dialogs with their final plans, attempts and verdicts.

What exports and reports read, with the store's own queries (:mod:`engine.store.queries`) on a plain
read-only ``sqlite3`` connection of their own (never the writer): a file that another process is
writing is read as of its last commit. A dialog is read only when it is
complete (its dataset line, ``dialogs.record_json``, is set); the line is the source of truth for the
dataset, the other tables add what the trace knows (the plan's bindings, each node attempt and the
validators' verdicts, the model calls). A run that another process is playing now (a live lease,
:mod:`engine.store.lease`) is refused: half a run read as if it were whole is worse than an error; a
run left ``running`` by a process that died reads as ``interrupted``.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from engine.store import queries
from engine.store.lease import lease_row, lease_state, refuse_if_live
from engine.store.rows import RunDataError
from planners.plan import DialogPlan

__all__ = [
    "DialogData",
    "RunData",
    "RunDataError",
    "list_runs",
    "open_readonly",
    "read_run",
    "read_trace_rows",
]


@dataclass
class DialogData:
    """One complete dialog: its dataset line, final plan, node attempts and verdicts (in event order)."""

    record: dict[str, Any]
    plan: DialogPlan
    attempts: list[dict[str, Any]] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    superseded_turns: int = 0

    @property
    def dialog_id(self) -> str:
        """The dialog's id (its seed key)."""
        return str(self.record["dialog_id"])

    @property
    def status(self) -> str:
        """accepted, failed_fidelity or failed_backend."""
        return str(self.record["status"])


@dataclass
class RunData:
    """A run's settings and personas, and its complete dialogs in dataset order."""

    path: Path
    run_id: str
    status: str
    backend: str
    model: str | None
    seed: int
    n_planned: int
    config: dict[str, Any]
    personas: dict[str, dict[str, Any]]
    dialogs: list[DialogData]
    started_at: str
    ended_at: str | None
    input: dict[str, Any] | None = None  # the input as loaded: records kept, skipped by kind
    failed_calls: int = 0  # model calls that failed for good (after their retries)


@contextmanager
def open_readonly(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the run database (RunDataError when it is missing or unreadable)."""
    path = Path(path)
    if not path.is_file():
        raise RunDataError(path, "no such run database (give the --db file of engine.run)")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        con.execute("SELECT 1 FROM runs LIMIT 1")
    except sqlite3.Error as exc:
        raise RunDataError(path, f"not a readable ConvRec trace store ({exc})") from exc
    try:
        yield con
    finally:
        con.close()


def list_runs(path: Path) -> list[dict[str, Any]]:
    """Every run of the database (id, status, backend, dialogs planned), oldest first."""
    keys = ("run_id", "status", "backend", "model", "n_dialogs", "started_at")
    with open_readonly(path) as con:
        return [{k: r[k] for k in keys} for r in queries.all_runs(con)]


def _json(path: Path, where: str, text: str | None) -> Any:
    try:
        return orjson.loads(text or "null")
    except orjson.JSONDecodeError as exc:
        raise RunDataError(path, f"{where}: not valid JSON ({exc})") from exc


def read_run(path: Path, run_id: str | None = None, *, what: str = "reading it") -> RunData:
    """The run ``run_id`` (default: the latest) with its complete dialogs, read-only; RunBusyError
    while another process plays it (``what``: the refused action, for the message)."""
    path = Path(path)
    with open_readonly(path) as con:
        try:
            return _read(con, path, run_id, what)
        except sqlite3.Error as exc:
            raise RunDataError(path, f"cannot read the run ({exc})") from exc


def _read(con: sqlite3.Connection, path: Path, run_id: str | None, what: str) -> RunData:
    row = queries.run_row(con, run_id)
    if row is None:
        known = ", ".join(r["run_id"] for r in queries.all_runs(con))
        raise RunDataError(path, f"no run {run_id!r} (runs: {known or 'none'})" if run_id else "no runs yet")
    rid = row["run_id"]
    refuse_if_live(con, rid, what)
    status = row["status"]
    lease = lease_row(con, rid)
    if status == "running" and (lease is None or lease_state(lease) == "stale"):
        status = "interrupted"  # its process died; --resume completes it
    loaded = _json(path, "runs.input_json", row["input_json"]) if "input_json" in row.keys() else None  # noqa: SIM118
    failed_calls = con.execute("SELECT COUNT(*) FROM llm_calls WHERE run_id=? AND error IS NOT NULL",
                               (rid,)).fetchone()[0] if _has_column(con, "llm_calls", "error") else 0
    personas = {
        r["role"]: {"name": r["name"], **_json(path, f"personas.{r['role']}", r["spec_json"])}
        for r in queries.table_rows(con, "personas", rid)
    }
    attempts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in sorted(queries.table_rows(con, "node_attempts", rid),
                    key=lambda r: (r["started_at"], r["node_index"], r["attempt"])):
        attempts[r["dialog_id"]].append(r)
    verdicts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in sorted(queries.table_rows(con, "validations", rid), key=lambda r: (r["dialog_id"], r["seq"])):
        r["reasons"] = _json(path, f"validations {r['dialog_id']}#{r['seq']}.reasons_json", r["reasons_json"])
        verdicts[r["dialog_id"]].append(r)
    superseded = queries.superseded_turns(con, rid)
    plans: dict[str, DialogPlan] = {}
    dialogs: list[DialogData] = []
    for dialog_id, record_json in queries.record_rows(con, rid):
        record = _json(path, f"dialogs {dialog_id}.record_json", record_json)
        plan_hash = record["plan"]["hash"]
        if plan_hash not in plans:
            text = queries.plan_json(con, plan_hash)
            if text is None:
                raise RunDataError(path, f"dialog {dialog_id}: its plan {plan_hash} is not in table plans")
            try:
                plans[plan_hash] = DialogPlan.from_json(text)
            except ValidationError as exc:
                raise RunDataError(path, f"plans {plan_hash}: not a plan this version can read "
                                   f"({exc})") from exc
        dialogs.append(DialogData(record=record, plan=plans[plan_hash], attempts=attempts[dialog_id],
                                  verdicts=verdicts[dialog_id],
                                  superseded_turns=superseded.get(dialog_id, 0)))
    return RunData(path=path, run_id=rid, status=status, backend=row["backend"], model=row["model"],
                   seed=row["seed"], n_planned=row["n_dialogs"],
                   config=_json(path, "runs.config_json", row["config_json"]), personas=personas,
                   dialogs=dialogs, started_at=row["started_at"], ended_at=row["ended_at"],
                   input=loaded, failed_calls=failed_calls)


def _has_column(con: sqlite3.Connection, table: str, column: str) -> bool:
    """Whether ``table`` has ``column`` (a store written before a migration lacks the newer ones)."""
    return any(r[1] == column for r in con.execute(f"PRAGMA table_info({table})"))


def read_trace_rows(path: Path, run_id: str, table: str) -> list[dict[str, Any]]:
    """Rows of ``llm_calls`` (no response texts), ``turns`` or ``rollbacks`` of one run, in event order."""
    with open_readonly(path) as con:
        try:
            return queries.trace_rows(con, run_id, table)
        except sqlite3.Error as exc:
            raise RunDataError(path, f"cannot read table {table} ({exc})") from exc
