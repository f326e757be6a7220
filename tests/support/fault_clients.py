"""Planted faults: a ChatCompletionClient wrapper that corrupts another client's turns on a schedule.

The wrapped client (the scripted realizer, or any other) writes the turn; :class:`FaultyClient`
reads the directive in the request (role, node, attempt, bindings) and, when the schedule says so,
rewrites the answer with one of the faults the validators must catch:

- ``target_leak``: the user names the hidden target before it is recommended;
- ``invented_item``: the system names a product that is not in the catalog;
- ``wrong_polarity``: the user states a bound preference with the opposite polarity;
- ``no_question`` / ``no_preference``: a skipped elicitation (the system asks nothing, or the user
  reveals nothing);
- ``early_recommendation``: the system recommends a catalog item before the recommend nodes;
- ``wrong_role``: the user's reply is written as the assistant's, with a role prefix.

Each fault names the validator that must catch it (:data:`EXPECTED`). The faults are written as a
careless model would write them, not as the validators' patterns: they are plain sentences.

Also here: :func:`play_plan`, a minimal one-attempt player for validator-level tests (the real
node loop with retries is engine.core.executor's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from autogen_core.models import CreateResult

from agents.backends import RecordingClient, UsageListener
from agents.backends.base import ChatRequest
from agents.backends.tokens import message_text
from agents.catalog import Catalog
from agents.dialog import DialogAgent, NodeRequest, Turn, ValidationInput
from agents.directive import Directive, parse_directive
from planners.context import PlanContext
from planners.plan import DialogPlan, NodeBinding

__all__ = ["EXPECTED", "FAULTS", "Fault", "FaultyClient", "play_plan", "validation_inputs"]

Fault = Literal["target_leak", "invented_item", "wrong_polarity", "no_question", "no_preference",
                "early_recommendation", "wrong_role"]
FAULTS: tuple[Fault, ...] = ("target_leak", "invented_item", "wrong_polarity", "no_question", "no_preference",
                             "early_recommendation", "wrong_role")

# fault -> (role that is corrupted, node types where it applies, the validator that must catch it)
EXPECTED: dict[Fault, tuple[str, tuple[str, ...], str]] = {
    "target_leak": ("user", ("elicit",), "behavioral.target_hidden"),
    "invented_item": ("system", ("recommend_target",), "behavioral.catalog_only"),
    "wrong_polarity": ("user", ("elicit",), "behavioral.preference_polarity"),
    "no_question": ("system", ("elicit",), "executional.acts"),
    "no_preference": ("user", ("elicit",), "executional.acts"),
    "early_recommendation": ("system", ("elicit",), "executional.no_early_recommendation"),
    "wrong_role": ("user", ("elicit",), "executional.roles"),
}

INVENTED_NAME = "Zentrix Q7 Pro"


class FaultyClient(RecordingClient):
    """Wraps ``inner``; corrupts the answers whose directive matches the fault's role and node types.

    ``attempts``: the attempts that are corrupted (None: every attempt, so the node can never pass
    and the executor must roll back). ``target_title`` and ``catalog_title`` are what a leak and an
    early recommendation name (the directive is scrubbed of the hidden target's title on purpose).
    Usage is recorded by the inner client; listeners added here are added there.
    """

    def __init__(self, inner: RecordingClient, fault: Fault, *, target_title: str, catalog_title: str,
                 attempts: frozenset[int] | None = None, nodes: tuple[str, ...] | None = None) -> None:
        super().__init__(inner.config, inner.token_counter)
        self.inner = inner
        self.fault = fault
        self.target_title = target_title
        self.catalog_title = catalog_title
        self.attempts = attempts
        self.nodes = nodes
        # Labelled as what it is: turns it writes say they came from a fault-planting wrapper.
        self.provider = f"{inner.provider}+fault"
        self.calls = inner.calls
        self.corrupted: list[tuple[str, int, int]] = []  # (node, node_index, attempt)

    def add_usage_listener(self, listener: UsageListener) -> None:
        self.inner.add_usage_listener(listener)

    def _applies(self, d: Directive) -> bool:
        role, kinds, _ = EXPECTED[self.fault]
        kinds = self.nodes or kinds
        return d.role == role and d.node in kinds and (self.attempts is None or d.attempt in self.attempts)

    async def _create(self, request: ChatRequest) -> CreateResult:
        result = await request.send(self.inner)
        d = parse_directive(message_text(request.messages[-1]))
        if not self._applies(d) or not isinstance(result.content, str):
            return result
        self.corrupted.append((d.node, d.node_index, d.attempt))
        return result.model_copy(update={"content": self.corrupt(result.content, d)})

    def corrupt(self, text: str, d: Directive) -> str:
        """``text`` with the fault planted."""
        b = d.binding
        if self.fault == "target_leak":
            return f"{text} Honestly, I already have my eye on the {self.target_title}."
        if self.fault == "invented_item":
            return f"{text} You could also look at the {INVENTED_NAME}."
        if self.fault == "wrong_polarity":
            lines = []
            for f in b.reveals:
                label = f.name.split(" / ")[0]
                lines.append(f"I have always been unhappy with the {label} on everything I owned."
                             if f.polarity > 0 else
                             f"I have always loved the {label} on everything I owned.")
            return " ".join(lines) or text
        if self.fault == "no_question":
            return "Okay, noted."
        if self.fault == "no_preference":
            return "Okay."
        if self.fault == "early_recommendation":
            return f"I recommend the {self.catalog_title}. {text}"
        if self.fault == "wrong_role":
            return f"Assistant: {text}"
        raise ValueError(f"unknown fault {self.fault!r}")

    async def close(self) -> None:
        """Nothing to release (the inner client is closed by its owner)."""


async def play_plan(plan: DialogPlan, ctx: PlanContext, user: DialogAgent, system: DialogAgent,
                    *, attempt: int = 1) -> list[Turn]:
    """One attempt of every node, each its minimum number of exchanges (no validation, no retries)."""
    turns: list[Turn] = []
    for node in plan.nodes:
        order = (system, user) if node.opener == "system" else (user, system)
        # As the executor plays it: a side without an act in the node stays silent.
        order = tuple(a for a in order if (node.user_acts if a.role == "user" else node.system_acts))
        for exchange in range(node.min_turns):
            for agent in order:
                req = NodeRequest(plan=plan, context=ctx, node=node, attempt=attempt, exchange=exchange,
                                  transcript=tuple(turns), final_exchange=exchange + 1 == node.max_turns)
                reply = await agent.reply(req)
                turns.append(Turn(index=len(turns), node_index=node.index, node=node.type, attempt=attempt,
                                  speaker=agent.role, text=reply.text, backend=reply.backend))
    return turns


def validation_inputs(plan: DialogPlan, ctx: PlanContext, turns: Sequence[Turn], catalog: Catalog
                      ) -> list[tuple[NodeBinding, ValidationInput]]:
    """One ValidationInput per node of a played plan (earlier nodes' turns as ``before``)."""
    out: list[tuple[NodeBinding, ValidationInput]] = []
    for node in plan.nodes:
        mine = tuple(t for t in turns if t.node_index == node.index)
        before = tuple(t for t in turns if t.node_index < node.index)
        attempt = mine[0].attempt if mine else 1
        out.append((node, ValidationInput(plan=plan, context=ctx, node=node, attempt=attempt, turns=mine,
                                          before=before, catalog=catalog)))
    return out
