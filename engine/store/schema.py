"""The trace store's schema, as numbered migrations, and how each trace event becomes rows.

Readable without the code (``sqlite3 convrec.db .schema`` or Datasette): one row per run, seed, plan,
persona, dialog, node attempt, turn, model call, verdict and rollback. Model-call columns follow the
OpenTelemetry GenAI attribute names with dots written as underscores (``gen_ai.usage.input_tokens`` is
``gen_ai_usage_input_tokens``); what the conventions do not cover has no prefix. Times are ISO 8601
UTC strings; lists are JSON arrays in ``*_json`` columns.

A dialog is complete when ``dialogs.record_json`` is set: the dataset line is written in the same
ordered stream as the dialog's events, after them, so a crash leaves either a complete dialog or one
with ``record_json IS NULL`` that resume deletes and plays again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from engine.core.events import (
    DialogEnded,
    DialogStarted,
    LLMCallRecorded,
    NodeAttemptEnded,
    NodeAttemptStarted,
    Replanned,
    RolledBack,
    TraceEvent,
    TurnPolished,
    TurnRecorded,
    TurnsSuperseded,
    VerdictRecorded,
)

__all__ = ["MIGRATIONS", "PER_DIALOG_TABLES", "SCHEMA_VERSION", "Row", "event_rows"]

_V1 = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,               -- running | interrupted | completed | incomplete | failed
    started_at TEXT NOT NULL,
    ended_at TEXT,
    seed INTEGER NOT NULL,
    backend TEXT NOT NULL,
    model TEXT,
    n_dialogs INTEGER NOT NULL,         -- dialogs planned for the run
    config_json TEXT NOT NULL,          -- the run's settings (never a secret: keys are named, not stored)
    note TEXT
);
CREATE TABLE personas (
    run_id TEXT NOT NULL, role TEXT NOT NULL, name TEXT NOT NULL, spec_json TEXT NOT NULL,
    PRIMARY KEY (run_id, role)
);
CREATE TABLE seeds (
    run_id TEXT NOT NULL, dialog_id TEXT NOT NULL,
    position INTEGER NOT NULL,          -- order of the dataset
    user_id TEXT NOT NULL, split TEXT, target_item TEXT NOT NULL, target_time TEXT NOT NULL,
    n_history INTEGER NOT NULL, negatives_json TEXT NOT NULL, plan_hash TEXT NOT NULL,
    PRIMARY KEY (run_id, dialog_id)
);
CREATE TABLE plans (
    plan_hash TEXT PRIMARY KEY, path_json TEXT NOT NULL, plan_json TEXT NOT NULL
);
CREATE TABLE dialogs (
    run_id TEXT NOT NULL, dialog_id TEXT NOT NULL,
    seed_key TEXT NOT NULL, plan_hash TEXT NOT NULL, path_json TEXT NOT NULL,
    user_persona TEXT NOT NULL, system_persona TEXT NOT NULL,
    user_backend TEXT NOT NULL, system_backend TEXT NOT NULL,
    validators_json TEXT NOT NULL, max_attempts INTEGER NOT NULL,
    started_at TEXT NOT NULL, ended_at TEXT,
    status TEXT,                        -- accepted | failed_fidelity | failed_backend (NULL: not ended)
    reason TEXT, final_plan_hash TEXT,
    n_turns INTEGER, n_superseded INTEGER, n_attempts INTEGER, n_rollbacks INTEGER, n_llm_calls INTEGER,
    record_json TEXT,                   -- the dataset line; set last: NULL means incomplete
    PRIMARY KEY (run_id, dialog_id)
);
CREATE TABLE node_attempts (
    run_id TEXT NOT NULL, dialog_id TEXT NOT NULL, plan_hash TEXT NOT NULL,
    node_index INTEGER NOT NULL, attempt INTEGER NOT NULL,
    node TEXT NOT NULL, state TEXT NOT NULL, feedback_json TEXT NOT NULL,
    started_at TEXT NOT NULL, ended_at TEXT,
    passed INTEGER, n_turns INTEGER, failed_validators_json TEXT,
    PRIMARY KEY (run_id, dialog_id, plan_hash, node_index, attempt)
);
CREATE TABLE turns (
    run_id TEXT NOT NULL, dialog_id TEXT NOT NULL, seq INTEGER NOT NULL,
    plan_hash TEXT NOT NULL, node_index INTEGER NOT NULL, node TEXT NOT NULL, attempt INTEGER NOT NULL,
    exchange INTEGER NOT NULL, turn_index INTEGER NOT NULL, speaker TEXT NOT NULL, text TEXT NOT NULL,
    backend TEXT NOT NULL, done INTEGER NOT NULL,
    superseded INTEGER NOT NULL DEFAULT 0,  -- 1: the attempt failed; kept for the trace, not the dataset
    at TEXT NOT NULL,
    PRIMARY KEY (run_id, dialog_id, seq)
);
CREATE TABLE llm_calls (
    run_id TEXT NOT NULL, dialog_id TEXT NOT NULL, seq INTEGER NOT NULL,
    plan_hash TEXT NOT NULL, node_index INTEGER NOT NULL, attempt INTEGER NOT NULL, exchange INTEGER,
    role TEXT NOT NULL,                 -- user | system | validator:<name>
    gen_ai_operation_name TEXT NOT NULL DEFAULT 'chat',
    gen_ai_provider_name TEXT NOT NULL,
    gen_ai_request_model TEXT NOT NULL,
    gen_ai_response_model TEXT,
    gen_ai_request_temperature REAL, gen_ai_request_max_tokens INTEGER, gen_ai_request_seed INTEGER,
    gen_ai_response_finish_reasons TEXT NOT NULL,   -- JSON array
    gen_ai_usage_input_tokens INTEGER NOT NULL, gen_ai_usage_output_tokens INTEGER NOT NULL,
    server_address TEXT,
    tokens_estimated INTEGER NOT NULL,  -- 1: counted by us (no usage reported, or an implausible one)
    request_hash TEXT NOT NULL,         -- sha256 of messages + parameters: replay's key
    latency_s REAL NOT NULL, queued_s REAL NOT NULL, retries INTEGER NOT NULL, cost_usd REAL NOT NULL,
    response_text TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (run_id, dialog_id, seq)
);
CREATE INDEX llm_calls_by_hash ON llm_calls (request_hash);
CREATE TABLE validations (
    run_id TEXT NOT NULL, dialog_id TEXT NOT NULL, seq INTEGER NOT NULL,
    plan_hash TEXT NOT NULL, node_index INTEGER NOT NULL, attempt INTEGER NOT NULL,
    validator TEXT NOT NULL, kind TEXT NOT NULL, judge TEXT NOT NULL, passed INTEGER NOT NULL,
    reasons_json TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (run_id, dialog_id, seq)
);
CREATE TABLE rollbacks (
    run_id TEXT NOT NULL, dialog_id TEXT NOT NULL, seq INTEGER NOT NULL,
    plan_hash TEXT NOT NULL, failed_node INTEGER NOT NULL, failed_state TEXT NOT NULL,
    completed_nodes INTEGER NOT NULL, avoid_json TEXT NOT NULL, reason TEXT NOT NULL,
    new_plan_hash TEXT,                 -- NULL: the grammar had no alternative, the dialog failed
    at TEXT NOT NULL,
    PRIMARY KEY (run_id, dialog_id, seq)
);
"""

