"""What goes through the kernel queue, and what its listeners hear."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

ExecStatus = Literal["queued", "running", "ok", "error", "aborted"]
KernelState = Literal["starting", "idle", "busy", "dead", "restarting", "stopped"]


async def wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait until `event` is set, for at most `timeout` seconds (None: no limit).

    Unlike `asyncio.wait_for` on Python 3.11, a cancellation that arrives just as the event is
    set is never swallowed, so a task waiting here can always be cancelled.

    Returns:
        Whether the event is set.
    """
    if not event.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()
    return event.is_set()


@dataclass(frozen=True)
class InputRequest:
    """A running execution's request for a line of input: `input()`, `getpass`, a debugger."""

    prompt: str
    password: bool
    """True for a password (`getpass`): the answer is neither shown nor echoed."""


@dataclass(eq=False)
class Execution:
    """One piece of code on its way through the kernel queue, and everything it produced.

    A cell run has `cell_id` set and its outputs are also written into the document; a scratch run
    (`cell_id` None, an agent's `run_code`) keeps its outputs only here.
    """

    code: str
    author: str
    """Who asked for the run: "user" or an agent's client name."""
    cell_id: str | None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: ExecStatus = "queued"
    outputs: list[dict[str, Any]] = field(default_factory=list)
    """nbformat v4 output dicts; for a cell run the document holds this same list."""
    execution_count: int | None = None
    error: dict[str, Any] | None = None
    """`{"ename", "evalue", "traceback"}` when `status` is "error"."""
    queued_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    store_history: bool = True
    """False for nbtui's own probes (variables, interpreter): no In/Out entry, no new count."""
    input_request: InputRequest | None = None
    """Set while the run waits for a line of input (:meth:`KernelSession.answer_input`)."""
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    """Set once the execution is finished (ok, error or aborted)."""

    async def wait(self, timeout: float | None) -> bool:
        """Wait until the execution is finished.

        Giving up never cancels the run: it keeps its place in the queue or keeps running.

        Args:
            timeout: seconds to wait at most (None: as long as it takes).

        Returns:
            True when the execution finished within `timeout`.
        """
        return await wait_event(self.done, timeout)


@dataclass(frozen=True)
class KernelEvent:
    """What subscribers of a :class:`KernelSession` hear.

    `kind` is one of: state (the kernel state changed; `message` says why when it died), queued,
    started, outputs (an execution's outputs changed; bursts are coalesced only lightly, so a
    listener that redraws should coalesce further), input_request (the execution waits for
    input: `execution.input_request` says what it asks), input_done (it no longer waits: the
    request was answered, or dropped because the run ended), finished.
    """

    kind: str
    state: str
    """The kernel state at the moment of the event."""
    execution: Execution | None = None
    message: str = ""


KernelListener = Callable[[KernelEvent], None]
