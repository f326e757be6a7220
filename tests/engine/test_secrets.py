"""Secrets: an API key given by environment is used, and written nowhere.

A run against a real HTTP server (the scripted realizer behind it, with some failing calls so the
retry log lines and failure reasons are written too) takes its settings from a TOML file that names
only the variable holding the key (``api_key_env``). The server must receive the key (so the test
proves it was used); then every byte of every file the run, its replay, the dataset export and the
HTML report wrote (the database with its WAL and shared-memory files, run.log, dialogs.jsonl,
summary.json, the exports, report.html and its metrics), and everything printed, must not hold it.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from engine.run import main
from tests.support.openai_server import Fault, OpenAITestServer
from tests.support.scripted_server import scripted_answer
from tests.support.worlds import WORLD_ARGS as WORLD

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

KEY_ENV = "H7_SECRET_API_KEY"


def _faults(n: int, body: dict[str, Any] | None) -> Fault | None:
    # A retried 429 and 500 (retry lines in run.log), and one call the server refuses for good
    # (a failed_backend reason carrying the server's words).
    if n % 7 == 3:
        return Fault("status", 429, {"Retry-After": "0.05"})
    if n % 11 == 5:
        return Fault("status", 500)
    if n == 40:
        return Fault("status", 403)
    return None


def _leaks(root: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path}: {n!r}" for n in needles if n in data]
    return found


def test_the_api_key_is_sent_and_never_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    key = f"sk-h7test-{secrets.token_hex(20)}"
    # The key, its distinctive half, and the forms a careless writer might store it in.
    needles = [key.encode(), key[-20:].encode(), base64.b64encode(key.encode()),
               base64.b64encode(f"Bearer {key}".encode())]
    monkeypatch.setenv(KEY_ENV, key)
    out, db = tmp_path / "out", tmp_path / "out" / "trace.db"
    with OpenAITestServer(scripted_answer, fault=_faults) as server:
        cfg = tmp_path / "run.toml"
        world = dict(zip(WORLD[::2], WORLD[1::2], strict=True))
        cfg.write_text("\n".join([f"{k[2:].replace('-', '_')} = {v}" for k, v in world.items()] + [
            'backend = "openai"', 'model = "secret-test"', f'base_url = "{server.base_url}"',
            f'api_key_env = "{KEY_ENV}"', 'directive = "on"', "dialogs = 8", "quiet = true",
            "[run]", "concurrency = 4", "max_retries = 3"]) + "\n")
        assert key not in cfg.read_text()
        # 4: some dialogs failed their backend (the 403), and the exit code says so.
        assert main(["--config", str(cfg), "--out", str(out), "--db", str(db), "--run-id", "s"]) == 4
        chat = [r for r in server.requests if r.path.endswith("/chat/completions")]
        # Replay of an accepted dialog from the store (strict: no model call; a failed_backend one
        # would diverge at the call that was never recorded).
        accepted = next(json.loads(x)["dialog_id"] for x in (out / "dialogs.jsonl").read_text().splitlines()
                        if json.loads(x)["status"] == "accepted")
        assert main(["--replay-dialog", accepted, "--db", str(db), "--out", str(tmp_path / "replay"),
                     "--quiet"]) == 0
        assert len(server.requests) == len(chat)
    # The key was used: every request carried it.
    assert chat and all(r.headers.get("authorization") == f"Bearer {key}" for r in chat)
    assert server.faults.get("status", 0) >= 3
    summary = (out / "summary.json").read_text()
    assert '"failed_backend": 0' not in summary and '"retries": 0' not in summary

    from engine.export import main as export_main
    from engine.report import main as report_main

    assert export_main([str(db), "--out", str(tmp_path / "export"), "--include-failed", "--quiet"]) == 0
    assert report_main([str(db), "--out", str(tmp_path / "report" / "report.html"), "--quiet"]) == 0
    printed = capsys.readouterr()

    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    for expected in ("out/trace.db", "out/run.log", "out/dialogs.jsonl", "out/summary.json",
                     "replay/replay.jsonl", "report/report.html", "report/report.metrics.json",
                     "export/manifest.json"):
        assert expected in written, written
    assert (out / "run.log").stat().st_size > 0
    assert _leaks(tmp_path, needles) == []
    assert all(n.decode() not in printed.out + printed.err for n in needles)
