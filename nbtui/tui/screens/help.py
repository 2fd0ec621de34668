"""The notebook's commands, read from the key bindings, and the help screen that lists them.

Every `Binding` with a description is a command: the help screen shows it with the keys in
effect (after the user's remaps, see `App.set_keymap`), and the command palette offers it by
its description. Adding a command therefore means adding one Binding and its action.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.keys import format_key
from textual.screen import ModalScreen
from textual.widgets import Static

FALLBACK_NOTE = (
    "Many terminals (and tmux without extended-keys) send the same keys for enter, shift+enter "
    "and ctrl+enter. The run keys therefore have fallbacks that always arrive, in both modes: "
    "ctrl+e runs the cell, ctrl+r runs it and goes to the next cell."
)


@dataclass
class Command:
    """One thing the human can do: its description, the keys that do it, and its action."""

    description: str
    keys: list[str]
    """How each key (or key sequence, such as `d d`) that runs it is written."""
    action: str
    """The action string of its bindings, run in the namespace of the widget that has them."""
    presses: int = 1
    """How many times the key is pressed to run it (`d d`: 2); the palette runs it as often."""

    @property
    def key_text(self) -> str:
        """The keys, as the help screen and the palette show them."""
        return ", ".join(self.keys)


def presses(binding: Binding) -> int:
    """How many times `binding`'s key is pressed in a row to run it, as its key_display says
    (`d d`: twice)."""
    parts = (binding.key_display or "").split()
    return len(parts) if len(parts) > 1 and len(set(parts)) == 1 else 1


def binding_keys(binding: Binding, keymap: Mapping[str, str]) -> list[str]:
    """How the keys that run `binding` are written, after the user's remaps in `keymap`."""
    remapped = keymap.get(binding.id) if binding.id else None
    if remapped is None and binding.key_display:
        return [binding.key_display]
    keys = (remapped if remapped is not None else binding.key).split(",")
    times = presses(binding)
    return [" ".join([format_key(key.strip())] * times) for key in keys if key.strip()]


def commands(bindings: Iterable[BindingType], keymap: Mapping[str, str]) -> list[Command]:
    """The commands of a widget's bindings, in their order: one per action (a fallback key
    joins the command of its main key), only bindings with a description."""
    by_action: dict[str, Command] = {}
    for binding in bindings:
        if not isinstance(binding, Binding) or not binding.description:
            continue
        keys = binding_keys(binding, keymap)
        command = by_action.get(binding.action)
        if command is None:
            by_action[binding.action] = Command(binding.description, keys, binding.action,
                                                presses(binding))
        else:
            command.keys += [key for key in keys if key not in command.keys]
    return list(by_action.values())


def binding_rows(bindings: Iterable[BindingType],
                 keymap: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(keys, description) for each command of `bindings`."""
    return [(command.key_text, command.description)
            for command in commands(bindings, keymap or {})]


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
