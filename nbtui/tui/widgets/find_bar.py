"""The find bar: a query field, an optional replace field, and where the search stands.

The bar only collects what the human types and asks for; the notebook pane searches the
document (nbtui.core.find), shows the match in the view and tells the bar what to say.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static


class FindBar(Vertical):
    """Find (and replace) across the notebook, docked at the bottom of the pane."""

    DEFAULT_CSS = """
    FindBar {
        dock: bottom;
        height: auto;
        background: $panel;
    }
    FindBar > Horizontal {
        height: 1;
    }
    FindBar Label {
        width: 9;
        padding: 0 1;
        color: $text-muted;
    }
    FindBar Input {
        width: 1fr;
        height: 1;
        border: none;
        padding: 0 1;
        background: $surface;
    }
    FindBar Input:focus {
        border: none;
        background: $boost;
    }
    FindBar .find-bar--status {
        width: auto;
        max-width: 60%;
        padding: 0 1;
        color: $text-muted;
    }
    FindBar #find-replace-row {
        display: none;
    }
    FindBar.-replacing #find-replace-row {
        display: block;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close the find bar", id="pane.find_close",
                key_display="esc"),
        Binding("down", "step(True)", "Next match", id="pane.find_next_in_bar",
                key_display="enter/↓"),
        Binding("shift+enter,up", "step(False)", "Previous match",
                id="pane.find_previous_in_bar", key_display="shift+enter/↑"),
        Binding("ctrl+h", "toggle_replace", "Show / hide the replace field",
                id="pane.find_toggle_replace", key_display="ctrl+h"),
        # Most terminals and tmux send ctrl+h as backspace.
        Binding("ctrl+r", "toggle_replace", "Show / hide the replace field (fallback for "
                "ctrl+h)", id="pane.find_toggle_replace_fallback", key_display="ctrl+r"),
        # Above the fields' own ctrl+a (go to the start; home does that too).
        Binding("ctrl+a", "replace_all", "Replace all (in sources)", id="pane.replace_all",
                key_display="ctrl+a", priority=True),
    ]

    class QueryChanged(Message):
        """The query was edited."""

        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    class Step(Message):
        """Go to the next (or previous) match."""

        def __init__(self, forward: bool) -> None:
            super().__init__()
            self.forward = forward

    class Replace(Message):
        """Replace the current match (or, with `all`, every match in sources)."""

        def __init__(self, query: str, replacement: str, *, all: bool = False) -> None:
            super().__init__()
            self.query = query
            self.replacement = replacement
            self.all = all

    class Closed(Message):
        """The human closed the bar."""

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("Find")
            yield Input(placeholder="text in sources and outputs", id="find-query")
            yield Static("", id="find-status", classes="find-bar--status")
        with Horizontal(id="find-replace-row"):
            yield Label("Replace")
            yield Input(placeholder="enter: replace · ctrl+a: replace all",
                        id="find-replacement")

    @property
    def query_input(self) -> Input:
        """The query field."""
        return self.query_one("#find-query", Input)

    @property
    def replacement_input(self) -> Input:
        """The replace field."""
        return self.query_one("#find-replacement", Input)

    @property
    def replacing(self) -> bool:
        """Whether the replace field is shown."""
        return self.has_class("-replacing")

    @property
    def status(self) -> str:
        """What the bar says about the search (for tests)."""
        return str(self.query_one("#find-status", Static).render())

    def open(self, *, replace: bool | None = None) -> None:
        """Show the bar with the query selected, ready to type over."""
        self.display = True
        if replace is not None:
            self.set_class(replace, "-replacing")
        query = self.query_input
        query.focus()
        query.select_all()

    def say(self, text: str) -> None:
        """Show where the search stands ("3 of 17 · ignoring case")."""
        self.query_one("#find-status", Static).update(text)

    @on(Input.Changed, "#find-query")
    def _query_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.QueryChanged(event.value))

    @on(Input.Submitted, "#find-query")
    def _query_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Step(True))

    @on(Input.Submitted, "#find-replacement")
    def _replacement_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Replace(self.query_input.value, event.value))

    @on(Input.Changed, "#find-replacement")
    def _replacement_changed(self, event: Input.Changed) -> None:
        event.stop()

    def action_close(self) -> None:
        """Hide the bar."""
        self.display = False
        self.post_message(self.Closed())

    def action_step(self, forward: bool) -> None:
        """Ask for the next or previous match."""
        self.post_message(self.Step(forward))

    def action_toggle_replace(self) -> None:
        """Show or hide the replace field (and move the cursor into it when shown)."""
        self.toggle_class("-replacing")
        if self.replacing:
            self.replacement_input.focus()
        else:
            self.query_input.focus()

    def action_replace_all(self) -> None:
        """Replace every match in the notebook's sources."""
        if not self.replacing:
            self.toggle_class("-replacing")
            self.replacement_input.focus()
            return
        self.post_message(self.Replace(self.query_input.value, self.replacement_input.value,
                                       all=True))
