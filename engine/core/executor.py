"""The plan executor: plays a dialog plan node by node, validates each node, retries, rolls back.

For each node of the plan the two agents exchange messages (the node's opener first) within the
node's turn range: after ``min_turns`` exchanges it stops once both agents say they are done, and it
never goes past ``max_turns`` (the last allowed exchange is flagged ``final_exchange``). Then every
validator judges the attempt. All pass: the node's turns are accepted. Any fails: the attempt's turns
are flagged superseded (they stay in the trace), the failing reasons go into the next attempt's
prompts, and the node is tried again, up to ``max_attempts`` times. After the last failure the dialog
rolls back to the end of the last good node and asks the planner for another path from there that
avoids the failed state; when the grammar has none, the dialog ends ``failed_fidelity`` with the
reasons. A model call that fails for good (an :class:`~agents.errors.LLMError` after the client's own
retries) ends it ``failed_backend``.

Every turn, verdict, attempt, rollback and model call is emitted as a trace event
(:mod:`engine.core.events`). Model calls are attributed to the node and role that made them by
:mod:`engine.core.attribution` (a scope set around each agent and validator call), so one client can
serve many concurrent dialogs. Decisions use no clock and no random numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import anyio
import structlog
from pydantic import BaseModel, ConfigDict, Field

from agents.backends.base import RecordingClient
from agents.backends.usage import CallUsage
from agents.catalog import Catalog
from agents.dialog import DialogAgent, NodeRequest, Realizer, Turn, ValidationInput, Validator, Verdict
from agents.errors import LLMError
from agents.meaning import reference_for
from agents.polish import Polisher, voice_for
from engine.core.attribution import CallPosition, attribute_calls, call_scope, current_call_stats
from engine.core.events import (
    Clock,
    DialogEnded,
    DialogStarted,
    DialogStatus,
    LLMCallRecorded,
    NodeAttemptEnded,
    NodeAttemptStarted,
    Replanned,
    RolledBack,
    TraceEvent,
    TraceSink,
    TurnPolished,
    TurnRecorded,
    TurnsSuperseded,
    VerdictRecorded,
    system_clock,
)
from planners.context import PlanContext
from planners.plan import DialogPlan, NodeBinding
from planners.planner import Planner

__all__ = ["AttemptRecord", "DialogExecutor", "DialogResult", "RollbackRecord"]


class AttemptRecord(BaseModel):
    """One attempt at one node: the verdicts it got and whether it passed."""

    model_config = ConfigDict(frozen=True)

    plan_hash: str
    node_index: int
    node: str
    state: str
    attempt: int
    passed: bool
    verdicts: tuple[Verdict, ...]


class RollbackRecord(BaseModel):
    """A rollback: the node that failed every attempt, and the plan taken instead (None: none left)."""

    model_config = ConfigDict(frozen=True)

    failed_node: int
    failed_state: str
    completed_nodes: int
    avoid: tuple[str, ...]
    reason: str
    new_plan_hash: str | None


class DialogResult(BaseModel):
    """What a dialog run produced: its status, the accepted and all turns, verdicts, rollbacks, final plan."""

    model_config = ConfigDict(frozen=True)

    dialog_key: str
    status: DialogStatus
    reason: str | None = Field(description="why it failed (None when accepted)")
    turns: tuple[Turn, ...] = Field(description="the accepted dialog")
    all_turns: tuple[Turn, ...] = Field(description="every turn said, superseded ones flagged, in order")
    attempts: tuple[AttemptRecord, ...]
    rollbacks: tuple[RollbackRecord, ...]
    plan: DialogPlan = Field(description="the final plan (the replanned one after a rollback)")
    n_llm_calls: int

    @property
    def verdicts(self) -> list[Verdict]:
        """Every verdict of every attempt, in order."""
        return [v for a in self.attempts for v in a.verdicts]

    def attempts_per_node(self) -> dict[tuple[str, int], int]:
        """Attempts per (plan hash, node index): a replanned plan's nodes count separately."""
        out: dict[tuple[str, int], int] = {}
        for a in self.attempts:
            key = (a.plan_hash, a.node_index)
            out[key] = max(out.get(key, 0), a.attempt)
        return out


