"""``--realize``: one setting for every backend, stored with the run, and the polish mode end to end
against the OpenAI-compatible test server (its answers: tests/support/scripted_server.py)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from engine.config import RunSettings, SettingsError
from engine.outputs import export_run
from engine.outputs.report import write_report
from engine.run import main
from engine.store import read_run
from tests.support.openai_server import OpenAITestServer
from tests.support.scripted_server import scripted_answer
from tests.support.worlds import WORLD_ARGS

pytestmark = pytest.mark.timeout(900)
KEY_ENV = "REALIZE_TEST_KEY"


def test_auto_realization_follows_the_backend_and_contradictions_are_refused() -> None:
    assert RunSettings(backend="local").realization == "polish"
    assert RunSettings(backend="openai", model="m").realization == "free"
    assert RunSettings(backend="scripted").realization == "scripted"
    assert RunSettings(backend="local", realize="free").realization == "free"
    # Drafts and scripted turns are written from the directive; free turns by a real model are not.
    assert RunSettings(backend="local").embed_directive and not RunSettings(backend="local", realize="free"
                                                                            ).embed_directive
    # Scripted turns with a model backend call no model: the run's client is the scripted realizer.
    assert RunSettings(backend="local", realize="scripted").backend_config().kind == "scripted"
    with pytest.raises(SettingsError, match="needs a model backend"):
        RunSettings(backend="scripted", realize="polish").check()
    with pytest.raises(SettingsError, match="polish-tries"):
        RunSettings(backend="local", polish_tries=0).check()


def test_a_polish_run_labels_every_turn_and_counts_them_everywhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")
    out = tmp_path / "run"
    with OpenAITestServer(scripted_answer) as server:
        code = main([*WORLD_ARGS, "--backend", "openai", "--model", "test-model", "--base-url",
                     server.base_url, "--api-key-env", KEY_ENV, "--realize", "polish", "--dialogs", "4",
                     "--concurrency", "2", "--quiet", "--out", str(out), "--db", str(out / "trace.db")])
        bodies = [r.body for r in server.requests if r.body]
    assert code == 0
    # Only rewrites reach the model: the drafts are the scripted realizer's, written from the directive.
    assert bodies and all("says:" in b["messages"][-1]["content"] for b in bodies)
    summary = json.loads((out / "summary.json").read_text())
    lines = [json.loads(x) for x in (out / "dialogs.jsonl").read_text().splitlines()]
    turns = [t for d in lines if d["status"] == "accepted" for t in d["turns"]]
    assert summary["accepted"] == 4 and summary["turns_model"] + summary["turns_draft"] == len(turns)
    assert summary["turns_model"] > 0 and summary["turns_scripted"] == 0
    assert summary["rewrites_per_polished_turn"] >= 1
    assert all(t["realizer"] in ("model", "draft") and "draft" in t for t in turns)
    assert sum(t["realizer"] == "model" for t in turns) == summary["turns_model"]
    con = sqlite3.connect(out / "trace.db")
    assert json.loads(con.execute("SELECT config_json FROM runs").fetchone()[0])["realize"] == "polish"
    roles = {r[0] for r in con.execute("SELECT DISTINCT role FROM llm_calls")}
    assert roles <= {"polish:user", "polish:system"}
    kept = con.execute("SELECT COUNT(*) FROM turns WHERE superseded=0 AND realizer='draft' "
                       "AND polish_json IS NOT NULL").fetchone()[0]
    assert kept == summary["turns_draft"]
    con.close()
    run = read_run(out / "trace.db")
    export_run(run, tmp_path / "export", formats=("jsonl", "parquet"))
    table = pq.read_table(next((tmp_path / "export" / "parquet" / "turns").glob("*.parquet"))).to_pylist()
    assert {r["realizer"] for r in table} <= {"model", "draft"} and all(r["draft"] for r in table)
    metrics = write_report(run, tmp_path / "report.html")
    assert metrics["run"]["fidelity"]["turns_model"] + metrics["run"]["fidelity"]["turns_draft"] == len(turns)
    assert "turns by the model" in (tmp_path / "report.html").read_text()
