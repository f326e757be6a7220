"""LLM-server faults under load: ``engine.run`` against a real HTTP server that misbehaves.

The server (tests/support/openai_server.py) answers every chat request with the scripted realizer's turn for
the directive in the last user message (``--directive on``), and injects one kind of fault (or a mix
of all) into a share of the requests. Which requests fault is a seeded function of the request body
and of how many times that body was seen, so a retry draws again and the same run faults the same
requests whatever order the concurrent dialogs reach the server in. A small share of bodies fails on
every try, so the out-of-retries path (``failed_backend``) is exercised too.

Under each fault the run must finish with every planned dialog ended exactly once (accepted,
failed_fidelity or failed_backend, with a reason), no call retried more than ``--max-retries``
times (the server's request count must equal the tries the trace accounts for), and the server must
never see more calls in flight than ``--llm-concurrency``.

``invalid_json``: engine.run's agents ask for plain text (no LLM judge is configured), so there the
fault is a garbled turn for the validators; the JSON case (the LLM judge asks for JSON) is tested at
the end, through the gateway and the judge validator.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from agents.directive import parse_directive
from agents.scripted import realise
from engine.run import main
from engine.store import check_integrity
from tests.support.openai_server import Fault, OpenAITestServer
from tests.support.scripted_server import last_user, scripted_answer
from tests.support.worlds import WORLD_ARGS as WORLD

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

# The world of tests/engine/test_engine_run.py: its stage-1 profiles are cached for the session.
MAX_RETRIES = 3
LLM_LIMIT = 6
KEY_ENV = "CONVREC_H7_FAULTS_KEY"

RETRYABLE = ("429", "429_retry_after", "500", "503", "reset", "hang", "truncate", "empty")
ANSWERED = ("invalid_json", "wrong_role", "long")  # 200 answers with bad content: the validators' job
KINDS = (*RETRYABLE, *ANSWERED)
# The gateway's error class for each retryable fault.
ERROR_OF = {"429": "RateLimited", "429_retry_after": "RateLimited", "500": "LLMServerError",
            "503": "LLMServerError", "reset": "LLMServerError", "hang": "LLMTimeout",
            "truncate": "LLMServerError", "empty": "LLMServerError"}


def other_speaker(body: dict[str, Any]) -> str:
    """What the other party would say at this point: a reply in the wrong role."""
    d = parse_directive(last_user(body))
    other = "system" if d.role == "user" else "user"
    try:
        return realise(d.model_copy(update={"role": other}))
    except Exception:  # the realizer has no words for this node in that role: label it instead
        return f"{'Assistant' if other == 'system' else 'User'}: {realise(d)}"


def make_fault(kind: str, body: dict[str, Any]) -> Fault:
    """One fault of ``kind`` for the request ``body``."""
    if kind == "429":
        return Fault("status", 429)
    if kind == "429_retry_after":
        # Short, so a share of 429s pausing the whole endpoint keeps the test quick; decimal seconds
        # are read like integer ones.
        return Fault("status", 429, {"Retry-After": "0.1"})
    if kind in ("500", "503"):
        return Fault("status", int(kind))
    if kind == "hang":
        return Fault("hang", seconds=4.0)  # past --call-timeout 1
    if kind == "wrong_role":
        return Fault("wrong_role", role="user", text=other_speaker(body))
    if kind == "long":
        return Fault("long", size=20_000)
    return Fault(kind)  # type: ignore[arg-type]  # reset, truncate, empty, invalid_json


class FaultPlan:
    """Decides, per request, whether and which fault to inject (seeded, order-independent)."""

    def __init__(self, kind: str, *, rate: float, persistent: float, seed: int = 11) -> None:
        self.kinds = KINDS if kind == "mix" else (kind,)
        self.rate = rate
        self.persistent = persistent
        self.seed = seed
        self.seen: dict[str, int] = {}
        self.injected: dict[str, int] = {}
        self._lock = threading.Lock()

    def _draw(self, key: str, salt: str) -> float:
        digest = hashlib.sha256(f"{self.seed}|{salt}|{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2.0**64

    def __call__(self, n: int, body: dict[str, Any] | None) -> Fault | None:
        if not body or "messages" not in body:
            return None
        key = hashlib.sha256(json.dumps(body["messages"], sort_keys=True).encode()).hexdigest()
        with self._lock:
            k = self.seen[key] = self.seen.get(key, 0) + 1
        kind = self.kinds[int(self._draw(key, "kind") * len(self.kinds))]
        # A few bodies fail on every try (a retryable kind only: an answered fault is not retried).
        always = kind in RETRYABLE and self._draw(key, "persistent") < self.persistent
        if not always and self._draw(key, f"try{k}") >= self.rate:
            return None
        with self._lock:
            self.injected[kind] = self.injected.get(kind, 0) + 1
        return make_fault(kind, body)


def run_under(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plan: FaultPlan, *, dialogs: int,
              call_timeout: float = 30.0) -> tuple[int, OpenAITestServer, Path]:
    monkeypatch.setenv(KEY_ENV, "sk-faults-test")
    out = tmp_path / "out"
    with OpenAITestServer(scripted_answer, fault=plan) as server:
        code = main([*WORLD, "--backend", "openai", "--model", "fault-test", "--base-url", server.base_url,
                     "--api-key-env", KEY_ENV, "--directive", "on", "--dialogs", str(dialogs),
                     "--concurrency", str(dialogs), "--llm-concurrency", str(LLM_LIMIT),
                     "--max-retries", str(MAX_RETRIES), "--call-timeout", str(call_timeout), "--quiet",
                     "--out", str(out), "--db", str(out / "trace.db"), "--run-id", "faults"])
    return code, server, out


_GAVE_UP = re.compile(r"\[gave up after max_retries=(\d+); (\d+) retries\]")
_NOT_RETRYABLE = re.compile(r"\[(\w+) is not retryable; (\d+) retries\]")


def check_run(out: Path, server: OpenAITestServer, plan: FaultPlan, n: int) -> dict[str, Any]:
    """The invariants every faulty run must keep; returns the figures."""
    db = out / "trace.db"
    assert check_integrity(db) == "ok"
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT status FROM runs WHERE run_id='faults'").fetchone()[0] == "completed"
        seeds = [r[0] for r in con.execute("SELECT dialog_id FROM seeds WHERE run_id='faults' "
                                                "ORDER BY position")]
        ended = con.execute("SELECT dialog_id, status, reason FROM dialogs WHERE run_id='faults' AND "
                            "record_json IS NOT NULL").fetchall()
        rows = con.execute("SELECT COUNT(*) FROM dialogs WHERE run_id='faults'").fetchone()[0]
        calls = con.execute("SELECT retries, error FROM llm_calls WHERE run_id='faults'").fetchall()
    finally:
        con.close()
    retries = [r for r, error in calls if error is None]  # the calls that got an answer
    failed_calls = [(r, error) for r, error in calls if error is not None]
    # No dialog lost, none written twice: the dataset is exactly the planned seeds.
    assert len(seeds) == len(set(seeds)) == n
    assert rows == len(ended) == n and {d for d, _, _ in ended} == set(seeds)
    lines = [json.loads(x) for x in (out / "dialogs.jsonl").read_text().splitlines()]
    assert [d["dialog_id"] for d in lines] == seeds  # in seed order, each once
    statuses = {d: s for d, s, _ in ended}
    assert {d["dialog_id"]: d["status"] for d in lines} == statuses
    # Every dialog ended in one of the three ways, with the reason when it failed.
    for d, status, reason in ended:
        assert status in ("accepted", "failed_fidelity", "failed_backend"), (d, status)
        assert (reason is None) == (status == "accepted"), (d, status, reason)
    # Retries stay within the limit, and the server saw exactly the tries the trace accounts for:
    # each recorded call once plus its retries, each call that failed for good (a row of its own,
    # with its error) once plus its retries.
    assert max(r for r, _ in calls) <= MAX_RETRIES
    failed_tries = 0
    for _, status, reason in ended:
        if status != "failed_backend":
            continue
        if m := _GAVE_UP.search(reason):
            assert int(m[1]) == MAX_RETRIES and int(m[2]) == MAX_RETRIES, reason
        else:
            m = _NOT_RETRYABLE.search(reason)
            assert m is not None, reason
            assert int(m[2]) <= MAX_RETRIES
        failed_tries += 1 + int(m[2])
    # One failed call per failed_backend dialog, the same error as its reason says.
    assert len(failed_calls) == sum(s == "failed_backend" for _, s, _ in ended)
    assert sum(1 + r for r, _ in failed_calls) == failed_tries
    tries = len(retries) + sum(retries) + failed_tries
    summary = json.loads((out / "summary.json").read_text())
    (endpoint,) = summary["endpoints"]
    assert endpoint["attempts"] == tries
    # The server saw every try, except tries that failed on our side before it read them (on a loaded
    # machine: a call slowed past the call timeout, a connection dropped). Those are failed tries that
    # no injected fault explains, a count that holds however slow the machine is (comparing with the
    # timeouts alone depended on which way the machine's load tipped a race).
    chat = [r for r in server.requests if r.path.rstrip("/").endswith("/chat/completions")]
    failed_tries_all = tries - len(retries)  # every try that gave no recorded answer
    unexplained = failed_tries_all - sum(plan.injected.get(k, 0) for k in RETRYABLE)
    unseen = tries - len(chat)
    assert 0 <= unseen <= unexplained, (tries, len(chat), unexplained)
    assert endpoint["retries"] == sum(r for r, _ in calls) == summary["retries"]
    assert summary["failed_calls"] == len(failed_calls)
    # The per-endpoint limit held, as the server counted it; and the load did reach it.
    assert server.max_in_flight <= LLM_LIMIT
    assert endpoint["max_in_flight"] == LLM_LIMIT
    assert summary["dialogs"] == n
    assert summary["accepted"] + summary["failed_fidelity"] + summary["failed_backend"] == n
    return {"requests": len(chat), "injected": dict(plan.injected), "server_faults": dict(server.faults),
            "errors": endpoint["errors"], "statuses": {s: list(statuses.values()).count(s) for s in
                                                       ("accepted", "failed_fidelity", "failed_backend")},
            "retries": summary["retries"], "max_in_flight": server.max_in_flight, "unseen_tries": unseen}


@pytest.mark.parametrize("kind", KINDS)
def test_one_kind_of_fault_at_20_concurrent_dialogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    kind: str) -> None:
    plan = FaultPlan(kind, rate=0.15, persistent=0.01)
    code, server, out = run_under(tmp_path, monkeypatch, plan, dialogs=20,
                                  call_timeout=1.0 if kind == "hang" else 30.0)
    figures = check_run(out, server, plan, 20)
    assert code == (4 if figures["statuses"]["failed_backend"] else 0)  # the exit code says so
    print(kind, figures)  # the figures RELIABILITY.md quotes (pytest -s)
    assert plan.injected.get(kind, 0) > 0 and server.faults
    if kind in RETRYABLE:
        # Each injected fault cost exactly one failed try of the matching class (a hang: at least,
        # since a call slowed by the loaded machine may time out too).
        errors = figures["errors"]
        if kind == "hang":
            # A 1 s call timeout on a loaded machine can also cut a slow normal call short, before or
            # after the server read it; only such tries the server never saw may fail otherwise.
            assert errors.get(ERROR_OF[kind], 0) >= plan.injected[kind]
            others = sum(n for name, n in errors.items() if name != ERROR_OF[kind])
            assert others <= figures["unseen_tries"], errors
            assert server.abandoned >= 1  # the client gave up on a hung request and the server saw it
        else:
            assert set(errors) == {ERROR_OF[kind]}
            assert errors[ERROR_OF[kind]] == plan.injected[kind]
    else:
        # A 200 answer with bad content is no call failure: it reaches the trace as what the model said,
        # for the validators to judge (how much of it they let into the dataset goes in the figures);
        # an answer over the length limit is refused before it is a turn (its call recorded cut, its
        # attempt failed as too long).
        assert figures["errors"] == ({"AnswerTooLong": plan.injected[kind]} if kind == "long" else {})
        con = sqlite3.connect(out / "trace.db")
        if kind == "wrong_role":
            recorded = con.execute("SELECT COUNT(*) FROM validations WHERE passed=0").fetchone()[0]
            kept = figures["statuses"]["failed_fidelity"]
        elif kind == "long":
            recorded = con.execute("SELECT COUNT(*) FROM validations WHERE passed=0 AND "
                                   "validator='executional.model_answer'").fetchone()[0]
            assert recorded == plan.injected[kind]
            kept = con.execute("SELECT COUNT(*) FROM turns WHERE length(text) >= 20000").fetchone()[0]
            assert kept == 0
        else:
            mark = "text LIKE '{\"answer\": %'"
            recorded = con.execute(f"SELECT COUNT(*) FROM turns WHERE {mark}").fetchone()[0]
            kept = con.execute(f"SELECT COUNT(*) FROM turns WHERE {mark} AND superseded=0").fetchone()[0]
        con.close()
        print(kind, "recorded", recorded, "kept", kept)
        assert recorded > 0


def test_a_mix_of_every_fault_at_200_concurrent_dialogs(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    plan = FaultPlan("mix", rate=0.1, persistent=0.005)
    code, server, out = run_under(tmp_path, monkeypatch, plan, dialogs=200, call_timeout=2.0)
    figures = check_run(out, server, plan, 200)
    assert code == (4 if figures["statuses"]["failed_backend"] else 0)
    print("mix", figures)
    assert set(plan.injected) == set(KINDS)  # every kind was injected at least once
