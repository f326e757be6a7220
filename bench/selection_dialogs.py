"""Scripted dialogs of chosen seeds, generated in process and cached: the quality bench's fallback source.

The scripted backend is deterministic and every dialog is played independently, so the dialog of a seed
is the same whether a run plays it among all seeds or alone: this plays only the seeds a bench needs,
with the engine's settings for ``--backend scripted`` (run seed 0, default personas, the sampling
planner, every rule validator, 4 attempts per node, the realizer's directive embedded), and writes each
one as the dataset line ``engine.core.records.dialog_record`` makes, appended to a cache file so a rerun
plays nothing twice. Seeds that cannot be planned are recorded as such and yield no dialog.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
from rich.progress import Progress

from agents.catalog import Catalog
from agents.scripted import ScriptedClient
from agents.validators import default_validators
from engine.core.dialog_inputs import DialogInput, PreparedDialogs
from engine.core.events import MemorySink, TickClock
from engine.core.records import dialog_record
from planners.context import PlanContext
from planners.errors import PlanError
from planners.sampler import PlanConfig, SamplingPlanner
from profiling.corpus import Corpus
from profiling.pipeline import ProfilingResult
from profiling.seeds import Seed


class ScriptedDialogs:
    """Dialog records by seed key, played on demand and cached in ``path`` (JSON lines).

    Several processes may share a folder, each appending to its own file; :meth:`refresh` reads every
    ``dialogs-*.jsonl`` file of the folder, so a process reuses what the others played.
    """

    def __init__(self, corpus: Corpus, result: ProfilingResult, path: Path, run_seed: int = 0) -> None:
        self.corpus = corpus
        self.run_seed = run_seed
        self.path = path
        planner = SamplingPlanner(PlanConfig(seed=run_seed))
        self.prepared = PreparedDialogs(inputs=[], skipped=[], profiling=result,
                                        catalog=Catalog(corpus.items), planner=planner)
        self.aspects = {a.id: a for a in result.profiles.aspects}
        self.client = ScriptedClient()
        self.validators = default_validators()
        self.records: dict[str, dict[str, Any]] = {}
        self.unplannable: dict[str, str] = {}
        self.refresh()

    def refresh(self) -> None:
        """Load every dialog the cache files of the folder hold (a half-written last line is left)."""
        for f in sorted(self.path.parent.glob("dialogs-*.jsonl")):
            for line in f.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:  # another process is writing this line right now
                    continue
                if rec.get("status") == "not_planned":
                    self.unplannable[rec["dialog_id"]] = rec["reason"]
                else:
                    self.records[rec["dialog_id"]] = rec

    def ensure(self, seeds: Sequence[Seed], what: str = "dialogs", chunk: int = 25) -> None:
        """Play every seed of ``seeds`` without a cached dialog (re-reading the cache each ``chunk``)."""
        for lo in range(0, len(seeds), chunk):
            self.refresh()
            todo = [s for s in seeds[lo:lo + chunk]
                    if s.key not in self.records and s.key not in self.unplannable]
            if todo:
                anyio.run(self._play, todo, what)

    async def _play(self, seeds: list[Seed], what: str) -> None:
        with self.path.open("a") as fh, Progress(transient=True, disable=len(seeds) < 100) as bar:
            task = bar.add_task(f"playing {len(seeds)} {what} (scripted)", total=len(seeds))
            for s in seeds:
                try:
                    ctx = PlanContext.from_source(s, self.prepared.profiling.profiles, persona="default",
                                                  aspects=self.aspects)
                    plan = self.prepared.planner.plan(ctx)
                except PlanError as exc:
                    self.unplannable[s.key] = str(exc)
                    line = {"dialog_id": s.key, "status": "not_planned", "reason": str(exc)}
                    fh.write(json.dumps(line) + "\n")
                    bar.advance(task)
                    continue
                ex = self.prepared.executor(DialogInput(context=ctx, plan=plan), self.client, self.validators,
                                            MemorySink(), embed_directive=True, clock=TickClock())
                result = await ex.run(plan, ctx)
                rec = dialog_record(result, ctx, self.corpus, backend="scripted", user_persona="default",
                                    system_persona="default", run_seed=self.run_seed)
                self.records[s.key] = rec
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                bar.advance(task)
