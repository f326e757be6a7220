"""Replay, the debugger: play a recorded run again from its stored model answers.

``python -m engine.run --replay [--run-id ID] [--replay-dialog DIALOG_ID]`` rebuilds the run's dialogs
from its stored settings (same data, seeds and plans) and answers every model call from the trace store,
matched by request hash (:mod:`engine.replay.client`): when nothing changed it makes zero model calls
and every dialog comes out identical to its dataset line. Strict mode stops at the first call whose
request was never recorded and names the dialog, node and call; lenient mode warns and answers the rest
of that dialog live. With ``--replay-from-node N`` and another ``--user-persona`` / ``--system-persona``,
nodes before N replay with the recorded personas and nodes from N on run live with the new ones, so a
user sees what a persona changes. Replaying one dialog prints it with node boundaries, attempts,
superseded turns and validator verdicts. Nothing is written to the store; the replayed dataset lines go
to ``--out``/``replay.jsonl``.
"""

from __future__ import annotations

import orjson
from rich.console import Console
from rich.table import Table

from agents.dialog import AgentReply, DialogAgent, NodeRequest
from engine.config import RunSettings
from engine.core import (
    DialogSetup,
    MemorySink,
    NodeAttemptEnded,
    NodeAttemptStarted,
    Personas,
    Replanned,
    RolledBack,
    TurnPolished,
    TurnRecorded,
    TurnsSuperseded,
    VerdictRecorded,
)
from engine.pipeline import prepare_dialogs_of
from engine.store import TraceStore
from profiling.datasets import load_corpus
from profiling.errors import ConvRecError

__all__ = ["PersonaSwitch", "render_dialog", "replay_main"]


class PersonaSwitch:
    """A DialogAgent answering with ``before`` for nodes under ``from_node``, with ``after`` from there on."""

    def __init__(self, before: DialogAgent, after: DialogAgent, from_node: int) -> None:
        self.before = before
        self.after = after
        self.from_node = from_node
        self.role = after.role
        self.persona = after.persona
        self.backend = getattr(after, "backend", "unknown")

    async def reply(self, request: NodeRequest) -> AgentReply:
        agent = self.before if request.node.index < self.from_node else self.after
        return await agent.reply(request)


