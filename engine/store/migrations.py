"""Opening a trace database: WAL and its pragmas, the numbered migrations, and read-only checks of a file."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from engine.store.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["check_integrity", "migrate", "pending_migrations", "prepare"]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def pending_migrations(path: Path) -> list[tuple[int, str]]:
    """The migrations a database still needs (read-only: nothing is changed); all of them for a new file."""
    if not path.exists():
        return [(v, name) for v, name, _ in MIGRATIONS]
    con = sqlite3.connect(f"file:{path}?mode=rw", uri=True)  # rw: may need to recover a WAL; writes nothing
    try:
        has = con.execute("SELECT 1 FROM sqlite_master WHERE name='schema_migrations'").fetchone()
        done = {r[0] for r in con.execute("SELECT version FROM schema_migrations")} if has else set()
    finally:
        con.close()
    return [(v, name) for v, name, _ in MIGRATIONS if v not in done]


def check_integrity(path: Path) -> str:
    """``PRAGMA integrity_check`` of the database: 'ok' when sound."""
    # Read-write (changes nothing): after a killed writer, opening must be able to recover the WAL.
    con = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    try:
        return "; ".join(r[0] for r in con.execute("PRAGMA integrity_check"))
    finally:
        con.close()


async def prepare(db: aiosqlite.Connection) -> None:
    # WAL must be switched on outside a transaction; NORMAL sync is durable across a killed process
    # (WAL commits are atomic), only a power loss may drop the last transactions.
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=NORMAL")
    await db.execute("PRAGMA busy_timeout=10000")
    await db.execute("PRAGMA foreign_keys=OFF")


async def migrate(db: aiosqlite.Connection) -> None:
    await db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                     "name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    cur = await db.execute("SELECT version FROM schema_migrations")
    done = {r[0] for r in await cur.fetchall()}
    newer = [v for v in done if v > SCHEMA_VERSION]
    if newer:
        raise sqlite3.DatabaseError(f"the database has schema version {max(newer)}, newer than this "
                                    f"program's {SCHEMA_VERSION}; upgrade convrec-studio")
    for version, name, sql in MIGRATIONS:
        if version in done:
            continue
        # executescript commits first; the migration and its record go in one transaction.
        await db.executescript(f"BEGIN;\n{sql}\nINSERT INTO schema_migrations VALUES "
                               f"({version}, '{name}', '{_now()}');\nCOMMIT;")
