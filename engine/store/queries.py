"""Every read of a stored run, as plain functions over a read-only ``sqlite3`` connection.

The one reader: the trace store runs these on its read connection while a run writes
(:class:`engine.store.trace_store.TraceStore`), exports and reports run them on a connection of their
own (:mod:`engine.store.reader`). Rows come back as ``sqlite3.Row`` (``row_factory`` set by the
caller) or as the typed rows of :mod:`engine.store.rows`; sqlite3 errors are the caller's to explain.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from engine.store.rows import RunInfo, SeedRow
from engine.store.schema import PER_DIALOG_TABLES

__all__ = [
    "TRACE_COLUMNS",
    "all_runs",
    "call_totals",
    "completed",
    "plan_json",
    "realizer_totals",
    "record_rows",
    "recorded_responses",
    "run_info",
    "run_row",
    "seeds",
    "superseded_turns",
    "table_rows",
    "trace_rows",
]

# What reports read of each trace table (no response texts).
TRACE_COLUMNS = {
    "llm_calls": "dialog_id, seq, plan_hash, node_index, attempt, exchange, role, gen_ai_provider_name, "
    "gen_ai_request_model, gen_ai_usage_input_tokens AS input_tokens, "
    "gen_ai_usage_output_tokens AS output_tokens, tokens_estimated, latency_s, queued_s, retries, "
    "cost_usd",
    "turns": "dialog_id, seq, plan_hash, node_index, node, attempt, exchange, speaker, text, superseded, "
    "realizer",
    "rollbacks": "dialog_id, seq, plan_hash, failed_node, failed_state, completed_nodes, reason, "
    "new_plan_hash",
}


def all_runs(con: sqlite3.Connection) -> list[sqlite3.Row]:
    """Every row of ``runs``, oldest first."""
    return con.execute("SELECT * FROM runs ORDER BY started_at, run_id").fetchall()


def run_row(con: sqlite3.Connection, run_id: str | None = None) -> sqlite3.Row | None:
    """The ``runs`` row of ``run_id``, or of the latest run when None; None when there is none."""
    if run_id:
        return con.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
    return con.execute("SELECT * FROM runs ORDER BY started_at DESC, run_id DESC LIMIT 1").fetchone()


def run_info(row: sqlite3.Row) -> RunInfo:
    """A ``runs`` row as a RunInfo."""
    # sqlite3.Row: "in" looks at values, keys() at names. A store from before migration 2 has none.
    text = row["input_json"] if "input_json" in row.keys() else None  # noqa: SIM118
    return RunInfo(run_id=row["run_id"], status=row["status"], started_at=row["started_at"],
                   ended_at=row["ended_at"], seed=row["seed"], backend=row["backend"], model=row["model"],
                   n_dialogs=row["n_dialogs"], config=orjson.loads(row["config_json"]), note=row["note"],
                   input=orjson.loads(text) if text else None)


def seeds(con: sqlite3.Connection, run_id: str) -> list[SeedRow]:
    """The run's planned dialogs in dataset order."""
    rows = con.execute("SELECT s.*, p.path_json, p.plan_json FROM seeds s JOIN plans p USING (plan_hash) "
                       "WHERE s.run_id=? ORDER BY s.position", (run_id,)).fetchall()
    return [SeedRow(dialog_id=r["dialog_id"], position=r["position"], user_id=r["user_id"], split=r["split"],
                    target_item=r["target_item"], target_time=r["target_time"], n_history=r["n_history"],
                    negatives=tuple(orjson.loads(r["negatives_json"])), plan_hash=r["plan_hash"],
                    plan_path=tuple(orjson.loads(r["path_json"])), plan_json=r["plan_json"])
            for r in rows]


def completed(con: sqlite3.Connection, run_id: str) -> dict[str, str]:
    """Dialog id -> status of the run's complete dialogs (those with a dataset line)."""
    rows = con.execute("SELECT dialog_id, status FROM dialogs WHERE run_id=? AND record_json IS NOT NULL",
                       (run_id,)).fetchall()
    return {r["dialog_id"]: r["status"] for r in rows}


