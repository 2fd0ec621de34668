"""The one editor of the notebook, with its completion list and inspection panel.

A single :class:`CellEditor` exists for the whole notebook; the notebook view places it over
the cell being edited. It highlights with the same pygments tokens as the view (no tree-sitter
needed), and its keys are the edit-mode keys: `esc`, `tab` completion, `shift+tab` inspection
and the run keys, which take priority over the text area's own bindings (`ctrl+e` would
otherwise move to the end of the line).

A keystroke costs the same in a cell of 100 KB as in one of 1 KB: lines are highlighted when
they are drawn, by a :class:`~nbtui.tui.widgets.highlight.LineHighlighter` told which lines
each change touched; the document keeps its text and widths instead of recomputing them per
key; a very long line is drawn from the columns on screen only; and the search for a matching
bracket stops after :data:`BRACKET_SEARCH_CHARS`.

`enter` keeps the line's indentation and, in a code cell, adds a level after a line that
opens a block (ends with `:`); it looks at the cursor's line only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Offset, Size
from textual.message import Message
from textual.strip import Strip
from textual.widgets import OptionList, Static, TextArea
from textual.widgets.option_list import Option
from textual.widgets.text_area import DocumentNavigator, Location

from nbtui.tui import textual_private as private
from nbtui.tui.messages import RunRequested
from nbtui.tui.textual_private import EditorDocument, EditorWrappedDocument, deliver_alt_enter
from nbtui.tui.widgets.highlight import LONG_LINE, LineHighlighter, lexer_for

INDENT = "    "
BRACKET_SEARCH_CHARS = 10_000
"""How far the editor looks for the bracket matching the one at the cursor."""

COMPLETION_ROWS = 10
"""The completions the list shows at once (it scrolls through the rest)."""
COMPLETION_WIDTH = 40
INSPECT_SHARE = 40
"""The inspection panel takes at most this percentage of the notebook pane's height."""

_STRING_OR_COMMENT = re.compile(r"""'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|#""")
"""A quoted string (to step over) or the `#` that starts a comment."""

_BRACKETS = {"(": ")", "[": "]", "{": "}"}
_OPENING = {closing: opening for opening, closing in _BRACKETS.items()}

