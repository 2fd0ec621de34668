"""The one execution queue everyone shares: the human's cells, agents' cells and scratch runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nbtui.core.kernels.execution import Execution


class ExecutionQueue:
    """Executions waiting for the kernel, first in first out, and the one it runs now."""

    def __init__(self) -> None:
        self.waiting: list[Execution] = []
        """Executions waiting to run, first to run first."""
        self.current: Execution | None = None
        """The execution running now."""
        self._wakeup = asyncio.Event()

    def push(self, execution: Execution) -> None:
        """Add an execution at the end."""
        self.waiting.append(execution)
        self._wakeup.set()

    def wake(self) -> None:
        """Make :meth:`next` look again (the kernel became ready, or is going away)."""
        self._wakeup.set()

    async def next(self, ready: Callable[[], bool]) -> Execution:
        """The first waiting execution, taken off the queue once `ready()` says the kernel can
        run it; waits (without polling) for both."""
        while not (ready() and self.waiting):
            self._wakeup.clear()
            await self._wakeup.wait()
        return self.waiting.pop(0)

    def take_all(self) -> list[Execution]:
        """Empty the queue; returns what waited, in order."""
        taken, self.waiting = self.waiting, []
        return taken

    def waiting_for(self, cell_id: str) -> Execution | None:
        """The first waiting run of this cell, if any."""
        return next((e for e in self.waiting if e.cell_id == cell_id), None)
