"""A server that ignores max_tokens, end to end: 2 MB answers claiming 5 tokens each.

Against a real local HTTP server (the scripted realizer behind it), every fourth request gets a
2,000,000-character answer whose usage figure claims 5 completion tokens. The run must keep its store
small (each such answer recorded cut to --max-answer-chars with the refusal mark, never as a turn),
fail those attempts as too long and retry them, and count the tokens really sent, so that
--budget-usd stops a run that the server's own figure would let spend without end.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engine.run import main
from tests.support.openai_server import Fault, OpenAITestServer
from tests.support.scripted_server import scripted_answer
from tests.support.worlds import WORLD_ARGS as WORLD

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

KEY_ENV = "CONVREC_BOUNDS_TEST_KEY"
HUGE = 2_000_000


def _huge(n: int, body: dict[str, Any] | None) -> Fault | None:
    if n % 4 == 1:
        return Fault("long", size=HUGE, usage={"prompt_tokens": 10, "completion_tokens": 5})
    return None


def _run(server: OpenAITestServer, out: Path, *extra: str) -> int:
    return main([*WORLD, "--backend", "openai", "--model", "bounds-test", "--base-url", server.base_url,
                 "--api-key-env", KEY_ENV, "--directive", "on", "--dialogs", "3", "--concurrency", "3",
                 "--quiet", "--out", str(out), "--db", str(out / "trace.db"), *extra])


def test_two_megabyte_answers_are_refused_and_the_store_stays_small(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-bounds-test-0000000")
    out = tmp_path / "out"
    with OpenAITestServer(scripted_answer, fault=_huge) as server:
        assert _run(server, out) == 0
        huge = server.faults["long"]
    assert huge >= 3
    con = sqlite3.connect(out / "trace.db")
    longest_turn = con.execute("SELECT MAX(length(text)) FROM turns").fetchone()[0]
    cut = con.execute("SELECT length(response_text), gen_ai_usage_output_tokens, tokens_estimated FROM "
                      "llm_calls WHERE response_text LIKE '%answer refused as too long%'").fetchall()
    refused = con.execute("SELECT COUNT(*) FROM validations WHERE validator='executional.model_answer' "
                          "AND passed=0").fetchone()[0]
    con.close()
    assert longest_turn < 1000
    assert len(cut) == refused == huge  # each huge answer: one cut call, one failed attempt
    assert all(n < 4200 and tokens > 100_000 and estimated == 1 for n, tokens, estimated in cut)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["output_tokens"] > huge * 100_000 // 2  # our count, not the server's 5 per answer
    assert summary["dialogs"] == 3
    size = sum(p.stat().st_size for p in out.iterdir() if p.name.startswith("trace.db"))
    print("bounds", {"huge_answers": huge, "refused_attempts": refused, "store_bytes": size,  # RELIABILITY.md
                     "longest_turn": longest_turn, "output_tokens": summary["output_tokens"]})
    assert size < 3_000_000, size  # three 2 MB answers alone would be 6 MB, stored twice 12 MB


def test_the_budget_sees_the_tokens_really_sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-bounds-test-0000000")
    out = tmp_path / "out"
    # 10 USD per million output tokens: a 2 MB answer (about 500,000 tokens) costs about 5 USD, and the
    # server's claim of 5 tokens would cost nothing.
    with OpenAITestServer(scripted_answer, fault=_huge) as server:
        code = _run(server, out, "--concurrency", "1", "--price-output", "10", "--budget-usd", "1")
    assert code == 130 and "budget reached" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    print("budget", {"cost_usd": summary["cost_usd"], "dialogs": summary["dialogs"]})  # RELIABILITY.md
    assert summary["cost_usd"] >= 1.0 and summary["dialogs"] < 3
