"""The plan executor: plays a dialog plan node by node, validates each node, retries, rolls back.

For each node of the plan the agents exchange messages (the node's opener first; a side with no act
in the node does not speak) within the node's turn range: after ``min_turns`` exchanges it stops once
every speaking agent says it is done, and it never goes past ``max_turns`` (the last allowed exchange
is flagged ``final_exchange``). Speakers alternate across node boundaries too: a node whose opener
spoke last is a plan error (the grammar's ``turns_alternate`` rule prevents it). A reply that stopped
at the model's token limit fails the attempt at once with the reason "cut off" (validators are not
asked: an incomplete turn is never accepted). Otherwise every validator judges the attempt. All pass:
the node's turns are accepted. Any fails: the attempt's turns are flagged superseded (they stay in the
trace), each failing reason goes into the next attempt's prompt of the role whose turn it is about (a
reason about the node as a whole to both), and the node is tried again, up to ``max_attempts`` times.
After the last failure the dialog rolls back to the end of the last good node and asks the planner
for another path from there that avoids the failed state; when the grammar has none, the dialog ends
``failed_fidelity`` with the reasons. An answer the model gave in the wrong form or over the length
limits (:class:`~agents.errors.BadOutput`, :class:`~agents.errors.AnswerTooLong`) fails its attempt
like a validator would (``executional.model_answer``, the reason in the next attempt's prompt). A
model call that fails for good (another :class:`~agents.errors.LLMError` after the client's own
retries) ends the dialog ``failed_backend``. With a scorer (the judge model, ``--judge on``), each
accepted dialog is then scored for naturalness and faithfulness to its plan (``DialogResult.score``).

Every turn, verdict, attempt, rollback and model call is emitted as a trace event
(:mod:`engine.core.events`). Model calls are attributed to the node and role that made them by
:mod:`engine.core.attribution` (a scope set around each agent and validator call), so one client can
serve many concurrent dialogs. Decisions use no clock and no random numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from agents.backends.base import RecordingClient
from agents.catalog import Catalog
from agents.dialog import (
    DialogAgent,
    Feedback,
    NodeRequest,
    Realizer,
    Turn,
    ValidationInput,
    Validator,
    Verdict,
)
from agents.errors import BadOutput, LLMError
from agents.meaning import reference_for
from agents.polish import Polisher, voice_for
from agents.validators.scorer import DialogScore, DialogScorer
from agents.validators.suite import run_validators
from engine.core.attribution import (
    attribute_calls,
    call_scope,
)
from engine.core.events import (
    Clock,
    DialogEnded,
    DialogStarted,
    DialogStatus,
    NodeAttemptEnded,
    NodeAttemptStarted,
    Replanned,
    RolledBack,
    TraceSink,
    TurnPolished,
    TurnRecorded,
    TurnsSuperseded,
    VerdictRecorded,
    system_clock,
)
from engine.core.recorder import Recorder
from engine.core.results import AttemptRecord, DialogResult, RollbackRecord
from planners.context import PlanContext
from planners.errors import PathError
from planners.plan import DialogPlan, NodeBinding
from planners.planner import Planner

__all__ = ["CUT_OFF", "AttemptRecord", "DialogExecutor", "DialogResult", "RollbackRecord"]

# The verdict of an attempt whose model reply stopped at the token limit (the executor's own check).
CUT_OFF = "executional.cut_off"


# The verdict an attempt gets when an agent's answer was refused before any validator saw it.
MODEL_ANSWER = "executional.model_answer"


class _AnswerRefused(Exception):
    """Internal: an agent's answer was refused (BadOutput); the attempt fails with this verdict."""

    def __init__(self, role: str, error: BadOutput) -> None:
        self.verdict = Verdict(validator=MODEL_ANSWER, kind="executional", passed=False,
                               reasons=(f"the {role}'s answer was refused ({error.message}); answer "
                                        "briefly, in plain text",))
        super().__init__(role)


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
                 run_id: str = "run", clock: Clock = system_clock, polisher: Polisher | None = None,
                 scorer: DialogScorer | None = None) -> None:
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
        self.scorer = scorer
        # Polish mode: the agents draft (scripted), the polisher's model rewrites each accepted draft.
        self.polisher = polisher
        self.traced_clients: list[RecordingClient] = []
        polish_client = getattr(polisher.client, "inner", polisher.client) if polisher is not None else None
        parts = (user_agent, system_agent, *validators, scorer)
        for c in (*clients, polish_client, *(getattr(o, "client", None) for o in parts)):
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
        rec = Recorder(self.run_id, key, self.sink, self.clock, plan_hash=plan.content_hash)
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
        score = await run.score() if status == "accepted" and self.scorer is not None else None
        superseded = sum(t.superseded for t in run.all_turns)
        rec.emit(DialogEnded, status=status, reason=reason, plan_hash=rec.plan_hash,
                 n_turns=len(run.accepted), n_superseded=superseded, n_attempts=len(run.attempts),
                 n_rollbacks=len(run.rollbacks), n_llm_calls=rec.n_llm_calls)
        return DialogResult(dialog_key=key, status=status, reason=reason, turns=tuple(run.accepted),
                            all_turns=tuple(run.all_turns), attempts=tuple(run.attempts),
                            rollbacks=tuple(run.rollbacks), plan=run.plan, n_llm_calls=rec.n_llm_calls,
                            score=score)


