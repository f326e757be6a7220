"""The SQLite trace store: schema and migrations, every event kind as rows, dataset lines, reset, errors."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import anyio
import pytest

from agents.scripted import ScriptedClient
from agents.validators import default_validators
from engine.core.dialog_inputs import PreparedDialogs, prepare_dialog_set
from engine.core.events import (
    LLMCallRecorded,
    MemorySink,
    NodeAttemptEnded,
    TickClock,
    TraceEvent,
    TurnRecorded,
    TurnsSuperseded,
    VerdictRecorded,
)
from engine.store import (
    RunInfo,
    SeedRow,
    TraceStore,
    TraceStoreError,
    check_integrity,
    pending_migrations,
)
from engine.store.schema import MIGRATIONS, SCHEMA_VERSION
from profiling.sample_world import WorldConfig, load_sample_world

pytestmark = pytest.mark.timeout(900)

WORLD = WorldConfig(seed=3, n_items=60, n_users=90, n_reviews=2200, n_aspects=14)


@pytest.fixture(scope="module")
def prepared() -> PreparedDialogs:
    return prepare_dialog_set(load_sample_world(WORLD), n=6, seed=0)


class _Tee:
    def __init__(self, *sinks: object) -> None:
        self.sinks = sinks

    def emit(self, event: TraceEvent) -> None:
        for s in self.sinks:
            s.emit(event)  # type: ignore[attr-defined]


def _seed_rows(prepared: PreparedDialogs) -> list[SeedRow]:
    return [SeedRow(dialog_id=d.key, position=k, user_id=d.context.seed.user, split=d.context.seed.split,
                    target_item=d.context.seed.target.item,
                    target_time=d.context.seed.target.timestamp.isoformat(),
                    n_history=len(d.context.seed.history), negatives=tuple(d.context.seed.negatives),
                    plan_hash=d.plan.content_hash, plan_path=d.plan.path, plan_json=d.plan.to_json())
            for k, d in enumerate(prepared.inputs)]


def _info(run_id: str, n: int) -> RunInfo:
    return RunInfo(run_id=run_id, status="running", started_at="2000-01-01T00:00:00+00:00", seed=0,
                   backend="scripted", model="scripted", n_dialogs=n, config={"dialogs": n})


async def _play_into(store: TraceStore, prepared: PreparedDialogs, run_id: str, memory: MemorySink,
                     *, finish: bool = True, persona: str = "default") -> None:
    client = ScriptedClient()
    sink = _Tee(store, memory)
    for d in prepared.inputs:
        ex = prepared.executor(d, client, default_validators(), sink, user_persona=persona, clock=TickClock(),
                               run_id=run_id)
        result = await ex.run(d.plan, d.context)
        if finish:
            store.finish_dialog(run_id, d.key, {"dialog_id": d.key, "status": result.status})


def test_a_new_database_is_migrated_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    assert pending_migrations(db) == [(v, n) for v, n, _ in MIGRATIONS]

    async def go() -> None:
        async with TraceStore.open(db):
            pass

    anyio.run(go)
    assert pending_migrations(db) == []
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = [r[0] for r in con.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [v for v, _, _ in MIGRATIONS] and versions[-1] == SCHEMA_VERSION
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "seeds", "plans", "personas", "dialogs", "node_attempts", "turns", "llm_calls",
            "validations", "rollbacks"} <= tables
    con.close()
    anyio.run(go)  # reopening migrates nothing twice
    assert check_integrity(db) == "ok"


def test_every_event_becomes_rows_and_the_dataset_lines_come_back_in_order(
        tmp_path: Path, prepared: PreparedDialogs) -> None:
    db = tmp_path / "t.db"
    memory = MemorySink()
    seeds = _seed_rows(prepared)

    async def go() -> None:
        async with TraceStore.open(db, batch_rows=7) as store:  # small batches: many transactions
            await store.begin_run(_info("r1", len(seeds)), seeds, {"user": ("default", {"name": "default"})})
            await _play_into(store, prepared, "r1", memory)
            store.set_run_status("r1", "completed")
            await store.flush()
            assert store.transactions > 3
            assert (await store.run()).status == "completed"
            assert [s.dialog_id for s in await store.seeds("r1")] == [s.dialog_id for s in seeds]
            assert [r["dialog_id"] for r in await store.records("r1")] == [s.dialog_id for s in seeds]
            assert set(await store.completed("r1")) == {s.dialog_id for s in seeds}
            d0 = prepared.inputs[0].key
            responses = await store.recorded_responses("r1", d0)
            calls = memory.of(LLMCallRecorded, d0)
            assert sum(len(v) for v in responses.values()) == len(calls)
            assert all(c.response_text in responses[c.request_hash] for c in calls)

    anyio.run(go)
    con = sqlite3.connect(db)

    def count(sql: str) -> int:
        return con.execute(sql).fetchone()[0]

    assert count("SELECT COUNT(*) FROM turns") == len(memory.of(TurnRecorded))
    superseded = sum(len(e.turn_indices) for e in memory.of(TurnsSuperseded))
    assert count("SELECT COUNT(*) FROM turns WHERE superseded=1") == superseded
    assert count("SELECT COUNT(*) FROM llm_calls") == len(memory.of(LLMCallRecorded))
    assert count("SELECT COUNT(*) FROM llm_calls WHERE response_text = ''") == 0
    assert count("SELECT COUNT(*) FROM validations") == len(memory.of(VerdictRecorded))
    assert count("SELECT COUNT(*) FROM node_attempts WHERE passed IS NULL") == 0
    assert count("SELECT COUNT(*) FROM node_attempts") == len(memory.of(NodeAttemptEnded))
    assert count("SELECT COUNT(*) FROM dialogs WHERE status IS NULL OR record_json IS NULL") == 0
    assert count("SELECT COUNT(*) FROM plans") >= len(seeds)
    # What a person reads with plain sqlite3: OTel GenAI names, no secret anywhere.
    row = con.execute("SELECT gen_ai_provider_name, gen_ai_request_model, gen_ai_usage_input_tokens "
                      "FROM llm_calls LIMIT 1").fetchone()
    assert row[0] == "scripted" and row[2] > 0
    con.close()
    assert check_integrity(db) == "ok"


def test_reset_incomplete_deletes_only_dialogs_without_a_dataset_line(
        tmp_path: Path, prepared: PreparedDialogs) -> None:
    db = tmp_path / "t.db"
    seeds = _seed_rows(prepared)

    async def go() -> None:
        async with TraceStore.open(db) as store:
            await store.begin_run(_info("r1", len(seeds)), seeds, {})
            await _play_into(store, prepared, "r1", MemorySink(), finish=False)
            for d in prepared.inputs[:2]:
                store.finish_dialog("r1", d.key, {"dialog_id": d.key})
            dropped = await store.reset_incomplete("r1")
            assert dropped == sorted(d.key for d in prepared.inputs[2:])
            assert set(await store.completed("r1")) == {d.key for d in prepared.inputs[:2]}
            for table in ("turns", "llm_calls", "validations", "node_attempts"):
                left = {r["dialog_id"] for r in await store.table(table, "r1")}
                assert left == {d.key for d in prepared.inputs[:2]}

    anyio.run(go)


def test_unopenable_and_newer_databases_are_clear_errors(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")

    async def open_it(path: Path) -> None:
        async with TraceStore.open(path):
            pass

    with pytest.raises(TraceStoreError) as err:
        anyio.run(open_it, not_a_dir / "t.db")
    assert str(not_a_dir / "t.db") in str(err.value)
    newer = tmp_path / "newer.db"
    anyio.run(open_it, newer)
    con = sqlite3.connect(newer)
    con.execute("INSERT INTO schema_migrations VALUES (99, 'future', 'x')")
    con.commit()
    con.close()
    with pytest.raises(TraceStoreError, match="newer than this program"):
        anyio.run(open_it, newer)


def test_a_failed_write_stops_the_writer_and_is_raised_not_lost(tmp_path: Path,
                                                                prepared: PreparedDialogs) -> None:
    db = tmp_path / "t.db"

    async def go() -> None:
        async with TraceStore.open(db) as store:
            other = sqlite3.connect(db)
            other.execute("DROP TABLE turns")  # a write that cannot succeed, as a full disk would
            other.commit()
            other.close()
            await _play_into(store, prepared, "r1", MemorySink())

    with pytest.raises(TraceStoreError, match="turns"):
        anyio.run(go)


def test_a_foreign_file_is_refused_without_a_byte_written(tmp_path: Path) -> None:
    foreign = tmp_path / "app.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("INSERT INTO users VALUES (1, 'ada')")
    con.commit()
    con.close()
    text = tmp_path / "notes.db"
    text.write_text("these are my notes, not a database\n" * 100)

    async def open_it(path: Path) -> None:
        async with TraceStore.open(path):
            pass

    for path, words in ((foreign, "another program (tables users)"), (text, "not a SQLite database")):
        before = path.read_bytes()
        with pytest.raises(TraceStoreError, match=re.escape(words)) as info:
            anyio.run(open_it, path)
        assert "left unchanged" in str(info.value)
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db", "notes.db"]  # no -wal, no -shm
