"""Replay: a dialog played again from its recorded answers, and what happens when something changed.

A dialog is played with the scripted backend into a MemorySink; a ReplayClient built from its
LLMCallRecorded events (with the recorded run's BackendConfig) plays it again with zero model calls.
A swapped persona diverges: strict stops naming dialog, node and call; lenient goes live; a persona
swap from a chosen node keeps the recorded dialog before it. The world is test_executor_scripted's
small one, so a full test run computes its profiles once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import pytest
from autogen_core.models import LLMMessage, UserMessage
from structlog.testing import capture_logs

from agents.backends import FakeChatClient
from agents.errors import BadOutput
from agents.scripted import ScriptedClient
from agents.validators import default_validators
from engine.core.dialog_inputs import DialogInput, PreparedDialogs, prepare_dialog_set
from engine.core.events import LLMCallRecorded, MemorySink, TickClock
from engine.core.executor import DialogResult
from engine.replay.client import ReplayClient, ReplayDivergence, recording_from_events
from profiling.sample_world import WorldConfig, load_sample_world

pytestmark = pytest.mark.timeout(900)  # the first dialog test computes stage 1 (about a minute)

WORLD = WorldConfig(seed=3, n_items=60, n_users=90, n_reviews=2200, n_aspects=14)
MSG: list[LLMMessage] = [UserMessage(content="hello", source="user")]


class CountingScripted(ScriptedClient):
    """The scripted backend, counting the calls that reach it."""

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    async def create(self, messages: Sequence[LLMMessage], **kwargs: Any) -> Any:
        self.n += 1
        return await super().create(messages, **kwargs)


@pytest.fixture(scope="module")
def prepared(session_cache: None) -> PreparedDialogs:
    return prepare_dialog_set(load_sample_world(WORLD), n=4, seed=0)


async def _play(prepared: PreparedDialogs, d: DialogInput, client: Any, persona: str,
                sink: MemorySink | None = None) -> DialogResult:
    ex = prepared.executor(d, client, default_validators(), sink if sink is not None else MemorySink(),
                           user_persona=persona, clock=TickClock())
    return await ex.run(d.plan, d.context)


@pytest.fixture(scope="module")
def recorded(prepared: PreparedDialogs) -> tuple[DialogInput, DialogResult, MemorySink]:
    d = prepared.inputs[0]
    sink = MemorySink()
    result = anyio.run(_play, prepared, d, ScriptedClient(), "chatty", sink)
    assert result.status == "accepted"
    assert all(e.response_text for e in sink.of(LLMCallRecorded))  # the answers are in the trace
    return d, result, sink


def _said(turns: Sequence[Any]) -> list[tuple[int, int, str, str, bool]]:
    # A turn's ``backend`` label names the client (replay:...), so it is compared apart.
    return [(t.node_index, t.attempt, t.speaker, t.text, t.superseded) for t in turns]


@pytest.mark.slow
async def test_an_unchanged_dialog_replays_identically_with_no_model_call(
    prepared: PreparedDialogs, recorded: tuple[DialogInput, DialogResult, MemorySink],
) -> None:
    d, original, sink = recorded
    live = CountingScripted()  # there to prove it is never asked
    replay = ReplayClient.from_events(ScriptedClient().config, sink.events, dialog_id=d.key,
                                      mode="lenient", live=live)
    sink2 = MemorySink()
    again = await _play(prepared, d, replay, "chatty", sink2)
    assert live.n == 0 and replay.live_calls == 0 and not replay.is_live
    assert replay.replayed == original.n_llm_calls == again.n_llm_calls > 0
    assert again.status == original.status and _said(again.all_turns) == _said(original.all_turns)
    calls = sink2.of(LLMCallRecorded)
    assert [c.request_hash for c in calls] == [c.request_hash for c in sink.of(LLMCallRecorded)]
    assert {(c.provider, c.finish_reason, c.cost_usd) for c in calls} == {("replay", "replayed", 0.0)}
    assert [c.response_text for c in calls] == [c.response_text for c in sink.of(LLMCallRecorded)]


@pytest.mark.slow
async def test_strict_replay_stops_at_the_first_divergence_naming_where(
    prepared: PreparedDialogs, recorded: tuple[DialogInput, DialogResult, MemorySink],
) -> None:
    d, _, sink = recorded
    rec = recording_from_events(sink.events, d.key)
    replay = ReplayClient(ScriptedClient().config, rec.by_hash, dialog_id=d.key, mode="strict")
    with pytest.raises(ReplayDivergence) as info:
        await _play(prepared, d, replay, "terse")  # the user's persona is in every user prompt
    err = info.value
    assert (err.dialog_id, err.node_index, err.attempt, err.role) == (d.key, 0, 1, "user")
    assert err.request_hash not in rec.by_hash
    assert f"dialog {d.key} at node 0 attempt 1" in str(err) and "(user call)" in str(err)


@pytest.mark.slow
async def test_lenient_replay_warns_then_goes_live_and_completes(
    prepared: PreparedDialogs, recorded: tuple[DialogInput, DialogResult, MemorySink],
) -> None:
    d, _, sink = recorded
    live = CountingScripted()
    replay = ReplayClient.from_events(ScriptedClient().config, sink.events, dialog_id=d.key,
                                      mode="lenient", live=live)
    live_sink = MemorySink()
    with capture_logs() as logs:
        result = await _play(prepared, d, replay, "terse", live_sink)
    warned = [e for e in logs if e["event"] == "replay_diverged"]
    assert len(warned) == 1 and warned[0]["dialog_id"] == d.key and warned[0]["node"] == 0
    assert replay.diverged_at is not None and replay.diverged_at.role == "user"
    assert result.status == "accepted" and live.n == replay.live_calls > 0
    # The rest is what a fresh run with the new persona says (the scripted backend is deterministic).
    fresh = await _play(prepared, d, ScriptedClient(), "terse")
    assert _said(result.all_turns) == _said(fresh.all_turns)
    # Live calls are in the trace too, recorded by the live client and attributed to the dialog.
    providers = [c.provider for c in live_sink.of(LLMCallRecorded, d.key)]
    assert providers.count("scripted") == live.n and providers.count("replay") == replay.replayed


@pytest.mark.slow
async def test_a_persona_swap_from_a_node_keeps_the_dialog_before_it(
    prepared: PreparedDialogs, recorded: tuple[DialogInput, DialogResult, MemorySink],
) -> None:
    d, original, sink = recorded
    k = 2
    assert len(original.plan.nodes) > k + 1
    live = CountingScripted()
    replay = ReplayClient.from_events(ScriptedClient().config, sink.events, dialog_id=d.key, mode="strict",
                                      live=live, live_from_node=k)
    result = await _play(prepared, d, replay, "terse")
    assert result.status == "accepted"
    before = [t for t in _said(result.all_turns) if t[0] < k]
    assert before == [t for t in _said(original.all_turns) if t[0] < k]
    assert replay.replayed_by_position > 0  # the user's prompts changed with the persona
    assert replay.is_live and live.n == replay.live_calls > 0
    after = [t for t in _said(result.all_turns) if t[0] >= k and t[2] == "user"]
    assert after != [t for t in _said(original.all_turns) if t[0] >= k and t[2] == "user"]


# -- the client on its own ----------------------------------------------------------------------------
async def test_repeated_requests_are_served_in_order_then_the_last_again() -> None:
    config = FakeChatClient(lambda m: "").config
    probe = ReplayClient(config, {}, dialog_id="d")
    h = probe._hash(MSG, None, {})
    replay = ReplayClient(config, {h: ["first", "second"]}, dialog_id="d")
    texts = [(await replay.create(MSG)).content for _ in range(3)]
    assert texts == ["first", "second", "second"]
    usage = replay.last_usage
    assert usage is not None and (usage.provider, usage.finish_reason, usage.response_text) == (
        "replay", "replayed", "second")
    assert usage.tokens_estimated and replay.replayed == 3
    result = await replay.create(MSG)
    assert result.cached and result.finish_reason == "stop"


async def test_a_miss_outside_a_dialog_and_bad_set_ups_are_loud() -> None:
    config = FakeChatClient(lambda m: "").config
    with pytest.raises(ReplayDivergence, match=r"dialog d1 outside any node \(unknown role call\)"):
        await ReplayClient(config, {}, dialog_id="d1").create(MSG)
    with pytest.raises(ReplayDivergence):  # lenient with nothing to go live with
        await ReplayClient(config, {}, dialog_id="d1", mode="lenient").create(MSG)
    with pytest.raises(ValueError, match="needs a live client"):
        ReplayClient(config, {}, dialog_id="d1", live_from_node=1)
    with pytest.raises(ValueError, match="mode"):
        ReplayClient(config, {}, dialog_id="d1", mode="loose")  # type: ignore[arg-type]


async def test_a_recorded_answer_that_was_not_json_fails_again() -> None:
    config = FakeChatClient(lambda m: "").config
    probe = ReplayClient(config, {}, dialog_id="d")
    h = probe._hash(MSG, True, {})
    replay = ReplayClient(config, {h: ["not json"]}, dialog_id="d")
    with pytest.raises(BadOutput):
        await replay.create(MSG, json_output=True)
    assert replay.last_usage is not None  # recorded before the check, as a backend does
