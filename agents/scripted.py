"""The ``scripted`` backend: a deterministic realizer that writes each turn from the prompt's directive.

It is a :class:`ChatCompletionClient` like the LLM backends, so agents, executor and engine run
unchanged; it reads the directive block of the last message (agents.directive) and writes the turn
with :func:`agents.realizer.realise`: from the node kind, this role's acts, the bindings and the persona,
drawing phrasings, sentence order and optional sentences from a generator seeded by the directive's
seed (dialog, node, attempt, exchange, role): the same seed always gives the same text, a retry gets a
new phrasing. It reads nothing else, so it never sees what any validator checks. Its calls are
labelled ``provider="scripted"`` in usage records and traces, and its model name is
``scripted-realizer-v2`` unless configured otherwise.

Grounding rules it keeps: the user states only bound preferences with their bound polarity, quotes
their own evidence only as a paraphrased clause whose sentiment agrees with that polarity, and
names the target only once it is on the table; the system names only the bound item of a recommend
node and describes community sentiment in its direction and in proportion to how many buyers voice it.

Importing this module registers the backend: ``make_client(BackendConfig(kind="scripted"))``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from autogen_core import CancellationToken
from autogen_core.models import CreateResult, LLMMessage
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from agents.backends.base import RecordingClient
from agents.backends.config import SMOLLM2_MODEL, BackendConfig
from agents.backends.factory import register_backend
from agents.backends.tokens import HeuristicCounter, message_text
from agents.directive import DirectiveError, parse_directive
from agents.realizer import realise

__all__ = ["SCRIPTED_MODEL", "ScriptedClient", "realise"]

SCRIPTED_MODEL = "scripted-realizer-v2"


# -- the ChatCompletionClient ------------------------------------------------------------------------
class ScriptedClient(RecordingClient):
    """A backend whose every answer is :func:`realise` of the directive in the request's last message."""

    provider = "scripted"

    def __init__(self, config: BackendConfig | None = None) -> None:
        config = config or BackendConfig(kind="scripted", model=SCRIPTED_MODEL, temperature=0.0)
        if config.model == SMOLLM2_MODEL:
            # The config's default model name is the local model's; a scripted call must not be
            # recorded as if SmolLM2 had written it.
            config = config.model_copy(update={"model": SCRIPTED_MODEL})
        super().__init__(config, HeuristicCounter())

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = (),
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        self._check_request(messages, tools, json_output)
        if json_output:
            raise DirectiveError("the scripted backend writes dialog turns only; it has no JSON output")
        started = time.perf_counter()
        text = realise(parse_directive(message_text(messages[-1])))
        return self._finish(messages=messages, content=text, finish="stop", input_tokens=None,
                            output_tokens=None, started=started,
                            req_hash=self._hash(messages, json_output, extra_create_args),
                            response_model=self._config.model, json_output=json_output)

    async def close(self) -> None:
        """Nothing to release."""


register_backend("scripted", ScriptedClient)
