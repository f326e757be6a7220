"""One run read back from its SQLite trace store: dialogs with their final plans, attempts and verdicts.

What exports and reports read, through a plain read-only ``sqlite3`` connection (never the writer): a
file that another process is writing is read as of its last commit. A dialog is read only when it is
complete (its dataset line, ``dialogs.record_json``, is set); the line is the source of truth for the
dataset, the other tables add what the trace knows (the plan's bindings, each node attempt and the
validators' verdicts, the model calls).
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

from planners.plan import DialogPlan
from profiling.errors import ConvRecError

__all__ = [
    "DialogData",
    "RunData",
    "RunDataError",
    "list_runs",
    "open_readonly",
    "read_run",
    "read_trace_rows",
]


class RunDataError(ConvRecError):
    """Raised when a run database cannot be read, holds no such run, or holds a row we cannot parse."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


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
    with open_readonly(path) as con:
        return [
            dict(r)
            for r in con.execute(
                "SELECT run_id, status, backend, model, n_dialogs, started_at FROM runs "
                "ORDER BY started_at, run_id"
            )
        ]


def _json(path: Path, where: str, text: str | None) -> Any:
    try:
        return orjson.loads(text or "null")
    except orjson.JSONDecodeError as exc:
        raise RunDataError(path, f"{where}: not valid JSON ({exc})") from exc


def read_run(path: Path, run_id: str | None = None) -> RunData:
    """The run ``run_id`` (default: the latest) with its complete dialogs, read-only."""
    path = Path(path)
    with open_readonly(path) as con:
        try:
            return _read(con, path, run_id)
        except sqlite3.Error as exc:
            raise RunDataError(path, f"cannot read the run ({exc})") from exc


def _read(con: sqlite3.Connection, path: Path, run_id: str | None) -> RunData:
    row = (
        con.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if run_id
        else con.execute("SELECT * FROM runs ORDER BY started_at DESC, run_id DESC LIMIT 1").fetchone()
    )
    if row is None:
        known = ", ".join(r["run_id"] for r in con.execute("SELECT run_id FROM runs ORDER BY started_at"))
        raise RunDataError(path, f"no run {run_id!r} (runs: {known or 'none'})" if run_id else "no runs yet")
    rid = row["run_id"]
    personas = {
        r["role"]: {"name": r["name"], **_json(path, f"personas.{r['role']}", r["spec_json"])}
        for r in con.execute("SELECT * FROM personas WHERE run_id=?", (rid,))
    }
    attempts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in con.execute(
        "SELECT * FROM node_attempts WHERE run_id=? ORDER BY started_at, node_index, attempt", (rid,)
    ):
        attempts[r["dialog_id"]].append(dict(r))
    verdicts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in con.execute("SELECT * FROM validations WHERE run_id=? ORDER BY dialog_id, seq", (rid,)):
        d = dict(r)
        d["reasons"] = _json(path, f"validations {r['dialog_id']}#{r['seq']}.reasons_json", r["reasons_json"])
        verdicts[r["dialog_id"]].append(d)
    superseded = {
        r[0]: r[1]
        for r in con.execute(
            "SELECT dialog_id, SUM(superseded) FROM turns WHERE run_id=? GROUP BY dialog_id", (rid,)
        )
    }
    plans: dict[str, DialogPlan] = {}
    dialogs: list[DialogData] = []
    for r in con.execute(
        "SELECT d.dialog_id, d.record_json FROM dialogs d JOIN seeds s USING (run_id, dialog_id) "
        "WHERE d.run_id=? AND d.record_json IS NOT NULL ORDER BY s.position",
        (rid,),
    ):
        record = _json(path, f"dialogs {r['dialog_id']}.record_json", r["record_json"])
        plan_hash = record["plan"]["hash"]
        if plan_hash not in plans:
            prow = con.execute("SELECT plan_json FROM plans WHERE plan_hash=?", (plan_hash,)).fetchone()
            if prow is None:
                raise RunDataError(
                    path, f"dialog {r['dialog_id']}: its plan {plan_hash} is not in table plans"
                )
            try:
                plans[plan_hash] = DialogPlan.from_json(prow["plan_json"])
            except ValidationError as exc:
                raise RunDataError(
                    path, f"plans {plan_hash}: not a plan this version can read ({exc})"
                ) from exc
        dialogs.append(
            DialogData(
                record=record,
                plan=plans[plan_hash],
                attempts=attempts[r["dialog_id"]],
                verdicts=verdicts[r["dialog_id"]],
                superseded_turns=int(superseded.get(r["dialog_id"]) or 0),
            )
        )
    return RunData(
        path=path,
        run_id=rid,
        status=row["status"],
        backend=row["backend"],
        model=row["model"],
        seed=row["seed"],
        n_planned=row["n_dialogs"],
        config=_json(path, "runs.config_json", row["config_json"]),
        personas=personas,
        dialogs=dialogs,
        started_at=row["started_at"],
        ended_at=row["ended_at"],
    )


def read_trace_rows(path: Path, run_id: str, table: str) -> list[dict[str, Any]]:
    """Rows of ``llm_calls`` (no response texts), ``turns`` or ``rollbacks`` of one run, in event order."""
    columns = {
        "llm_calls": "dialog_id, seq, plan_hash, node_index, attempt, exchange, role, gen_ai_provider_name, "
        "gen_ai_request_model, gen_ai_usage_input_tokens AS input_tokens, "
        "gen_ai_usage_output_tokens AS output_tokens, tokens_estimated, latency_s, queued_s, "
        "retries, cost_usd",
        "turns": "dialog_id, seq, plan_hash, node_index, node, attempt, exchange, speaker, text, superseded",
        "rollbacks": "dialog_id, seq, plan_hash, failed_node, failed_state, completed_nodes, reason, "
        "new_plan_hash",
    }[table]
    with open_readonly(path) as con:
        try:
            return [
                dict(r)
                for r in con.execute(
                    f"SELECT {columns} FROM {table} WHERE run_id=? ORDER BY dialog_id, seq", (run_id,)
                )
            ]
        except sqlite3.Error as exc:
            raise RunDataError(path, f"cannot read table {table} ({exc})") from exc
