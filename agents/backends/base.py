"""RecordingClient: the ChatCompletionClient plumbing every ConvRec backend shares.

``create`` and ``create_stream`` (autogen's signatures), usage totals, a per-call :class:`CallUsage`
log with listeners (the engine's trace hook), model info, request checks and token counting live
here, once. A backend implements one method, ``_complete(request) -> Completion``: ask the model,
return its text and the usage it reported. A backend that can stream also sets ``streams = True``
and implements ``_stream`` (text pieces, then the Completion). A wrapper around another client (the
engine's gateway, the replay client, test fault planters) implements ``_create(request)`` instead,
forwarding with :meth:`ChatRequest.send`; the wrapped client records the usage.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

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

from agents.backends.bounds import cut_answer, measure_answer, plausible
from agents.backends.config import BackendConfig
from agents.backends.tokens import TokenCounter, count_messages, message_text
from agents.backends.usage import CallUsage, request_hash
from agents.backends.wire import JsonOutput, check_json_output
from agents.errors import AnswerTooLong, UnsupportedRequest

__all__ = ["ChatRequest", "Completion", "RecordingClient", "UsageListener"]

log = structlog.get_logger(__name__)

UsageListener = Callable[[CallUsage], None]
# Enough recent calls for a test or a progress line; the trace store keeps them all.
_RECENT_CALLS = 1024
# Messages whose canonical JSON a client keeps for request hashes (a few thousand live dialogs'
# histories); past this the memo starts again.
_DUMPS_KEPT = 20_000


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """The arguments of one ``create`` call, as a backend or a wrapper receives them."""

    messages: Sequence[LLMMessage]
    tools: Sequence[Tool | ToolSchema] = ()
    tool_choice: Tool | Literal["auto", "required", "none"] = "auto"
    json_output: JsonOutput = None
    extra_create_args: Mapping[str, Any] = field(default_factory=dict)
    cancellation_token: CancellationToken | None = None

    async def send(self, client: ChatCompletionClient) -> CreateResult:
        """The same call made on ``client`` (what a wrapper does with the client it wraps)."""
        return await client.create(self.messages, tools=self.tools, tool_choice=self.tool_choice,
                                   json_output=self.json_output, extra_create_args=self.extra_create_args,
                                   cancellation_token=self.cancellation_token)


@dataclass(frozen=True, slots=True)
class Completion:
    """What the model answered: the text, why it stopped, and the usage it reported (None: not reported)."""

    content: str
    finish: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    response_model: str | None = None
    tokens_estimated: bool = False


class RecordingClient(ChatCompletionClient):
    """Base of our backends: records usage per call and checks what the model can be asked for."""

    provider: str = "unknown"
    streams: ClassVar[bool] = False  # True: _stream yields the answer as the model writes it

    def __init__(self, config: BackendConfig, counter: TokenCounter) -> None:
        self._config = config
        self._counter = counter
        self._total = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self._actual = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self._listeners: list[UsageListener] = []
        self.calls: deque[CallUsage] = deque(maxlen=_RECENT_CALLS)
        self._dumps: dict[int, tuple[LLMMessage, bytes]] = {}  # request_hash's memo

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

    def hash_request(self, request: ChatRequest) -> str:
        """The request's hash under this client's config (what replay matches, what seeds backoff)."""
        return self._hash(request.messages, request.json_output, request.extra_create_args)

    def _hash(self, messages: Sequence[LLMMessage], json_output: JsonOutput,
              extra_create_args: Mapping[str, Any]) -> str:
        c = self._config
        schema: Any = json_output.model_json_schema() if isinstance(json_output, type) else json_output
        if len(self._dumps) > _DUMPS_KEPT:
            self._dumps.clear()
        return request_hash(messages, {
            "model": c.model, "temperature": c.temperature, "max_tokens": c.max_tokens, "seed": c.seed,
            "json_output": schema, "json_mode": c.json_mode, "extra": dict(extra_create_args),
        }, memo=self._dumps)

    def _finish(self, *, messages: Sequence[LLMMessage], content: str, finish: str,
                input_tokens: int | None, output_tokens: int | None, started: float, req_hash: str,
                response_model: str | None, json_output: JsonOutput,
                tokens_estimated: bool = False) -> CreateResult:
        """Record the call, then check its size and JSON (see :mod:`agents.backends.bounds`).

        Tokens are counted here when the server gave none or a figure the text makes implausible; an
        answer over the limits is recorded cut and refused (AnswerTooLong).
        """
        latency = time.perf_counter() - started
        c = self._config
        estimated = tokens_estimated or input_tokens is None or output_tokens is None
        if input_tokens is None or not plausible(input_tokens, sum(len(message_text(m)) for m in messages)):
            input_tokens, estimated = count_messages(self._counter, messages), True
        size = None
        if len(content) > c.answer_token_cap or output_tokens is None \
                or not plausible(output_tokens, len(content)):
            # The scripted realizer is not a model: max_tokens does not bind it (characters still do).
            size = measure_answer(content, c, self._counter, bound_tokens=self.provider != "scripted")
            if output_tokens is None or not plausible(output_tokens, len(content)):
                output_tokens, estimated = size.tokens, True
        recorded = content
        if size is not None and size.too_long is not None:
            recorded = cut_answer(content, size.too_long, c.max_answer_chars)
        usage = CallUsage(
            provider=self.provider, request_model=c.model, response_model=response_model,
            input_tokens=input_tokens, output_tokens=output_tokens, tokens_estimated=estimated,
            latency_s=latency, cost_usd=c.cost_usd(input_tokens, output_tokens), finish_reason=finish,
            request_hash=req_hash, temperature=c.temperature, max_tokens=c.max_tokens, seed=c.seed,
            server_address=c.base_url, response_text=recorded)
        self._record(usage)
        # Usage is recorded before the checks: a refused answer still spent its tokens.
        if size is not None and size.too_long is not None:
            raise AnswerTooLong(f"answer too long: {size.too_long}", model=c.model, content=recorded,
                                tokens_used=input_tokens + output_tokens)
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

    # --- what a backend or a wrapper implements ---------------------------------------------

    async def _complete(self, request: ChatRequest) -> Completion:
        """Ask the model (a backend's one method; the request is already checked)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither _complete nor _create")

    def _stream(self, request: ChatRequest) -> AsyncIterator[str | Completion]:
        """Text pieces as the model writes them, then the Completion (backends with ``streams``)."""
        raise NotImplementedError(f"{type(self).__name__} does not stream")

    async def _create(self, request: ChatRequest) -> CreateResult:
        """One call: check it, ask the model, record the usage (a wrapper overrides this to forward)."""
        self._check_request(request.messages, request.tools, request.json_output)
        req_hash = self.hash_request(request)
        started = time.perf_counter()
        done = await self._complete(request)
        return self._completed(request, done, started, req_hash)

    def _completed(self, request: ChatRequest, done: Completion, started: float, req_hash: str
                   ) -> CreateResult:
        return self._finish(messages=request.messages, content=done.content, finish=done.finish,
                            input_tokens=done.input_tokens, output_tokens=done.output_tokens, started=started,
                            req_hash=req_hash, response_model=done.response_model,
                            json_output=request.json_output, tokens_estimated=done.tokens_estimated)

    async def _create_stream(self, request: ChatRequest) -> AsyncIterator[str | CreateResult]:
        if not self.streams:
            # The whole answer through create (a wrapper's retries would repeat a half-streamed text;
            # a subclass may still override create itself).
            result = await request.send(self)
            if isinstance(result.content, str) and result.content:
                yield result.content
            yield result
            return
        self._check_request(request.messages, request.tools, request.json_output)
        req_hash = self.hash_request(request)
        started = time.perf_counter()
        async for piece in self._stream(request):
            yield piece if isinstance(piece, str) else self._completed(request, piece, started, req_hash)

    # --- ChatCompletionClient ---------------------------------------------------------------

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
        """The model's answer, its usage recorded (see the module docstring for who implements what)."""
        return await self._create(ChatRequest(messages, tools, tool_choice, json_output, extra_create_args,
                                              cancellation_token))

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
        """Text chunks, then the CreateResult (the whole answer at once unless the backend streams)."""
        request = ChatRequest(messages, tools, tool_choice, json_output, extra_create_args,
                              cancellation_token)
        async for item in self._create_stream(request):
            yield item

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
