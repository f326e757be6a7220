"""One shard of a cluster run: the dialog scheduler inside an async Ray actor (:mod:`engine.cluster.runner`).

The worker plays the dialogs it is given with its own :class:`engine.core.scheduler.DialogScheduler` (its
own live-dialog limiter) and its own gateway, whose endpoints also take a lease from the run's
cluster-wide limiter (:class:`engine.cluster.limits.RayGate`) for every model call. It does not touch
the store: each trace event becomes its store rows here (the CPU of row building is spread over the
shards) and waits in a buffer, followed by the dialog's dataset line when the dialog ends, in the order
they happened. The driver takes the buffer with :meth:`ShardWorker.poll` and writes it to the one run
store, so a dialog is complete exactly when its dataset line reached the store, as on one machine.

Ray re-runs ``__init__`` with the same arguments when it restarts a dead worker; the new worker holds
nothing, and the driver plays the shard's unfinished dialogs on it again.

This module imports no Ray: the runner wraps the class with ``ray.remote``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import anyio
import orjson
import structlog
from pydantic import BaseModel, ConfigDict

from engine.config import RunSettings
from engine.core import (
    DialogExecutor,
    DialogInput,
    DialogResult,
    DialogScheduler,
    DialogSetup,
    LiveCounts,
    PreparedDialogs,
    TraceEvent,
    TraceSink,
    settled_heap,
)
from engine.store.schema import Row, event_rows
from profiling.corpus import Corpus

__all__ = ["ShardBatch", "ShardSettings", "ShardWorker", "SharedRunState", "finish_row", "holder_name"]


class ShardSettings(BaseModel):
    """What every shard plays with: the run's settings, and where this shard stands in the cluster."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str
    settings: RunSettings
    backend_label: str
    shards: int = 1  # how many shards share the cluster limits (each starts with its share)
    base_url: str | None = None  # this shard's endpoint (several --base-url roots: shard i calls i mod n)
    max_buffered_rows: int = 50_000


@dataclass
class SharedRunState:
    """What every shard reads: profiles, catalog and planner (``prepared``, its inputs left out: each
    shard gets its own dialogs apart), and the corpus.

    Put into Ray's object store once by the driver; each worker gets it as a constructor argument.
    """

    prepared: PreparedDialogs
    corpus: Corpus


@dataclass
class ShardBatch:
    """What a poll returns: rows to write in order, dialogs whose dataset line is among them, figures."""

    rows: list[Row]
    finished: list[str]
    growth: dict[str, float] = field(default_factory=dict)  # LiveCounts.ADDITIVE since the last poll
    running: int = 0
    done: bool = False
    limiter_round_trips: int = 0
    endpoint_stats: list[dict[str, Any]] = field(default_factory=list)


def holder_name(shard: int, incarnation: int) -> str:
    """The name a shard's worker has at the cluster limiter."""
    return f"shard-{shard}.{incarnation}"


def finish_row(run_id: str, dialog_id: str, record: dict[str, Any]) -> Row:
    """The statement that stores a dialog's dataset line (the one engine.store.trace_store queues)."""
    return ("UPDATE dialogs SET record_json=? WHERE run_id=? AND dialog_id=?",
            (orjson.dumps(record).decode(), run_id, dialog_id))


class _RowSink:
    """A TraceSink that turns each event into its store rows at once, into the worker's buffer."""

    def __init__(self, rows: list[Row]) -> None:
        self._rows = rows  # the worker's buffer, appended to in place

    def emit(self, event: TraceEvent) -> None:
        self._rows.extend(event_rows(event))