_V2 = """
CREATE TABLE run_leases (
    run_id TEXT PRIMARY KEY,            -- one owner per live run (engine.store.lease)
    owner_pid INTEGER NOT NULL, owner_host TEXT NOT NULL,
    token TEXT NOT NULL,                -- fences the owner's writes: checked in each transaction
    acquired_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL
);
ALTER TABLE llm_calls ADD COLUMN error TEXT;   -- NULL: answered; else why the call failed for good
ALTER TABLE runs ADD COLUMN input_json TEXT;   -- the input as loaded: records kept, skipped by kind
"""

# Who realized each turn (polish mode and the realize setting): the text's author, the scripted draft it
# was made from, and every rewrite the model tried with the reasons it was refused.
_V3 = """
ALTER TABLE turns ADD COLUMN realizer TEXT NOT NULL DEFAULT 'model';  -- model | draft | scripted
ALTER TABLE turns ADD COLUMN draft TEXT;                               -- polish mode: the scripted draft
ALTER TABLE turns ADD COLUMN polish_json TEXT;                         -- [[rewrite, [reasons]], ...]
"""

# (version, name, SQL). Append only: a released migration never changes.
MIGRATIONS: list[tuple[int, str, str]] = [(1, "initial schema", _V1),
                                          (2, "run leases, failed calls, input counts", _V2),
                                          (3, "turn realizers", _V3)]