class _DialogRun:
    """The mutable state of one dialog while it plays."""

    def __init__(self, ex: DialogExecutor, rec: Recorder, plan: DialogPlan, context: PlanContext) -> None:
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

    async def score(self) -> DialogScore:
        """The judge's scores of the accepted dialog (an unreachable judge is said, never invented)."""
        scorer = self.ex.scorer
        assert scorer is not None
        n = len(self.plan.nodes)
        with call_scope(self.rec, self.rec.position(n, 1, None, "judge:dialog")):
            try:
                return await scorer.score(self.plan, self.accepted)
            except LLMError as exc:
                return DialogScore(judge=scorer.label,
                                   error=f"judge call failed: {type(exc).__name__}: {exc}")

    async def _node(self, node: NodeBinding) -> list[str] | None:
        """Attempts at one node; None when one passed, else the last attempt's failing reasons."""
        if self.accepted and self.accepted[-1].speaker == node.opener:
            raise PathError("turns_alternate", f"node {node.index} ({node.state}) opens with the "
                            f"{node.opener}, who spoke last: the plan lets a side speak twice in a row",
                            path=self.plan.path)
        feedback: tuple[Feedback, ...] = ()
        plan_hash = self.rec.plan_hash
        for attempt in range(1, self.ex.max_attempts + 1):
            self.rec.emit(NodeAttemptStarted, plan_hash=plan_hash, node_index=node.index, node=node.type,
                          state=node.state, attempt=attempt, feedback=tuple(f.text for f in feedback))
            turns: list[Turn] = []
            try:
                # Log lines of this attempt (a backend's retries, say) carry the node (run and dialog
                # ids are bound by the scheduler).
                with structlog.contextvars.bound_contextvars(node_index=node.index, node=node.type,
                                                             attempt=attempt):
                    await self._exchanges(node, attempt, feedback, turns)
                    verdicts = await self._validate(node, attempt, turns)
            except _AnswerRefused as refused:
                verdicts = [refused.verdict]
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
        return [f.text for f in feedback]

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
                return [f.text for f in _feedback([v for v in verdicts if not v.passed])]

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

    async def _exchanges(self, node: NodeBinding, attempt: int, feedback: tuple[Feedback, ...],
                         turns: list[Turn]) -> None:
        """Plays the attempt's exchanges, appending each turn to ``turns`` as it is said."""
        order = (self.ex.system, self.ex.user) if node.opener == "system" else (self.ex.user, self.ex.system)
        # A side without an act in this node stays silent (the target's recommendation is the system's).
        order = tuple(a for a in order if (node.user_acts if a.role == "user" else node.system_acts))
        for exchange in range(node.max_turns):
            final = exchange == node.max_turns - 1
            done = True
            for agent in order:
                request = NodeRequest(plan=self.plan, context=self.context, node=node, attempt=attempt,
                                      exchange=exchange, transcript=(*self.accepted, *turns),
                                      feedback=tuple(f for f in feedback if f.role in (agent.role, None)),
                                      final_exchange=final)
                with call_scope(self.rec, self.rec.position(node.index, attempt, exchange, agent.role)):
                    try:
                        reply = await agent.reply(request)
                    except BadOutput as exc:
                        raise _AnswerRefused(agent.role, exc) from exc
                    except LLMError as exc:
                        raise _BackendFailed(f"node {node.index} ({node.state}) attempt {attempt} "
                                             f"{agent.role} agent", exc) from exc
                turn = Turn(index=len(self.accepted) + len(turns), node_index=node.index, node=node.type,
                            attempt=attempt, speaker=agent.role, text=reply.text, backend=reply.backend,
                            cut_off=reply.cut_off, realizer=self.ex.realizer_of(reply.backend))
                turns.append(turn)
                self._exchange_of[turn.index] = exchange
                self.rec.emit(TurnRecorded, plan_hash=self.rec.plan_hash, turn_index=turn.index,
                              node_index=node.index, node=node.type, attempt=attempt, exchange=exchange,
                              speaker=agent.role, text=reply.text, backend=reply.backend, done=reply.done,
                              realizer=turn.realizer)
                done = done and reply.done
                if reply.cut_off:
                    return  # an incomplete turn ends the attempt: nobody answers half a sentence
            if exchange + 1 >= node.min_turns and done:
                break

    async def _validate(self, node: NodeBinding, attempt: int, turns: list[Turn]) -> list[Verdict]:
        cut = [t for t in turns if t.cut_off]
        if cut:
            feedback = tuple(Feedback(role=t.speaker, text=f"cut off: the {t.speaker}'s message stopped at "
                                      "the length limit before it was complete; write a shorter, complete "
                                      "message") for t in cut)
            return [Verdict(validator=CUT_OFF, kind="executional", passed=False,
                            reasons=tuple(f.text for f in feedback), feedback=feedback)]
        data = ValidationInput(plan=self.plan, context=self.context, node=node, attempt=attempt,
                               turns=tuple(turns), before=tuple(self.accepted), catalog=self.ex.catalog)
        errors: list[_BackendFailed] = []

        async def judged(v: Validator, data: ValidationInput) -> Verdict | None:
            with call_scope(self.rec, self.rec.position(node.index, attempt, None, f"validator:{v.name}")):
                try:
                    return await v.check(data)
                except LLMError as exc:
                    errors.append(_BackendFailed(f"node {node.index} ({node.state}) attempt {attempt} "
                                                 f"validator {v.name}", exc))
                    return None

        verdicts = await run_validators(self.ex.validators, data, check=judged)
        if errors:
            raise errors[0]
        return verdicts


def _feedback(failed: Sequence[Verdict]) -> tuple[Feedback, ...]:
    out: list[Feedback] = []
    for v in failed:
        for f in v.routed():
            if f not in out:
                out.append(f)
    return tuple(out)
