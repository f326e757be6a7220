"""Export and report speed on a real run database: dialogs per second for each step, and peak memory.

Run from the repository root, on a database written by ``engine.run`` (e.g. 200 scripted dialogs:
``.venv/bin/python -m engine.run --backend scripted --dialogs 200 --db /tmp/run.db --quiet``):
    .venv/bin/python bench/bench_export.py RUN_DB [--run-id ID] [--repeat 3]

Steps timed (best of ``--repeat``, wall clock): reading the run (dataset lines, plans, attempts,
verdicts), each export format, the quality metrics (fidelity, groundedness, diversity, cost with the
prefix-cache estimate), and rendering the HTML report. Peak RSS is the process's high-water mark.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine_rig import machine, peak_rss_mib
from machine import load_note

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.outputs import FORMATS, export_run
from engine.outputs.quality import run_quality, sentiment_trajectories
from engine.outputs.report_html import render_report
from engine.store.reader import read_run, read_trace_rows


def best(repeat: int, step: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs of ``step`` (seconds) and its last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("db", type=Path, help="a run database written by engine.run")
    p.add_argument("--run-id", help="run to use (default: the latest)")
    p.add_argument("--repeat", type=int, default=3, help="runs per step; the best is reported")
    args = p.parse_args()
    print(machine())
    print(load_note())
    seconds, run = best(args.repeat, lambda: read_run(args.db, args.run_id))
    n = len(run.dialogs)
    turns = sum(len(d.record["turns"]) for d in run.dialogs)
    print(f"run {run.run_id}: {n} dialogs, {turns} turns, backend {run.backend}")
    rows = [("read run", seconds)]
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in FORMATS:
            seconds, _ = best(args.repeat, lambda f=fmt: export_run(run, Path(tmp) / f, formats=(f,),
                                                                      include_failed=True))
            rows.append((f"export {fmt}", seconds))
    calls = read_trace_rows(args.db, run.run_id, "llm_calls")
    trace_turns = read_trace_rows(args.db, run.run_id, "turns")
    seconds, metrics = best(args.repeat, lambda: run_quality(run, calls, trace_turns))
    rows.append(("quality metrics", seconds))
    trajectories = sentiment_trajectories(run.dialogs)
    seconds, page = best(args.repeat, lambda: render_report(run, metrics, trajectories, trace_turns))
    rows.append(("render report", seconds))
    print(f"{'step':<18}{'seconds':>10}{'dialogs/s':>12}")
    for name, s in rows:
        print(f"{name:<18}{s:>10.3f}{n / s if s else float('inf'):>12,.0f}")
    print(f"report size: {len(page) / 1024:.0f} KiB; peak RSS {peak_rss_mib():.0f} MiB")
    print(load_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