def record_rows(con: sqlite3.Connection, run_id: str) -> list[tuple[str, str]]:
    """(dialog id, dataset line as JSON) of the run's complete dialogs, in dataset order."""
    rows = con.execute("SELECT d.dialog_id, d.record_json FROM dialogs d JOIN seeds s "
                       "USING (run_id, dialog_id) WHERE d.run_id=? AND d.record_json IS NOT NULL "
                       "ORDER BY s.position", (run_id,))
    return [(r["dialog_id"], r["record_json"]) for r in rows]


def recorded_responses(con: sqlite3.Connection, run_id: str, dialog_id: str) -> dict[str, list[str]]:
    """Request hash -> the answers recorded for it in this dialog, in call order (replay's input)."""
    out: dict[str, list[str]] = {}
    # A call that failed for good has no answer to serve: a replay reaches it and diverges there.
    for r in con.execute("SELECT request_hash, response_text FROM llm_calls WHERE run_id=? AND dialog_id=? "
                         "AND error IS NULL ORDER BY seq", (run_id, dialog_id)):
        out.setdefault(r["request_hash"], []).append(r["response_text"])
    return out


def call_totals(con: sqlite3.Connection, run_id: str) -> dict[str, float]:
    """The run's model calls added up: ``calls`` (answered or failed for good), ``failed_calls``,
    ``input_tokens``, ``output_tokens``, ``retries`` (of every call), ``cost_usd``."""
    row = con.execute(
        "SELECT COUNT(*) calls, COALESCE(SUM(error IS NOT NULL),0) failed_calls, "
        "COALESCE(SUM(gen_ai_usage_input_tokens),0) input_tokens, "
        "COALESCE(SUM(gen_ai_usage_output_tokens),0) output_tokens, COALESCE(SUM(retries),0) retries, "
        "COALESCE(SUM(cost_usd),0) cost_usd FROM llm_calls WHERE run_id=?", (run_id,)).fetchone()
    return dict(row)


def realizer_totals(con: sqlite3.Connection, run_id: str) -> dict[str, dict[str, int]]:
    """Per realizer (model, draft, scripted), the accepted dialogs' turns and the model's rewrites behind
    them (polish mode: every try, the refused ones included)."""
    rows = con.execute(
        "SELECT t.realizer, COUNT(*), COALESCE(SUM(json_array_length(t.polish_json)), 0) FROM turns t "
        "JOIN dialogs d ON d.run_id=t.run_id AND d.dialog_id=t.dialog_id WHERE t.run_id=? AND t.superseded=0 "
        "AND d.status='accepted' GROUP BY t.realizer", (run_id,)).fetchall()
    return {r[0]: {"turns": r[1], "rewrites": r[2]} for r in rows}


def table_rows(con: sqlite3.Connection, table: str, run_id: str,
               dialog_id: str | None = None) -> list[dict[str, Any]]:
    """Rows of one per-run table (of one dialog when given), in event order."""
    if table not in PER_DIALOG_TABLES and table not in ("seeds", "personas"):
        raise ValueError(f"not a per-run table: {table!r}")
    where, params = "run_id=?", [run_id]
    if dialog_id is not None:
        where, params = where + " AND dialog_id=?", [run_id, dialog_id]
    order = {"dialogs": "started_at", "node_attempts": "started_at", "seeds": "position",
             "personas": "role"}.get(table, "seq")
    return [dict(r) for r in con.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY {order}", params)]


def plan_json(con: sqlite3.Connection, plan_hash: str) -> str | None:
    """A stored plan's JSON (None when it is not in table plans)."""
    row = con.execute("SELECT plan_json FROM plans WHERE plan_hash=?", (plan_hash,)).fetchone()
    return None if row is None else row["plan_json"]


def superseded_turns(con: sqlite3.Connection, run_id: str) -> dict[str, int]:
    """Dialog id -> turns of failed attempts, kept in the trace."""
    return {r[0]: int(r[1] or 0) for r in con.execute(
        "SELECT dialog_id, SUM(superseded) FROM turns WHERE run_id=? GROUP BY dialog_id", (run_id,))}


def trace_rows(con: sqlite3.Connection, run_id: str, table: str,
               order: Sequence[str] = ("dialog_id", "seq")) -> list[dict[str, Any]]:
    """The report's columns of ``llm_calls``, ``turns`` or ``rollbacks`` for one run, in event order."""
    sql = f"SELECT {TRACE_COLUMNS[table]} FROM {table} WHERE run_id=? ORDER BY {', '.join(order)}"
    return [dict(r) for r in con.execute(sql, (run_id,))]
