"""settled_heap: the heap present at the start is frozen while dialogs play, and everything is handed back."""

from __future__ import annotations

import gc
import weakref

import pytest

from engine.core import settled_heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_freezes_within_and_restores_after() -> None:
    before = gc.get_threshold()
    long_lived = [_Node() for _ in range(100)]
    with settled_heap(young=12_345):
        assert gc.get_freeze_count() >= len(long_lived)
        # Older generations collected less often: every 20 young passes, every 100 middle ones (at least).
        assert gc.get_threshold() == (12_345, max(20, before[1]), max(100, before[2]))
        # Cyclic garbage made while dialogs play is still collected.
        ref = _cycle()
        gc.collect()
        assert ref() is None
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_garbage_present_at_the_start_is_not_frozen() -> None:
    ref = _cycle()  # unreachable already: collected before the freeze, not kept alive by it
    with settled_heap():
        assert ref() is None


def test_nested_blocks_freeze_once_and_an_error_still_restores() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), settled_heap():
        frozen = gc.get_freeze_count()
        with settled_heap(young=99_999):  # an inner run: the outer settings stand
            assert gc.get_freeze_count() == frozen
            assert gc.get_threshold()[0] != 99_999
        assert gc.get_freeze_count() == frozen
        raise RuntimeError("a run that fails")
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
