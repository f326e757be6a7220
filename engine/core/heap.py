"""The collector's settings while dialogs play: stage 1's objects set aside, a larger young generation.

Playing dialogs allocates many short-lived objects (messages, events, validator views) beside a large,
long-lived heap (the corpus, the stage-1 tables, profiles, plans). CPython's collector walks the
long-lived heap on every older-generation pass and runs its young pass every 700 net allocations;
measured on 300 sample-world dialogs at zero model latency (`bench/bench_engine_cpu.py`), that was
about a tenth of the engine's CPU. Freezing what exists when play starts (``gc.freeze``: still alive,
no longer scanned) and a young generation of 10,000 objects leave the collector about 2% of it.
Cyclic garbage made during play is still collected; everything frozen is handed back at the end.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["YOUNG_GENERATION", "settled_heap"]

YOUNG_GENERATION = 50_000
_depth = 0


@contextmanager
def settled_heap(young: int = YOUNG_GENERATION) -> Iterator[None]:
    """Within the block the heap present at its start is frozen and the young generation is ``young``.

    Re-entrant (two runs in one process, a test calling a run): only the outermost block freezes,
    restores the thresholds and unfreezes.
    """
    global _depth
    if _depth:
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
        return
    old = gc.get_threshold()
    gc.collect()  # garbage present now would otherwise be frozen with the rest, alive until the end
    gc.freeze()
    gc.set_threshold(max(young, old[0]), max(20, old[1]), max(100, old[2]))
    _depth = 1
    try:
        yield
    finally:
        _depth = 0
        gc.set_threshold(*old)
        gc.unfreeze()
