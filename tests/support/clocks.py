"""Time for tests without waiting: fake clocks for the gateway and the cluster limits, and a way to see
that a task is blocked without sleeping."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel
from anyio import wait_all_tasks_blocked

__all__ = ["FakeTime", "InFlight", "ManualClock", "blocks"]


class FakeTime:
    """A clock that jumps forward on sleep: waits cost no real time (``sleeps`` lists them)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await anyio.lowlevel.checkpoint()


class InFlight:
    """A fake model's answer that takes ``seconds`` of ``time`` and counts the calls in it at once
    (``now``; the most seen: ``most``)."""

    def __init__(self, time: FakeTime, seconds: float = 0.01) -> None:
        self._time = time
        self._seconds = seconds
        self.now = 0
        self.most = 0

    async def __call__(self, _messages: Any) -> str:
        self.now += 1
        self.most = max(self.most, self.now)
        await self._time.sleep(self._seconds)
        self.now -= 1
        return "ok"


class ManualClock:
    """A clock that moves only when the test says so: ``sleep`` waits until :meth:`advance` passes its end."""

    def __init__(self) -> None:
        self.now = 0.0
        self._moved = anyio.Event()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        end = self.now + seconds
        while self.now < end:
            await self._moved.wait()

    def advance(self, seconds: float) -> None:
        """Moves the clock on, waking every sleeper whose time has come."""
        self.now += seconds
        moved, self._moved = self._moved, anyio.Event()
        moved.set()


async def blocks(call: Callable[[], Awaitable[Any]]) -> bool:
    """Whether ``call()`` waits once every other task is blocked too (it is then cancelled)."""
    finished = False

    async def run() -> None:
        nonlocal finished
        await call()
        finished = True

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await wait_all_tasks_blocked()
        tg.cancel_scope.cancel()
    return not finished
