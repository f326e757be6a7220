"""The table printed at the end of a run: the loop-lag gate's holds appear when, and only when, it held."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from engine.gateway import EndpointStats
from engine.pipeline.summary import summary_table


def _endpoint(held: int, held_s: float) -> dict[str, Any]:
    return EndpointStats(key="http://127.0.0.1:8000/v1|m", calls=10, succeeded=10, failed=0, attempts=10,
                         retries=0, errors={}, in_flight=0, max_in_flight=4, queued_s=held_s + 0.5,
                         held=held, held_s=held_s).model_dump(mode="json")


def _printed(summary: dict[str, Any]) -> str:
    console = Console(record=True, width=160)
    console.print(summary_table(summary))
    return console.export_text()


def test_calls_held_by_the_gate_are_printed_per_endpoint() -> None:
    summary = {"run_id": "r1", "dialogs": 3, "top_failure_reasons": {}, "endpoints": [_endpoint(1234, 56.78)]}
    text = _printed(summary)
    assert "calls held by the loop-lag gate (http://127.0.0.1:8000/v1|m)" in text
    assert "1,234 (56.8 s in all)" in text


def test_no_row_when_nothing_was_held() -> None:
    summary = {"run_id": "r1", "dialogs": 3, "top_failure_reasons": {}, "endpoints": [_endpoint(0, 0.0)]}
    text = _printed(summary)
    assert "loop-lag gate" not in text and "dialogs" in text