# -- tracing ----------------------------------------------------------------------------------------
@dataclass
class _Recorder:
    """Numbers and emits one dialog's events."""

    run_id: str
    dialog_id: str
    sink: TraceSink
    clock: Clock
    seq: int = 0
    n_llm_calls: int = 0
    plan_hash: str = ""  # of the plan being played (content_hash hashes the whole plan: computed once)
    events: list[TraceEvent] = field(default_factory=list)

    def emit(self, cls: Callable[..., TraceEvent], **fields: object) -> None:
        event = cls(run_id=self.run_id, dialog_id=self.dialog_id, seq=self.seq, at=self.clock(), **fields)
        self.seq += 1
        self.sink.emit(event)

    def position(self, node_index: int, attempt: int, exchange: int | None, role: str) -> CallPosition:
        """Where a call made now sits in this dialog."""
        return CallPosition(self.dialog_id, self.plan_hash, node_index, attempt, exchange, role)

    def llm_call(self, usage: CallUsage, position: CallPosition) -> None:
        self.n_llm_calls += 1
        stats = current_call_stats()  # set by the gateway around the call (None without one)
        self.emit(LLMCallRecorded, plan_hash=position.plan_hash, node_index=position.node_index,
                  attempt=position.attempt, exchange=position.exchange, role=position.role,
                  retries=stats.retries if stats else 0, queued_s=stats.queued_s if stats else 0.0,
                  **usage.model_dump(include=_USAGE_FIELDS))


_USAGE_FIELDS = {"provider", "request_model", "response_model", "input_tokens", "output_tokens",
                 "tokens_estimated", "latency_s", "cost_usd", "finish_reason", "request_hash", "temperature",
                 "max_tokens", "seed", "server_address", "response_text"}


class _BackendFailed(Exception):
    """Internal: an LLMError, carried out of the node loop with where it happened."""

    def __init__(self, where: str, error: LLMError) -> None:
        self.where = where
        self.error = error
        super().__init__(where)


