"""The typed rows of a run, and the store's errors: what the writer records and the reader gives back."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from profiling.errors import ConvRecError

__all__ = ["RunDataError", "RunInfo", "RunStatus", "SeedRow", "TraceStoreError"]

# incomplete: the run ended (no interruption) with fewer dialogs than planned; it exits non-zero.
RunStatus = Literal["running", "interrupted", "completed", "incomplete", "failed"]


class TraceStoreError(ConvRecError):
    """Raised when the trace database cannot be opened, migrated, written or read (names the file)."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"trace store {path}: {reason}")


class RunDataError(ConvRecError):
    """Raised when a run database cannot be read, holds no such run, or holds a row we cannot parse."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class RunInfo(BaseModel):
    """One row of ``runs``: a run's identity, status and settings."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    status: RunStatus
    started_at: str
    ended_at: str | None = None
    seed: int
    backend: str
    model: str | None = None
    n_dialogs: int
    config: dict[str, Any]
    note: str | None = None
    input: dict[str, Any] | None = None  # the input as loaded (records kept, skipped by kind)


class SeedRow(BaseModel):
    """One planned dialog of a run: its position in the dataset and what it was cut from."""

    model_config = ConfigDict(frozen=True)

    dialog_id: str
    position: int
    user_id: str
    split: str | None
    target_item: str
    target_time: str
    n_history: int
    negatives: tuple[str, ...]
    plan_hash: str
    plan_path: tuple[str, ...]
    plan_json: str