class ShardWorker:
    """Plays one shard's dialogs; the driver polls its buffer. See the module doc."""

    def __init__(self, shard: int, state: SharedRunState, inputs: list[DialogInput], settings: ShardSettings,
                 limiter: Any) -> None:
        # Info lines of every shard would flood the driver's console (Ray forwards worker output);
        # warnings still come through, with the worker's pid.
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
        self.shard = shard
        self.holder = holder_name(shard, 0)
        self._state = state
        self._settings = settings
        self._limiter = limiter
        self._inputs: dict[str, DialogInput] = {d.key: d for d in inputs}
        self._rows: list[Row] = []
        self._finished: list[str] = []
        self._done = False
        self._scheduler: Any = None
        self._registry: Any = None
        self._gate: Any = None
        self._reported = _Reported()

    def pid(self) -> int:
        """The worker's process id (tests kill it)."""
        return os.getpid()

    async def play(self, keys: list[str], incarnation: int = 0) -> int:
        """Plays the dialogs ``keys`` (in that order, ``concurrency`` at a time); how many ended.

        ``incarnation`` (restarts so far) names this worker at the cluster limiter, so a grant the dead
        worker still had pending there cannot reach the new one.
        """
        self.holder = holder_name(self.shard, incarnation)
        from agents.backends import make_client
        from engine.cluster.limits import QuotaGate
        from engine.gateway import EndpointRegistry, endpoint_limits, loop_lag

        cfg = self._settings
        unknown = [k for k in keys if k not in self._inputs]
        if unknown:
            raise KeyError(f"shard {self.shard}: dialogs not in the run's plan: {unknown[:3]}")
        self._done = False
        backend = cfg.settings.backend_config()
        if cfg.base_url is not None:
            backend = backend.model_copy(update={"base_url": cfg.base_url})
        inner = make_client(backend)
        limits = endpoint_limits(cfg.settings)
        self._gate = QuotaGate(self._limiter, self.holder, limits=limits, shards=cfg.shards)
        registry = EndpointRegistry(seed=cfg.settings.seed, gate=self._gate, loop_lag=loop_lag(cfg.settings))
        # The cluster gate holds the run's limits; this process keeps only a concurrency cap (the same
        # figure: a shard alone may use the whole endpoint once the others have ended).
        client = registry.wrap(inner, limits.model_copy(update={"rpm": None, "tpm": None}),
                               before_call=self._backpressure)
        self._registry = registry
        setup = DialogSetup(self._state.prepared, self._state.corpus, cfg.settings, cfg.run_id,
                            cfg.backend_label)
        validators = setup.validators(client)

        def make_executor(dialog: DialogInput, sink: TraceSink) -> DialogExecutor:
            return setup.executor(dialog, client, sink, validators=validators)

        def on_result(dialog: DialogInput, result: DialogResult) -> None:
            self._rows.append(finish_row(cfg.run_id, dialog.key, setup.record(dialog, result)))
            self._finished.append(dialog.key)

        scheduler = DialogScheduler(make_executor, _RowSink(self._rows), concurrency=cfg.settings.concurrency,
                                    on_result=on_result, progress=False, handle_signals=False,
                                    loop_lag=registry.loop_lag)
        self._scheduler = scheduler
        try:
            with settled_heap():
                outcome = await scheduler.run([self._inputs[k] for k in keys])
        finally:
            self._gate.close()
            await client.close()
            self._done = True
        return outcome.finished

    def drain(self) -> None:
        """Start no more dialogs (the driver got Ctrl-C); running ones finish."""
        if self._scheduler is not None:
            self._scheduler.drain()

    def cancel(self) -> None:
        """Cancel the running dialogs too (a second Ctrl-C); they leave no dataset line."""
        if self._scheduler is not None:
            self._scheduler.cancel_running()

    def poll(self, pauses: dict[str, float] | None = None) -> ShardBatch:
        """Everything buffered since the last poll, with the figures' growth since then.

        ``pauses``: the endpoints the cluster limiter has paused (a 429 elsewhere), seconds left.
        """
        if pauses and self._gate is not None:
            self._gate.apply_pauses(pauses)
        # Emptied in place: the row sink appends to this very list.
        rows = self._rows.copy()
        self._rows.clear()
        finished, self._finished = self._finished, []
        c = self._scheduler.counts if self._scheduler is not None else None
        batch = ShardBatch(rows=rows, finished=finished, done=self._done)
        if c is not None:
            self._reported.fill(batch, c)
        if self._done and self._registry is not None:
            batch.endpoint_stats = [s.model_dump(mode="json") for s in self._registry.stats()]
            batch.limiter_round_trips = self._gate.round_trips
        return batch

    async def _backpressure(self) -> None:
        # A driver that falls behind must not let a shard's buffer grow without bound.
        while len(self._rows) > self._settings.max_buffered_rows:
            await anyio.sleep(0.05)


@dataclass
class _Reported:
    """What the previous polls already reported, so each poll sends the growth (the driver adds them)."""

    values: dict[str, float] = field(default_factory=dict)

    def fill(self, batch: ShardBatch, counts: LiveCounts) -> None:
        now: dict[str, float] = {f: getattr(counts, f) for f in LiveCounts.ADDITIVE}
        batch.growth = {name: value - self.values.get(name, 0) for name, value in now.items()}
        batch.running = counts.running
        self.values = now

