"""End to end with the real SmolLM2-135M: 3 dialogs in process, 3 through ``llama_cpp.server``.

The small model fails validators often; that is what the retry path is for, so acceptance is not
asserted: each dialog must end accepted or failed_fidelity with its reasons, and its events must be
consistent. The report of attempts and verdicts is printed (run with ``-s`` to see it). To keep the
runtime to a few minutes on 2 cores the calls are capped at 40 tokens, a node gets 2 attempts and no
rollback; bench/bench_smollm2_acceptance.py measures the acceptance rate with the full 4 attempts.
"""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest
from autogen_core.models import ChatCompletionClient

from agents.backends import BackendConfig, ModelInfoConfig, RecordingClient, make_client
from agents.system_agent import SystemAgent
from agents.user_agent import UserAgent
from agents.validators import default_validators
from engine.core.events import LLMCallRecorded, MemorySink, TickClock
from engine.core.executor import DialogExecutor, DialogResult
from tests.support.dialogs import CATALOG, PLANNER, check_stream
from tests.support.planner_strategies import rich_context

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed: pip install '.[local]'")


MAX_TOKENS = 40
# Three seeds of the hand-built context, each on a different path of the grammar.
PATH_TYPES = (("elicit",), ("recommend_alternative",), ("inquire_item",))


def report(result: DialogResult) -> str:
    """Per node attempt: pass/fail, the failed validators' first reasons, and the turns said."""
    why = f" ({result.reason})" if result.reason else ""
    lines = [f"dialog {result.dialog_key}: {result.status}{why}"]
    for a in result.attempts:
        mark = "pass" if a.passed else "FAIL"
        lines.append(f"  node {a.node_index} {a.state} attempt {a.attempt}: {mark}")
        for v in a.verdicts:
            if not v.passed:
                lines.append(f"    {v.validator}: {v.reasons[0] if v.reasons else ''}")
        for t in result.all_turns:
            if t.node_index == a.node_index and t.attempt == a.attempt:
                lines.append(f"    {t.speaker}: {t.text[:100]!r}")
    return "\n".join(lines)


async def play_three(client: ChatCompletionClient, label: str) -> list[DialogResult]:
    assert isinstance(client, RecordingClient)
    results = []
    for k, types in enumerate(PATH_TYPES):
        ctx = rich_context(key=f"e2e-{label}-{k}")
        path = next(p for p, _ in PLANNER.feasible_paths(ctx)
                    if all(t in [PLANNER.grammar.type_of(s) for s in p] for t in types))
        plan = PLANNER.plan(ctx, path=path)
        sink = MemorySink()
        ex = DialogExecutor(UserAgent(client, "terse", embed_directive=False),
                            SystemAgent(client, "concise", embed_directive=False),
                            default_validators(), PLANNER, sink, catalog=CATALOG, max_attempts=2,
                            max_rollbacks=0, clients=[client], run_id=label, clock=TickClock())
        result = await ex.run(plan, ctx)
        print("\n" + report(result))
        check_stream(sink, result)
        assert result.status in ("accepted", "failed_fidelity"), result.reason
        if result.status == "failed_fidelity":
            assert result.reason and any(not v.passed for v in result.verdicts)
        calls = sink.of(LLMCallRecorded)
        assert len(calls) == len(result.all_turns)  # one model call per turn (no LLM judge here)
        assert {c.request_model for c in calls} == {client.config.model}
        assert all(c.output_tokens <= MAX_TOKENS for c in calls)
        results.append(result)
    n_ok = sum(r.status == "accepted" for r in results)
    print(f"\n{label}: {n_ok}/3 dialogs accepted")
    return results


@pytest.fixture
def local_client() -> Iterator[ChatCompletionClient]:
    client = make_client(BackendConfig(kind="local", temperature=0.2, max_tokens=MAX_TOKENS))
    yield client
    anyio.run(client.close)


@pytest.mark.slow
@pytest.mark.timeout(900)  # a few minutes on 2 idle cores; far more when they are shared
async def test_three_dialogs_with_smollm2_in_process(local_client: ChatCompletionClient) -> None:
    results = await play_three(local_client, "local")
    assert all(t.backend.startswith("llama_cpp:") for r in results for t in r.all_turns)


@pytest.mark.slow
@pytest.mark.timeout(900)  # a few minutes on 2 idle cores; far more when they are shared
async def test_three_dialogs_with_smollm2_through_llama_cpp_server(llama_server: str) -> None:
    client = make_client(BackendConfig(kind="openai", model="smollm2", base_url=llama_server, temperature=0.2,
                                       max_tokens=MAX_TOKENS, json_mode="json_object_schema",
                                       model_info=ModelInfoConfig(family="smollm2")))
    try:
        results = await play_three(client, "http")
    finally:
        await client.close()
    assert all(t.backend == "openai:smollm2" for r in results for t in r.all_turns)
