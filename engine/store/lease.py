"""One owner per live run: a lease row in the store, its heartbeat, and the fence on every write.

A run is played by one process at a time. The process that records a run (or resumes it) holds its
lease, a row of ``run_leases`` with its pid, host, a random token and a heartbeat it renews every
:data:`HEARTBEAT_S` seconds. While a lease is live:

- ``--resume`` of the run, ``--replay`` and ``engine.export`` / ``engine.report`` are refused with
  :class:`RunBusyError` naming the owner (a resume would delete the live run's in-flight dialogs;
  a replay or an export would read half a run as if it were whole);
- every write transaction of the owner first checks that the lease still holds its token (the
  fence): a process that lost its lease (paused past :data:`STALE_AFTER_S` and taken over) stops
  with :class:`LeaseLostError` before it writes a row.

A lease whose owner is gone is stale and taken over by the next resume: at once when the owner ran on
this host and its pid is dead (a SIGKILL, a crash), else once its heartbeat is older than
:data:`STALE_AFTER_S` (another host, or a pid reused by another process). The checks run inside
``BEGIN IMMEDIATE`` transactions, so two processes racing for one run cannot both win.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from engine.store.rows import TraceStoreError
from profiling.errors import ConvRecError

__all__ = [
    "HEARTBEAT_S",
    "STALE_AFTER_S",
    "LeaseLostError",
    "Owner",
    "RunBusyError",
    "RunLease",
    "acquire",
    "check_fence",
    "forget",
    "heartbeat",
    "lease_row",
    "lease_state",
    "new_lease",
    "refuse_if_live",
    "release",
]

HEARTBEAT_S = 5.0
STALE_AFTER_S = 60.0

LeaseState = Literal["live", "stale"]

# Tokens of the leases this process holds now: a row with our own pid but another token was left by an
# earlier run in this process that failed, and is stale.
_HELD: set[str] = set()


class RunBusyError(ConvRecError):
    """Raised when a run is being played by another live process (resume, replay and export wait)."""


class LeaseLostError(TraceStoreError):
    """Raised when the process playing a run finds its lease taken over by another (it stops writing)."""


@dataclass(frozen=True, slots=True)
class Owner:
    """Who holds a lease: pid and host."""

    pid: int
    host: str

    @classmethod
    def me(cls) -> Owner:
        return cls(os.getpid(), socket.gethostname())


@dataclass(frozen=True, slots=True)
class RunLease:
    """A lease this process holds on ``run_id``; ``token`` fences its writes."""

    run_id: str
    token: str
    owner: Owner


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def _unix(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def lease_row(con: sqlite3.Connection, run_id: str) -> tuple[int, str, str, str] | None:
    """(pid, host, token, heartbeat_at) of the run's lease; None when there is none (or no such table:
    a store from before leases)."""
    try:
        row = con.execute("SELECT owner_pid, owner_host, token, heartbeat_at FROM run_leases WHERE run_id=?",
                          (run_id,)).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    return None if row is None else (int(row[0]), str(row[1]), str(row[2]), str(row[3]))


def lease_state(row: tuple[int, str, str, str], *, now: float | None = None,
                stale_after_s: float = STALE_AFTER_S, me: Owner | None = None) -> LeaseState:
    """Whether a lease row's owner is still playing the run (see the module docstring)."""
    pid, host, token, beat = row
    me = me or Owner.me()
    age = (time.time() if now is None else now) - _unix(beat)
    if age > stale_after_s:
        return "stale"
    if host == me.host:
        if pid == me.pid:
            return "live" if token in _HELD else "stale"
        return "live" if _pid_alive(pid) else "stale"
    return "live"


def _describe(row: tuple[int, str, str, str], now: float) -> str:
    pid, host, _, beat = row
    return f"pid {pid} on host {host} (last heartbeat {max(0.0, now - _unix(beat)):.0f} s ago)"


def refuse_if_live(con: sqlite3.Connection, run_id: str, what: str, *, now: float | None = None,
                   stale_after_s: float = STALE_AFTER_S) -> None:
    """Raise RunBusyError when another process holds a live lease on ``run_id`` (``what``: the refused
    action, for the message)."""
    row = lease_row(con, run_id)
    t = time.time() if now is None else now
    if row is not None and lease_state(row, now=t, stale_after_s=stale_after_s) == "live":
        raise RunBusyError(
            f"run {run_id} is being played by {_describe(row, t)}; {what} waits until it ends. A lease left "
            f"by a process that died is taken over: at once on the same host, after {stale_after_s:g} s "
            "without a heartbeat from another")


def new_lease(run_id: str) -> tuple[RunLease, tuple[str, tuple[object, ...]]]:
    """A lease for a run being recorded now, and the statement that writes it (in the run's own
    transaction)."""
    lease = RunLease(run_id, secrets.token_hex(8), Owner.me())
    now = _iso(time.time())
    _HELD.add(lease.token)
    return lease, ("INSERT OR REPLACE INTO run_leases (run_id, owner_pid, owner_host, token, acquired_at, "
                   "heartbeat_at) VALUES (?,?,?,?,?,?)",
                   (run_id, lease.owner.pid, lease.owner.host, lease.token, now, now))


def acquire(con: sqlite3.Connection, run_id: str, *, now: float | None = None,
            stale_after_s: float = STALE_AFTER_S) -> tuple[RunLease, str | None]:
    """Take the lease of an existing run (RunBusyError when it is live); the lease, and who held it
    before when a stale lease was taken over."""
    t = time.time() if now is None else now
    con.execute("BEGIN IMMEDIATE")
    try:
        row = lease_row(con, run_id)
        before = None
        if row is not None:
            if lease_state(row, now=t, stale_after_s=stale_after_s) == "live":
                raise RunBusyError(
                    f"run {run_id} is being played by {_describe(row, t)}; --resume waits until it ends "
                    "(a second process would delete its dialogs in flight). A lease left by a process that "
                    f"died is taken over: at once on the same host, after {stale_after_s:g} s without a "
                    "heartbeat from another")
            before = _describe(row, t)
        lease, (sql, params) = new_lease(run_id)
        con.execute(sql, params)
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    return lease, before


def check_fence(con: sqlite3.Connection, lease: RunLease, path: Path) -> None:
    """Raise LeaseLostError unless ``lease`` still holds its run (inside the caller's transaction)."""
    row = lease_row(con, lease.run_id)
    if row is None or row[2] != lease.token:
        who = f"pid {row[0]} on host {row[1]}" if row is not None else "nobody (the lease was removed)"
        raise LeaseLostError(path, f"run {lease.run_id} was taken over by {who} while this process "
                             "played it (its heartbeat was late); this process stopped writing")


def heartbeat(con: sqlite3.Connection, lease: RunLease, path: Path, *, now: float | None = None) -> None:
    """Renew the lease's heartbeat (LeaseLostError when it is no longer ours)."""
    t = time.time() if now is None else now
    con.execute("BEGIN IMMEDIATE")
    try:
        check_fence(con, lease, path)
        con.execute("UPDATE run_leases SET heartbeat_at=? WHERE run_id=? AND token=?",
                    (_iso(t), lease.run_id, lease.token))
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise


def forget(lease: RunLease) -> None:
    """This process no longer holds ``lease`` (its run was not recorded, or it is released)."""
    _HELD.discard(lease.token)


def release(con: sqlite3.Connection, lease: RunLease) -> None:
    """Give the lease up (the row goes if it is still ours)."""
    forget(lease)
    con.execute("DELETE FROM run_leases WHERE run_id=? AND token=?", (lease.run_id, lease.token))
