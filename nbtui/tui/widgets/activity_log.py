"""The activity log: every agent action, newest at the bottom."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import RichLog

from nbtui.core.session import Activity

CODE_LINES = 8
"""Lines of a scratch run's code shown in the log."""


def describe(entry: Activity) -> Text:
    """One log entry: time, agent, tool, cell, summary, and the code of a scratch run."""
    stamp = time.strftime("%H:%M:%S", time.localtime(entry.time))
    text = Text.assemble(
        (stamp, "dim"), " ", (entry.author, "bold"), " ", (entry.tool, "italic"),
    )
    if entry.cell_id:
        text.append(f" [{entry.cell_id}]", "dim")
    if entry.summary:
        text.append(f" {entry.summary}")
    if entry.code:
        lines = entry.code.rstrip("\n").split("\n")
        shown = lines[:CODE_LINES]
        if len(lines) > CODE_LINES:
            shown.append(f"… {len(lines) - CODE_LINES} more lines")
        for line in shown:
            text.append("\n  │ " + line, "dim")
    return text


class ActivityLog(RichLog, can_focus=False):
    """A scrolling list of agent actions (a line-API log: cheap however long it gets).

    It never takes the keyboard: keys stay with the notebook (the mouse wheel scrolls it).
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=2000, min_width=20, wrap=True, markup=False,
                         highlight=False, auto_scroll=True)
        self.entries = 0

    def add(self, entry: Activity) -> None:
        """Append an entry."""
        self.entries += 1
        self.write(describe(entry))
