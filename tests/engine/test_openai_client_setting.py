"""``openai_client``: lean (aiohttp, the default) or sdk; "httpx", the lean client's earlier name, is
still read as lean wherever a setting comes from (a config file, a stored run, a BackendConfig)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path

import pytest
from pydantic import ValidationError

from agents.backends import BackendConfig, make_client
from agents.backends.http_backend import HttpBackend
from agents.backends.openai_backend import OpenAIBackend
from engine.config import ConfigFileError, RunSettings, parse_settings
from engine.run import main
from tests.support.openai_server import OpenAITestServer
from tests.support.scripted_server import scripted_answer
from tests.support.worlds import WORLD_ARGS

pytestmark = pytest.mark.timeout(900)
KEY_ENV = "CONVREC_CLIENT_SETTING_TEST_KEY"


def test_lean_is_the_default_and_httpx_reads_as_lean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-client-setting-0000000")
    assert RunSettings().openai_client == BackendConfig(kind="openai").openai_client == "lean"
    assert RunSettings.merged({"openai_client": "httpx"}).openai_client == "lean"
    assert BackendConfig(kind="openai", openai_client="httpx").openai_client == "lean"  # type: ignore[arg-type]
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'backend = "openai"\nmodel = "m"\napi_key_env = "{KEY_ENV}"\nopenai_client = "httpx"\n')
    settings = parse_settings(["--config", str(cfg)])
    assert settings.openai_client == settings.backend_config().openai_client == "lean"
    assert isinstance(make_client(settings.backend_config()), HttpBackend)
    sdk = RunSettings(backend="openai", model="m", api_key_env=KEY_ENV, openai_client="sdk").backend_config()
    assert isinstance(make_client(sdk), OpenAIBackend)
    with pytest.raises(ValidationError):
        BackendConfig(kind="openai", openai_client="requests")  # type: ignore[arg-type]
    cfg.write_text('openai_client = "requests"\n')
    with pytest.raises(ConfigFileError, match="openai_client"):
        parse_settings(["--config", str(cfg)])


def test_a_run_stored_with_the_httpx_client_resumes_on_the_lean_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.pipeline.base as base

    real = base._player

    def ctrl_c_then_player(*args, **kwargs):  # type: ignore[no-untyped-def]
        # A real SIGINT after the run is recorded and before its first dialog: left resumable.
        os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setenv(KEY_ENV, "sk-client-setting-0000000")
    db, out = tmp_path / "r.db", tmp_path / "out"
    with OpenAITestServer(scripted_answer) as server:
        monkeypatch.setattr(base, "_player", ctrl_c_then_player)
        args = [*WORLD_ARGS, "--backend", "openai", "--model", "test-model", "--base-url", server.base_url,
                "--api-key-env", KEY_ENV, "--directive", "on", "--dialogs", "2", "--concurrency", "2"]
        assert main([*args, "--quiet", "--db", str(db), "--out", str(out), "--run-id", "old"]) == 130
        assert server.requests == []
        # What a run recorded before the rename holds.
        con = sqlite3.connect(db)
        config = json.loads(con.execute("SELECT config_json FROM runs").fetchone()[0])
        assert config["openai_client"] == "lean"
        stored = config | {"openai_client": "httpx"}
        con.execute("UPDATE runs SET config_json=?", (json.dumps(stored),))
        con.commit()
        con.close()
        assert RunSettings().resumed(stored, run_id="old").openai_client == "lean"
        monkeypatch.setattr(base, "_player", real)
        assert main(["--resume", "--db", str(db), "--out", str(out), "--quiet"]) == 0
        assert server.requests
    lines = [json.loads(x) for x in (out / "dialogs.jsonl").read_text().splitlines()]
    assert len(lines) == 2
