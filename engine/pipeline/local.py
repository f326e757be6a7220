"""Playing a run's dialogs on this machine: one event loop, one DialogScheduler."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from rich.console import Console

from engine.core import DialogInput, DialogResult, DialogScheduler, DialogSetup, TraceSink, settled_heap
from engine.gateway import EndpointRegistry, EndpointStats, ManagedClient
from engine.store import TraceStore

__all__ = ["LocalPlayer"]

log = structlog.get_logger(__name__)


class LocalPlayer:
    """Plays dialogs with the scheduler on the run's gateway client; writes each dataset line to the store."""

    def __init__(self, setup: DialogSetup, store: TraceStore, client: ManagedClient,
                 registry: EndpointRegistry, console: Console) -> None:
        self.setup = setup
        self.store = store
        self.client = client
        self.registry = registry
        self.console = console
        self.interrupted = False
        self.budget_reached = False

    async def play(self, todo: Sequence[DialogInput], *, already_done: int) -> None:
        """Plays ``todo``; returns when all ended or a signal (or the budget) drained the run."""
        setup, s = self.setup, self.setup.settings
        validators = setup.validators(self.client)

        def make_executor(dialog: DialogInput, sink: TraceSink) -> Any:
            return setup.executor(dialog, self.client, sink, validators=validators)

        def on_result(dialog: DialogInput, result: DialogResult) -> None:
            self.store.finish_dialog(setup.run_id, dialog.key, setup.record(dialog, result))
            log.info("dialog_ended", status=result.status, reason=result.reason, turns=len(result.turns),
                     attempts=len(result.attempts), rollbacks=len(result.rollbacks),
                     llm_calls=result.n_llm_calls)

        scheduler = DialogScheduler(make_executor, self.store, concurrency=s.concurrency, on_result=on_result,
                                    console=self.console, progress=not s.quiet, budget_usd=s.budget_usd,
                                    loop_lag=self.registry.loop_lag)
        try:
            with settled_heap():
                outcome = await scheduler.run(todo, already_done=already_done)
        finally:
            self.budget_reached = scheduler.budget_reached
        self.interrupted = outcome.interrupted

    def stats(self) -> list[EndpointStats]:
        """Each endpoint's counters (summary.json)."""
        return self.registry.stats()

    def figures(self) -> dict[str, Any] | None:
        """Nothing more to report on one machine."""
        return None
