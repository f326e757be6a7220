"""LocalBackend: a GGUF model run in process by llama-cpp-python (default: SmolLM2-135M-Instruct).

llama.cpp computes synchronously, so every call runs in a worker thread (``anyio.to_thread``) and the
event loop keeps serving other dialogs meanwhile. One llama context serves one call at a time: a
CapacityLimiter(1) queues callers on the event loop (not as blocked threads). Tokenizing reads only
the vocabulary, so ``count_tokens`` never waits for a generation. The model loads on first use.

Determinism: every call starts from an empty KV cache (no prompt-prefix reuse), so the same request
and seed give the same answer whatever ran before; the cost is re-reading the prompt each call.

Token counts are exact: usage comes from llama.cpp itself, and ``count_tokens`` renders the GGUF's
own chat template and tokenizes it with the GGUF's tokenizer.

Known limit: a cancelled ``create`` finishes its generation in the thread before the slot frees up
(``max_tokens`` bounds how long that takes); ``create_stream`` stops at the next token.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import anyio
from autogen_core.models import LLMMessage
from autogen_core.tools import Tool, ToolSchema

from agents.backends.base import ChatRequest, Completion, RecordingClient
from agents.backends.config import BackendConfig, smollm2_gguf_path
from agents.backends.wire import JsonOutput, finish_reason, response_format, to_chat_dicts
from agents.errors import BackendConfigError, LLMRequestRejected, UnsupportedRequest

__all__ = ["GGUFCounter", "LocalBackend"]

_INSTALL_HINT = ("the local backend needs llama-cpp-python: pip install '.[local]' "
                 "(it compiles llama.cpp, about 6.5 minutes the first time)")


class GGUFCounter:
    """Counts with the GGUF's own tokenizer (exact); loads the model on first use."""

    exact = True

    def __init__(self, backend: LocalBackend) -> None:
        self._backend = backend
        self.name = f"gguf:{backend.model_path.name}"

    def count(self, text: str) -> int:
        llama = self._backend._loaded()
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))


