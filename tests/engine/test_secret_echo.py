"""Secrets a server echoes, and secrets in a server URL, against a real local HTTP server.

Some proxies and gateways repeat the request's headers in their 401 and 500 error bodies, so the
``Authorization: Bearer <key>`` the run sent comes back inside the error text, and an error text
becomes a dialog's failure reason: the store, run.log, dialogs.jsonl, every export (failed dialogs
included), the report, the console. The key must be in none of them, in any form; the reasons must
still say what happened (with ``[REDACTED]`` where the key was).

A key in ``--base-url`` (``user:password@`` or ``?api-key=``) is refused before anything is written,
naming ``--api-key-env``; a query that is no credential (``?api-version=``) reaches the server on the
right path.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engine.run import main
from tests.support.openai_server import Fault, OpenAITestServer
from tests.support.scripted_server import scripted_answer
from tests.support.worlds import WORLD_ARGS as WORLD

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

KEY_ENV = "CONVREC_ECHO_TEST_KEY"


def _echoing(_n: int, body: dict[str, Any] | None) -> Fault | None:
    # Chosen by the request's content, not its arrival order (which the concurrency reshuffles, and
    # with it which dialogs get far enough to meet a fault): about one request in nine gets a 401 that
    # repeats the headers (not retryable: the dialog fails at once), about one in twenty a 500 that
    # repeats them on every try (the dialog fails after its retries).
    digest = hashlib.sha256(json.dumps((body or {}).get("messages"), sort_keys=True).encode()).digest()
    if digest[0] < 12:
        return Fault("status", 500, echo_headers=True)
    if digest[0] < 40:
        return Fault("status", 401, echo_headers=True)
    return None


def _needles(key: str) -> list[bytes]:
    return [key.encode(), key[-20:].encode(), base64.b64encode(key.encode()),
            base64.b64encode(f"Bearer {key}".encode())]


def _leaks(root: Path, needles: list[bytes]) -> list[str]:
    return [f"{p}: {n!r}" for p in sorted(root.rglob("*")) if p.is_file() for n in needles
            if n in p.read_bytes()]


def _run(server: OpenAITestServer, out: Path, *extra: str, base_url: str | None = None) -> int:
    return main([*WORLD, "--backend", "openai", "--model", "echo-test", "--base-url",
                 base_url or server.base_url, "--api-key-env", KEY_ENV, "--directive", "on", "--dialogs", "8",
                 "--concurrency", "4", "--max-retries", "2", "--quiet", "--out", str(out), "--db",
                 str(out / "trace.db"), *extra])


def test_a_key_echoed_in_error_bodies_reaches_no_file_and_no_console(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    key = f"sk-echo-{secrets.token_hex(20)}"
    monkeypatch.setenv(KEY_ENV, key)
    out = tmp_path / "out"
    with OpenAITestServer(scripted_answer, fault=_echoing) as server:
        code = _run(server, out, "--run-id", "echo")
    assert code == 4  # some dialogs failed their backend: the run says so
    # The server did echo the key, in both kinds of error.
    assert server.faults.get("status", 0) >= 2
    con = sqlite3.connect(out / "trace.db")
    reasons = [r[0] for r in con.execute("SELECT reason FROM dialogs WHERE status='failed_backend'")]
    errors = [r[0] for r in con.execute("SELECT error FROM llm_calls WHERE error IS NOT NULL")]
    con.close()
    assert any("(401)" in r for r in reasons) and any("server error 500" in r for r in reasons), reasons
    assert all("authorization" in r.lower() and "[REDACTED]" in r for r in reasons), reasons
    assert len(errors) == len(reasons)  # each failed call is in llm_calls too, redacted as well

    from engine.export import main as export_main
    from engine.report import main as report_main

    assert export_main([str(out / "trace.db"), "--out", str(tmp_path / "export"), "--include-failed",
                        "--quiet"]) == 0
    assert report_main([str(out / "trace.db"), "--out", str(tmp_path / "report" / "r.html"), "--quiet"]) == 0
    printed = capsys.readouterr()
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert {"out/trace.db", "out/run.log", "out/dialogs.jsonl", "out/summary.json", "export/manifest.json",
            "report/r.html"} <= written
    assert "[REDACTED]" in (out / "dialogs.jsonl").read_text()
    assert "[REDACTED]" in (out / "run.log").read_text()
    print("echo", {"failed_backend": len(reasons), "status_faults": server.faults.get("status", 0),
                   "files_checked": len(written)})  # RELIABILITY.md
    assert _leaks(tmp_path, _needles(key)) == []
    assert all(n.decode() not in printed.out + printed.err for n in _needles(key))


@pytest.mark.parametrize(("url", "what"), [
    ("http://user:hunter2secret@127.0.0.1:{port}/v1", "user:password@"),
    ("http://127.0.0.1:{port}/v1?api-key=hunter2secret", "'api-key'"),
    ("http://127.0.0.1:{port}/v1?x=1&access_token=hunter2secret", "'access_token'"),
])
def test_credentials_in_the_base_url_are_refused_before_anything_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        url: str, what: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(KEY_ENV, "sk-not-used-here-000000")
    with OpenAITestServer(scripted_answer) as server:
        code = _run(server, tmp_path / "out", base_url=url.format(port=server.port))
        assert server.requests == []
    assert code == 2
    err = capsys.readouterr().err
    assert what in err and "--api-key-env" in err and "hunter2secret" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_query_in_the_base_url_keeps_the_request_path_right(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-path-test-000000000")
    with OpenAITestServer(scripted_answer) as server:
        code = _run(server, tmp_path / "out", "--dialogs", "1",
                    base_url=server.base_url + "/?api-version=2024-06-01")
    assert code == 0
    paths = {r.path for r in server.requests}
    assert paths == {"/v1/chat/completions?api-version=2024-06-01"}, paths
