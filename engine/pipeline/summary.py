"""What a run reports when it ends: summary.json, the dataset file and the table on the console."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from rich.table import Table

from engine.core.provenance import decline_figures, judge_figures
from engine.gateway import EndpointStats
from engine.store import TraceStore

__all__ = ["realizer_figures", "run_summary", "summary_table", "write_outputs"]


def realizer_figures(by_realizer: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Who realized the accepted dialogs' turns: counts, the model's share, and (polish mode) how many
    rewrites the model wrote per polished turn."""
    turns = {k: by_realizer.get(k, {}).get("turns", 0) for k in ("model", "draft", "scripted")}
    total = sum(turns.values())
    polished = turns["model"] + turns["draft"]
    rewrites = sum(by_realizer.get(k, {}).get("rewrites", 0) for k in ("model", "draft"))
    out: dict[str, Any] = {f"turns_{k}": n for k, n in turns.items()}
    out["share_turns_model"] = round(turns["model"] / total, 4) if total else None
    if rewrites:
        out["rewrites_per_polished_turn"] = round(rewrites / polished, 2) if polished else None
    return out


async def run_summary(store: TraceStore, run_id: str, records: list[dict[str, Any]],
                      endpoints: Sequence[EndpointStats], elapsed: float) -> dict[str, Any]:
    """The figures of summary.json: dialogs by status (and those not ended), turns, attempts, calls
    (failed ones too), tokens, cost, endpoints, the input records skipped by kind, declines (and the
    share the user's own low rating backs) and the judge's scores of accepted dialogs."""
    info = await store.run(run_id)
    calls = await store.call_totals(run_id)
    by_realizer = await store.realizer_totals(run_id)
    statuses = Counter(r["status"] for r in records)
    reasons = Counter((r.get("reason") or "").split(";")[0][:120] for r in records
                      if r["status"] != "accepted")
    by_status = {s: statuses[s] for s in ("accepted", "failed_fidelity", "failed_backend")}
    by_status["not_ended"] = max(0, info.n_dialogs - len(records))
    loaded = info.input or {}
    return {
        "run_id": run_id, "status": info.status, "planned": info.n_dialogs,
        "dialogs": len(records), "accepted": statuses["accepted"],
        "failed_fidelity": statuses["failed_fidelity"], "failed_backend": statuses["failed_backend"],
        "dialogs_by_status": by_status,
        "turns": sum(len(r["turns"]) for r in records),
        **realizer_figures(by_realizer),
        "node_attempts": sum(r["n_attempts"] for r in records),
        "rollbacks": sum(r["n_rollbacks"] for r in records),
        "llm_calls": calls["calls"], "failed_calls": calls["failed_calls"],
        "input_tokens": calls["input_tokens"],
        "output_tokens": calls["output_tokens"], "retries": calls["retries"],
        "cost_usd": round(calls["cost_usd"], 6),
        "input_records": loaded.get("loaded"), "skipped_records": loaded.get("skipped_total", 0),
        "skipped_by_kind": loaded.get("skipped", {}), "duplicates_dropped": loaded.get("duplicates", 0),
        "elapsed_s": round(elapsed, 1),
        **decline_figures(accepted := [r for r in records if r["status"] == "accepted"]),
        **judge_figures(accepted),
        "endpoints": [s.model_dump(mode="json") for s in endpoints],
        "top_failure_reasons": dict(reasons.most_common(5)),
    }


def write_outputs(out: Path, records: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    """dialogs.jsonl and summary.json under ``out``."""
    # Written in seed order from the store, whatever order the dialogs finished in: same seed, same file.
    tmp = out / "dialogs.jsonl.tmp"
    with tmp.open("wb") as f:
        for record in records:
            f.write(orjson.dumps(record) + b"\n")
    tmp.replace(out / "dialogs.jsonl")
    (out / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))


def summary_table(summary: dict[str, Any]) -> Table:
    """The summary as the table printed at the end of a run."""
    table = Table(title=f"run {summary['run_id']}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key not in ("top_failure_reasons", "endpoints", "run_id", "ray", "dialogs_by_status",
                       "skipped_by_kind"):
            table.add_row(key.replace("_", " "), f"{value:,}" if isinstance(value, int) else str(value))
    for kind, n in summary.get("skipped_by_kind", {}).items():
        table.add_row(f"skipped input: {kind}", f"{n:,}")
    if summary.get("dialogs_by_status", {}).get("not_ended"):
        table.add_row("dialogs not ended", f"{summary['dialogs_by_status']['not_ended']:,}")
    for reason, n in summary["top_failure_reasons"].items():
        table.add_row(f"failed: {reason}", str(n))
    for ep in summary.get("endpoints", ()):
        # Shown only when it happened: the gate holds calls only when the event loop falls behind.
        if ep.get("held"):
            table.add_row(f"calls held by the loop-lag gate ({ep['key']})",
                          f"{ep['held']:,} ({ep['held_s']:,.1f} s in all)")
    return table
