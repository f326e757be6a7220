"""The one signal watcher of a run: Ctrl-C (SIGINT) and SIGTERM, counted, never raised mid-write.

:func:`counted_signals` replaces the handlers while a block runs, so a signal is only noted;
:func:`watch_signals` turns the noted signals into calls of ``on_signal`` from the event loop, where
the scheduler (one machine) or the Ray runner (a cluster) decides: the first drains, the next cancels.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio

__all__ = ["counted_signals", "watch_signals"]

POLL_S = 0.05


@contextmanager
def counted_signals() -> Iterator[list[int]]:
    """SIGINT and SIGTERM only append to the yielded list while inside (old handlers restored after).

    The handler runs between bytecodes of the main thread and does nothing else, so a signal can never
    raise KeyboardInterrupt in the middle of a store write; whoever holds the list decides what to do.
    """
    seen: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: seen.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield seen
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def watch_signals(on_signal: Callable[[int], None]) -> None:
    """Calls ``on_signal(signum)`` for every SIGINT or SIGTERM, in order, until cancelled."""
    with counted_signals() as seen:
        handled = 0
        while True:
            await anyio.sleep(POLL_S)
            while handled < len(seen):
                handled += 1
                on_signal(seen[handled - 1])
