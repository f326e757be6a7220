"""Benchmark of what scripted dialogs tell: turn order, evidence quotes, retry feedback, provenance.

Plans ``--dialogs`` seeds of the sample world and plays them with the scripted realizer, corrupting a
quarter of the first-attempt replies with a role prefix ("System: ...", which ``executional.roles``
refuses) so that retries happen. Then it counts, over every dialog and every prompt:

- dialogs where a speaker talks twice in a row (and the dialogs that do not open with the system);
- evidence quotes shown to a role (checked against stage 1: the quoted sentence's item category and
  the polarity of its mention of the fact's aspect), off the seed's category or of the wrong sign;
- retry prompts, and feedback items in them about the other role's turn, or missing about one's own;
- community claims bound with fewer than 5 mentions, and grounding sentence ids that are missing,
  not older than the seed, not a mention of the claimed aspect, or not the right author's.

    .venv/bin/python bench/bench_grounded_dialogs.py                  # 1000 dialogs of the default world
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import anyio
import structlog
from autogen_core.models import CreateResult

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.backends import RecordingClient, UsageListener
from agents.backends.base import ChatRequest
from agents.backends.tokens import message_text
from agents.directive import Directive, parse_directive
from agents.scripted import ScriptedClient
from agents.validators import default_validators
from engine.core.dialog_inputs import prepare_dialog_set
from engine.core.events import MemorySink, TickClock
from engine.core.records import dialog_record
from planners.plan import CommunityFact, NodeBinding, UserAspectFact
from profiling.corpus import to_millis
from profiling.sample_world import load_sample_world


class Logged(RecordingClient):
    """Forwards to the scripted realizer, keeps each directive, corrupts a quarter of first attempts."""

    def __init__(self, inner: RecordingClient) -> None:
        super().__init__(inner.config, inner.token_counter)
        self.inner, self.provider, self.calls = inner, inner.provider, inner.calls
        self.seen: list[tuple[Directive, bool]] = []

    def add_usage_listener(self, listener: UsageListener) -> None:
        self.inner.add_usage_listener(listener)

    async def _create(self, request: ChatRequest) -> CreateResult:
        result = await request.send(self.inner)
        d = parse_directive(message_text(request.messages[-1]))
        bad = d.attempt == 1 and int(d.seed[:8], 16) % 4 == 0
        self.seen.append((d, bad))
        return result.model_copy(update={"content": f"System: {result.content}"}) if bad else result

    async def close(self) -> None:
        """The inner client is closed by its owner."""


def facts(b: NodeBinding) -> tuple[list[UserAspectFact], list[CommunityFact]]:
    users = [*b.reveals] + [s.user for s in (b.clarification, b.negative, b.critique, b.inquiry)
                            if s is not None and s.user is not None]
    comms = [j.community for j in b.target.justifications] if b.target is not None else []
    if b.target is not None:
        users += [j.user for j in b.target.justifications if j.user is not None]
    if b.negative is not None:
        comms += [b.negative.community] + ([b.negative.praise] if b.negative.praise else [])
    if b.critique is not None and b.critique.community is not None:
        comms.append(b.critique.community)
    if b.inquiry is not None:
        comms.append(b.inquiry.community)
    return users, comms


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dialogs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings and up only
    root = Path(__file__).resolve().parents[1]
    sha = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True, check=False).stdout.strip()
    print(f"machine: {platform.platform()} | {os.cpu_count()} CPUs | python {platform.python_version()} | "
          f"commit {sha}")
    t0 = time.perf_counter()
    corpus = load_sample_world()
    prepared = prepare_dialog_set(corpus, n=args.dialogs, seed=args.seed)
    res = prepared.profiling
    assert res.mentions is not None
    polarity = {(int(s), int(a)): float(p) for s, a, p in
                zip(res.mentions.sentence, res.mentions.aspect, res.mentions.polarity, strict=True)}
    item_of = [corpus.item_ids[int(i)] for i in res.table.item]
    c = dict.fromkeys(("dialogs", "accepted", "twice_in_a_row", "not_system_first", "quotes",
                       "quotes_off_category", "quotes_wrong_sign", "retry_prompts", "feedback_items",
                       "feedback_about_other_role", "own_fault_without_feedback",
                       "feedback_without_own_fault", "claims", "claims_below_5", "grounding_ids",
                       "ids_bad"), 0)

    async def play() -> None:
        validators = default_validators()
        for d in prepared.inputs:
            log = Logged(ScriptedClient())
            ex = prepared.executor(d, log, validators, MemorySink(), clock=TickClock())
            r = await ex.run(d.plan, d.context)
            c["dialogs"] += 1
            c["accepted"] += r.status == "accepted"
            if r.status != "accepted":
                print(f"not accepted: {r.dialog_key} {r.status}: {r.reason}")
            said = [t.speaker for t in r.turns]
            c["twice_in_a_row"] += any(a == b for a, b in pairwise(said))
            c["not_system_first"] += bool(said) and said[0] != "system"
            category = d.context.target.category
            faulty = {(x.node_index, x.role) for x, bad in log.seen if bad}
            for x, _ in log.seen:
                users, comms = facts(x.binding)
                for f in users:
                    for sid in f.evidence_ids:
                        c["quotes"] += 1
                        c["quotes_off_category"] += corpus.items[item_of[sid]].category != category
                        c["quotes_wrong_sign"] += polarity.get((sid, f.aspect), 0.0) * f.polarity <= 0
                for f in comms:
                    sign = {"positive": 1, "negative": -1}.get(f.stance, 0)
                    for sid in f.evidence_ids:
                        c["quotes"] += 1
                        c["quotes_off_category"] += corpus.items[item_of[sid]].category != category
                        c["quotes_wrong_sign"] += polarity.get((sid, f.aspect), 0.0) * sign <= 0
                if x.attempt > 1:
                    c["retry_prompts"] += 1
                    c["feedback_items"] += len(x.feedback)
                    c["feedback_about_other_role"] += sum(f.role not in (x.role, None) for f in x.feedback)
                    own = any(f.role == x.role for f in x.feedback)
                    if x.attempt == 2:  # the attempt right after the planted fault
                        c["own_fault_without_feedback"] += ((x.node_index, x.role) in faulty) and not own
                        c["feedback_without_own_fault"] += own and (x.node_index, x.role) not in faulty
            for node in r.plan.nodes:
                for f in facts(node)[1]:
                    c["claims"] += 1
                    c["claims_below_5"] += f.mentions < 5
            record = dialog_record(r, d.context, corpus, backend="scripted", user_persona="default",
                                   system_persona="default", run_seed=args.seed)
            seed_ms = to_millis(d.context.seed.target.timestamp)
            user = corpus.user_index(d.context.seed.user)
            for t in record["turns"]:
                for g in t["grounding"]:
                    for sid in g["sentence_ids"]:
                        c["grounding_ids"] += 1
                        own = int(res.table.user[sid]) == user
                        author_ok = own if g["kind"] == "preference" else (
                            not own and item_of[sid] == g["item"])
                        c["ids_bad"] += not (int(res.table.ts[sid]) < seed_ms
                                             and (sid, g["aspect"]) in polarity and author_ok)

    anyio.run(play)
    print(f"{args.dialogs} dialogs requested, played in {time.perf_counter() - t0:.1f} s (stage 1 included)")
    for k, v in c.items():
        print(f"  {k.replace('_', ' ')}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
