"""The collector's settings while dialogs play: stage 1's objects set aside, rarer passes.

Playing dialogs allocates many short-lived objects (messages, events, validator views) beside a large,
long-lived heap (the corpus, the stage-1 tables, profiles, plans), and makes almost no cyclic garbage
(2,000 live dialogs: a few hundred objects per run found by the collector). CPython's collector walks
the long-lived heap on every full pass and runs its young pass every 700 net allocations: on 300
sample-world dialogs at zero model latency that was about a tenth of the engine's CPU
(`bench/bench_engine_cpu.py` prints the collector's share). While dialogs play, what exists at the
start is frozen (``gc.freeze``: still alive, no longer scanned), the young generation is 50,000
objects and the older ones are collected every 20 and 100 passes (CPython: 10 and 10): the collector
then takes 1-2% of it. Cyclic garbage made during play is still collected; everything frozen is handed
back at the end.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["YOUNG_GENERATION", "settled_heap"]

YOUNG_GENERATION = 50_000
_OLDER = (20, 100)  # young passes per middle pass, middle passes per full pass (at least)
_depth = 0


@contextmanager
def settled_heap(young: int = YOUNG_GENERATION) -> Iterator[None]:
    """Within the block the heap present at its start is frozen, the young generation is ``young`` and
    the older generations are collected less often.

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
    gc.set_threshold(max(young, old[0]), max(_OLDER[0], old[1]), max(_OLDER[1], old[2]))
    _depth = 1
    try:
        yield
    finally:
        _depth = 0
        gc.set_threshold(*old)
        gc.unfreeze()
