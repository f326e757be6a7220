"""Free generation vs draft-and-polish, side by side in one run of this script: the same dialogs, one
engine run per mode (``python -m engine.run``, each in its own process, one after the other).

Two backends:

- ``--backend local`` (default): the embedded SmolLM2-135M. Figures per mode: dialogs accepted, the
  share of accepted turns the model realized (free: every accepted turn is the model's; polish: the
  turns whose rewrite kept the draft's meaning and passed the validators, the rest keep their draft),
  rewrites per polished turn, node attempts per accepted turn, model calls, seconds per dialog.
- ``--backend openai``: the OpenAI-compatible test server (bench/openai_server_proc.py, another
  process): it answers a free turn with the scripted realizer's turn for the directive in the prompt
  (so free runs with ``--directive on``) and a polish request with a light rewrite of its draft.
  Figures: input and output tokens per accepted dialog, as the client counted them.

Run from the repository root, under the heavy lock (SmolLM2 takes the machine's cores):
    flock /work/.heavy.lock .venv/bin/python bench/bench_realize_modes.py [--backend local] [--dialogs 10]
        [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import load_note

ROOT = Path(__file__).resolve().parents[1]


def start_server() -> tuple[subprocess.Popen[str], int]:
    """The test server in a child process, and its port."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("openai_server_proc.py"))],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline().split()
    if len(first) != 2 or first[0] != "port":
        proc.kill()
        raise SystemExit(f"the server process did not print its port (got {first!r})")
    return proc, int(first[1])


def run_mode(mode: str, args: argparse.Namespace, tmp: Path, port: int | None) -> dict[str, object]:
    """One engine run in ``mode``; its summary.json with the wall time of the whole process."""
    out = tmp / mode
    cmd = [sys.executable, "-m", "engine.run", "--realize", mode, "--dialogs", str(args.dialogs),
           "--seed", str(args.seed), "--db", str(tmp / f"{mode}.db"), "--out", str(out), "--quiet",
           "--backend", args.backend]
    if args.threads is not None and args.backend == "local":
        cmd += ["--threads", str(args.threads)]
    if port is not None:
        cmd += ["--base-url", f"http://127.0.0.1:{port}/v1", "--model", "test-model"]
        if mode == "free":
            cmd += ["--directive", "on"]  # the test server writes its turn from the directive
    env = {**os.environ, "OPENAI_API_KEY": "bench-key"}
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if not (out / "summary.json").exists():
        raise SystemExit(f"{mode}: the run wrote no summary (exit {done.returncode}):\n{done.stderr[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    return {**summary, "wall_s": wall, "exit": done.returncode}


def _model_share(s: dict[str, object]) -> str:
    turns = sum(int(s[f"turns_{k}"]) for k in ("model", "draft", "scripted"))  # type: ignore[call-overload]
    share = s["share_turns_model"]
    return f"{s['turns_model']}/{turns}" + (f" ({share:.0%})" if isinstance(share, float) else "")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("local", "openai"), default="local")
    p.add_argument("--dialogs", type=int, default=10, help="dialogs per mode (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="local: llama.cpp threads (--threads of a run)")
    args = p.parse_args(argv)
    print(load_note())
    proc, port = start_server() if args.backend == "openai" else (None, None)
    try:
        with tempfile.TemporaryDirectory() as d:
            results = {m: run_mode(m, args, Path(d), port) for m in ("free", "polish")}
    finally:
        if proc is not None:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=30)
    threads = f", {args.threads} llama.cpp threads" if args.threads and args.backend == "local" else ""
    print(f"backend {args.backend}, {args.dialogs} sample-world dialogs per mode, seed {args.seed}{threads}")
    rows = [
        ("dialogs accepted", lambda s: f"{s['accepted']}/{s['planned']}"),
        ("turns realized by the model", _model_share),
        ("turns keeping their draft", lambda s: str(s["turns_draft"])),
        ("rewrites per polished turn", lambda s: str(s.get("rewrites_per_polished_turn", "-"))),
        ("node attempts per accepted turn", lambda s: f"{s['node_attempts'] / max(s['turns'], 1):.2f}"),
        ("model calls", lambda s: str(s["llm_calls"])),
        ("input tokens per accepted dialog",
         lambda s: f"{s['input_tokens'] / s['accepted']:.0f}" if s["accepted"] else "-"),
        ("output tokens per accepted dialog",
         lambda s: f"{s['output_tokens'] / s['accepted']:.0f}" if s["accepted"] else "-"),
        ("seconds per dialog (whole process)", lambda s: f"{s['wall_s'] / s['planned']:.1f}"),
        ("run exit code", lambda s: str(s["exit"])),
    ]
    print(f"{'':36} {'free':>14} {'polish':>14}")
    for name, fmt in rows:
        print(f"{name:36} {fmt(results['free']):>14} {fmt(results['polish']):>14}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