async def replay_main(settings: RunSettings, console: Console) -> int:
    """The ``--replay`` command; exit code 0 when every replayed dialog equals its record, 1 otherwise."""
    from agents.backends import make_client
    from engine.replay.client import ReplayClient

    if not settings.db.exists():
        raise ConvRecError(f"--replay: no trace store at {settings.db}")
    async with TraceStore.open(settings.db) as store:
        info = await store.run(settings.run_id)
        await store.refuse_if_live(info.run_id, "a replay")
        # The run's own settings decide its dialogs; a persona swap is the command line's.
        recorded = settings.resumed(info.config, run_id=info.run_id)
        swap = (Personas(settings.user_persona, settings.system_persona)
                if settings.replay_from_node is not None else None)
        corpus = load_corpus(recorded, not settings.quiet)  # type: ignore[arg-type]  # its data settings
        with console.status("profiling (cached) and planning as the run did ..."):
            prepared = prepare_dialogs_of(recorded, corpus)
        records = {r["dialog_id"]: r for r in await store.records(info.run_id)}
        dialogs = [d for d in prepared.inputs if d.key in records]
        if settings.replay_dialog:
            dialogs = [d for d in dialogs if d.key == settings.replay_dialog]
            if not dialogs:
                raise ConvRecError(f"--replay-dialog {settings.replay_dialog}: run {info.run_id} has no "
                                   "complete dialog of that id")
        config = recorded.backend_config()
        if info.model:  # what the backend really called itself (the scripted one renames its model)
            config = config.model_copy(update={"model": info.model})
        going_live = settings.replay_mode == "lenient" or settings.replay_from_node is not None
        live = make_client(config) if going_live else None
        backend = config.kind if config.kind == "scripted" else getattr(live, "provider", config.kind)
        label = "scripted" if config.kind == "scripted" else f"{info.backend}:{config.model}"
        setup = DialogSetup(prepared, corpus, recorded, info.run_id, label)
        personas = swap if swap is not None else setup.personas
        out_lines: list[bytes] = []
        same = differ = replayed_calls = live_calls = 0
        for d in dialogs:
            client = ReplayClient(config, await store.recorded_responses(info.run_id, d.key),
                                  dialog_id=d.key, mode=settings.replay_mode, live=live,
                                  live_from_node=settings.replay_from_node)
            # Turns replayed from the store are labelled as the backend that wrote them.
            client.backend_label = label  # type: ignore[attr-defined]
            sink = MemorySink()
            validators = setup.validators(client)
            ex = setup.executor(d, client, sink, validators=validators)
            if swap is not None and swap != setup.personas:
                new_ex = setup.executor(d, client, sink, validators=validators, personas=swap)
                n = settings.replay_from_node
                assert n is not None  # a swap is only made with replay_from_node
                ex = setup.executor_with(PersonaSwitch(ex.user, new_ex.user, n),
                                         PersonaSwitch(ex.system, new_ex.system, n), sink,
                                         validators=validators, clients=[client], scorer=setup.scorer(client))
            result = await ex.run(d.plan, d.context)
            record = setup.record(d, result, backend=records[d.key]["backend"], personas=personas)
            identical = record == records[d.key]
            same += identical
            differ += not identical
            replayed_calls += client.replayed
            live_calls += client.live_calls
            out_lines.append(orjson.dumps(record))
            if settings.replay_dialog:
                console.print(render_dialog(sink, d.key))
        out = settings.out_dir(f"replay-{info.run_id}")
        out.mkdir(parents=True, exist_ok=True)
        (out / "replay.jsonl").write_bytes(b"".join(line + b"\n" for line in out_lines))
        if live is not None:
            await live.close()  # its HTTP connections (an unclosed pool is a ResourceWarning)
    table = Table(title=f"replay of run {info.run_id} ({settings.replay_mode})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in (("dialogs replayed", len(dialogs)), ("identical to the record", same),
                        ("different", differ), ("answers from the store", replayed_calls),
                        ("live model calls", live_calls)):
        table.add_row(name, f"{value:,}")
    console.print(table)
    console.print(f"wrote {out / 'replay.jsonl'} (backend {backend})")
    return 0 if differ == 0 or swap is not None else 1


def render_dialog(sink: MemorySink, dialog_id: str) -> str:
    """One dialog as text: node boundaries, attempts, every turn (superseded ones marked), verdicts."""
    superseded = {(e.plan_hash, e.node_index, e.attempt) for e in sink.of(TurnsSuperseded, dialog_id)}
    lines: list[str] = [f"dialog {dialog_id}"]
    for e in sink.events:
        if e.dialog_id != dialog_id:
            continue
        if isinstance(e, NodeAttemptStarted):
            lines.append(f"── node {e.node_index} {e.node} ({e.state}) · attempt {e.attempt}"
                         + (f" · feedback: {'; '.join(e.feedback)}" if e.feedback else ""))
        elif isinstance(e, TurnRecorded):
            mark = "  ✗ " if (e.plan_hash, e.node_index, e.attempt) in superseded else "    "
            lines.append(f"{mark}{e.speaker:>6}: {e.text}")
        elif isinstance(e, TurnPolished):
            lines.append(f"      polished ({len(e.tries)} tries) -> {e.realizer}: {e.text}")
        elif isinstance(e, VerdictRecorded) and not e.passed:
            lines.append(f"      ✗ {e.validator}: {'; '.join(e.reasons)}")
        elif isinstance(e, NodeAttemptEnded):
            lines.append(f"      {'✓ passed' if e.passed else '✗ failed'} ({e.n_turns} turns"
                         + ("; superseded" if not e.passed else "") + ")")
        elif isinstance(e, RolledBack):
            lines.append(f"↩ rolled back after node {e.failed_node}: {e.reason}")
        elif isinstance(e, Replanned):
            lines.append(f"↪ new path: {' → '.join(e.path[e.completed_nodes:])}")
    return "\n".join(lines)
