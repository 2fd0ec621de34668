"""The status bar: notebook, unsaved marker, mode, kernel state (and a warning when its channels
are not private), agents (who is attached, what they may do) and the socket path."""

from __future__ import annotations

import os

from rich.cells import cell_len
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

ACCESS_LABELS = {
    "read": "read-only",
    "edit": "edit, no runs",
    "run": "run",
}
"""How the status bar names each agent access mode."""

KERNEL_HINTS = {
    "dead": "dead: press 0 0 to restart",
    "stopped": "stopped: press 0 0 to restart",
    "starting": "starting…",
    "restarting": "restarting…",
}

SOCKET_LEAD_CELLS = 4
"""Cells before the socket's file name the status bar keeps however narrow the screen is
(room for `~/…/`)."""


class StatusBar(Widget):
    """One line at the bottom of the screen saying where things stand."""

    notebook: reactive[str] = reactive("")
    """The notebook's file name."""
    dirty: reactive[bool] = reactive(False)
    """Whether there are unsaved changes."""
    mode: reactive[str] = reactive("command")
    """command or edit."""
    kernel_name: reactive[str] = reactive("")
    """The kernelspec's name."""
    kernel_state: reactive[str] = reactive("starting")
    """starting, idle, busy, dead, restarting or stopped."""
    transport_warning: reactive[str] = reactive("")
    """Why the kernel's channels are reachable by other local users (TCP), or "" (ipc)."""
    agents: reactive[tuple[str, ...]] = reactive(())
    """Names of the attached agents."""
    access: reactive[str] = reactive("run")
    """What agents may do: read, edit or run."""
    approval: reactive[bool] = reactive(False)
    """Whether every agent execution waits for the human's yes."""
    socket_path: reactive[str | None] = reactive(None)
    """Where agents connect ("": the session has no agent socket; None: not known yet)."""
    follow: reactive[bool] = reactive(False)
    """Whether the view follows the agent."""
    save_error: reactive[str] = reactive("")
    """Why the last save failed, if it did."""

    def watch_kernel_state(self, state: str) -> None:
        self.set_class(state in ("dead", "stopped"), "-dead")
        self.set_class(state == "busy", "-busy")

    def watch_save_error(self, error: str) -> None:
        self.set_class(bool(error), "-save-error")

    def render(self) -> Text:
        sep = (" │ ", "dim")
        parts: list[tuple[str, str] | str] = [(f" {self.notebook}", "bold")]
        if self.dirty:
            parts.append((" ●", "bold"))
            parts.append((" unsaved", ""))
        parts += [sep, (self.mode.upper(), "bold reverse" if self.mode == "edit" else "bold")]
        state = KERNEL_HINTS.get(self.kernel_state, self.kernel_state)
        parts += [sep, f"{self.kernel_name}: ", (state, "bold")]
        if self.transport_warning:
            parts += [sep, ("⚠ " + self.transport_warning, "bold")]
        if self.socket_path != "":
            agents = ", ".join(self.agents) if self.agents else "none"
            parts += [sep, "agents: ", (agents, "bold" if self.agents else ""), " · ",
                      (ACCESS_LABELS.get(self.access, self.access),
                       "bold" if self.access != "run" else "")]
            if self.approval:
                parts.append((" ✓approve", "bold"))
        if self.follow:
            parts += [sep, ("following", "bold")]
        if self.save_error:
            parts += [sep, ("save failed: " + self.save_error, "bold")]
        left = Text.assemble(*parts, no_wrap=True, overflow="ellipsis")
        width = self.size.width
        if self.socket_path is None or not width:
            return left
        if self.socket_path == "":
            socket = Text.assemble(sep, "no agent socket", no_wrap=True)
        else:
            path = tilde(self.socket_path)
            # The file name always shows, with "~/…/" or "…/" before it; the directory as room
            # allows. The rest of the line (cut with an ellipsis) shows what it can.
            name = path.rpartition("/")[2]
            label = Text.assemble(sep, "socket: ")
            if left.cell_len + label.cell_len + cell_len(name) + SOCKET_LEAD_CELLS > width:
                label = Text.assemble(sep)  # tight: the path alone, its ".sock" says what it is
            room = max(width - left.cell_len - label.cell_len,
                       min(cell_len(path), cell_len(name) + SOCKET_LEAD_CELLS))
            socket = Text.assemble(label, shorten_path(path, room), no_wrap=True)
        left.truncate(max(0, width - socket.cell_len), overflow="ellipsis")
        return Text.assemble(left, socket, no_wrap=True, overflow="ellipsis")


def tilde(path: str) -> str:
    """`path` with the home directory written `~`."""
    home = os.path.expanduser("~").rstrip("/")
    if home and (path == home or path.startswith(home + "/")):
        return "~" + path[len(home):]
    return path


def shorten_path(path: str, width: int) -> str:
    """`path` in at most `width` cells if it can be: directories in the middle give way to an
    ellipsis (`/run/…/nbtui/x.sock`, `~/…/x.sock`, then `…/x.sock`); the file name is kept
    whole, even when it alone is wider.

    Args:
        path: the path.
        width: the cells it may take.

    Returns:
        The path, or its shortened form.
    """
    if cell_len(path) <= width:
        return path
    directory, _, name = path.rpartition("/")
    parts = directory.split("/")
    lead = parts[:2] if parts[0] == "" else parts[:1]  # "/run" of "/run/…", or "~"
    rest = parts[len(lead):]
    for kept in range(len(rest) - 1, -1, -1):
        shortened = "/".join([*lead, "…", *rest[len(rest) - kept:], name])
        if cell_len(shortened) <= width:
            return shortened
    return "…/" + name
