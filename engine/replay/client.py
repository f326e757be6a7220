"""ReplayClient: answers a dialog's model calls from a recorded run, matched by request hash.

Built with the recorded run's :class:`BackendConfig`, so an unchanged request hashes exactly as it did
(``RecordingClient._hash``: messages, model, temperature, max_tokens, seed, JSON settings, extra
arguments). ``recorded`` maps each request hash to its responses in recorded order: a hash seen
several times is served first-in first-out, and once its responses run out the last one is served
again. A replayed call makes no model call; it is recorded like any backend's so the trace still
shows it, with ``provider="replay"``, ``finish_reason="replayed"`` in the usage record (the
CreateResult says ``stop`` and ``cached=True``: autogen's finish reasons are a closed set), tokens
counted offline (``tokens_estimated``), no cost, and ``response_text`` the recorded answer. A
recorded answer that was not the JSON asked for raises BadOutput again, as it did in the run, and
one refused as too long (recorded cut, with its mark) raises AnswerTooLong again.

A request that was not recorded is a divergence (a prompt, persona, model setting or code changed):

- ``strict``: :class:`ReplayDivergence`, naming the dialog, node, attempt, role and request hash;
- ``lenient``: a ``replay_diverged`` warning naming the same, then this client answers every later
  call live through ``live`` (the rest of the dialog is the new behaviour, not a splice of old and
  new answers). Without a ``live`` client, lenient raises ReplayDivergence too.

``live_from_node`` (a persona swap): calls at node indices from it on go live; calls before it are
served from the recording by hash, or, when the swapped persona changed the request, by the call's
position in the recorded dialog (plan, node, attempt, exchange, role: ``positions``), so the dialog
up to the chosen node is the recorded one and only what follows is new. Going live is final for
this client. Live calls are recorded by the live client itself (it is watched by the executor here,
so they are attributed to the dialog as any call); ``replayed``, ``replayed_by_position`` and
``live_calls`` count the three paths.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import structlog
from autogen_core.models import ChatCompletionClient, CreateResult, LLMMessage, RequestUsage
from pydantic import BaseModel

from agents.backends.base import ChatRequest, RecordingClient
from agents.backends.bounds import refused_reason
from agents.backends.config import BackendConfig
from agents.backends.tokens import HeuristicCounter, count_messages
from agents.backends.usage import CallUsage
from agents.backends.wire import check_json_output
from agents.errors import AnswerTooLong
from engine.core.attribution import CallPosition, PositionKey, attribute_calls, current_call_position
from engine.core.events import LLMCallRecorded
from profiling.errors import ConvRecError

__all__ = ["Recording", "ReplayClient", "ReplayDivergence", "ReplayMode", "recording_from_events"]

log = structlog.get_logger(__name__)

ReplayMode = Literal["strict", "lenient"]


class ReplayDivergence(ConvRecError):
    """Raised when a replayed request was not recorded (strict mode, or lenient with no live client)."""

    def __init__(self, *, dialog_id: str, node_index: int | None, attempt: int | None, role: str | None,
                 request_hash: str, exchange: int | None = None) -> None:
        self.dialog_id = dialog_id
        self.node_index = node_index
        self.attempt = attempt
        self.role = role
        self.exchange = exchange
        self.request_hash = request_hash
        where = ("outside any node" if node_index is None else f"at node {node_index} attempt {attempt}"
                 + (f" exchange {exchange}" if exchange is not None else ""))
        super().__init__(f"replay diverged in dialog {dialog_id} {where} ({role or 'unknown role'} call): "
                         f"request {request_hash[:16]} was not recorded")


@dataclass
class Recording:
    """One dialog's recorded answers: by request hash, and by position in the dialog."""

    by_hash: dict[str, list[str]] = field(default_factory=dict)
    by_position: dict[PositionKey, list[str]] = field(default_factory=dict)

    @property
    def n_calls(self) -> int:
        return sum(len(v) for v in self.by_hash.values())


def recording_from_events(events: Iterable[object], dialog_id: str) -> Recording:
    """The recording of ``dialog_id`` from trace events (only its LLMCallRecorded ones are read)."""
    rec = Recording()
    for e in events:
        if isinstance(e, LLMCallRecorded) and e.dialog_id == dialog_id:
            rec.by_hash.setdefault(e.request_hash, []).append(e.response_text)
            key: PositionKey = (e.plan_hash, e.node_index, e.attempt, e.exchange, e.role)
            rec.by_position.setdefault(key, []).append(e.response_text)
    return rec


