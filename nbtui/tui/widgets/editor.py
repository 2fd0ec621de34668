"""The one editor of the notebook, with its completion list and inspection panel.

A single :class:`CellEditor` exists for the whole notebook; the notebook view places it over
the cell being edited. It highlights with the same pygments tokens as the view (no tree-sitter
needed), and its keys are the edit-mode keys: `esc`, `tab` completion, `shift+tab` inspection
and the run keys, which take priority over the text area's own bindings (`ctrl+e` would
otherwise move to the end of the line).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import OptionList, Static, TextArea
from textual.widgets.option_list import Option

from nbtui.tui.messages import RunRequested
from nbtui.tui.widgets.highlight import highlight_lines, lexer_for

INDENT = "    "
HIGHLIGHT_NOW_LINES = 400
"""Cells up to this long are re-highlighted on every keystroke; longer ones after a pause."""


class CellEditor(TextArea):
    """The text editor for the cell being edited (edit mode's keys live here)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back to command mode", priority=True),
        Binding("tab", "complete", "Complete (kernel)", priority=True),
        Binding("shift+tab", "inspect", "Inspect the name (kernel)", priority=True),
        Binding("shift+enter", "run('run_next')", "Run, select next", priority=True),
        Binding("ctrl+enter", "run('run')", "Run", priority=True),
        Binding("alt+enter", "run('run_insert')", "Run, insert below", priority=True),
        Binding("ctrl+e", "run('run')", "Run (fallback for ctrl+enter)", priority=True),
        Binding("ctrl+r", "run('run_next')", "Run, select next (fallback for shift+enter)",
                priority=True),
    ]

    class LeaveRequested(Message):
        """The human pressed escape."""

    class CompletionRequested(Message):
        """The human asked for completions at the cursor."""

        def __init__(self, code: str, cursor: int) -> None:
            super().__init__()
            self.code = code
            self.cursor = cursor

    class InspectionRequested(Message):
        """The human asked what the name at the cursor is."""

        def __init__(self, code: str, cursor: int) -> None:
            super().__init__()
            self.code = code
            self.cursor = cursor

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, soft_wrap=False, tab_behavior="indent",
                         show_line_numbers=False, compact=True)
        self.cell_id: str | None = None
        self._lexer = None
        self._highlight_timer = None

    def load_cell(self, cell_id: str, source: str, cell_type: str,
                  language: str | None) -> None:
        """Show a cell's source, ready for typing at its end."""
        self.cell_id = cell_id
        self._lexer = lexer_for(language, cell_type)
        self.load_text(source)
        self.move_cursor(self.document.end)

    @property
    def cursor_offset(self) -> int:
        """The cursor's position as a character offset into the text."""
        return self.document.get_index_from_location(self.cursor_location)

    def _build_highlight_map(self) -> None:
        self._line_cache.clear()
        self._highlights.clear()
        if getattr(self, "_lexer", None) is None:
            return
        if self.document.line_count > HIGHLIGHT_NOW_LINES and self.is_mounted:
            if self._highlight_timer is not None:
                self._highlight_timer.stop()
            self._highlight_timer = self.set_timer(0.3, self._highlight)
            return
        self._fill_highlights()

    def _highlight(self) -> None:
        self._highlight_timer = None
        self._line_cache.clear()
        self._highlights.clear()
        self._fill_highlights()
        self.refresh()

    def _fill_highlights(self) -> None:
        highlights = self._highlights
        for row, spans in enumerate(highlight_lines(self.text, self._lexer)):
            column = 0
            for text, name in spans:
                size = len(text.encode("utf-8"))
                if name is not None:
                    highlights[row].append((column, column + size, name))
                column += size

    def action_leave(self) -> None:
        """Go back to command mode."""
        self.post_message(self.LeaveRequested())

    def action_complete(self) -> None:
        """Indent at the start of a line, else ask the kernel for completions."""
        row, column = self.cursor_location
        before = self.document.get_line(row)[:column]
        if not before.strip() or self.selected_text:
            self.insert(INDENT)
            return
        self.post_message(self.CompletionRequested(self.text, self.cursor_offset))

    def action_inspect(self) -> None:
        """Ask the kernel what the name at the cursor is."""
        self.post_message(self.InspectionRequested(self.text, self.cursor_offset))

    def action_run(self, how: str) -> None:
        """Run the cell (see :data:`~nbtui.tui.messages.RunHow`)."""
        self.post_message(RunRequested(how, self.cell_id))  # type: ignore[arg-type]


class CompletionMenu(OptionList):
    """The kernel's completions for the word at the cursor; enter or tab picks one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "select", "Pick", show=False, priority=True),
        Binding("escape", "dismiss", "Close", show=False, priority=True),
    ]

    class Picked(Message):
        """A completion was chosen (None: the list was closed)."""

        def __init__(self, text: str | None) -> None:
            super().__init__()
            self.text = text

    def show(self, matches: list[str]) -> None:
        """Fill the list and focus it."""
        self.clear_options()
        self.add_options([Option(Text(match), id=str(i)) for i, match in enumerate(matches)])
        self.highlighted = 0
        self.styles.height = min(10, len(matches)) + 2
        self.display = True
        self.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.display = False
        self.post_message(self.Picked(str(event.option.prompt)))

    def action_dismiss(self) -> None:
        """Close without choosing."""
        self.display = False
        self.post_message(self.Picked(None))

    def on_blur(self) -> None:
        if self.display:
            self.display = False


class InspectPanel(Static):
    """What the kernel says about the name at the cursor (signature, docstring)."""

    def show_text(self, text: str) -> None:
        """Show the kernel's answer (ANSI colours kept)."""
        self.update(Text.from_ansi(text.strip("\n")) if text else Text("Nothing found."))
        self.display = True

    def hide(self) -> None:
        """Close the panel."""
        self.display = False
