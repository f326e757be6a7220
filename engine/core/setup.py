"""DialogSetup: how every dialog of a run is played and written, from the run's settings.

One set-up for the three places that play dialogs: the local run (:mod:`engine.pipeline.local`),
replay (:mod:`engine.replay.command`) and a Ray shard (:mod:`engine.cluster.shard`). Each brings its
own client (the gateway's, a replay client, a shard's gateway) and its own trace sink; the agents,
personas, validators, attempts and the dataset line come from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

from autogen_core.models import ChatCompletionClient

from agents.dialog import DialogAgent, Validator
from agents.meaning import MeaningCheck, encoder_similarity
from agents.polish import Polisher
from agents.scripted import ScriptedClient
from agents.validators import DialogScorer, default_validators
from engine.config import RunSettings
from engine.core.dialog_inputs import DialogInput, PreparedDialogs
from engine.core.events import TraceSink
from engine.core.executor import DialogExecutor, DialogResult
from engine.core.records import dialog_record
from profiling.corpus import Corpus

__all__ = ["DialogSetup", "Personas"]


class Personas(NamedTuple):
    """The user and system persona names a dialog is played with."""

    user: str
    system: str


@dataclass(frozen=True)
class DialogSetup:
    """A run's prepared dialogs and settings, ready to make executors and dataset lines."""

    prepared: PreparedDialogs
    corpus: Corpus
    settings: RunSettings
    run_id: str
    backend_label: str  # what the dataset line says wrote the turns
    # The scripted realizer drafting every turn when the agents do not write on the run's client
    # (polish, or scripted turns judged by an LLM): not a model, so not traced as model calls.
    drafter: ScriptedClient = field(default_factory=ScriptedClient)

    @property
    def personas(self) -> Personas:
        """The personas the run's settings name."""
        return Personas(self.settings.user_persona, self.settings.system_persona)

    def validators(self, client: ChatCompletionClient) -> list[Validator]:
        """The rule validators, and the LLM judges on ``client`` when the settings ask for them."""
        return default_validators(judge=client if self.settings.judge_on else None)

    @cached_property
    def meaning(self) -> MeaningCheck:
        """The polish mode's meaning check, on the fast sentence encoder (loaded once per run)."""
        from profiling.encoders import get_encoder

        return MeaningCheck(encoder_similarity(get_encoder("fast", cache=False).encode))

    def polisher(self, client: ChatCompletionClient) -> Polisher | None:
        """The polisher rewriting drafts with ``client`` (None unless the run polishes)."""
        s = self.settings
        if s.realization != "polish":
            return None
        return Polisher(client, self.meaning, tries=s.polish_tries, context=s.polish_context,
                        max_tokens=s.max_tokens)
    def scorer(self, client: ChatCompletionClient) -> DialogScorer | None:
        """The judge that scores accepted dialogs on ``client`` when the settings ask for it, else None."""
        if not self.settings.judge_on:
            return None
        return DialogScorer(client, label=f"{self.settings.backend}:{self.settings.model or 'default'}")

    def executor(self, dialog: DialogInput, client: ChatCompletionClient, sink: TraceSink, *,
                 validators: Sequence[Validator], personas: Personas | None = None) -> DialogExecutor:
        """An executor for ``dialog`` with fresh agents (the run's personas unless given): on ``client`` in
        free mode, drafting with the scripted realizer otherwise, ``client`` then polishing or judging."""
        p = personas or self.personas
        s = self.settings
        drafts = s.realization == "polish" or (s.realization == "scripted" and s.judge_on)
        return self.prepared.executor(dialog, client, validators, sink, user_persona=p.user,
                                      system_persona=p.system, max_attempts=s.max_attempts,
                                      embed_directive=s.embed_directive, run_id=self.run_id,
                                      drafter=self.drafter if drafts else None,
                                      polisher=self.polisher(client), scorer=self.scorer(client))

    def executor_with(self, user: DialogAgent, system: DialogAgent, sink: TraceSink, *,
                      validators: Sequence[Validator], clients: Sequence[Any],
                      scorer: DialogScorer | None = None) -> DialogExecutor:
        """An executor for agents built elsewhere (replay's persona switch), with the run's rules."""
        return DialogExecutor(user, system, validators, self.prepared.planner, sink,
                              catalog=self.prepared.catalog, max_attempts=self.settings.max_attempts,
                              clients=clients, run_id=self.run_id, scorer=scorer,
                              polisher=self.polisher(clients[0]) if clients else None)

    def record(self, dialog: DialogInput, result: DialogResult, *, backend: str | None = None,
               personas: Personas | None = None) -> dict[str, Any]:
        """The dataset line of a played dialog."""
        p = personas or self.personas
        return dialog_record(result, dialog.context, self.corpus, backend=backend or self.backend_label,
                             user_persona=p.user, system_persona=p.system, run_seed=self.settings.seed)
