"""Messages that carry core events into the app, and requests between its widgets.

Core listeners (document, kernel, activity, agents) run wherever the change happened; they only
post one of these messages, and the widgets do the work in their own message handlers. Bursts
coalesce: a queued message that a newer one supersedes is dropped (`can_replace`).
"""

from __future__ import annotations

from typing import Literal

from textual.message import Message

from nbtui.core.document import DocumentEvent
from nbtui.core.session import Activity

RunHow = Literal["run", "run_next", "run_insert"]
"""run: run the cell and stay; run_next: run and select the next cell (a new one at the end);
run_insert: run and insert a new cell below, in edit mode."""

_COALESCED_KINDS = ("outputs", "status")


class DocumentChanged(Message):
    """The notebook document changed (any author)."""

    def __init__(self, event: DocumentEvent) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        """Output and status updates of one cell supersede the queued ones of the same cell."""
        return (
            isinstance(message, DocumentChanged)
            and self.event.kind in _COALESCED_KINDS
            and message.event.kind == self.event.kind
            and message.event.cell_id == self.event.cell_id
        )


class KernelStateChanged(Message):
    """The kernel's state changed (starting, idle, busy, dead, restarting, stopped)."""

    def __init__(self, state: str, message: str = "") -> None:
        super().__init__()
        self.state = state
        self.message = message

    def can_replace(self, message: Message) -> bool:
        """Only the newest state matters."""
        return isinstance(message, KernelStateChanged)


class ActivityAdded(Message):
    """An agent did something (an entry of the session's activity log)."""

    def __init__(self, entry: Activity) -> None:
        super().__init__()
        self.entry = entry


class AgentsChanged(Message):
    """An agent attached or detached."""

    def can_replace(self, message: Message) -> bool:
        """The status bar reads the current list, so one update is enough."""
        return isinstance(message, AgentsChanged)


class SessionStarted(Message):
    """The session's start function finished: the kernel is starting, the socket listens."""


class RunRequested(Message):
    """The human pressed a run key (in command or edit mode).

    `cell_id` is the cell that was selected when the key was pressed: keys typed right after
    (a quick `j`) must not change which cell runs.
    """

    def __init__(self, how: RunHow, cell_id: str | None = None) -> None:
        super().__init__()
        self.how = how
        self.cell_id = cell_id


class RunCellsRequested(Message):
    """The human asked to run several cells at once: run all, all above, all below, the
    selected cells, or restart the kernel and then run all.

    Args:
        cell_ids: the cells to queue, in this order (markdown and raw cells included: they
            render, as in Jupyter).
        restart: restart the kernel first (the runs are queued once it is back).
    """

    def __init__(self, cell_ids: list[str], *, restart: bool = False) -> None:
        super().__init__()
        self.cell_ids = cell_ids
        self.restart = restart


class KernelRequested(Message):
    """The human asked to interrupt or restart the kernel."""

    def __init__(self, what: Literal["interrupt", "restart"]) -> None:
        super().__init__()
        self.what = what


class DirtyMaybeChanged(Message):
    """The document changed or was saved: the unsaved marker may need updating."""

    def can_replace(self, message: Message) -> bool:
        """The status bar reads the current state, so one update is enough."""
        return isinstance(message, DirtyMaybeChanged)


class AgentAccessRequested(Message):
    """The human asked to change what agents may do (a key in command mode, the palette).

    Args:
        access: read, edit or run; None means the next mode in the cycle read → edit → run.
    """

    def __init__(self, access: str | None = None) -> None:
        super().__init__()
        self.access = access


class ApprovalModeRequested(Message):
    """The human asked to switch approval of agent runs on or off.

    Args:
        on: the new setting; None toggles it.
    """

    def __init__(self, on: bool | None = None) -> None:
        super().__init__()
        self.on = on