class LocalBackend(RecordingClient):
    """A ChatCompletionClient over an in-process llama.cpp model."""

    provider = "llama_cpp"
    streams = True

    def __init__(self, config: BackendConfig) -> None:
        try:
            import llama_cpp
        except ImportError as exc:
            raise BackendConfigError(_INSTALL_HINT) from exc
        self._llama_cpp = llama_cpp
        self.model_path = config.model_path or smollm2_gguf_path()
        if not self.model_path.is_file():
            raise BackendConfigError(f"GGUF model file not found: {self.model_path}")
        super().__init__(config, GGUFCounter(self))
        self._llama: Any = None
        self._formatter: Any = None
        self._load_lock = threading.Lock()
        self._slot = anyio.CapacityLimiter(1)  # the one llama context: generations take turns

    def __repr__(self) -> str:
        return f"LocalBackend(model={self._config.model!r}, path={str(self.model_path)!r})"

    def _loaded(self) -> Any:
        """The llama_cpp.Llama, loading it on first use (thread-safe)."""
        with self._load_lock:
            if self._llama is None:
                c = self._config
                try:
                    self._llama = self._llama_cpp.Llama(
                        model_path=str(self.model_path), n_ctx=c.context_window, n_threads=c.n_threads,
                        seed=c.seed if c.seed is not None else self._llama_cpp.LLAMA_DEFAULT_SEED,
                        verbose=False)
                except (ValueError, RuntimeError) as exc:
                    raise BackendConfigError(f"cannot load GGUF {self.model_path}: {exc}") from exc
            return self._llama

    async def load(self) -> None:
        """Load the model now, in a worker thread (otherwise the first call does it)."""
        await anyio.to_thread.run_sync(self._loaded, limiter=self._slot)

    def _complete_sync(self, kwargs: dict[str, Any]) -> Any:
        """llama.cpp's answer (a dict, or an iterator of chunks when streaming); call under ``_slot``."""
        llama = self._loaded()
        # Forget the previous call's tokens: reusing a shared prompt prefix from the KV cache changes
        # the floating-point path, and with it greedy answers. A seed must give the same answer.
        llama.reset()
        try:
            return llama.create_chat_completion(**kwargs)
        except TypeError as exc:  # an extra_create_args key llama-cpp-python does not take
            raise UnsupportedRequest(f"llama-cpp-python: {exc}", model=self._config.model) from exc
        except ValueError as exc:  # e.g. the prompt exceeds the context window: retrying cannot help
            raise LLMRequestRejected(f"llama.cpp refused the request: {exc}",
                                     model=self._config.model) from exc

    def _next(self, chunks: Any) -> dict[str, Any] | None:
        """The next streamed chunk, or None at the end (in a worker thread, under ``_slot``)."""
        try:
            return next(chunks, None)
        except ValueError as exc:
            raise LLMRequestRejected(f"llama.cpp refused the request: {exc}",
                                     model=self._config.model) from exc

    def _kwargs(self, messages: Sequence[LLMMessage], json_output: JsonOutput,
                extra_create_args: Mapping[str, Any]) -> dict[str, Any]:
        c = self._config
        kwargs: dict[str, Any] = {"messages": to_chat_dicts(messages, model=c.model),
                                  "temperature": c.temperature, "max_tokens": c.max_tokens, "seed": c.seed}
        # In process, llama-cpp-python always takes {"type": "json_object", "schema": ...}: it turns
        # the schema into a grammar, so the answer is constrained token by token.
        mode = "none" if c.json_mode == "none" else "json_object_schema"
        rf = response_format(json_output, mode)
        if rf is not None:
            kwargs["response_format"] = rf
        kwargs.update(extra_create_args)
        return kwargs

    async def _complete(self, request: ChatRequest) -> Completion:
        kwargs = self._kwargs(request.messages, request.json_output, request.extra_create_args)
        result = await anyio.to_thread.run_sync(self._complete_sync, kwargs, limiter=self._slot)
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        return Completion(choice["message"].get("content") or "", finish_reason(choice.get("finish_reason")),
                          usage.get("prompt_tokens"), usage.get("completion_tokens"), self._config.model)

    async def _stream(self, request: ChatRequest) -> AsyncIterator[str | Completion]:
        """Text pieces as llama.cpp generates them, then the Completion.

        Each step of llama.cpp's generator runs in a worker thread (one hop per token, ~0.1 ms against
        ~10 ms of generation), while this task holds the model's slot for the whole stream.
        llama.cpp reports no usage when streaming: tokens are counted with the GGUF's tokenizer
        afterwards and labelled estimated (the re-tokenized answer can differ by a token).
        """
        kwargs = self._kwargs(request.messages, request.json_output, request.extra_create_args)
        kwargs["stream"] = True
        token = request.cancellation_token
        parts: list[str] = []
        finish = "unknown"
        async with self._slot:
            chunks = await anyio.to_thread.run_sync(self._complete_sync, kwargs)
            try:
                while (chunk := await anyio.to_thread.run_sync(self._next, chunks)) is not None:
                    if token is not None and token.is_cancelled():
                        raise anyio.get_cancelled_exc_class()
                    choice = chunk["choices"][0]
                    if text := choice["delta"].get("content"):
                        parts.append(text)
                        yield text
                    if choice.get("finish_reason") is not None:
                        finish = finish_reason(choice["finish_reason"])
            finally:
                chunks.close()
        content = "".join(parts)
        yield Completion(content, finish, self.count_tokens(request.messages), self._counter.count(content),
                         self._config.model, tokens_estimated=True)

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = ()) -> int:
        """Exact prompt tokens: the GGUF's chat template rendered and tokenized as llama.cpp does."""
        llama = self._loaded()
        with self._load_lock:
            if self._formatter is None:
                template = llama.metadata.get("tokenizer.chat_template")
                if template is None:
                    raise BackendConfigError(f"{self.model_path.name} has no chat template to count with")
                fmt = self._llama_cpp.llama_chat_format
                self._formatter = fmt.Jinja2ChatFormatter(
                    template=template, eos_token=llama.detokenize([llama.token_eos()], special=True).decode(),
                    bos_token=llama.detokenize([llama.token_bos()], special=True).decode())
        prompt = self._formatter(messages=to_chat_dicts(messages, model=self._config.model)).prompt
        return len(llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    async def close(self) -> None:
        """Free the model's memory (after the running generation, if any)."""
        async with self._slot:
            if self._llama is not None:
                self._llama.close()
                self._llama = None
