"""RecordingClient: the ChatCompletionClient plumbing every ConvRec backend shares.

Usage totals, a per-call :class:`CallUsage` log with listeners (the engine's trace hook), model info,
request checks and token counting live here; a backend implements only ``_complete`` (and streaming).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any, Literal

import structlog
from autogen_core import CancellationToken
from autogen_core.models import (
    ChatCompletionClient,
    CreateResult,
    LLMMessage,
    ModelCapabilities,  # pyright: ignore[reportDeprecated]
    ModelInfo,
    RequestUsage,
)
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from agents.backends.config import BackendConfig
from agents.backends.tokens import TokenCounter, count_messages
from agents.backends.usage import CallUsage, request_hash
from agents.backends.wire import JsonOutput, check_json_output
from agents.errors import UnsupportedRequest

__all__ = ["RecordingClient", "UsageListener"]

log = structlog.get_logger(__name__)

UsageListener = Callable[[CallUsage], None]
# Enough recent calls for a test or a progress line; the trace store keeps them all.
_RECENT_CALLS = 1024


class RecordingClient(ChatCompletionClient):
    """Base of our backends: records usage per call and checks what the model can be asked for."""

    provider: str = "unknown"

    def __init__(self, config: BackendConfig, counter: TokenCounter) -> None:
        self._config = config
        self._counter = counter
        self._total = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self._actual = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self._listeners: list[UsageListener] = []
        self.calls: deque[CallUsage] = deque(maxlen=_RECENT_CALLS)

    def __repr__(self) -> str:
        # Never the key: only what identifies the endpoint.
        return f"{type(self).__name__}(model={self._config.model!r}, base_url={self._config.base_url!r})"

    @property
    def config(self) -> BackendConfig:
        """The config this client was built from (holds no secret)."""
        return self._config

    @property
    def token_counter(self) -> TokenCounter:
        """The counter used when the server reports no usage; ``exact`` says whether it is the model's."""
        return self._counter

    def add_usage_listener(self, listener: UsageListener) -> None:
        """Call ``listener(usage)`` after every completed call (the engine writes it to the trace); once."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    @property
    def last_usage(self) -> CallUsage | None:
        """The most recent call's usage, or None before the first call."""
        return self.calls[-1] if self.calls else None

    # --- helpers for subclasses -------------------------------------------------------------

    def _check_request(self, messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema],
                       json_output: JsonOutput) -> None:
        model = self._config.model
        if tools:
            # The plan-driven agents call no tools; supporting them means parsing tool calls back,
            # which no caller needs yet. Loud, not silently dropped.
            raise UnsupportedRequest("tool calls are not supported by ConvRec backends", model=model)
        if not messages:
            raise UnsupportedRequest("a request needs at least one message", model=model)
        info = self._config.model_info
        if json_output is True and not info.json_output:
            raise UnsupportedRequest("model_info says this model has no JSON output", model=model)
        if isinstance(json_output, type) and not info.structured_output:
            raise UnsupportedRequest("model_info says this model has no structured output", model=model)

    def _hash(self, messages: Sequence[LLMMessage], json_output: JsonOutput,
              extra_create_args: Mapping[str, Any]) -> str:
        c = self._config
        schema: Any = json_output.model_json_schema() if isinstance(json_output, type) else json_output
        return request_hash(messages, {
            "model": c.model, "temperature": c.temperature, "max_tokens": c.max_tokens, "seed": c.seed,
            "json_output": schema, "json_mode": c.json_mode, "extra": dict(extra_create_args),
        })

    def _finish(self, *, messages: Sequence[LLMMessage], content: str, finish: str,
                input_tokens: int | None, output_tokens: int | None, started: float, req_hash: str,
                response_model: str | None, json_output: JsonOutput,
                tokens_estimated: bool = False) -> CreateResult:
        """Record the call (counting tokens ourselves when the server gave none), then check its JSON."""
        latency = time.perf_counter() - started
        estimated = tokens_estimated or input_tokens is None or output_tokens is None
        if input_tokens is None:
            input_tokens = count_messages(self._counter, messages)
        if output_tokens is None:
            output_tokens = self._counter.count(content)
        c = self._config
        usage = CallUsage(
            provider=self.provider, request_model=c.model, response_model=response_model,
            input_tokens=input_tokens, output_tokens=output_tokens, tokens_estimated=estimated,
            latency_s=latency, cost_usd=c.cost_usd(input_tokens, output_tokens), finish_reason=finish,
            request_hash=req_hash, temperature=c.temperature, max_tokens=c.max_tokens, seed=c.seed,
            server_address=c.base_url, response_text=content)
        self._record(usage)
        # Usage is recorded before the JSON check: a malformed answer still spent its tokens.
        check_json_output(content, json_output, model=c.model)
        return CreateResult(
            finish_reason=finish,  # type: ignore[arg-type]  # normalised by wire.finish_reason
            content=content,
            usage=RequestUsage(prompt_tokens=input_tokens, completion_tokens=output_tokens),
            cached=False)

    def _record(self, usage: CallUsage) -> None:
        self.calls.append(usage)
        self._total = RequestUsage(prompt_tokens=self._total.prompt_tokens + usage.input_tokens,
                                   completion_tokens=self._total.completion_tokens + usage.output_tokens)
        self._actual = RequestUsage(prompt_tokens=self._actual.prompt_tokens + usage.input_tokens,
                                    completion_tokens=self._actual.completion_tokens + usage.output_tokens)
        log.debug("llm_call", model=usage.request_model, provider=usage.provider,
                  input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                  latency_s=round(usage.latency_s, 4), request_hash=usage.request_hash[:16])
        for listener in self._listeners:
            listener(usage)

    # --- ChatCompletionClient ---------------------------------------------------------------

    async def create_stream(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = (),
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        """Text chunks, then the CreateResult. Subclasses that can stream override this."""
        result = await self.create(messages, tools=tools, tool_choice=tool_choice, json_output=json_output,
                                   extra_create_args=extra_create_args, cancellation_token=cancellation_token)
        if isinstance(result.content, str) and result.content:
            yield result.content
        yield result

    def actual_usage(self) -> RequestUsage:
        return self._actual

    def total_usage(self) -> RequestUsage:
        return self._total

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = ()) -> int:
        """Tokens of the request, counted offline (see ``token_counter.exact`` for how exact)."""
        return count_messages(self._counter, messages)

    def remaining_tokens(self, messages: Sequence[LLMMessage], *,
                         tools: Sequence[Tool | ToolSchema] = ()) -> int:
        return self._config.context_window - self.count_tokens(messages, tools=tools)

    @property
    def capabilities(self) -> ModelCapabilities:  # type: ignore[override]  # deprecated in autogen
        info = self._config.model_info
        # A plain dict: calling the deprecated TypedDict would emit a DeprecationWarning.
        caps: Any = {"vision": info.vision, "function_calling": info.function_calling,
                     "json_output": info.json_output}
        return caps

    @property
    def model_info(self) -> ModelInfo:
        info = self._config.model_info
        return ModelInfo(vision=info.vision, function_calling=info.function_calling,
                         json_output=info.json_output, family=info.family,
                         structured_output=info.structured_output,
                         multiple_system_messages=info.multiple_system_messages)
