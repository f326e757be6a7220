"""``engine.run --executor ray``: one run's dialogs spread over async Ray actors, one store.

Design (the why is in README "Scaling out on Ray"):

- The driver does what it does on one machine up to the dialogs: profiles (or loads the cache), plans,
  records the run in the store. Profiles, catalog and corpus go into Ray's object store once
  (:class:`engine.cluster.shard.SharedRunState`), each shard's planned dialogs apart.
- The dialogs still to do are dealt round-robin into ``actors`` shards, one
  :class:`engine.cluster.shard.ShardWorker` each, which hosts our scheduler with its own dialog limiter.
  Round-robin over the hash-spread seed order gives shards of equal size and mix.
- Model calls spend quotas of one limiter actor (:class:`engine.cluster.limits.ClusterLimits`: slots
  and blocks of the rate buckets, not a round trip per call), so ``--llm-concurrency``, ``--rpm`` and
  ``--tpm`` hold for the whole cluster, not per actor. With several ``--base-url`` values, shard ``i``
  calls endpoint ``i mod n``.
- One store: shards buffer their rows; the driver polls each shard and writes the rows to the run's
  SQLite store in the shard's order. A dialog is complete when its dataset line is stored, exactly as
  on one machine, so resume, replay, export and report read a Ray run like any other.
- A worker that dies is restarted by Ray (``max_restarts``); the driver frees its limiter slots,
  deletes the rows of its dialogs that have no dataset line and plays them again on the new worker.
  Every dialog ends up in the store exactly once.
- Ctrl-C drains every shard (a second one cancels the running dialogs), as on one machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import structlog
from rich.console import Console

from engine.cluster.shard import ShardBatch, ShardSettings, SharedRunState, holder_name
from engine.core import LiveCounts, ProgressDisplay, watch_signals
from engine.core.dialog_inputs import DialogInput
from engine.gateway import EndpointStats, endpoint_limits
from profiling.errors import ConvRecError

__all__ = ["RayRunError", "RayRunOutcome", "RayRunner", "ray_session", "shard_keys"]

log = structlog.get_logger(__name__)

POLL_INTERVAL_S = 0.1


class RayRunError(ConvRecError):
    """Raised when the Ray path cannot run: no ray installed, no cluster at the address, a shard that
    keeps dying."""


def shard_keys(keys: list[str], n: int) -> list[list[str]]:
    """``keys`` dealt round-robin into ``n`` shards (empty shards dropped)."""
    return [s for s in (keys[i::n] for i in range(n)) if s]


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:  # an extra, not a core dependency
        raise RayRunError("--executor ray needs Ray: pip install 'convrec-studio[ray]'") from exc
    return ray


class ray_session:
    """Connects to the cluster at ``address`` (None: starts a local one) unless Ray is already up in
    this process; shuts down only what it started."""

    def __init__(self, address: str | None, *, num_cpus: int | None = None) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.started = False

    def __enter__(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, num_cpus=self.num_cpus if self.address is None else None,
                         namespace="convrec", include_dashboard=False, log_to_driver=True,
                         configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.address or "(local)"
                raise RayRunError(f"cannot reach a Ray cluster at {where}: {exc}") from exc
            self.started = True
        return ray

    def __exit__(self, *exc: object) -> None:
        if self.started:
            _ray().shutdown()


@dataclass
class RayRunOutcome:
    """How the cluster run ended."""

    finished: int
    interrupted: bool
    restarts: dict[int, int] = field(default_factory=dict)  # shard -> worker restarts
    actors: int = 0


@dataclass
class _Totals(LiveCounts):
    """The shards' figures added up (each poll brings a shard's growth since its last one)."""

    by_shard: dict[int, int] = field(default_factory=dict)  # dialogs running per shard

    def add(self, shard: int, b: ShardBatch) -> None:
        self.done += len(b.finished)
        for name, grown in b.growth.items():
            setattr(self, name, getattr(self, name) + grown)
        self.by_shard[shard] = b.running
        self.running = sum(self.by_shard.values())

    def ended(self, shard: int) -> None:
        self.by_shard.pop(shard, None)
        self.running = sum(self.by_shard.values())

    def shards_line(self, actors: int, restarts: int) -> str:
        return f"{self.line()} · {actors} actors · {restarts} restarts"


class RayRunner:
    """Plays a run's remaining dialogs on a Ray cluster and writes everything to ``store``."""

    def __init__(self, ray: Any, store: Any, settings: ShardSettings, state: SharedRunState, *,
                 actors: int | None = None, base_urls: list[str] | None = None, max_restarts: int = 3,
                 budget_usd: float | None = None, console: Console | None = None, progress: bool = True,
                 handle_signals: bool = True) -> None:
        self.ray = ray
        self.store = store
        self.settings = settings
        self.state = state
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.n_actors = actors or max(1, cpus)
        if self.n_actors < 1:
            raise RayRunError(f"--actors must be >= 1, got {self.n_actors}")
        self.base_urls = base_urls or []
        self.max_restarts = max_restarts
        self.budget_usd = budget_usd
        self.console = console or Console()
        self.progress = progress
        self.handle_signals = handle_signals
        self.totals = _Totals()
        self.restarts: dict[int, int] = {}
        self.draining = False
        self.budget_reached = False
        self._workers: dict[int, Any] = {}
        self._endpoint_stats: dict[int, list[dict[str, Any]]] = {}
        self._limiter: Any = None
        self._limiter_stats: list[Any] = []
        self._pauses: dict[str, float] = {}
        self.limiter_round_trips = 0

    # -- actors ------------------------------------------------------------------------------------
    def _start(self, shards: list[list[str]]) -> None:
        from engine.cluster.limits import ClusterLimits
        from engine.cluster.shard import ShardWorker

        ray = self.ray
        run = self.settings.run_id
        n_shards = len(shards)
        # The limiter does no computing; it must not hold a CPU a shard could use.
        limiter_cls = ray.remote(num_cpus=0, max_restarts=0, max_concurrency=10_000)(ClusterLimits)
        limits = endpoint_limits(self.settings.settings)
        self._limiter = limiter_cls.options(name=f"convrec-{run}-limits").remote(limits, shards=n_shards)
        # One CPU per shard (its event loop is CPU-bound), or a share when there are more shards than
        # CPUs: a shard asking for a CPU the cluster lacks would wait forever.
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        worker_cls = ray.remote(num_cpus=min(1.0, cpus / n_shards), max_restarts=self.max_restarts,
                                max_task_retries=0,
                                max_concurrency=1_000)(ShardWorker)
        # What every shard reads goes into the object store once; each shard's own planned dialogs
        # separately, so a shard deserialises its part of the plan set, not all of it. The references
        # are held for the run: a restarted worker is built again from them.
        by_key = {d.key: d for d in self.state.prepared.inputs}
        common = SharedRunState(prepared=dataclasses.replace(self.state.prepared, inputs=[]),
                                corpus=self.state.corpus)
        self._state_ref = state_ref = ray.put(common)
        self._input_refs = [ray.put([by_key[k] for k in keys]) for keys in shards]
        for i in range(n_shards):
            base_url = self.base_urls[i % len(self.base_urls)] if self.base_urls else None
            settings = self.settings.model_copy(update={"shards": n_shards, "base_url": base_url})
            self._workers[i] = worker_cls.options(name=f"convrec-{run}-shard-{i}").remote(
                i, state_ref, self._input_refs[i], settings, self._limiter)

    def worker(self, shard: int) -> Any:
        """The actor handle of ``shard`` (tests kill it)."""
        return self._workers[shard]

    def _stop(self) -> None:
        for handle in [*self._workers.values(), self._limiter]:
            if handle is not None:
                try:
                    self.ray.kill(handle, no_restart=True)
                except Exception as exc:
                    log.warning("ray_kill_failed", error=repr(exc))

    # -- running -----------------------------------------------------------------------------------
    async def run(self, dialogs: list[DialogInput], *, already_done: int = 0) -> RayRunOutcome:
        """Plays ``dialogs`` over the shards; returns when all ended (or a signal drained them)."""
        shards = shard_keys([d.key for d in dialogs], self.n_actors)
        display = ProgressDisplay(self.console, enabled=self.progress, total=already_done + len(dialogs),
                                  already_done=already_done, figures=lambda: (self.totals.done, self._line()))
        self._start(shards)
        try:
            with display:
                async with anyio.create_task_group() as outer:
                    if self.handle_signals:
                        outer.start_soon(watch_signals, self._on_signal)
                    outer.start_soon(display.refresh)
                    outer.start_soon(self._watch_pauses)
                    async with anyio.create_task_group() as tg:
                        for i, keys in enumerate(shards):
                            tg.start_soon(self._shard, i, keys)
                    self._limiter_stats = await self._limiter.stats.remote()
                    outer.cancel_scope.cancel()
        finally:
            self._stop()
        return RayRunOutcome(finished=self.totals.done, interrupted=self.draining,
                             restarts=dict(self.restarts),
                             actors=len(shards))

    async def _shard(self, shard: int, keys: list[str]) -> None:
        ray = self.ray
        remaining = list(keys)
        while remaining:
            worker = self._workers[shard]
            finished: set[str] = set()
            try:
                pid = await self._reachable(worker)  # a restarted worker answers once it is up
                play = worker.play.remote(remaining, self.restarts.get(shard, 0)).future()
                while True:
                    await self.store.backpressure()  # a slow disk holds the shards back, not memory
                    try:
                        batch: ShardBatch = await worker.poll.remote(self._pauses)
                    except ray.exceptions.ActorUnavailableError:
                        # Unreachable for a moment, or restarting: the same process means it lives on.
                        if await self._reachable(worker) == pid:
                            continue
                        raise
                    self._apply(shard, batch, finished)
                    if batch.done:
                        with contextlib.suppress(ray.exceptions.RayActorError):  # it died after: all is here
                            await asyncio.wrap_future(play)  # a worker's error (not a death) is raised
                        break
                    await anyio.sleep(POLL_INTERVAL_S)
                remaining = []
            except ray.exceptions.RayActorError as exc:
                remaining = [k for k in remaining if k not in finished]
                await self._lost(shard, remaining, exc)
                if self.draining:
                    break  # drained while it died: its unfinished dialogs stay for --resume
            finally:
                self.totals.ended(shard)
        # Ended: its slots go to the shards still running (a dead one's were freed in _lost).
        await self._limiter.release_holder.remote(holder_name(shard, self.restarts.get(shard, 0)))

    async def _reachable(self, worker: Any, timeout_s: float = 300.0) -> int:
        """The worker's pid once it answers (waits out a restart); a permanent death is raised."""
        unavailable = self.ray.exceptions.ActorUnavailableError
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return int(await worker.pid.remote())
            except unavailable:
                if time.monotonic() > deadline:
                    raise
                await anyio.sleep(0.2)

    def _apply(self, shard: int, batch: ShardBatch, finished: set[str]) -> None:
        # Rows first, in the worker's order: a finished dialog's dataset line is among them, after its
        # events, so it is complete in the store exactly when it is counted here.
        self.store.put_rows(batch.rows)
        finished.update(batch.finished)
        self.totals.add(shard, batch)
        if batch.endpoint_stats:
            self._endpoint_stats[shard] = batch.endpoint_stats
            self.limiter_round_trips += batch.limiter_round_trips
        if self.budget_usd is not None and self.totals.cost_usd >= self.budget_usd and not self.draining:
            self.budget_reached = True
            self._drain_all()
            log.warning("budget_reached", cost_usd=round(self.totals.cost_usd, 6), budget_usd=self.budget_usd)

    async def _lost(self, shard: int, remaining: list[str], exc: BaseException) -> None:
        n = self.restarts.get(shard, 0) + 1
        self.restarts[shard] = n
        # The dead incarnation's slots (its share is kept for the next one).
        released = await self._limiter.release_holder.remote(holder_name(shard, n - 1), died=True)
        if n > self.max_restarts:
            raise RayRunError(f"shard {shard} died {n} times (max_restarts={self.max_restarts}); "
                              f"last: {exc}. The run can be resumed with --resume") from exc
        await self.store.flush()
        dropped = await self.store.reset_dialogs(self.settings.run_id, remaining)
        log.warning("shard_restarted", shard=shard, restarts=n, replaying=len(remaining),
                    partial_dialogs_dropped=len(dropped), slots_freed=released)
        self.console.print(f"[yellow]shard {shard}: its worker died ({type(exc).__name__}); Ray restarts "
                           f"it and it plays its {len(remaining)} unfinished dialogs again[/]")

    async def _watch_pauses(self) -> None:
        # One read per poll period for the whole cluster; each poll hands the result to its shard.
        while True:
            self._pauses = await self._limiter.pauses.remote()
            await anyio.sleep(POLL_INTERVAL_S)

    def _line(self) -> str:
        return self.totals.shards_line(len(self._workers), sum(self.restarts.values()))

    def _drain_all(self) -> None:
        self.draining = True
        for worker in self._workers.values():
            worker.drain.remote()

    def _on_signal(self, signum: int) -> None:
        if not self.draining:
            self.console.print("[yellow]signal: no new dialogs on any shard; waiting for the running ones "
                               "(again to cancel them)[/]")
            self._drain_all()
        else:
            self.console.print("[yellow]cancelling running dialogs on every shard[/]")
            for worker in self._workers.values():
                worker.cancel.remote()

    # -- figures -----------------------------------------------------------------------------------
    def endpoint_stats(self) -> list[EndpointStats]:
        """Per endpoint: the shards' counters added up, in flight figures from the cluster limiter."""
        merged: dict[str, dict[str, Any]] = {}
        for stats in self._endpoint_stats.values():
            for s in stats:
                m = merged.get(s["key"])
                if m is None:
                    merged[s["key"]] = {**s, "errors": dict(s["errors"])}
                    continue
                for name in ("calls", "succeeded", "failed", "attempts", "retries", "queued_s", "held",
                             "held_s"):
                    m[name] += s[name]
                m["max_in_flight"] = max(m["max_in_flight"], s["max_in_flight"])
                for err, n in s["errors"].items():
                    m["errors"][err] = m["errors"].get(err, 0) + n
        cluster = {s.key: s for s in self._limiter_stats}
        out = []
        for key, m in merged.items():
            c = cluster.get(key)
            if c is not None:
                # The cluster's bound: calls in flight never exceed the slots granted at any moment.
                m["in_flight"], m["max_in_flight"] = 0, c.max_granted
            out.append(EndpointStats(**m))
        return out

    def figures(self) -> dict[str, Any]:
        """What summary.json says about the cluster run."""
        return {"actors": len(self._workers), "restarts": sum(self.restarts.values()),
                "limiter_round_trips": self.limiter_round_trips,
                "limiter": [dataclasses.asdict(s) for s in self._limiter_stats]}

    def stats(self) -> list[EndpointStats]:
        """What engine.run's summary lists (the same shape as a local run's registry)."""
        return self.endpoint_stats()

