"""The status bar: notebook, unsaved marker, mode, kernel state (and a warning when its channels
are not private), agents (who is attached, what they may do) and the socket path."""

from __future__ import annotations

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
    socket_path: reactive[str] = reactive("")
    """Where agents connect (empty: no agent socket)."""
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
        if self.socket_path:
            parts += [sep, f"socket: {self.socket_path}"]
        text = Text.assemble(*parts, no_wrap=True, overflow="ellipsis")
        return text
