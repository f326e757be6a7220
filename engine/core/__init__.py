"""The dialog engine's core: plans played by agents under validators, many at once, every step traced.

- :mod:`~engine.core.executor`: :class:`DialogExecutor` plays one plan node by node (retries, rollback);
- :mod:`~engine.core.events`: the trace events it emits, the :class:`TraceSink` protocol, MemorySink;
- :mod:`~engine.core.attribution`: which dialog, node and role each model call belongs to;
- :mod:`~engine.core.dialog_inputs`: from a corpus to planned dialogs (:func:`prepare_dialog_set`);
- :mod:`~engine.core.setup`: :class:`DialogSetup`, the one way a run makes executors and dataset lines;
- :mod:`~engine.core.scheduler`: :class:`DialogScheduler`, many dialogs at once, bounded, drained on Ctrl-C;
- :mod:`~engine.core.heap`: :func:`settled_heap`, the collector's settings while dialogs play;
- :mod:`~engine.core.progress`, :mod:`~engine.core.signals`, :mod:`~engine.core.logs`: what a run shows,
  how it hears Ctrl-C, where it logs.
"""

from engine.core.dialog_inputs import (
    DialogInput,
    PreparedDialogs,
    prepare_dialog_set,
    prepare_dialogs,
    seed_order,
)
from engine.core.events import (
    DialogEnded,
    DialogStarted,
    DialogStatus,
    LLMCallRecorded,
    MemorySink,
    NodeAttemptEnded,
    NodeAttemptStarted,
    Replanned,
    RolledBack,
    TickClock,
    TraceEvent,
    TraceSink,
    TurnPolished,
    TurnRecorded,
    TurnsSuperseded,
    VerdictRecorded,
    parse_event,
    system_clock,
)
from engine.core.executor import AttemptRecord, DialogExecutor, DialogResult, RollbackRecord
from engine.core.heap import settled_heap
from engine.core.logs import close_logging, configure_logging
from engine.core.progress import ProgressDisplay
from engine.core.records import dialog_record
from engine.core.scheduler import DialogScheduler, LiveCounts, SchedulerOutcome
from engine.core.setup import DialogSetup, Personas
from engine.core.signals import counted_signals, watch_signals

__all__ = [
    "AttemptRecord",
    "DialogEnded",
    "DialogExecutor",
    "DialogInput",
    "DialogResult",
    "DialogScheduler",
    "DialogSetup",
    "DialogStarted",
    "DialogStatus",
    "LLMCallRecorded",
    "LiveCounts",
    "MemorySink",
    "NodeAttemptEnded",
    "NodeAttemptStarted",
    "Personas",
    "PreparedDialogs",
    "ProgressDisplay",
    "Replanned",
    "RollbackRecord",
    "RolledBack",
    "SchedulerOutcome",
    "TickClock",
    "TraceEvent",
    "TraceSink",
    "TurnPolished",
    "TurnRecorded",
    "TurnsSuperseded",
    "VerdictRecorded",
    "close_logging",
    "configure_logging",
    "counted_signals",
    "dialog_record",
    "parse_event",
    "prepare_dialog_set",
    "prepare_dialogs",
    "seed_order",
    "settled_heap",
    "system_clock",
    "watch_signals",
]