SCHEMA_VERSION = MIGRATIONS[-1][0]

# Tables holding one dialog's trace: resume deletes an incomplete dialog's rows from each.
PER_DIALOG_TABLES = ("dialogs", "node_attempts", "turns", "llm_calls", "validations", "rollbacks")

Row = tuple[str, tuple[Any, ...]]  # (SQL, parameters)


def _j(value: object) -> str:
    return orjson.dumps(value).decode()


def _t(event: TraceEvent) -> str:
    return event.at.isoformat()


def _started(e: DialogStarted) -> list[Row]:
    return [("INSERT OR REPLACE INTO dialogs (run_id, dialog_id, seed_key, plan_hash, path_json, "
             "user_persona, system_persona, user_backend, system_backend, validators_json, max_attempts, "
             "started_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
             (e.run_id, e.dialog_id, e.seed_key, e.plan_hash, _j(e.path), e.user_persona, e.system_persona,
              e.user_backend, e.system_backend, _j(e.validators), e.max_attempts, _t(e)))]


def _attempt_started(e: NodeAttemptStarted) -> list[Row]:
    return [("INSERT OR REPLACE INTO node_attempts (run_id, dialog_id, plan_hash, node_index, attempt, node, "
             "state, feedback_json, started_at) VALUES (?,?,?,?,?,?,?,?,?)",
             (e.run_id, e.dialog_id, e.plan_hash, e.node_index, e.attempt, e.node, e.state, _j(e.feedback),
              _t(e)))]


def _attempt_ended(e: NodeAttemptEnded) -> list[Row]:
    return [("UPDATE node_attempts SET ended_at=?, passed=?, n_turns=?, failed_validators_json=? "
             "WHERE run_id=? AND dialog_id=? AND plan_hash=? AND node_index=? AND attempt=?",
             (_t(e), int(e.passed), e.n_turns, _j(e.failed_validators), e.run_id, e.dialog_id, e.plan_hash,
              e.node_index, e.attempt))]


def _turn(e: TurnRecorded) -> list[Row]:
    return [("INSERT INTO turns (run_id, dialog_id, seq, plan_hash, node_index, node, attempt, exchange, "
             "turn_index, speaker, text, backend, done, at, realizer) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
             (e.run_id, e.dialog_id, e.seq, e.plan_hash, e.node_index, e.node, e.attempt, e.exchange,
              e.turn_index, e.speaker, e.text, e.backend, int(e.done), _t(e), e.realizer))]


def _polished(e: TurnPolished) -> list[Row]:
    return [("UPDATE turns SET text=?, realizer=?, draft=?, polish_json=? WHERE run_id=? AND dialog_id=? "
             "AND plan_hash=? AND node_index=? AND attempt=? AND turn_index=?",
             (e.text, e.realizer, e.draft, _j([[t, list(r)] for t, r in e.tries]), e.run_id, e.dialog_id,
              e.plan_hash, e.node_index, e.attempt, e.turn_index))]


