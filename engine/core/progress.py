"""The one progress display of a run: a bar of dialogs done and a line of live figures.

Shared by the scheduler (one machine) and the Ray runner (a cluster, the shards' figures added up);
each says what to show through ``figures``: dialogs done now, and the status line.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

import anyio
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

__all__ = ["ProgressDisplay"]

REFRESH_S = 0.25


class ProgressDisplay:
    """``with ProgressDisplay(...) as display:`` shows the bar; ``display.refresh`` keeps it current."""

    def __init__(self, console: Console, *, enabled: bool, total: int, already_done: int,
                 figures: Callable[[], tuple[int, str]]) -> None:
        self._bar = Progress(TextColumn("[bold]dialogs"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[status]}"), TimeElapsedColumn(), console=console,
                             disable=not enabled)
        self._total = total
        self._already_done = already_done
        self._figures = figures
        self._task: TaskID | None = None

    def __enter__(self) -> ProgressDisplay:
        self._bar.__enter__()
        self._task = self._bar.add_task("dialogs", total=self._total, completed=self._already_done,
                                        status="")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.show()  # the final figures stay on screen
        self._bar.__exit__(kind, exc, tb)

    def show(self) -> None:
        """Puts the figures of now on the bar."""
        if self._task is not None:
            done, status = self._figures()
            self._bar.update(self._task, completed=self._already_done + done, status=status)

    async def refresh(self) -> None:
        """Shows the figures four times a second, until cancelled."""
        while True:
            self.show()
            await anyio.sleep(REFRESH_S)
