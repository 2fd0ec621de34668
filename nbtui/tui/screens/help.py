"""The help screen: every key, by mode, read from the bindings themselves."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

FALLBACK_NOTE = (
    "Many terminals (and tmux without extended-keys) send the same keys for enter, shift+enter "
    "and ctrl+enter. The run keys therefore have fallbacks that always arrive, in both modes: "
    "ctrl+e runs the cell, ctrl+r runs it and goes to the next cell."
)


def _key_text(binding: Binding) -> str:
    if binding.key_display:
        return binding.key_display
    return " / ".join(binding.key.split(","))


def binding_rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    """(keys, description) for each binding that has a description."""
    rows = []
    for binding in bindings:
        if isinstance(binding, Binding) and binding.description:
            rows.append((_key_text(binding), binding.description))
    return rows


class HelpScreen(ModalScreen[None]):
    """Lists every key of the notebook; any of escape, q or ? closes it.

    Args:
        sections: (title, rows) pairs, each row a (keys, description) pair.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close the help", show=False),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(Text("nbtui keys", style="bold"), id="help-title")
            for title, rows in self.sections:
                table = Table(title=title, title_justify="left", show_header=False,
                              box=None, padding=(0, 2))
                table.add_column("keys", style="bold", no_wrap=True, min_width=16)
                table.add_column("does")
                for keys, description in rows:
                    table.add_row(keys, description)
                yield Static(table, classes="help-section")
            yield Static(Text(FALLBACK_NOTE), id="help-note")
            yield Static(Text("Press escape to close.", style="dim"))

    def action_dismiss(self) -> None:
        """Close the help."""
        self.dismiss(None)