class _Queue:
    """Recorded answers of one key, served in order; the last one again once they run out."""

    __slots__ = ("answers", "next")

    def __init__(self, answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.next = 0

    def take(self) -> str:
        i = min(self.next, len(self.answers) - 1)
        self.next += 1
        return self.answers[i]


class ReplayClient(RecordingClient):
    """Serves one dialog's recorded answers; see the module docstring for misses and persona swaps."""

    provider = "replay"

    def __init__(self, config: BackendConfig, recorded: Mapping[str, Sequence[str]], *, dialog_id: str,
                 mode: ReplayMode = "strict", live: ChatCompletionClient | None = None,
                 live_from_node: int | None = None,
                 positions: Mapping[PositionKey, Sequence[str]] | None = None) -> None:
        if mode not in ("strict", "lenient"):
            raise ValueError(f"mode must be 'strict' or 'lenient', got {mode!r}")
        if live_from_node is not None and live is None:
            raise ValueError(f"live_from_node={live_from_node} needs a live client to answer from there")
        # Counted offline: a replay must not load a tokenizer, and the counts are labelled estimated.
        super().__init__(config, HeuristicCounter())
        self.dialog_id = dialog_id
        self.mode: ReplayMode = mode
        self.live = live
        self.live_from_node = live_from_node
        self._by_hash = {h: _Queue(a) for h, a in recorded.items() if a}
        self._by_position = {k: _Queue(a) for k, a in (positions or {}).items() if a}
        self.replayed = 0
        self.replayed_by_position = 0
        self.live_calls = 0
        self.diverged_at: CallPosition | None = None
        self._gone_live = False
        if live is not None:
            # Live calls are recorded by the live client: attribute them to the dialog making them.
            attribute_calls(live)

    @classmethod
    def from_events(cls, config: BackendConfig, events: Iterable[object], *, dialog_id: str,
                    mode: ReplayMode = "strict", live: ChatCompletionClient | None = None,
                    live_from_node: int | None = None) -> ReplayClient:
        """A replay of ``dialog_id`` from its trace events (hash and position maps both filled)."""
        rec = recording_from_events(events, dialog_id)
        return cls(config, rec.by_hash, dialog_id=dialog_id, mode=mode, live=live,
                   live_from_node=live_from_node, positions=rec.by_position)

    @property
    def is_live(self) -> bool:
        """Whether this client now answers live (after a lenient divergence or from ``live_from_node``)."""
        return self._gone_live

    async def _create(self, request: ChatRequest) -> CreateResult:
        messages = request.messages
        if self._gone_live:
            return await self._call_live(request)
        self._check_request(messages, request.tools, request.json_output)
        pos = current_call_position()
        if self.live_from_node is not None and pos is not None and pos.node_index >= self.live_from_node:
            log.info("replay_live_from_node", dialog_id=self._dialog(pos), node=pos.node_index,
                     live_from_node=self.live_from_node)
            self._gone_live = True
            return await self._call_live(request)
        started = time.perf_counter()
        req_hash = self.hash_request(request)
        queue = self._by_hash.get(req_hash)
        if queue is not None:
            self.replayed += 1
            return self._serve(messages, queue.take(), req_hash, started, request.json_output)
        if self.live_from_node is not None and pos is not None and (q := self._by_position.get(pos.key)):
            # Before the swap node the recorded dialog is kept even though the persona changed the prompt.
            self.replayed_by_position += 1
            return self._serve(messages, q.take(), req_hash, started, request.json_output)
        return await self._diverged(request, pos, req_hash)

    def _dialog(self, pos: CallPosition | None) -> str:
        return pos.dialog_id if pos is not None else self.dialog_id

    async def _diverged(self, request: ChatRequest, pos: CallPosition | None, req_hash: str) -> CreateResult:
        error = ReplayDivergence(
            dialog_id=self._dialog(pos), node_index=pos.node_index if pos else None,
            attempt=pos.attempt if pos else None, role=pos.role if pos else None,
            exchange=pos.exchange if pos else None, request_hash=req_hash)
        if self.mode == "strict" or self.live is None:
            raise error
        log.warning("replay_diverged", dialog_id=error.dialog_id, node=error.node_index,
                    attempt=error.attempt, role=error.role, request_hash=req_hash[:16],
                    then="answering the rest of the dialog live")
        self.diverged_at = pos
        self._gone_live = True
        return await self._call_live(request)

    async def _call_live(self, request: ChatRequest) -> CreateResult:
        assert self.live is not None  # guarded by the constructor and _diverged
        self.live_calls += 1
        return await request.send(self.live)

    def _serve(self, messages: Sequence[LLMMessage], text: str, req_hash: str, started: float,
               json_output: bool | type[BaseModel] | None) -> CreateResult:
        c = self._config
        input_tokens = count_messages(self._counter, messages)
        output_tokens = self._counter.count(text)
        self._record(CallUsage(
            provider=self.provider, request_model=c.model, response_model=c.model,
            input_tokens=input_tokens, output_tokens=output_tokens, tokens_estimated=True,
            latency_s=time.perf_counter() - started, cost_usd=0.0, finish_reason="replayed",
            request_hash=req_hash, temperature=c.temperature, max_tokens=c.max_tokens, seed=c.seed,
            server_address=None, response_text=text))
        if (why := refused_reason(text)) is not None:  # refused in the run: refused again
            raise AnswerTooLong(f"answer too long: {why}", model=c.model, content=text)
        check_json_output(text, json_output, model=c.model)
        return CreateResult(finish_reason="stop", content=text,
                            usage=RequestUsage(prompt_tokens=input_tokens, completion_tokens=output_tokens),
                            cached=True)

    async def close(self) -> None:
        """Nothing to release (the live client belongs to whoever made it)."""
