"""User and system agents over autogen: exact context per call, search in prompts, errors, overhead."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest
from autogen_core.models import AssistantMessage, LLMMessage, SystemMessage, UserMessage

from agents.autogen_adapter import AutogenRunner
from agents.backends import FakeChatClient
from agents.catalog import Catalog
from agents.dialog import DialogAgent, NodeRequest, Turn
from agents.directive import DIRECTIVE_START, parse_directive
from agents.errors import RateLimited
from agents.personas import PersonaError, load_persona
from agents.prompts import Prompt
from agents.scripted import ScriptedClient
from agents.search import rank_items, search_catalog, wanted_aspects
from agents.system_agent import SystemAgent
from agents.user_agent import UserAgent
from planners import SamplingPlanner
from planners.context import PlanContext
from planners.plan import DialogPlan
from profiling.corpus import Item
from tests.support.planner_strategies import rich_context

PLANNER = SamplingPlanner()


def plan_through(ctx: PlanContext, *types: str) -> DialogPlan:
    for path, _ in PLANNER.feasible_paths(ctx):
        if all(t in path for t in types):
            return PLANNER.plan(ctx, path=path)
    raise AssertionError(f"no feasible path through {types}")


async def play(plan: DialogPlan, ctx: PlanContext, user: DialogAgent, system: DialogAgent) -> list[Turn]:
    turns: list[Turn] = []
    for node in plan.nodes:
        for agent in ((system, user) if node.opener == "system" else (user, system)):
            req = NodeRequest(plan=plan, context=ctx, node=node, attempt=1, exchange=0,
                              transcript=tuple(turns))
            reply = await agent.reply(req)
            assert reply.done  # one exchange is each node's minimum here
            turns.append(Turn(index=len(turns), node_index=node.index, node=node.type, attempt=1,
                              speaker=agent.role, text=reply.text, backend=reply.backend))
    return turns


async def test_agents_play_a_whole_plan_with_the_scripted_backend() -> None:
    ctx = rich_context()
    plan = plan_through(ctx, "recommend_alternative", "inquire_item")
    client = ScriptedClient()
    user, system = UserAgent(client, "chatty"), SystemAgent(client, "explanatory")
    assert isinstance(user, DialogAgent) and isinstance(system, DialogAgent)
    turns = await play(plan, ctx, user, system)
    print("\n".join(f"[{t.node}] {t.speaker}: {t.text}" for t in turns))
    assert {t.backend for t in turns} == {"scripted"}
    assert len(client.calls) == len(turns) == 2 * len(plan.nodes)
    cat = Catalog({p.item: Item(id=p.item, title=p.title) for p in (ctx.target, *ctx.negatives)})
    first_target = next(i for i, t in enumerate(turns) if ctx.target.item in cat.mentions(t.text))
    assert turns[first_target].node == "recommend_target" and turns[first_target].speaker == "system"
    # A second run of fresh agents gives the same dialog.
    again = await play(plan, ctx, UserAgent(ScriptedClient(), "chatty"), SystemAgent(ScriptedClient(),
                                                                                      "explanatory"))
    assert [t.text for t in again] == [t.text for t in turns]


async def test_each_call_sees_exactly_its_prompt_with_mirrored_roles() -> None:
    ctx = rich_context()
    plan = plan_through(ctx, "elicit")
    client = FakeChatClient(lambda msgs: f"reply {len(msgs)}")
    user = UserAgent(client)
    assert user.backend == "fake:fake"
    t0 = Turn(index=0, node_index=0, node="greet", attempt=1, speaker="system", text="Hi, what do you need?")
    t1 = Turn(index=1, node_index=0, node="greet", attempt=1, speaker="user", text="Headphones.")
    t2 = Turn(index=2, node_index=1, node="elicit", attempt=1, speaker="system", text="What matters?")
    long_req = NodeRequest(plan=plan, context=ctx, node=plan.nodes[1], attempt=1, exchange=0,
                           transcript=(t0, t1, t2))
    short_req = long_req.model_copy(update={"transcript": (t0,), "attempt": 2})
    r1 = await user.reply(long_req)
    r2 = await user.reply(short_req)  # as after a superseded attempt: less history than before
    assert r1.text == "reply 5" and r2.text == "reply 3"
    first, second = client.requests
    mirrored = [SystemMessage, UserMessage, AssistantMessage, UserMessage, UserMessage]
    assert [type(m) for m in first] == mirrored
    assert [type(m) for m in second] == [SystemMessage, UserMessage, UserMessage]
    assert second[1].content == t0.text  # nothing left over from the first call
    last = second[-1]
    assert isinstance(last, UserMessage) and DIRECTIVE_START in last.content
    d = parse_directive(str(last.content))
    assert d.role == "user" and d.node == "elicit" and d.attempt == 2


async def test_system_agent_searches_only_in_recommend_nodes() -> None:
    ctx = rich_context()
    plan = plan_through(ctx, "recommend_alternative")
    seen: list[Sequence[LLMMessage]] = []
    client = FakeChatClient(lambda msgs: seen.append(msgs) or "ok")
    system = SystemAgent(client)
    for node in plan.nodes:
        await system.reply(NodeRequest(plan=plan, context=ctx, node=node, attempt=1, exchange=0,
                                       transcript=()))
    for node, msgs in zip(plan.nodes, seen, strict=True):
        d = parse_directive(str(msgs[-1].content))
        assert bool(d.search) == (node.type in ("recommend_alternative", "recommend_target")), node.type
        if node.type == "recommend_alternative":
            assert "Catalog search" in str(msgs[-1].content)
            assert node.negative is not None and d.search


def test_search_ranks_by_community_sentiment_on_wanted_aspects() -> None:
    ctx = rich_context()
    plan = plan_through(ctx, "recommend_alternative")
    rec = next(n for n in plan.nodes if n.type == "recommend_target")
    req = NodeRequest(plan=plan, context=ctx, node=rec, attempt=1, exchange=0, transcript=(
        Turn(index=0, node_index=1, node="elicit", attempt=1, speaker="user", text="The Weight is key."),))
    want = wanted_aspects(req)
    revealed = {f.aspect for n in plan.nodes[: rec.index] for f in n.reveals}
    assert revealed <= set(want)
    assert 9 not in want  # "weight" (id 9) is not in rich_context's aspect table: not matched
    hits = search_catalog(req, k=5)
    declined = {n.negative.item for n in plan.nodes if n.negative is not None}
    assert not declined & {h.item for h in hits}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # Hand check: one wanted aspect, the item the community praises on it comes first.
    ranked = rank_items({0: 1.0}, (ctx.negatives[0], ctx.target), ctx.aspects, k=2)
    assert [h.item for h in ranked] == ["T", "N0"] and ranked[0].score > 0 > ranked[1].score


async def test_backend_errors_reach_the_caller_unchanged() -> None:
    def limited(msgs: Sequence[LLMMessage]) -> str:
        raise RateLimited("slow down", model="fake", retry_after=2.0)

    ctx = rich_context()
    plan = PLANNER.plan(ctx)
    agent = UserAgent(FakeChatClient(limited))
    with pytest.raises(RateLimited) as info:
        await agent.reply(NodeRequest(plan=plan, context=ctx, node=plan.nodes[0], attempt=1, exchange=0,
                                      transcript=()))
    assert info.value.retry_after == 2.0


def test_wrong_role_persona_is_refused() -> None:
    with pytest.raises(ValueError, match="system persona"):
        UserAgent(ScriptedClient(), load_persona("concise", "system"))
    with pytest.raises(PersonaError, match="no built-in user persona"):
        UserAgent(ScriptedClient(), "concise")


async def test_autogen_per_call_overhead_is_printed() -> None:
    """Measured, not asserted: the cost autogen adds over a direct client call (zero-latency client)."""
    client = FakeChatClient(lambda msgs: "ok")
    runner = AutogenRunner("probe", client)
    history = tuple(UserMessage(content=f"m{i}", source="user") if i % 2 else
                    AssistantMessage(content=f"m{i}", source="system") for i in range(10))
    prompt = Prompt("system text", history, "instruction")
    msgs = prompt.messages()
    n = 300
    for _ in range(20):  # warm-up
        await runner.run(prompt)
    t = time.perf_counter()
    for _ in range(n):
        await client.create(msgs)
    direct = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for _ in range(n):
        await runner.run(prompt)
    via = (time.perf_counter() - t) / n
    print(f"\nautogen overhead per call: {(via - direct) * 1e3:.3f} ms "
          f"(direct create {direct * 1e3:.3f} ms, via AssistantAgent {via * 1e3:.3f} ms, 12-message prompt; "
          "2 shared cores, noisy)")
    assert len(client.requests) == 2 * n + 20


async def test_concurrent_calls_on_one_agent_each_see_their_own_prompt() -> None:
    import anyio

    async def slow(msgs: Sequence[LLMMessage]) -> str:
        await anyio.sleep(0.01)  # both calls are in flight at once
        return str(msgs[-1].content)

    client = FakeChatClient(slow)
    runner = AutogenRunner("shared", client)
    results: dict[str, str] = {}

    async def call(tag: str, n_history: int) -> None:
        history = tuple(UserMessage(content=f"{tag}{i}", source="user") for i in range(n_history))
        results[tag] = (await runner.run(Prompt("s", history, f"instruction {tag}"))).text

    async with anyio.create_task_group() as tg:
        tg.start_soon(call, "a", 3)
        tg.start_soon(call, "b", 1)
    assert results == {"a": "instruction a", "b": "instruction b"}
    sizes = sorted(len(r) for r in client.requests)
    assert sizes == [3, 5]  # system + history + instruction, never a mix of the two


async def test_a_reply_stopped_by_the_token_limit_is_reported_cut_off() -> None:
    from autogen_core.models import CreateResult, RequestUsage

    ctx = rich_context()
    plan = SamplingPlanner().plan(ctx)

    def answer(messages: Sequence[LLMMessage]) -> CreateResult:
        last = str(messages[-1].content)
        finish = "length" if "elicit" in last.split(DIRECTIVE_START)[0] else "stop"
        return CreateResult(content="I really care about the", finish_reason=finish, cached=False,
                            usage=RequestUsage(prompt_tokens=5, completion_tokens=256))

    agent = UserAgent(FakeChatClient(answer))
    for node in plan.nodes[:2]:
        reply = await agent.reply(NodeRequest(plan=plan, context=ctx, node=node, attempt=1, exchange=0,
                                              transcript=()))
        assert reply.cut_off == (node.type == "elicit")
