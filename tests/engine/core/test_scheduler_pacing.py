"""The scheduler's start pacing: while the loop lags, at most one dialog start per lag period; every
dialog still starts, in order, and none is held while the loop keeps up. Fake executors, a lag the
test sets (a LoopLag on a fake clock whose reading is scripted): nothing waits or is timed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import anyio

from engine.core.events import MemorySink
from engine.core.loop_lag import LoopLag
from engine.core.scheduler import DialogScheduler
from tests.support.clocks import FakeTime


class ScriptedLag(LoopLag):
    """A LoopLag whose readings are the test's: ``over`` pops the next answer (False once empty)."""

    def __init__(self, answers: list[bool]) -> None:
        self.fake = FakeTime()
        super().__init__(0.05, period_s=0.005, clock=self.fake.clock, sleep=self.fake.sleep)
        self.answers = answers
        self.runs = 0

    async def run(self) -> None:
        self.runs += 1
        await anyio.sleep_forever()

    def over(self) -> bool:
        return self.answers.pop(0) if self.answers else False


async def _play(n: int, lag: LoopLag | None) -> tuple[DialogScheduler, list[str], list[str]]:
    started: list[str] = []
    ended: list[str] = []

    class Executor:
        def __init__(self, dialog: Any) -> None:
            self.key = dialog.key

        async def run(self, plan: Any, context: Any) -> Any:
            started.append(self.key)
            await anyio.lowlevel.checkpoint()
            return SimpleNamespace(status="accepted")

    def on_result(dialog: Any, result: Any) -> None:
        ended.append(dialog.key)

    scheduler = DialogScheduler(lambda d, sink: Executor(d), MemorySink(), concurrency=3,  # type: ignore[arg-type]
                                on_result=on_result, progress=False, handle_signals=False, loop_lag=lag)
    dialogs = [SimpleNamespace(key=f"d{k}", plan=None, context=None) for k in range(n)]
    outcome = await scheduler.run(dialogs)  # type: ignore[arg-type]
    assert outcome.finished == n and not outcome.interrupted
    return scheduler, started, ended


async def test_starts_wait_a_period_while_the_loop_lags_and_all_start_in_order() -> None:
    lag = ScriptedLag([True, False, True, True, False, False, True])
    scheduler, started, ended = await _play(10, lag)
    assert started == [f"d{k}" for k in range(10)]
    assert sorted(ended) == sorted(started)
    assert scheduler.starts_held == 4  # one period per lagging reading, none otherwise
    assert lag.fake.sleeps == [0.005] * 4
    assert lag.runs == 1  # the scheduler runs the monitor while it plays


async def test_no_monitor_no_pacing() -> None:
    scheduler, started, _ = await _play(5, None)
    assert started == [f"d{k}" for k in range(5)] and scheduler.starts_held == 0