# -- the executor -----------------------------------------------------------------------------------
class DialogExecutor:
    """Plays plans with one user agent and one system agent, judged by validators; see the module doc.

    ``clients`` are the RecordingClients whose calls are traced; the agents' and validators' public
    ``client`` attributes are added automatically. An executor holds no per-dialog state: one may run
    many dialogs, but its two agents serialise their calls, so give concurrent dialogs their own agents.
    """

    def __init__(self, user_agent: DialogAgent, system_agent: DialogAgent, validators: Sequence[Validator],
                 planner: Planner, sink: TraceSink, *, catalog: Catalog, max_attempts: int = 4,
                 max_rollbacks: int | None = None, clients: Sequence[RecordingClient] = (),
                 run_id: str = "run", clock: Clock = system_clock, polisher: Polisher | None = None) -> None:
        if user_agent.role != "user" or system_agent.role != "system":
            raise ValueError(f"agents have roles {user_agent.role!r} and {system_agent.role!r}, "
                             "expected 'user' and 'system'")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        names = [v.name for v in validators]
        if len(set(names)) != len(names):
            raise ValueError(f"validator names must be unique, got {names}")
        self.user = user_agent
        self.system = system_agent
        self.validators = list(validators)
        self.planner = planner
        self.sink = sink
        self.catalog = catalog
        self.max_attempts = max_attempts
        # None: roll back until the grammar has no alternative (finite: each rollback avoids one more state).
        self.max_rollbacks = max_rollbacks
        self.run_id = run_id
        self.clock = clock
        # Polish mode: the agents draft (scripted), the polisher's model rewrites each accepted draft.
        self.polisher = polisher
        self.traced_clients: list[RecordingClient] = []
        polish_client = getattr(polisher.client, "inner", polisher.client) if polisher is not None else None
        for c in (*clients, polish_client,
                  *(getattr(o, "client", None) for o in (user_agent, system_agent, *validators))):
            if isinstance(c, RecordingClient) and c not in self.traced_clients and attribute_calls(c):
                self.traced_clients.append(c)

    def _backend(self, agent: DialogAgent) -> str:
        return str(getattr(agent, "backend", "unknown"))

    def realizer_of(self, backend: str) -> Realizer:
        """Who realizes a freshly said turn: a draft to polish, the scripted realizer, or a model."""
        if self.polisher is not None:
            return "draft"
        return "scripted" if backend.split("+")[0] == "scripted" else "model"

    async def run(self, plan: DialogPlan, context: PlanContext,
                  dialog_key: str | None = None) -> DialogResult:
        """Play ``plan`` for ``context``'s seed to the end; the result says how it went (never raises on
        fidelity or backend failure: those are statuses)."""
        key = dialog_key or plan.seed_key
        rec = _Recorder(self.run_id, key, self.sink, self.clock, plan_hash=plan.content_hash)
        rec.emit(DialogStarted, seed_key=plan.seed_key, plan_hash=rec.plan_hash, path=plan.path,
                 user_persona=self.user.persona, system_persona=self.system.persona,
                 user_backend=self._backend(self.user), system_backend=self._backend(self.system),
                 validators=tuple(v.name for v in self.validators), max_attempts=self.max_attempts)
        run = _DialogRun(self, rec, plan, context)
        status: DialogStatus = "accepted"
        reason: str | None = None
        try:
            reason = await run.play()
            if reason is not None:
                status = "failed_fidelity"
        except _BackendFailed as exc:
            status, reason = "failed_backend", f"{exc.where}: {type(exc.error).__name__}: {exc.error}"
        superseded = sum(t.superseded for t in run.all_turns)
        rec.emit(DialogEnded, status=status, reason=reason, plan_hash=rec.plan_hash,
                 n_turns=len(run.accepted), n_superseded=superseded, n_attempts=len(run.attempts),
                 n_rollbacks=len(run.rollbacks), n_llm_calls=rec.n_llm_calls)
        return DialogResult(dialog_key=key, status=status, reason=reason, turns=tuple(run.accepted),
                            all_turns=tuple(run.all_turns), attempts=tuple(run.attempts),
                            rollbacks=tuple(run.rollbacks), plan=run.plan, n_llm_calls=rec.n_llm_calls)


