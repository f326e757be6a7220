"""Polish mode through the executor: drafts rewritten by a (fake) model, every turn labelled, nothing
replaced silently."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import pytest
from autogen_core.models import LLMMessage

from agents.backends import FakeChatClient
from agents.errors import LLMServerError
from agents.meaning import MeaningCheck
from agents.polish import Polisher
from agents.scripted import ScriptedClient
from agents.validators import default_validators
from engine.core.dialog_inputs import PreparedDialogs, prepare_dialog_set
from engine.core.events import LLMCallRecorded, MemorySink, TickClock, TurnPolished, TurnRecorded
from engine.core.executor import DialogResult
from engine.core.records import dialog_record
from profiling.sample_world import load_sample_world
from tests.support.worlds import WORLD

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def prepared(session_cache: None) -> PreparedDialogs:
    return prepare_dialog_set(load_sample_world(WORLD), n=6, seed=0)


def light_touch(messages: Sequence[LLMMessage]) -> str:
    """A model that rewrites a few contractions and otherwise echoes the draft (refused: unchanged)."""
    said = str(messages[-1].content).split('says: "', 1)[1].rstrip('"')
    return said.replace("I am", "I'm").replace("I will", "I'll").replace("It is", "It's")


def play(prepared: PreparedDialogs, model: FakeChatClient, tries: int = 2
         ) -> tuple[list[DialogResult], MemorySink]:
    async def go() -> list[DialogResult]:
        out = []
        for d in prepared.inputs:
            polisher = Polisher(model, MeaningCheck(None), tries=tries)
            ex = prepared.executor(d, model, default_validators(), sink, clock=TickClock(),
                                   drafter=ScriptedClient(), polisher=polisher)
            out.append(await ex.run(d.plan, d.context))
        return out

    sink = MemorySink()
    return anyio.run(go), sink


def test_every_turn_is_the_models_or_its_labelled_draft(prepared: PreparedDialogs) -> None:
    results, sink = play(prepared, FakeChatClient(light_touch))
    assert all(r.status == "accepted" for r in results)
    turns = [t for r in results for t in r.turns]
    assert {t.realizer for t in turns} == {"model", "draft"}
    for t in turns:
        assert t.draft is not None
        assert (t.text != t.draft) == (t.realizer == "model")
    polished = sink.of(TurnPolished)
    assert len(polished) == len(turns)  # one outcome per accepted turn, none silent
    for e in polished:
        assert (e.realizer == "model") == any(not reasons for _, reasons in e.tries)
    # Drafts are said before they are polished, as drafts; model calls are the polisher's only.
    assert {e.realizer for e in sink.of(TurnRecorded)} == {"draft"}
    assert {e.role.split(":")[0] for e in sink.of(LLMCallRecorded)} == {"polish"}
    d = prepared.inputs[0]
    record = dialog_record(results[0], d.context, load_sample_world(WORLD), backend="fake",
                           user_persona="default", system_persona="default", run_seed=0)
    assert all(t["realizer"] in ("model", "draft") and "draft" in t for t in record["turns"])


def test_a_polish_never_breaks_the_validators(prepared: PreparedDialogs) -> None:
    # A model that leaks the target into every rewrite: the validators refuse each one, the drafts stay.
    target = {d.key: prepared.catalog.title(d.plan.target) for d in prepared.inputs}
    leak = FakeChatClient(lambda m: light_touch(m) + " " + next(iter(target.values())))
    results, _ = play(prepared, leak, tries=1)
    assert all(r.status == "accepted" for r in results)


def test_a_failing_model_fails_the_dialog_loudly(prepared: PreparedDialogs) -> None:
    def down(messages: Sequence[LLMMessage]) -> str:
        raise LLMServerError("server down", status=503)

    results, _ = play(prepared, FakeChatClient(down))
    assert {r.status for r in results} == {"failed_backend"}
    assert all("polishing" in (r.reason or "") for r in results)