def _indentation(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def opens_block(line: str) -> bool:
    """Whether a line of Python ends with `:`, trailing spaces and comment aside."""
    if "#" in line:
        for match in _STRING_OR_COMMENT.finditer(line):
            if match.group() == "#":
                line = line[:match.start()]
                break
    return line.rstrip().endswith(":")


def indent_unit(lines: list[str]) -> str:
    """The indentation a new block gets in this code: what its first block uses (a tab or
    spaces), else :data:`INDENT`."""
    for above, line in pairwise(lines):
        if not opens_block(above):
            continue
        outer, inner = _indentation(above), _indentation(line)
        extra = inner[len(outer):]
        if inner.startswith(outer) and extra and (extra == "\t" or not extra.strip(" ")):
            return extra
    return INDENT


class DrawnLineHighlights:
    """Stands in for the text area's map of highlights by line (which Textual fills for the
    whole text on every change): a line's highlights come from the editor's highlighter when
    the line is drawn, in the UTF-8 byte offsets the text area expects."""

    def __init__(self, editor: CellEditor) -> None:
        self._editor = editor

    def __bool__(self) -> bool:
        return self._editor.highlighter.lexer is not None

    def __getitem__(self, row: int) -> list[tuple[int, int, str]]:
        editor = self._editor
        lines = editor.document.lines
        x = editor.scroll_offset.x
        ranges = editor.highlighter.ranges(lines, row, (x, x + editor.size.width))
        line = lines[row]
        if line.isascii():
            return ranges
        return [(len(line[:start].encode()), len(line[:end].encode()), name)
                for start, end, name in ranges]

    def clear(self) -> None:
        """Nothing to forget: the highlighter knows which lines changed."""


class CellEditor(TextArea):
    """The text editor for the cell being edited (edit mode's keys live here)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back to command mode", priority=True, id="editor.leave"),
        Binding("tab", "complete", "Complete (kernel)", priority=True, id="editor.complete"),
        Binding("shift+tab", "inspect", "Inspect the name (kernel)", priority=True,
                id="editor.inspect"),
        Binding("shift+enter", "run('run_next')", "Run, select next", priority=True,
                id="editor.run_next"),
        Binding("ctrl+enter", "run('run')", "Run", priority=True, id="editor.run"),
        Binding("alt+enter", "run('run_insert')", "Run, insert below", priority=True,
                id="editor.run_insert"),
        Binding("ctrl+e", "run('run')", "Run (fallback for ctrl+enter)", priority=True,
                id="editor.run_fallback"),
        Binding("ctrl+r", "run('run_next')", "Run, select next (fallback for shift+enter)",
                priority=True, id="editor.run_next_fallback"),
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
        self.highlighter = LineHighlighter(None)
        """Highlights the lines being drawn."""
        super().__init__("", id=id, soft_wrap=False, tab_behavior="indent",
                         show_line_numbers=False, compact=True)
        self._highlights = DrawnLineHighlights(self)  # type: ignore[assignment]
        self.cell_id: str | None = None
        self.block_indent: str | None = None
        """What `enter` adds after a line that opens a block (None: only keep the indent)."""

    def on_mount(self) -> None:
        # The editor and the cell list bind alt+enter: make sure the key can arrive.
        deliver_alt_enter()

    def load_cell(self, cell_id: str, source: str, cell_type: str,
                  language: str | None) -> None:
        """Show a cell's source, ready for typing at its end."""
        self.cell_id = cell_id
        self.highlighter = LineHighlighter(lexer_for(language, cell_type))
        self.load_text(source)
        self.block_indent = indent_unit(self.document.lines) if cell_type == "code" else None
        self.move_cursor(self.document.end)

    async def _on_key(self, event: events.Key) -> None:
        # enter starts the new line indented; TextArea._on_key handles the other keys.
        if event.key != "enter" or self.read_only:
            return
        event.stop()
        event.prevent_default()
        private.restart_blink(self)
        start, end = self.selection
        private.replace_as_typed(self, "\n" + self._new_line_indent(min(start, end)), start, end)

    def _new_line_indent(self, location: Location) -> str:
        """The indentation of a line started at `location`: that of the text before it, one
        level deeper if that text opens a block (code cells only)."""
        row, column = location
        before = self.document[row][:column]
        indent = _indentation(before)
        if self.block_indent is not None and opens_block(before):
            indent += self.block_indent
        return indent

    @property
    def cursor_offset(self) -> int:
        """The cursor's position as a character offset into the text."""
        return self.document.get_index_from_location(self.cursor_location)

    def _set_document(self, text: str, language: str | None) -> None:
        # Textual's plain-text branch, with a document that reports each change's lines (the
        # editor never uses tree-sitter: pygments highlights, see DrawnLineHighlights).
        private.clear_highlight_query(self)
        self.document = EditorDocument(text, self._lines_changed)
        self.highlighter.reset(self.document.line_count)
        self.wrapped_document = EditorWrappedDocument(self.document,
                                                      tab_width=self.indent_width)
        self.navigator = DocumentNavigator(self.wrapped_document)
        self._build_highlight_map()
        self.move_cursor((0, 0))
        private.rewrap(self)

    def _recompute_cursor_offset(self) -> None:
        # Textual's undo and redo resize the text area (which can show or hide a scrollbar and
        # so scroll to the cursor) before they move the cursor into the changed text: until
        # then it may be on a line that is gone. Moving it places it again.
        private.set_cursor_offset(self, self.wrapped_document.location_to_offset(
            self.clamp_visitable(self.cursor_location)))

    def _lines_changed(self, top: int, old_bottom: int, new_bottom: int) -> None:
        highlighter = self.highlighter
        highlighter.changed(top, old_bottom, new_bottom)
        first, unchanged_from = highlighter.relex(self.document.lines, top, new_bottom)
        if old_bottom != new_bottom or self.soft_wrap:
            unchanged_from = None  # the lines below moved
        # Forget the drawn lines that changed; the others are drawn as before.
        cache = private.line_cache(self)
        for key in list(cache.keys()):
            row = key[2]  # TextArea.render_line's key: size, scroll_x, absolute_y, ...
            if row >= first and (unchanged_from is None or row < unchanged_from):
                cache.discard(key)

    def _build_highlight_map(self) -> None:
        # Textual calls this after every change to highlight the whole text and forget every
        # drawn line; _lines_changed has lexed what changed and forgotten only those lines.
        pass

    def get_column_width(self, row: int, column: int) -> int:
        """The cells the text of a row takes up to a column."""
        if self.document.is_plain(row):
            return min(column, len(self.document[row]))
        return super().get_column_width(row, column)

    def render_line(self, y: int) -> Strip:
        """One line of the editor; a long plain line is drawn from the columns on screen only."""
        row = y + self.scroll_offset.y
        if (row < self.document.line_count and not self.soft_wrap and not self.suggestion
                and not self.show_line_numbers):
            line = self.document[row]
            if len(line) > LONG_LINE and self.document.is_plain(row):
                return self._render_long_line(row, line)
        return super().render_line(y)

    def _render_long_line(self, row: int, line: str) -> Strip:
        # TextArea draws a line whole and crops it, which costs milliseconds for 100 KB. This
        # draws the visible columns with the same styles (a plain line: columns are cells).
        theme = private.text_area_theme(self)
        base_style = theme.base_style if theme and theme.base_style else self.rich_style
        width = self.scrollable_content_region.width
        first = self.scroll_offset.x
        last = min(first + width, len(line) + 1)
        text = Text(line[first:last], end="", no_wrap=True)
        text.set_length(max(0, last - first))

        def stylize(style: Style | None, start: int, end: int) -> None:
            start, end = max(start, first), min(end, last)
            if style is not None and start < end:
                text.stylize(style, start - first, end - first)

        selection = self.selection
        cursor_row, cursor_column = selection.end
        shown = private.cursor_shown(self)
        on_cursor_row = cursor_row == row and shown
        cursor_line_style = (theme.cursor_line_style
                             if theme and self.highlight_cursor_line and on_cursor_row else None)
        stylize(cursor_line_style, 0, len(line) + 1)
        top, bottom = sorted(selection)
        if theme and selection.start != selection.end and top[0] <= row <= bottom[0]:
            stylize(theme.selection_style, top[1] if row == top[0] else 0,
                    bottom[1] if row == bottom[0] else len(line))
        if theme:
            for start, end, name in self.highlighter.ranges(self.document.lines, row,
                                                            (first, last)):
                stylize(theme.syntax_styles.get(name), start, end)
        bracket = self.matching_bracket_location
        if theme and self.match_cursor_bracket and bracket is not None and shown \
                and selection.start == selection.end:
            if on_cursor_row:
                stylize(theme.bracket_matching_style, cursor_column, cursor_column + 1)
            if bracket[0] == row:
                stylize(theme.bracket_matching_style, bracket[1], bracket[1] + 1)
        if cursor_row == row and private.cursor_drawn(self) and theme:
            stylize(theme.cursor_style, cursor_column, cursor_column + 1)
        strip = Strip(text.render(self.app.console), text.cell_len)
        line_style = (cursor_line_style if cursor_row == row and self.highlight_cursor_line
                      else theme.base_style if theme else None)
        return strip.extend_cell_length(width, line_style).apply_style(base_style)

    def find_matching_bracket(self, bracket: str, search_from: Location) -> Location | None:
        """The bracket matching the one at `search_from`, within BRACKET_SEARCH_CHARS of it."""
        if bracket in _BRACKETS:
            chars, opening, closing = self._chars_after(search_from), _BRACKETS, _OPENING
        elif bracket in _OPENING:
            chars, opening, closing = self._chars_before(search_from), _OPENING, _BRACKETS
        else:
            return None
        stack: list[str] = []
        for count, (char, location) in enumerate(chars):
            if count > BRACKET_SEARCH_CHARS:
                return None
            if char in opening:
                stack.append(char)
            elif char in closing and stack and opening[stack[-1]] == char:
                stack.pop()
                if not stack:
                    return location
        return None

    def _chars_after(self, start: Location) -> Iterator[tuple[str, Location]]:
        lines = self.document.lines
        row, column = start
        while row < len(lines):
            line = lines[row]
            for index in range(column, len(line)):
                yield line[index], (row, index)
            row, column = row + 1, 0

    def _chars_before(self, start: Location) -> Iterator[tuple[str, Location]]:
        lines = self.document.lines
        row, column = start
        while row >= 0:
            line = lines[row]
            for index in range(min(column, len(line) - 1), -1, -1):
                yield line[index], (row, index)
            row, column = row - 1, len(lines[row - 1]) if row > 0 else 0

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

    def show(self, matches: list[str], cursor: Offset, area: Size) -> None:
        """Fill the list, place it next to the cursor and focus it.

        The list opens below the cursor's line, or above it when there is more room there,
        and never covers that line or reaches out of the area.

        Args:
            matches: the completions.
            cursor: where the cursor is, relative to the area the list floats in.
            area: the size of that area.
        """
        self.clear_options()
        self.add_options([Option(Text(match), id=str(i)) for i, match in enumerate(matches)])
        self.highlighted = 0
        self.place(cursor, area)
        self.display = True
        self.focus()

    def place(self, cursor: Offset, area: Size) -> None:
        """Move the list next to the cursor (see :meth:`show`)."""
        row = min(max(cursor.y, 0), area.height - 1)
        wanted = min(COMPLETION_ROWS, self.option_count) + 2  # the border takes two rows
        below, above = area.height - row - 1, row
        if wanted > below and above > below:
            height = min(wanted, above)
            top = row - height
        else:
            height = min(wanted, below)
            top = row + 1
        width = min(COMPLETION_WIDTH, area.width)
        self.styles.width = width
        self.styles.height = height
        self.styles.offset = (min(max(cursor.x, 0), area.width - width), top)

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

    def keep_clear_of(self, row: int, area_height: int) -> None:
        """Dock at the bottom of the area, or at its top when the cursor is in its lower half,
        no taller than the room on that side of the cursor's line.

        Args:
            row: the cursor's line, relative to the area the panel docks in.
            area_height: the height of that area.
        """
        row = min(max(row, 0), area_height - 1)
        on_top = row >= area_height // 2
        room = row if on_top else area_height - row - 1
        self.set_class(on_top, "-top")
        self.styles.max_height = max(1, min(room, area_height * INSPECT_SHARE // 100))

    def hide(self) -> None:
        """Close the panel."""
        self.display = False
