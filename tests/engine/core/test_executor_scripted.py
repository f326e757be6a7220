"""The scripted backend and the rule validators through the executor, on a small sample world.

With the scripted backend at least 95% of the sample world's seeds finish with
every validator passing, and the same seed gives the same dialog. The world here is a small one of the
same generator (stage 1 from scratch on the default world takes minutes on 2 cores);
bench/bench_scripted_fidelity.py reports the default world's figure.
"""

from __future__ import annotations

import pytest

from agents.scripted import ScriptedClient
from agents.validators import default_validators
from engine.core.dialog_inputs import PreparedDialogs, prepare_dialog_set, prepare_dialogs, seed_order
from engine.core.events import (
    DialogEnded,
    LLMCallRecorded,
    MemorySink,
    TickClock,
    TurnRecorded,
    VerdictRecorded,
)
from engine.core.executor import DialogResult
from profiling.sample_world import WorldConfig, load_sample_world

# Stage 1 of the small world (and the encoder's one-off distillation) runs in the first test's setup.
pytestmark = pytest.mark.timeout(900)

WORLD = WorldConfig(seed=3, n_items=60, n_users=90, n_reviews=2200, n_aspects=14)
N_DIALOGS = 80


@pytest.fixture(scope="module")
def prepared(session_cache: None) -> PreparedDialogs:
    return prepare_dialog_set(load_sample_world(WORLD), n=N_DIALOGS, seed=0)


async def play(prepared: PreparedDialogs, n: int | None = None) -> tuple[list[DialogResult], MemorySink]:
    client = ScriptedClient()
    validators = default_validators()
    sink = MemorySink()
    out = []
    for d in prepared.inputs[:n]:
        ex = prepared.executor(d, client, validators, sink, user_persona="chatty", clock=TickClock())
        out.append(await ex.run(d.plan, d.context))
    return out, sink


@pytest.fixture(scope="module")
def played(prepared: PreparedDialogs) -> tuple[list[DialogResult], MemorySink]:
    import anyio

    return anyio.run(play, prepared)


def test_inputs_are_deterministic_and_account_for_every_seed(prepared: PreparedDialogs) -> None:
    assert len(prepared.inputs) == N_DIALOGS, prepared.skipped[:3]
    assert len({d.key for d in prepared.inputs}) == N_DIALOGS
    again = prepare_dialogs(load_sample_world(WORLD), n=N_DIALOGS, seed=0)
    assert [d.plan.content_hash for d in again] == [d.plan.content_hash for d in prepared.inputs]
    seeds = [d.context.seed for d in prepared.inputs]
    assert seed_order(seeds, 0) == seeds  # the pick is the run seed's order...
    assert seed_order(seeds, 1) != seeds  # ...and another run seed picks differently
    for key, why in prepared.skipped:  # a seed left out says why
        assert key and why


def test_at_least_95_percent_of_seeds_pass_every_validator(
    played: tuple[list[DialogResult], MemorySink],
) -> None:
    results, sink = played
    accepted = [r for r in results if r.status == "accepted"]
    rate = len(accepted) / len(results)
    first = sum(all(a.passed for a in r.attempts) for r in results) / len(results)
    print(f"\nscripted: {len(accepted)}/{len(results)} accepted ({rate:.1%}), {first:.1%} with no retry")
    for r in results:
        if r.status != "accepted":
            print(f"  {r.dialog_key}: {r.reason}")
    assert rate >= 0.95
    assert not [r for r in results if r.status == "failed_backend"]
    for r in accepted:  # accepted: the final attempt of every node passed every validator
        final = {(a.plan_hash, a.node_index): a for a in r.attempts}
        assert all(a.passed and all(v.passed for v in a.verdicts) for a in final.values())
        assert {t.node_index for t in r.turns} == set(range(len(r.plan.nodes)))
    # Scripted output is labelled as such in turns and in the model-call trace.
    assert {e.backend for e in sink.of(TurnRecorded)} == {"scripted"}
    assert {e.provider for e in sink.of(LLMCallRecorded)} == {"scripted"}
    ended = sink.of(DialogEnded)
    assert [e.status for e in ended] == [r.status for r in results]
    assert len(sink.of(VerdictRecorded)) == sum(len(r.verdicts) for r in results)


async def test_the_same_seed_gives_the_same_dialog(
    prepared: PreparedDialogs, played: tuple[list[DialogResult], MemorySink],
) -> None:
    results, sink = played
    again, sink2 = await play(prepared, 8)
    assert [r.turns for r in again] == [r.turns for r in results[:8]]
    keys = {r.dialog_key for r in again}

    def stream(s: MemorySink) -> list[dict[str, object]]:  # latency is measured, the rest is decided
        return [e.model_dump(exclude={"latency_s"}) for e in s.events if e.dialog_id in keys]

    assert stream(sink2) == stream(sink)
