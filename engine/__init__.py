"""The dialog engine: settings, the executor and scheduler, the gateway, the trace store, the run, replay
and the outputs. ARCHITECTURE.md draws the sub-packages; each has its own front door.

The names most users need are here too; each sub-package is imported only when one of its names is
first used, so ``import engine.store`` (say) does not load the executor.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> the sub-package that defines it
_EXPORTS = {
    "DialogExecutor": "engine.core",
    "DialogResult": "engine.core",
    "DialogScheduler": "engine.core",
    "DialogSetup": "engine.core",
    "EndpointLimits": "engine.gateway",
    "EndpointRegistry": "engine.gateway",
    "MemorySink": "engine.core",
    "ReplayClient": "engine.replay",
    "RunSettings": "engine.config",
    "TraceStore": "engine.store",
    "export_run": "engine.outputs",
    "play": "engine.pipeline",
    "prepare_dialog_set": "engine.core",
    "read_run": "engine.store",
    "write_report": "engine.outputs",
}

__all__ = [
    "DialogExecutor",
    "DialogResult",
    "DialogScheduler",
    "DialogSetup",
    "EndpointLimits",
    "EndpointRegistry",
    "MemorySink",
    "ReplayClient",
    "RunSettings",
    "TraceStore",
    "export_run",
    "play",
    "prepare_dialog_set",
    "read_run",
    "write_report",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
