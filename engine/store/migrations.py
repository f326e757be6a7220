"""Opening a trace database: WAL and its pragmas, the numbered migrations, and read-only checks of a file."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from engine.store.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["check_integrity", "inspect_existing", "migrate", "pending_migrations", "prepare"]


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


def inspect_existing(path: Path) -> str | None:
    """Why the file at ``path`` is not a ConvRec trace store we may write (None: it is one, or it is
    missing or empty and becomes one). Read-only: a foreign file is refused unchanged."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.OperationalError:
        return None  # not openable read-only (e.g. a WAL to recover): the read-write open says why
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc) or "malformed" in str(exc):
            return f"not a SQLite database ({exc}); choose another --db path (it was left unchanged)"
        raise
    finally:
        con.close()
    if tables and not {"schema_migrations", "runs"} <= tables:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        return (f"a SQLite database of another program (tables {shown}), not a ConvRec trace store; "
                "choose another --db path (it was left unchanged)")
    return None


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
