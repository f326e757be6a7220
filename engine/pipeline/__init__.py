"""A whole run from its settings: the shared steps (:mod:`~engine.pipeline.base`), and where the dialogs
are played: this machine (:mod:`~engine.pipeline.local`) or a Ray cluster (:mod:`~engine.pipeline.ray`)."""

from engine.pipeline.base import Player, load_run_corpus, play, prepare_dialogs_of
from engine.pipeline.outcome import EXIT_BACKEND_FAILED, EXIT_INCOMPLETE, EXIT_OK, INTERRUPTED_EXIT
from engine.pipeline.summary import run_summary, summary_table, write_outputs

__all__ = [
    "EXIT_BACKEND_FAILED",
    "EXIT_INCOMPLETE",
    "EXIT_OK",
    "INTERRUPTED_EXIT",
    "Player",
    "load_run_corpus",
    "play",
    "prepare_dialogs_of",
    "run_summary",
    "summary_table",
    "write_outputs",
]