class _DialogRun:
    """The mutable state of one dialog while it plays."""

    def __init__(self, ex: DialogExecutor, rec: _Recorder, plan: DialogPlan, context: PlanContext) -> None:
        self.ex = ex
        self.rec = rec
        self.plan = plan
        self.context = context
        self.accepted: list[Turn] = []
        self.all_turns: list[Turn] = []
        self.attempts: list[AttemptRecord] = []
        self.rollbacks: list[RollbackRecord] = []
        self._exchange_of: dict[int, int] = {}  # turn index -> the exchange it was said in

    async def play(self) -> str | None:
        """Plays to the end; None when accepted, else the failed_fidelity reason."""
        k = 0
        avoided: dict[int, list[str]] = {}  # rollback point -> states already given up there
        while k < len(self.plan.nodes):
            node = self.plan.nodes[k]
            reasons = await self._node(node)
            if reasons is None:
                k += 1
                continue
            avoid = [*avoided.get(k, []), node.state]
            avoided[k] = avoid
            why = f"node {k} ({node.state}) failed {self.ex.max_attempts} attempts: " + "; ".join(reasons)
            self.rec.emit(RolledBack, plan_hash=self.rec.plan_hash, failed_node=k,
                          failed_state=node.state, completed_nodes=k, avoid=tuple(avoid), reason=why)
            limit = self.ex.max_rollbacks
            new = (None if limit is not None and len(self.rollbacks) >= limit
                   else self.ex.planner.replan(self.plan, completed_nodes=k, avoid=avoid,
                                               context=self.context))
            self.rollbacks.append(RollbackRecord(failed_node=k, failed_state=node.state, completed_nodes=k,
                                                 avoid=tuple(avoid), reason=why,
                                                 new_plan_hash=new.content_hash if new else None))
            if new is None:
                tail = ("the rollback limit is reached" if limit is not None and len(self.rollbacks) > limit
                        else "no alternative path of the grammar avoids " + ", ".join(avoid))
                return f"{why}; {tail}"
            self.rec.emit(Replanned, from_hash=self.rec.plan_hash, plan_hash=new.content_hash,
                          completed_nodes=k, path=new.path, plan_json=new.to_json())
            self.plan = new
            self.rec.plan_hash = new.content_hash
        return None

    async def _node(self, node: NodeBinding) -> list[str] | None:
        """Attempts at one node; None when one passed, else the last attempt's failing reasons."""
        feedback: tuple[str, ...] = ()
        plan_hash = self.rec.plan_hash
        for attempt in range(1, self.ex.max_attempts + 1):
            self.rec.emit(NodeAttemptStarted, plan_hash=plan_hash, node_index=node.index, node=node.type,
                          state=node.state, attempt=attempt, feedback=feedback)
            turns: list[Turn] = []
            try:
                # Log lines of this attempt (a backend's retries, say) carry the node (run and dialog
                # ids are bound by the scheduler).
                with structlog.contextvars.bound_contextvars(node_index=node.index, node=node.type,
                                                             attempt=attempt):
                    await self._exchanges(node, attempt, feedback, turns)
                    verdicts = await self._validate(node, attempt, turns)
            except _BackendFailed:
                # What was said stays in the trace, flagged: it is not part of any accepted dialog.
                self._supersede(node, attempt, turns)
                raise
            for v in verdicts:
                self.rec.emit(VerdictRecorded, plan_hash=plan_hash, node_index=node.index, attempt=attempt,
                              validator=v.validator, validator_kind=v.kind, judge=v.judge, passed=v.passed,
                              reasons=v.reasons)
            failed = [v for v in verdicts if not v.passed]
            self.rec.emit(NodeAttemptEnded, plan_hash=plan_hash, node_index=node.index, attempt=attempt,
                          passed=not failed, n_turns=len(turns),
                          failed_validators=tuple(v.validator for v in failed))
            self.attempts.append(AttemptRecord(plan_hash=plan_hash, node_index=node.index, node=node.type,
                                               state=node.state, attempt=attempt, passed=not failed,
                                               verdicts=tuple(verdicts)))
            if not failed:
                if self.ex.polisher is not None:
                    try:
                        with structlog.contextvars.bound_contextvars(node_index=node.index, node=node.type,
                                                                     attempt=attempt):
                            await self._polish(node, attempt, turns)
                    except _BackendFailed:
                        self._supersede(node, attempt, turns)
                        raise
                self.accepted.extend(turns)
                self.all_turns.extend(turns)
                return None
            self._supersede(node, attempt, turns)
            # The latest attempt's reasons only: earlier ones may already be fixed, and a long list
            # crowds a small model's context.
            feedback = _feedback(failed)
        return list(feedback)

    async def _polish(self, node: NodeBinding, attempt: int, turns: list[Turn]) -> None:
        """Each turn of a passed attempt rewritten by the polisher, in order; a turn whose every rewrite is
        refused keeps its draft. ``turns`` is updated in place; each turn's outcome is a trace event."""
        polisher = self.ex.polisher
        assert polisher is not None
        agents = {"user": self.ex.user, "system": self.ex.system}
        for k, draft in enumerate(turns):
            data = ValidationInput(plan=self.plan, context=self.context, node=node, attempt=attempt,
                                   turns=tuple(turns), before=tuple(self.accepted), catalog=self.ex.catalog)

            async def validate(text: str, k: int = k) -> list[str]:
                trial = [*turns]
                trial[k] = trial[k].model_copy(update={"text": text})
                verdicts = await self._validate(node, attempt, trial)
                return list(_feedback([v for v in verdicts if not v.passed]))

            key = f"{self.plan.run_seed}|{self.plan.seed_key}|{node.index}|{attempt}|{draft.index}"
            position = self.rec.position(node.index, attempt, self._exchange_of[draft.index],
                                         f"polish:{draft.speaker}")
            with call_scope(self.rec, position):
                try:
                    outcome = await polisher.polish(
                        draft, (*self.accepted, *turns[:k]), reference_for(data, draft.speaker), validate,
                        key=key, voice=voice_for(getattr(agents[draft.speaker], "spec", None)))
                except LLMError as exc:
                    raise _BackendFailed(f"node {node.index} ({node.state}) attempt {attempt} polishing the "
                                         f"{draft.speaker}'s turn", exc) from exc
            turns[k] = draft.model_copy(update={"text": outcome.text, "realizer": outcome.realizer,
                                                "draft": outcome.draft})
            self.rec.emit(TurnPolished, plan_hash=self.rec.plan_hash, turn_index=draft.index,
                          node_index=node.index, attempt=attempt, speaker=draft.speaker, text=outcome.text,
                          draft=outcome.draft, realizer=outcome.realizer,
                          tries=tuple((t.text, t.reasons) for t in outcome.tries))

    def _supersede(self, node: NodeBinding, attempt: int, turns: list[Turn]) -> None:
        if not turns:
            return
        self.all_turns.extend(t.model_copy(update={"superseded": True}) for t in turns)
        self.rec.emit(TurnsSuperseded, plan_hash=self.rec.plan_hash, node_index=node.index, attempt=attempt,
                      turn_indices=tuple(t.index for t in turns))

    async def _exchanges(self, node: NodeBinding, attempt: int, feedback: tuple[str, ...],
                         turns: list[Turn]) -> None:
        """Plays the attempt's exchanges, appending each turn to ``turns`` as it is said."""
        order = (self.ex.system, self.ex.user) if node.opener == "system" else (self.ex.user, self.ex.system)
        for exchange in range(node.max_turns):
            final = exchange == node.max_turns - 1
            done = True
            for agent in order:
                request = NodeRequest(plan=self.plan, context=self.context, node=node, attempt=attempt,
                                      exchange=exchange, transcript=(*self.accepted, *turns),
                                      feedback=feedback, final_exchange=final)
                with call_scope(self.rec, self.rec.position(node.index, attempt, exchange, agent.role)):
                    try:
                        reply = await agent.reply(request)
                    except LLMError as exc:
                        raise _BackendFailed(f"node {node.index} ({node.state}) attempt {attempt} "
                                             f"{agent.role} agent", exc) from exc
                turn = Turn(index=len(self.accepted) + len(turns), node_index=node.index, node=node.type,
                            attempt=attempt, speaker=agent.role, text=reply.text, backend=reply.backend,
                            realizer=self.ex.realizer_of(reply.backend))
                turns.append(turn)
                self._exchange_of[turn.index] = exchange
                self.rec.emit(TurnRecorded, plan_hash=self.rec.plan_hash, turn_index=turn.index,
                              node_index=node.index, node=node.type, attempt=attempt, exchange=exchange,
                              speaker=agent.role, text=reply.text, backend=reply.backend, done=reply.done,
                              realizer=turn.realizer)
                done = done and reply.done
            if exchange + 1 >= node.min_turns and done:
                break

    async def _validate(self, node: NodeBinding, attempt: int, turns: list[Turn]) -> list[Verdict]:
        data = ValidationInput(plan=self.plan, context=self.context, node=node, attempt=attempt,
                               turns=tuple(turns), before=tuple(self.accepted), catalog=self.ex.catalog)
        validators = self.ex.validators
        verdicts: list[Verdict | None] = [None] * len(validators)
        errors: list[_BackendFailed] = []

        async def one(k: int) -> None:
            v = validators[k]
            with call_scope(self.rec, self.rec.position(node.index, attempt, None, f"validator:{v.name}")):
                try:
                    verdicts[k] = await v.check(data)
                except LLMError as exc:
                    errors.append(_BackendFailed(f"node {node.index} ({node.state}) attempt {attempt} "
                                                 f"validator {v.name}", exc))

        # Concurrently (an LLM judge waits on its model), reported in the configured order.
        async with anyio.create_task_group() as tg:
            for k in range(len(validators)):
                tg.start_soon(one, k)
        if errors:
            raise errors[0]
        return [v for v in verdicts if v is not None]


def _feedback(failed: Sequence[Verdict]) -> tuple[str, ...]:
    out: list[str] = []
    for v in failed:
        for r in v.reasons or (f"{v.validator} failed",):
            if r not in out:
                out.append(r)
    return tuple(out)
