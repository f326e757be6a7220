"""Playing a run's dialogs on a Ray cluster: the shards of :mod:`engine.cluster`, one store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console

from engine.core import DialogInput, DialogSetup
from engine.gateway import EndpointStats
from engine.store import TraceStore

__all__ = ["RayPlayer", "ray_encoder"]


class RayPlayer:
    """Plays dialogs over shard actors (the Ray session is already joined by the pipeline)."""

    def __init__(self, setup: DialogSetup, store: TraceStore, console: Console) -> None:
        self.setup = setup
        self.store = store
        self.console = console
        self.interrupted = False
        self.budget_reached = False
        self._runner: Any = None

    async def play(self, todo: Sequence[DialogInput], *, already_done: int) -> None:
        """Plays ``todo`` on the cluster; returns when every shard ended or a signal drained them."""
        from engine.cluster import RayRunner, ShardSettings, SharedRunState, ray_session

        setup, s = self.setup, self.setup.settings
        settings = ShardSettings(run_id=setup.run_id, settings=s, backend_label=setup.backend_label)
        with ray_session(s.address) as ray:
            self._runner = runner = RayRunner(
                ray, self.store, settings, SharedRunState(prepared=setup.prepared, corpus=setup.corpus),
                actors=s.actors, base_urls=s.base_urls(), max_restarts=s.max_restarts,
                budget_usd=s.budget_usd, console=self.console, progress=not s.quiet)
            try:
                await runner.run(list(todo), already_done=already_done)
            finally:
                self.budget_reached = runner.budget_reached
                self.interrupted = runner.draining
        f = runner.figures()
        self.console.print(f"ray: {f['actors']} actors, {f['restarts']} worker restarts, "
                           f"{f['limiter_round_trips']} round trips to the cluster limiter")

    def stats(self) -> list[EndpointStats]:
        """Each endpoint's counters, the shards' added up (summary.json)."""
        return self._runner.endpoint_stats() if self._runner is not None else []

    def figures(self) -> dict[str, Any] | None:
        """The cluster's figures (summary.json's ``ray``)."""
        return self._runner.figures() if self._runner is not None else None


def ray_encoder(settings: Any) -> Any:  # -> RayDataEncoder | None
    """The stage-1 encoder as a Ray Data job (``embed_on="ray"``), else None (the local one)."""
    if settings.embed_on != "ray":
        return None
    import ray

    from profiling.ray_embed import RayDataEncoder

    workers = settings.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
    return RayDataEncoder(settings.encoder, workers=workers)
