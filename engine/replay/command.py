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

import argparse
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from agents.dialog import AgentReply, DialogAgent, NodeRequest
from engine.config.config_file import GENERATION_KEYS
from engine.core.events import (
    MemorySink,
    NodeAttemptEnded,
    NodeAttemptStarted,
    Replanned,
    RolledBack,
    TurnRecorded,
    TurnsSuperseded,
    VerdictRecorded,
)
from profiling.errors import ConvRecError

__all__ = ["PersonaSwitch", "render_dialog", "replay_main"]

_PERSONA_KEYS = ("user_persona", "system_persona")


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


async def replay_main(args: argparse.Namespace, console: Console) -> int:
    """The ``--replay`` command; exit code 0 when every replayed dialog equals its record, 1 otherwise."""
    from agents.backends import make_client
    from agents.validators import default_validators
    from engine.core.dialog_inputs import prepare_dialog_set
    from engine.core.executor import DialogExecutor
    from engine.core.records import dialog_record
    from engine.replay.client import ReplayClient
    from engine.run import backend_config, embed_directive
    from engine.store.trace_store import TraceStore
    from profiling.datasets import load_corpus
    from profiling.pipeline import ProfilingConfig

    if not args.db.exists():
        raise ConvRecError(f"--replay: no trace store at {args.db}")
    swap = {k: getattr(args, k) for k in _PERSONA_KEYS} if args.replay_from_node is not None else {}
    async with TraceStore.open(args.db) as store:
        info = await store.run(args.run_id)
        for key in GENERATION_KEYS:
            value = info.config.get(key)
            setattr(args, key, Path(value) if key in ("reviews", "meta") and value else value)
        recorded_personas = {k: getattr(args, k) for k in _PERSONA_KEYS}
        corpus = load_corpus(args, not args.quiet)
        with console.status("profiling (cached) and planning as the run did ..."):
            prepared = prepare_dialog_set(
                corpus, n=args.dialogs, profiling=ProfilingConfig(encoder=args.encoder, seed=args.seed),
                split=None if args.split == "all" else args.split, seed=args.seed, select=args.select)
        records = {r["dialog_id"]: r for r in await store.records(info.run_id)}
        dialogs = [d for d in prepared.inputs if d.key in records]
        if args.replay_dialog:
            dialogs = [d for d in dialogs if d.key == args.replay_dialog]
            if not dialogs:
                raise ConvRecError(f"--replay-dialog {args.replay_dialog}: run {info.run_id} has no complete "
                                   "dialog of that id")
        config = backend_config(args)
        if info.model:  # what the backend really called itself (the scripted one renames its model)
            config = config.model_copy(update={"model": info.model})
        going_live = args.replay_mode == "lenient" or args.replay_from_node is not None
        live = make_client(config) if going_live else None
        backend = config.kind if config.kind == "scripted" else getattr(live, "provider", config.kind)
        personas = {**recorded_personas, **swap}
        label = "scripted" if config.kind == "scripted" else f"{info.backend}:{config.model}"
        judge = getattr(args, "judge", "off") == "on"
        out_lines: list[bytes] = []
        same = differ = replayed_calls = live_calls = 0
        for d in dialogs:
            client = ReplayClient(config, await store.recorded_responses(info.run_id, d.key), dialog_id=d.key,
                                  mode=args.replay_mode, live=live, live_from_node=args.replay_from_node)
            # Turns replayed from the store are labelled as the backend that wrote them.
            client.backend_label = label  # type: ignore[attr-defined]
            sink = MemorySink()
            validators = default_validators(judge=client if judge else None)
            recorded_ex = prepared.executor(d, client, validators, sink, run_id=info.run_id,
                                            max_attempts=args.max_attempts,
                                            embed_directive=embed_directive(args), **recorded_personas)
            ex = recorded_ex
            if swap and swap != recorded_personas:
                new_ex = prepared.executor(d, client, validators, sink, run_id=info.run_id,
                                           max_attempts=args.max_attempts,
                                           embed_directive=embed_directive(args), **personas)
                n = args.replay_from_node
                ex = DialogExecutor(PersonaSwitch(recorded_ex.user, new_ex.user, n),
                                    PersonaSwitch(recorded_ex.system, new_ex.system, n), validators,
                                    prepared.planner, sink, catalog=prepared.catalog,
                                    max_attempts=args.max_attempts, clients=[client], run_id=info.run_id)
            result = await ex.run(d.plan, d.context)
            record = dialog_record(result, d.context, corpus, backend=records[d.key]["backend"],
                                   run_seed=args.seed, **personas)
            identical = record == records[d.key]
            same += identical
            differ += not identical
            replayed_calls += client.replayed
            live_calls += client.live_calls
            out_lines.append(orjson.dumps(record))
            if args.replay_dialog:
                console.print(render_dialog(sink, d.key))
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "replay.jsonl").write_bytes(b"".join(line + b"\n" for line in out_lines))
        if live is not None:
            await live.close()  # its HTTP connections (an unclosed pool is a ResourceWarning)
    table = Table(title=f"replay of run {info.run_id} ({args.replay_mode})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in (("dialogs replayed", len(dialogs)), ("identical to the record", same),
                        ("different", differ), ("answers from the store", replayed_calls),
                        ("live model calls", live_calls)):
        table.add_row(name, f"{value:,}")
    console.print(table)
    console.print(f"wrote {args.out / 'replay.jsonl'} (backend {backend})")
    return 0 if differ == 0 or swap else 1


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