def _superseded(e: TurnsSuperseded) -> list[Row]:
    return [("UPDATE turns SET superseded=1 WHERE run_id=? AND dialog_id=? AND plan_hash=? AND node_index=? "
             "AND attempt=?", (e.run_id, e.dialog_id, e.plan_hash, e.node_index, e.attempt))]


def _call(e: LLMCallRecorded) -> list[Row]:
    return [("INSERT INTO llm_calls (run_id, dialog_id, seq, plan_hash, node_index, attempt, exchange, role, "
             "gen_ai_provider_name, gen_ai_request_model, gen_ai_response_model, gen_ai_request_temperature, "
             "gen_ai_request_max_tokens, gen_ai_request_seed, gen_ai_response_finish_reasons, "
             "gen_ai_usage_input_tokens, gen_ai_usage_output_tokens, server_address, tokens_estimated, "
             "request_hash, latency_s, queued_s, retries, cost_usd, response_text, at, error) "
             "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
             (e.run_id, e.dialog_id, e.seq, e.plan_hash, e.node_index, e.attempt, e.exchange, e.role,
              e.provider, e.request_model, e.response_model, e.temperature, e.max_tokens, e.seed,
              _j([e.finish_reason]), e.input_tokens, e.output_tokens, e.server_address,
              int(e.tokens_estimated), e.request_hash, e.latency_s, e.queued_s, e.retries, e.cost_usd,
              e.response_text, _t(e), e.error))]


def _verdict(e: VerdictRecorded) -> list[Row]:
    return [("INSERT INTO validations (run_id, dialog_id, seq, plan_hash, node_index, attempt, validator, "
             "kind, judge, passed, reasons_json, at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
             (e.run_id, e.dialog_id, e.seq, e.plan_hash, e.node_index, e.attempt, e.validator,
              e.validator_kind, e.judge, int(e.passed), _j(e.reasons), _t(e)))]


def _rolled_back(e: RolledBack) -> list[Row]:
    return [("INSERT INTO rollbacks (run_id, dialog_id, seq, plan_hash, failed_node, failed_state, "
             "completed_nodes, avoid_json, reason, at) VALUES (?,?,?,?,?,?,?,?,?,?)",
             (e.run_id, e.dialog_id, e.seq, e.plan_hash, e.failed_node, e.failed_state, e.completed_nodes,
              _j(e.avoid), e.reason, _t(e)))]


def _replanned(e: Replanned) -> list[Row]:
    return [("INSERT OR IGNORE INTO plans (plan_hash, path_json, plan_json) VALUES (?,?,?)",
             (e.plan_hash, _j(e.path), e.plan_json)),
            ("UPDATE rollbacks SET new_plan_hash=? WHERE run_id=? AND dialog_id=? AND seq=(SELECT MAX(seq) "
             "FROM rollbacks WHERE run_id=? AND dialog_id=?)",
             (e.plan_hash, e.run_id, e.dialog_id, e.run_id, e.dialog_id))]


def _ended(e: DialogEnded) -> list[Row]:
    return [("UPDATE dialogs SET ended_at=?, status=?, reason=?, final_plan_hash=?, n_turns=?, "
             "n_superseded=?, n_attempts=?, n_rollbacks=?, n_llm_calls=? WHERE run_id=? AND dialog_id=?",
             (_t(e), e.status, e.reason, e.plan_hash, e.n_turns, e.n_superseded, e.n_attempts, e.n_rollbacks,
              e.n_llm_calls, e.run_id, e.dialog_id))]


_ROWS: dict[type, Callable[[Any], list[Row]]] = {
    DialogStarted: _started, NodeAttemptStarted: _attempt_started, NodeAttemptEnded: _attempt_ended,
    TurnRecorded: _turn, TurnPolished: _polished, TurnsSuperseded: _superseded, LLMCallRecorded: _call,
    VerdictRecorded: _verdict, RolledBack: _rolled_back, Replanned: _replanned, DialogEnded: _ended,
}


def event_rows(event: TraceEvent) -> list[Row]:
    """The statements that store ``event`` (every event kind maps to at least one)."""
    return _ROWS[type(event)](event)
