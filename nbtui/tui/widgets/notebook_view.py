"""The notebook as one scrolling list of cells, drawn with Textual's line API.

Only what is on screen costs anything. The view keeps, per cell, either its rendered lines
(for cells that have been on screen at the current width) or a cheap estimate of its height;
`render_line` finds the cell under a screen line by bisecting the cells' top offsets and returns
a cached line. Moving the selection redraws two gutters; a change to one cell re-renders that
cell only.

The view never jumps away from the human: before any layout change it notes where the cell the
human works on sits on screen (the edited or selected cell, else the first cell in view) and puts
it back on the same screen row afterwards. In follow mode it scrolls to the cell an agent just
touched instead.

The cell being edited is not drawn here: the view leaves blank input lines of the editor's
height and places the one editor widget over them. Sixel pictures are placed the same way: the
painter leaves a blank slot of the picture's size, and the view floats a sixel widget over each
slot that is on screen, moves them as it scrolls, and removes those that leave the screen, so
that a notebook of hundreds of pictures has only a screenful of widgets.

Several cells can be selected: `selected_id` is the cell keys act from and `range_anchor` the
other end of the range, so drawing a gutter compares a cell's position with the two ends and a
selection of any size costs nothing. Line numbers (`l`, `L`) change no cell's height: switching
them for all cells only changes a flag, and each cached source is redrawn when it is next on
screen. The find match is drawn over the cached lines as they go to the screen.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import TextArea

from nbtui.core.document import KERNEL, USER, Cell, Document, DocumentError, DocumentEvent
from nbtui.core.find import output_lines
from nbtui.tui.messages import (
    AgentAccessRequested,
    ApprovalModeRequested,
    KernelRequested,
    RunCellsRequested,
    RunRequested,
)
from nbtui.tui.screens.image_view import ImageViewScreen, cell_pictures
from nbtui.tui.widgets.cell_render import (
    CellPainter,
    Fold,
    ImageSlot,
    OutputBlock,
    Palette,
    estimate_height,
    line_number_width,
)
from nbtui.tui.widgets.images import FittedPicture, sixel_widget

if TYPE_CHECKING:
    from textual.widget import Widget

GUTTER_WIDTH = 1
PROMPT_WIDTH = 8
"""Columns left of a cell's content: the selection gutter, the `[n]` prompt and a space."""

RIGHT_MARGIN = 1

AGENT_MARK_SECONDS = 10.0
"""How long a cell an agent touched shows the agent's name."""

AGENT_MARK_FADE_SECONDS = 3.0
"""The last part of that time, during which the mark is drawn faded."""

CHORD_SECONDS = 1.0
"""The most time between the two presses of `d d`, `i i` or `0 0`."""

OUTPUT_REDRAW_SECONDS = 0.1
"""A cell whose outputs stream in is redrawn at most this often."""

STRUCTURE_KINDS = ("insert", "delete", "move")
AGENT_MARK_KINDS = ("insert", "edit", "move", "run", "status", "outputs_cleared")


@dataclass
class _Entry:
    """A cell's rendered lines at the view's current width (either part may be stale: None)."""

    source: list[Strip] | None = None
    outputs: OutputBlock | None = None
    numbered: bool = False
    """Whether `source` was drawn with line numbers."""

    @property
    def complete(self) -> bool:
        return self.source is not None and self.outputs is not None

    @property
    def height(self) -> int:
        assert self.source is not None and self.outputs is not None
        return len(self.source) + len(self.outputs.lines) + 1


@dataclass
class _PlacedSixel:
    """A sixel widget over an image slot, and where it was last put (offset in its parent)."""

    fitted: FittedPicture
    widget: Widget
    offset: tuple[int, int] | None = None


@dataclass
class _Anchor:
    """A cell and the screen row of its top, to be kept where it is across a layout change."""

    cell_id: str
    row: int


@dataclass(frozen=True)
class _Match:
    """A find match to highlight (see `NotebookView.show_match`)."""

    cell_id: str
    part: Literal["source", "outputs"]
    line: int
    start: int
    end: int


MATCH_STYLE = Style(reverse=True)
"""How the find match is drawn over the cell's own colours."""


@dataclass
class ClipboardCell:
    """A cut or copied cell."""

    cell_type: str
    source: str
    metadata: dict[str, Any]


class NotebookView(ScrollView, can_focus=True):
    """All cells of a notebook in one scrolling list; command mode's keys live here.

    Args:
        document: the notebook to show.
        language: the kernel language, for highlighting code cells.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "notebook-view--input",
        "notebook-view--markdown",
        "notebook-view--raw",
        "notebook-view--output",
        "notebook-view--stderr",
        "notebook-view--more",
        "notebook-view--prompt",
        "notebook-view--prompt-running",
        "notebook-view--prompt-queued",
        "notebook-view--gutter-command",
        "notebook-view--gutter-edit",
        "notebook-view--agent",
        "notebook-view--agent-fading",
        "notebook-view--badge",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "edit", "Edit the cell", id="view.edit"),
        Binding("j,down", "select_next", "Next cell", key_display="j/↓", id="view.select_next"),
        Binding("k,up", "select_previous", "Previous cell", key_display="k/↑",
                id="view.select_previous"),
        Binding("J,shift+down", "extend_next", "Select the next cell too",
                key_display="J/shift+↓", id="view.extend_next"),
        Binding("K,shift+up", "extend_previous", "Select the previous cell too",
                key_display="K/shift+↑", id="view.extend_previous"),
        Binding("home", "select_first", "First cell", show=False, id="view.select_first"),
        Binding("end", "select_last", "Last cell", show=False, id="view.select_last"),
        Binding("a", "insert_above", "Insert a cell above", id="view.insert_above"),
        Binding("b", "insert_below", "Insert a cell below", id="view.insert_below"),
        Binding("d", "delete", "Delete the selected cells (press twice)", key_display="d d",
                id="view.delete"),
        Binding("z", "undo_delete", "Undo the last delete or merge", id="view.undo_delete"),
        Binding("u", "undo_agent_change", "Undo the last agent change to the cell",
                id="view.undo_agent_change"),
        Binding("x", "cut", "Cut the selected cells", id="view.cut"),
        Binding("c", "copy", "Copy the selected cells", id="view.copy"),
        Binding("v", "paste", "Paste below", id="view.paste"),
        Binding("M", "merge", "Merge the selected cells (one cell: with the one below)",
                key_display="M", id="view.merge"),
        Binding("ctrl+shift+up", "move(-1)", "Move the selected cells up",
                key_display="ctrl+shift+↑", id="view.move_up"),
        Binding("ctrl+shift+down", "move(1)", "Move the selected cells down",
                key_display="ctrl+shift+↓", id="view.move_down"),
        Binding("alt+up", "move(-1)", "Move the selected cells up (fallback)",
                key_display="alt+↑", id="view.move_up_fallback"),
        Binding("alt+down", "move(1)", "Move the selected cells down (fallback)",
                key_display="alt+↓", id="view.move_down_fallback"),
        Binding("m", "to_type('markdown')", "Make it markdown", id="view.to_type_markdown"),
        Binding("y", "to_type('code')", "Make it code", id="view.to_type_code"),
        Binding("r", "to_type('raw')", "Make it raw", id="view.to_type_raw"),
        Binding("o", "toggle_output", "Expand / hide / show output", id="view.toggle_output"),
        Binding("O", "clear_outputs", "Clear the outputs of the selected cells",
                key_display="O", id="view.clear_outputs"),
        Binding("C", "clear_all_outputs", "Clear the outputs of all cells", key_display="C",
                id="view.clear_all_outputs"),
        Binding("l", "toggle_line_numbers", "Line numbers of the selected cells on / off",
                id="view.toggle_line_numbers"),
        Binding("L", "toggle_all_line_numbers", "Line numbers of all cells on / off",
                key_display="L", id="view.toggle_all_line_numbers"),
        Binding("f", "toggle_follow", "Follow the agent", id="view.toggle_follow"),
        Binding("I", "view_image", "Show the cell's image full screen", key_display="I",
                id="view.view_image"),
        Binding("shift+enter", "run('run_next')", "Run, select next", id="view.run_next"),
        Binding("ctrl+enter", "run('run')", "Run", id="view.run"),
        Binding("alt+enter", "run('run_insert')", "Run, insert below", id="view.run_insert"),
        Binding("ctrl+e", "run('run')", "Run (fallback for ctrl+enter)",
                id="view.run_fallback"),
        Binding("ctrl+r", "run('run_next')", "Run, select next (fallback for shift+enter)",
                id="view.run_next_fallback"),
        Binding("R", "run_all", "Run all cells", key_display="R", id="view.run_all"),
        Binding("U", "run_above", "Run all cells above this one", key_display="U",
                id="view.run_above"),
        Binding("B", "run_below", "Run this cell and all below", key_display="B",
                id="view.run_below"),
        Binding("right_parenthesis", "restart_run_all",
                "Restart the kernel and run all (press twice)", key_display=") )",
                id="view.restart_run_all"),
        Binding("i", "interrupt", "Interrupt the kernel (press twice)", key_display="i i",
                id="view.interrupt"),
        Binding("0", "restart", "Restart the kernel (press twice)", key_display="0 0",
                id="view.restart"),
        Binding("A", "agent_access", "Agent access: read → edit → run", key_display="A",
                id="view.agent_access"),
        Binding("ctrl+a", "approval_mode", "Approval of agent runs on / off",
                id="view.approval_mode"),
    ]

    class SelectionChanged(Message):
        """The selected cell changed (by a key, a click, or because it was deleted)."""

        def __init__(self, cell_id: str | None) -> None:
            super().__init__()
            self.cell_id = cell_id

    class EditRequested(Message):
        """The human wants to edit the selected cell (enter, a second click)."""

        def __init__(self, cell_id: str) -> None:
            super().__init__()
            self.cell_id = cell_id

    class EditedCellDeleted(Message):
        """Someone deleted the cell the human is editing."""

        def __init__(self, cell_id: str, index: int, author: str) -> None:
            super().__init__()
            self.cell_id = cell_id
            self.index = index
            self.author = author

    class FollowChanged(Message):
        """Follow mode was switched on or off."""

        def __init__(self, follow: bool) -> None:
            super().__init__()
            self.follow = follow

    def __init__(self, document: Document, language: str | None = None, *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.document = document
        self.language = language
        self.selected_id: str | None = document.focus.cell_id or (
            document.cells[0].id if document.cells else None)
        self.follow = False
        self.editor: Widget | None = None
        """The editor widget the view places over the edited cell (set by its owner)."""
        self.editing: tuple[str, int] | None = None
        """The cell being edited and the editor's line count."""
        self.clipboard: list[ClipboardCell] = []
        self.range_anchor: str | None = None
        """The other end of a selection of several cells (None: only the selected cell)."""
        self.all_line_numbers = False
        """Line numbers in every code cell (L), except the cells toggled apart with l."""
        self._line_numbers_toggled: set[str] = set()
        self._match: _Match | None = None
        self._match_spot: tuple[object, tuple[int, int, int] | None] | None = None
        """Where the match was last looked for (the drawn lines) and found: the line of the
        cell it is on and its columns (None: not among those lines)."""
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._heights: list[int] = []
        self._tops: list[int] = [0]
        self._entries: dict[str, _Entry] = {}
        self._folds: dict[str, Fold] = {}
        self._marks: dict[str, tuple[str, float]] = {}
        self._runners: dict[str, str] = {}
        """Who asked for the run of each queued or running cell."""
        self._synced_revision = -1
        self._width = 0
        self._painter: CellPainter | None = None
        self._styles: dict[str, Style] = {}
        self._relayout_depth = 0
        self._chord: tuple[str, float] | None = None
        self._pending_outputs: set[str] = set()
        self._output_timer: Any = None
        self._last_output_redraw = 0.0
        self._mark_timer: Any = None
        self._placed: tuple[int, int, int, int] | None = None
        self._sixels: dict[tuple[str, int], _PlacedSixel] = {}
        """The sixel widgets on screen, by cell id and output index."""
        self._sixel_notes: dict[int, str] = {}
        """Lines (of the whole list) that show a note instead of a picture partly on screen."""
        self._placing_sixels = False

    # -- lifecycle -----------------------------------------------------------------------

    def on_mount(self) -> None:
        self._load_styles()
        self._sync_structure()
        self._width = self._content_width()
        self._relayout(self._anchor())

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if not self.is_mounted:
            return
        # Focus moving in or out restyles the view without changing the colours cells are
        # drawn in: keep their lines. When the colours do change, the heights measured so far
        # fall back to estimates, so the human's place is noted first and kept.
        anchor = self._anchor()
        if self._load_styles():
            self._entries.clear()
            self._recompute_heights()
            self._relayout(anchor)
        else:
            self.refresh()

    def _load_styles(self) -> bool:
        """Read the colours from CSS; True if those the cells are drawn in changed."""
        get = self.get_component_rich_style
        self._styles = {name.removeprefix("notebook-view--"): get(name, partial=True)
                        for name in self.COMPONENT_CLASSES}
        syntax = {}
        from nbtui.tui.textual_private import TextAreaTheme

        if self.app.current_theme is not None and not self.app.current_theme.dark:
            theme = TextAreaTheme.get_builtin_theme("github_light")
        else:
            theme = TextAreaTheme.get_builtin_theme("vscode_dark")
        if theme is not None:
            syntax = dict(theme.syntax_styles)
        s = self._styles
        palette = Palette(
            input=s["input"], markdown=s["markdown"], raw=s["raw"], output=s["output"],
            stderr=s["stderr"], more=s["more"], syntax=syntax,
        )
        if self._painter is not None and self._painter.palette == palette:
            return False
        self._painter = CellPainter(self.app.console, palette)
        return True

    def on_resize(self, event: events.Resize) -> None:
        width = self._content_width()
        if width != self._width:
            anchor = self._anchor()
            self._width = width
            self._entries.clear()
            self._recompute_heights()
            self._relayout(anchor)
        else:
            self._relayout(self._anchor())

    def _content_width(self) -> int:
        return max(PROMPT_WIDTH + RIGHT_MARGIN + 10, self.scrollable_content_region.width)

    @property
    def content_width(self) -> int:
        """Width of a cell's content area (source and outputs), in columns."""
        return max(10, self._width - PROMPT_WIDTH - RIGHT_MARGIN)

    # -- reading the layout (for the owner and for tests) --------------------------------

    @property
    def cell_ids(self) -> list[str]:
        """The cells in the order the view shows them."""
        return list(self._ids)

    def cell_top(self, cell_id: str) -> int | None:
        """The line where a cell starts in the whole list (None: not shown)."""
        index = self._pos.get(cell_id)
        return None if index is None else self._tops[index]

    def screen_row(self, cell_id: str) -> int | None:
        """The row of the view where a cell starts (may be negative or past the bottom)."""
        top = self.cell_top(cell_id)
        return None if top is None else top - round(self.scroll_y)

    def fold_of(self, cell_id: str) -> Fold:
        """How the outputs of a cell are shown."""
        return self._folds.get(cell_id, "collapsed")

    def image_slots(self, cell_id: str) -> list[tuple[int, ImageSlot]]:
        """A rendered cell's sixel image slots, each with the line of the cell it starts on."""
        entry = self._entries.get(cell_id)
        if entry is None or not entry.complete:
            return []
        assert entry.source is not None and entry.outputs is not None
        return [(len(entry.source) + slot.line, slot) for slot in entry.outputs.images]

    def agent_mark(self, cell_id: str) -> str | None:
        """The name of the agent that recently touched a cell, while the mark lasts."""
        mark = self._marks.get(cell_id)
        if mark is None or time.monotonic() - mark[1] > AGENT_MARK_SECONDS:
            return None
        return mark[0]

    def visible_text(self) -> str:
        """The text of the lines on screen now (what a human reads; used by tests)."""
        lines = []
        for y in range(self.scrollable_content_region.height):
            lines.append(self.render_line(y).text.rstrip())
        return "\n".join(lines)

    # -- structure and invalidation --------------------------------------------------------

    def _sync_structure(self) -> bool:
        """Catch up with insertions, deletions and moves; True if the order changed."""
        doc = self.document
        if doc.revision == self._synced_revision and len(doc.cells) == len(self._ids):
            return False
        self._synced_revision = doc.revision
        ids = [cell.id for cell in doc.cells]
        if ids == self._ids:
            return False
        self._ids = ids
        self._pos = {cell_id: index for index, cell_id in enumerate(ids)}
        for gone in [cid for cid in self._entries if cid not in self._pos]:
            del self._entries[gone]
        self._recompute_heights()
        if self.selected_id not in self._pos:
            self.selected_id = None
        if self.range_anchor not in self._pos:
            self.range_anchor = None
        return True

    def _recompute_heights(self) -> None:
        self._heights = [self._height(cid) for cid in self._ids]
        self._tops = [0, *accumulate(self._heights)]

    def _height(self, cell_id: str) -> int:
        entry = self._entries.get(cell_id)
        if entry is not None and entry.complete:
            return entry.height
        if not self.document.has(cell_id):
            return 1
        edit_lines = self.editing[1] if self.editing and self.editing[0] == cell_id else None
        return estimate_height(self.document.get(cell_id), self.fold_of(cell_id),
                               edit_lines=edit_lines)

    def _invalidate(self, cell_id: str, *, source: bool = False, outputs: bool = False) -> None:
        entry = self._entries.get(cell_id)
        if entry is None:
            return
        if source:
            entry.source = None
        if outputs:
            entry.outputs = None

    def _update_height(self, index: int) -> bool:
        height = self._height(self._ids[index])
        if height == self._heights[index]:
            return False
        self._heights[index] = height
        self._tops = [0, *accumulate(self._heights)]
        return True

    def _ensure(self, index: int) -> _Entry:
        """Render whatever part of a cell's lines is missing."""
        cell_id = self._ids[index]
        entry = self._entries.setdefault(cell_id, _Entry())
        if entry.complete or not self.document.has(cell_id) or self._painter is None:
            if not entry.complete:
                entry.source = entry.source or [Strip.blank(self.content_width)]
                entry.outputs = entry.outputs or OutputBlock([])
            return entry
        cell = self.document.get(cell_id)
        width = self.content_width
        if entry.source is None:
            if self.editing and self.editing[0] == cell_id:
                entry.source = self._painter.blank_source(cell, width, self.editing[1])
            else:
                entry.numbered = self.line_numbers(cell_id)
                entry.source = self._painter.source(cell, width, self.language,
                                                    line_numbers=entry.numbered)
        if entry.outputs is None:
            if cell.cell_type == "code":
                entry.outputs = self._painter.outputs(cell.outputs, width, self.fold_of(cell_id))
            else:
                entry.outputs = OutputBlock([])
        self._update_height(index)
        return entry

    # -- keeping the human's place ---------------------------------------------------------

    def _anchor(self) -> _Anchor | None:
        """The cell whose screen position must not change, and where it is now."""
        if not self._ids:
            return None
        scroll = round(self.scroll_y)
        height = max(1, self.scrollable_content_region.height)
        candidates = []
        if self.editing:
            candidates.append(self.editing[0])
        if self.selected_id is not None:
            candidates.append(self.selected_id)
        for cell_id in candidates:
            top = self.cell_top(cell_id)
            if top is None:
                continue
            index = self._pos[cell_id]
            bottom = self._tops[index + 1]
            if bottom > scroll and top < scroll + height:
                return _Anchor(cell_id, top - scroll)
        # The scroll can be past the end for a moment: cells drawn for the first time can turn
        # out shorter than their estimate, and the scroll is clamped only at the next layout.
        last = min(len(self._ids) - 1, bisect_right(self._tops, scroll + height) - 1)
        first = min(last, max(0, bisect_right(self._tops, scroll) - 1))
        for index in range(first, last + 1):
            entry = self._entries.get(self._ids[index])
            if entry is not None and entry.complete and self._tops[index] >= scroll:
                return _Anchor(self._ids[index], self._tops[index] - scroll)
        return _Anchor(self._ids[first], self._tops[first] - scroll)

    def _relayout(self, anchor: _Anchor | None, *, follow_cell: str | None = None) -> None:
        """Measure the cells in view, keep `anchor` in place, update the scroll range."""
        self._relayout_depth += 1
        try:
            for _ in range(8):
                self._set_virtual_size()
                if follow_cell is not None:
                    self._scroll_cell_into_view(follow_cell, center=True)
                elif anchor is not None and anchor.cell_id in self._pos:
                    top = self._tops[self._pos[anchor.cell_id]]
                    self._scroll_to_line(top - anchor.row)
                if not self._measure_visible():
                    break
            self._set_virtual_size()
        finally:
            self._relayout_depth -= 1
        self._place_editor()
        self._place_sixels()
        self.refresh()

    def _measure_visible(self) -> bool:
        """Render the cells in view that are not rendered yet; True if any height changed."""
        if not self._ids:
            return False
        scroll = round(self.scroll_y)
        height = max(1, self.scrollable_content_region.height)
        first = max(0, bisect_right(self._tops, scroll) - 1)
        changed = False
        index = first
        while index < len(self._ids) and self._tops[index] < scroll + height:
            entry = self._entries.get(self._ids[index])
            if entry is None or not entry.complete:
                before = self._heights[index]
                self._ensure(index)
                changed = changed or self._heights[index] != before
            index += 1
        return changed

    def _set_virtual_size(self) -> None:
        size = Size(self._width, self._tops[-1])
        if self.virtual_size != size:
            self.virtual_size = size

    def _scroll_to_line(self, line: int) -> None:
        limit = max(0, self._tops[-1] - self.scrollable_content_region.height)
        line = max(0, min(line, limit))
        if round(self.scroll_y) != line:
            self.scroll_to(y=line, animate=False, immediate=True)

    def _scroll_cell_into_view(self, cell_id: str, *, center: bool = False) -> None:
        index = self._pos.get(cell_id)
        if index is None:
            return
        top, bottom = self._tops[index], self._tops[index + 1] - 1
        height = max(1, self.scrollable_content_region.height)
        scroll = round(self.scroll_y)
        if center:
            if top >= scroll and bottom <= scroll + height:
                return
            self._scroll_to_line(top - max(0, (height - (bottom - top)) // 3))
            return
        if top < scroll:
            self._scroll_to_line(top)
        elif bottom >= scroll + height:
            self._scroll_to_line(min(top, bottom - height + 1))

    def scroll_line_into_view(self, line: int) -> None:
        """Scroll as little as needed so that a line of the whole list is on screen."""
        height = max(1, self.scrollable_content_region.height)
        scroll = round(self.scroll_y)
        if line < scroll:
            self._scroll_to_line(line)
        elif line >= scroll + height:
            self._scroll_to_line(line - height + 1)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._relayout_depth == 0 and self.is_mounted:
            self._relayout(self._anchor())
        else:
            self._place_editor()
            self._place_sixels()

    def _place_editor(self) -> None:
        editor = self.editor
        if editor is None or self.editing is None:
            self._placed = None
            return
        top = self.cell_top(self.editing[0])
        if top is None:
            return
        offset_y = self.region.y - (editor.parent.region.y if editor.parent else 0)
        placement = (PROMPT_WIDTH, top - round(self.scroll_y) + offset_y, self.content_width,
                     max(1, self.editing[1]))
        if placement == self._placed:
            return
        self._placed = placement
        x, y, width, height = placement
        # The editor floats over the lines the view leaves blank, so its geometry is computed.
        editor.styles.offset = (x, y)
        editor.styles.width = width
        editor.styles.height = height

    def _place_sixels(self) -> None:
        """Float a sixel widget over each image slot on screen; remove the others.

        A picture partly on screen is cropped by the compositor (textual-image draws only the
        visible part) when the parent clips where the view does; otherwise its slot shows a
        one-line note until it is scrolled fully into view.
        """
        parent = self.parent
        if not self.is_mounted or parent is None:
            return
        view, area = self.scrollable_content_region, parent.content_region
        clipped_as_view = (area.y, area.bottom) == (view.y, view.bottom)
        wanted: dict[tuple[str, int], tuple[FittedPicture, int]] = {}
        notes: dict[int, str] = {}
        scroll = round(self.scroll_y)
        height = view.height
        index = max(0, bisect_right(self._tops, scroll) - 1)
        while self._ids and index < len(self._ids) and self._tops[index] < scroll + height:
            cell_id = self._ids[index]
            for line, slot in self.image_slots(cell_id):
                top = self._tops[index] + line
                if top + slot.rows <= scroll or top >= scroll + height:
                    continue
                if clipped_as_view or (top >= scroll and top + slot.rows <= scroll + height):
                    wanted[(cell_id, slot.output_index)] = (slot.fitted, top - scroll)
                else:
                    px_w, px_h = slot.fitted.pixels
                    notes[max(top, scroll)] = f"[image: {px_w}x{px_h}, scroll to see]"
            index += 1
        for key, placed in list(self._sixels.items()):
            if key not in wanted or wanted[key][0] is not placed.fitted:
                placed.widget.remove()
                del self._sixels[key]
        editor = self.editor if self.editor is not None and self.editor.parent is parent else None
        dx, dy = view.x - area.x + PROMPT_WIDTH, view.y - area.y
        for key, (fitted, row) in wanted.items():
            placed = self._sixels.get(key)
            if placed is None:
                placed = _PlacedSixel(fitted, sixel_widget(fitted))
                self._sixels[key] = placed
                # Below the editor and its popups, which are on the same layer.
                parent.mount(placed.widget, before=editor)
            offset = (dx, dy + row)
            if placed.offset != offset:
                placed.offset = offset
                placed.widget.styles.offset = offset
        if notes != self._sixel_notes:
            self._sixel_notes = notes
            self.refresh()

    def _place_sixels_after_refresh(self) -> None:
        """Place sixel widgets once the lines about to be drawn have been rendered."""
        if not self._placing_sixels:
            self._placing_sixels = True
            self.call_after_refresh(self._place_sixels_now)

    def _place_sixels_now(self) -> None:
        self._placing_sixels = False
        self._place_sixels()

    # -- document events -------------------------------------------------------------------

    def apply_event(self, event: DocumentEvent) -> None:
        """Bring the view up to date with one document change."""
        kind, cell_id = event.kind, event.cell_id
        if kind in ("focus", "saved", "dirty") or (kind == "outputs" and cell_id is None):
            return
        agent = event.author not in (USER, KERNEL)
        if cell_id is not None and kind in ("status", "run", "delete"):
            if kind == "status" and event.details.get("status") in ("queued", "running"):
                self._runners[cell_id] = event.author
            else:
                self._runners.pop(cell_id, None)
        if agent and cell_id is not None and kind in AGENT_MARK_KINDS:
            self._marks[cell_id] = (event.author, time.monotonic())
            self._start_mark_timer()
        if kind == "outputs" and cell_id is not None:
            self._pending_outputs.add(cell_id)
            self._schedule_output_redraw()
            return
        anchor = self._anchor()
        if kind == "delete" and cell_id is not None:
            self._on_deleted(event)
        if kind in STRUCTURE_KINDS:
            self._sync_structure()
        elif cell_id is not None and kind != "status":
            source = kind == "edit"
            outputs = kind in ("run", "outputs_cleared") or (
                kind == "edit" and ("cell_type" in event.details
                                    or "outputs_dropped" in event.details))
            self._invalidate(cell_id, source=source, outputs=outputs)
            self._sync_structure()
            if cell_id in self._pos:
                self._update_height(self._pos[cell_id])
        follow = cell_id if (self.follow and agent and cell_id in self._pos) else None
        self._relayout(anchor, follow_cell=follow)
        if self.selected_id is None and self._ids:
            self._select_index(0, scroll=False)

    def _on_deleted(self, event: DocumentEvent) -> None:
        cell_id = event.cell_id
        assert cell_id is not None
        index = event.details.get("index", 0)
        if self.editing and self.editing[0] == cell_id:
            self.post_message(self.EditedCellDeleted(cell_id, index, event.author))
        if self.selected_id == cell_id:
            self.selected_id = None
            cells = self.document.cells
            if cells:
                self.selected_id = cells[min(index, len(cells) - 1)].id
            self.post_message(self.SelectionChanged(self.selected_id))

    def _schedule_output_redraw(self) -> None:
        # The first update of a burst is drawn at once, the rest at most every 100 ms.
        if self._output_timer is not None:
            return
        wait = self._last_output_redraw + OUTPUT_REDRAW_SECONDS - time.monotonic()
        if wait <= 0:
            self._redraw_outputs()
        else:
            self._output_timer = self.set_timer(wait, self._redraw_outputs)

    def _redraw_outputs(self) -> None:
        self._output_timer = None
        self._last_output_redraw = time.monotonic()
        pending, self._pending_outputs = self._pending_outputs, set()
        anchor = self._anchor()
        self._sync_structure()
        for cell_id in pending:
            self._invalidate(cell_id, outputs=True)
            if cell_id in self._pos:
                self._update_height(self._pos[cell_id])
        follow = None
        if self.follow:
            marked = [c for c in pending if self.agent_mark(c) and c in self._pos]
            follow = marked[0] if marked else None
        self._relayout(anchor, follow_cell=follow)

    def _start_mark_timer(self) -> None:
        if self._mark_timer is None:
            self._mark_timer = self.set_interval(1.0, self._tick_marks)

    def _tick_marks(self) -> None:
        now = time.monotonic()
        for cell_id, (_, since) in list(self._marks.items()):
            if now - since > AGENT_MARK_SECONDS + 1:
                del self._marks[cell_id]
        if not self._marks and self._mark_timer is not None:
            self._mark_timer.stop()
            self._mark_timer = None
        self.refresh()

    # -- editing support (called by the owner) -------------------------------------------

    def set_editing(self, cell_id: str | None, lines: int = 1) -> None:
        """Leave room for the editor over a cell's source (None: nobody is editing)."""
        anchor = self._anchor()
        previous = self.editing[0] if self.editing else None
        self.editing = (cell_id, max(1, lines)) if cell_id is not None else None
        if cell_id is not None and cell_id != previous:
            self._collapse_selection()
            if isinstance(self.editor, TextArea) and self.document.has(cell_id):
                self.editor.show_line_numbers = (
                    self.line_numbers(cell_id)
                    and self.document.get(cell_id).cell_type == "code")
        for changed in {previous, cell_id} - {None}:
            assert changed is not None
            self._invalidate(changed, source=True)
            if changed in self._pos:
                self._update_height(self._pos[changed])
        self._placed = None
        self._relayout(anchor)

    # -- selection -----------------------------------------------------------------------

    @property
    def selected_index(self) -> int | None:
        """The position of the selected cell."""
        if self.selected_id is None:
            return None
        return self._pos.get(self.selected_id)

    @property
    def selected_ids(self) -> list[str]:
        """The selected cells in notebook order: the selected cell, or the range from the
        range anchor to it (without cells deleted a moment ago that the view still shows)."""
        span = self._selection_span()
        if span is None:
            return []
        return [cell_id for cell_id in self._ids[span[0]:span[1] + 1]
                if self.document.has(cell_id)]

    def _selection_span(self) -> tuple[int, int] | None:
        """The first and last position of the selected cells."""
        index = self.selected_index
        if index is None:
            return None
        other = self._pos.get(self.range_anchor, index) if self.range_anchor else index
        return min(index, other), max(index, other)

    def _in_selection(self, cell_id: str) -> bool:
        if cell_id == self.selected_id:
            return True
        if self.range_anchor is None:
            return False
        span = self._selection_span()
        index = self._pos.get(cell_id)
        return span is not None and index is not None and span[0] <= index <= span[1]

    def _collapse_selection(self) -> None:
        """Keep only the selected cell selected."""
        if self.range_anchor is not None:
            self.range_anchor = None
            self.refresh()

    def select(self, cell_id: str, *, scroll: bool = True) -> None:
        """Select a cell (only it) and, if asked, scroll it into view."""
        self._sync_structure()
        if cell_id not in self._pos:
            return
        self._select_index(self._pos[cell_id], scroll=scroll)

    def select_range(self, first_id: str, last_id: str) -> None:
        """Select the cells from `first_id` to `last_id`; `last_id` becomes the selected cell."""
        self.select(last_id)
        if first_id in self._pos and first_id != last_id:
            self.range_anchor = first_id
            self.refresh()

    def _select_index(self, index: int, *, scroll: bool = True, extend: bool = False) -> None:
        if not self._ids:
            return
        index = max(0, min(index, len(self._ids) - 1))
        cell_id = self._ids[index]
        old = self.selected_id
        if extend:
            if self.range_anchor is None and old is not None and old != cell_id:
                self.range_anchor = old
            elif self.range_anchor == cell_id:
                self.range_anchor = None
            self.refresh()
        else:
            self._collapse_selection()
        self.selected_id = cell_id
        if scroll:
            self._relayout_depth += 1
            try:
                self._ensure(index)
                self._scroll_cell_into_view(cell_id)
            finally:
                self._relayout_depth -= 1
            self._relayout(self._anchor())
        for changed in (old, cell_id):
            self._refresh_cell(changed)
        if old != cell_id:
            self.post_message(self.SelectionChanged(cell_id))

    def _refresh_cell(self, cell_id: str | None) -> None:
        top = self.cell_top(cell_id) if cell_id is not None else None
        if top is None:
            return
        index = self._pos[cell_id]  # type: ignore[arg-type]
        height = self._tops[index + 1] - top
        self.refresh(Region(0, top - round(self.scroll_y), self.size.width, height))

    # -- rendering -----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        # The view's own colours under every line: Textual paints no background behind the
        # lines of a widget that draws them itself, and the theme's light text would then sit
        # on the terminal's own background (invisible on a light one).
        return self._line(y).apply_style(self.rich_style)

    def _line(self, y: int) -> Strip:
        width = self._width or self._content_width()
        line = round(self.scroll_y) + y
        if not self._ids and y == 1:
            hint = "  The notebook is empty: press b to add a cell, ? for all keys."
            return Strip([Segment(hint, self._styles.get("more"))]).adjust_cell_length(width)
        if not self._ids or line >= self._tops[-1] or line < 0:
            return Strip.blank(width)
        index = bisect_right(self._tops, line) - 1
        cell_id = self._ids[index]
        entry = self._entries.get(cell_id)
        if entry is not None and entry.source is not None and (
                entry.numbered != self.line_numbers(cell_id)) and not (
                self.editing and self.editing[0] == cell_id):
            entry.source = None  # line numbers switched on or off: same height, redrawn
        if entry is None or not entry.complete:
            entry = self._ensure(index)
            if entry.outputs is not None and entry.outputs.images:
                self._place_sixels_after_refresh()
        offset = line - self._tops[index]
        assert entry.source is not None and entry.outputs is not None
        n_source = len(entry.source)
        n_outputs = len(entry.outputs.lines)
        if offset >= n_source + n_outputs:
            return Strip.blank(width)
        body = (entry.source[offset] if offset < n_source
                else entry.outputs.lines[offset - n_source])
        note = self._sixel_notes.get(line)
        if note is not None:
            body = Strip([Segment(note, self._styles.get("more"))]).adjust_cell_length(
                body.cell_length, self._styles.get("output"))
        cell = self.document.get(cell_id) if self.document.has(cell_id) else None
        left = self._left_columns(cell, cell_id, first=offset == 0)
        if self._match is not None and self._match.cell_id == cell_id:
            spot = self._match_spot_in(entry)
            if spot is not None and spot[0] == offset:
                _, start, end = spot
                body = Strip.join([body.crop(0, start),
                                   Strip(Segment.apply_style(body.crop(start, end),
                                                             post_style=MATCH_STYLE)),
                                   body.crop(end)])
        if offset == 0 and cell is not None:
            body = self._with_badge(body, cell, cell_id)
        return Strip.join([left, body, Strip.blank(RIGHT_MARGIN)]).simplify()

    def _left_columns(self, cell: Cell | None, cell_id: str, *, first: bool) -> Strip:
        styles = self._styles
        if self._in_selection(cell_id):
            editing = self.editing is not None and self.editing[0] == cell_id
            gutter = Segment("▌", styles["gutter-edit" if editing else "gutter-command"])
        else:
            gutter = Segment(" ")
        prompt_width = PROMPT_WIDTH - GUTTER_WIDTH
        if not first or cell is None or cell.cell_type != "code":
            return Strip([gutter, Segment(" " * prompt_width)], PROMPT_WIDTH)
        if cell.status == "running":
            text, style = "[*]", styles["prompt-running"]
        elif cell.status == "queued":
            text, style = "[…]", styles["prompt-queued"]
        elif cell.execution_count is not None:
            text, style = f"[{cell.execution_count}]", styles["prompt"]
        else:
            text, style = "[ ]", styles["prompt"]
        text = text.rjust(prompt_width - 1)[: prompt_width - 1] + " "
        return Strip([gutter, Segment(text, style)], PROMPT_WIDTH)

    def run_owner(self, cell_id: str) -> str | None:
        """Who asked for the run of a queued or running cell (None: not queued or running)."""
        if not self.document.has(cell_id):
            return None
        if self.document.get(cell_id).status not in ("queued", "running"):
            return None
        return self._runners.get(cell_id)

    def _with_badge(self, body: Strip, cell: Cell, cell_id: str) -> Strip:
        parts = []
        owner = self._runners.get(cell_id) if cell.status in ("queued", "running") else None
        by_agent = owner is not None and owner not in (USER, KERNEL)
        if cell.status == "queued":
            parts.append((f"queued: {owner}" if by_agent else "queued", self._styles["badge"]))
        elif cell.status == "running" and by_agent:
            parts.append((f"running: {owner}", self._styles["badge"]))
        mark = self._marks.get(cell_id)
        if mark is not None and not (by_agent and mark[0] == owner):
            age = time.monotonic() - mark[1]
            if age <= AGENT_MARK_SECONDS:
                fading = age > AGENT_MARK_SECONDS - AGENT_MARK_FADE_SECONDS
                parts.append((f"◆ {mark[0]}", self._styles["agent-fading" if fading
                                                          else "agent"]))
        if not parts:
            return body
        segments: list[Segment] = []
        for text, style in parts:
            segments.append(Segment(f" {text} ", style))
            segments.append(Segment(" "))
        badge = Strip(segments)
        width = body.cell_length
        room = max(0, width - badge.cell_length)
        return Strip.join([body.crop(0, room), badge]).crop(0, width)

    # -- find ------------------------------------------------------------------------------

    def show_match(self, cell_id: str, part: Literal["source", "outputs"], line: int,
                   start: int, end: int) -> None:
        """Select a cell, bring a line of it on screen and highlight columns of that line.

        Args:
            cell_id: the cell.
            part: "source", or "outputs" (their text as :func:`nbtui.core.find.output_lines`
                counts it).
            line: the 0-based line of that part.
            start: the first column (character index in the line) to highlight.
            end: the column after the last.

        Outputs that are hidden, or cut where the line would be, are shown or expanded.
        """
        if cell_id not in self._pos or not self.document.has(cell_id):
            return
        self.select(cell_id, scroll=False)
        self._match = _Match(cell_id, part, line, start, end)
        self._match_spot = None
        if cell_id in self._pending_outputs:
            self._invalidate(cell_id, outputs=True)
        entry = self._ensure(self._pos[cell_id])
        folds: list[Fold] = ["hidden", "collapsed", "expanded"]
        unfolded = False
        while (part == "outputs" and self._match_spot_in(entry) is None
               and entry.outputs is not None and entry.outputs.more_line is not None
               and self.fold_of(cell_id) != "expanded"):
            # Not among the lines shown: show more of the outputs.
            self._folds[cell_id] = folds[folds.index(self.fold_of(cell_id)) + 1]
            self._invalidate(cell_id, outputs=True)
            entry = self._ensure(self._pos[cell_id])
            unfolded = True
        if unfolded:
            self._relayout(self._anchor())
        spot = self._match_spot_in(entry)
        top = self._tops[self._pos[cell_id]]
        if spot is None:
            assert entry.source is not None
            row = len(entry.source) if part == "outputs" else 0
        else:
            row = spot[0]
        self._show_line(top + row)
        self.refresh()

    def clear_match(self) -> None:
        """Stop highlighting the find match."""
        if self._match is not None:
            self._match = None
            self._match_spot = None
            self.refresh()

    def _show_line(self, line: int) -> None:
        """Scroll a line of the whole list on screen, a third down when it was off screen."""
        height = max(1, self.scrollable_content_region.height)
        scroll = round(self.scroll_y)
        if not scroll <= line < scroll + height:
            self._scroll_to_line(line - height // 3)

    def _match_spot_in(self, entry: _Entry) -> tuple[int, int, int] | None:
        """The line of the cell (source lines first) and the screen columns of the match."""
        match = self._match
        if match is None or entry.source is None or entry.outputs is None:
            return None
        lines = entry.source if match.part == "source" else entry.outputs.lines
        if self._match_spot is not None and self._match_spot[0] is lines:
            return self._match_spot[1]
        if match.part == "outputs" and entry.outputs.more_line is not None:
            # Occurrences are counted from the top: only the lines above a cut follow it.
            spot = self._locate(match, lines[:entry.outputs.more_line], entry.numbered)
        else:
            spot = self._locate(match, lines, entry.numbered)
        if spot is not None and match.part == "outputs":
            spot = (spot[0] + len(entry.source), spot[1], spot[2])
        self._match_spot = (lines, spot)
        return spot

    def _locate(self, match: _Match, lines: list[Strip],
                numbered: bool) -> tuple[int, int, int] | None:
        """Where in the drawn lines of a part the match is: its line and screen columns."""
        if not self.document.has(match.cell_id):
            return None
        cell = self.document.get(match.cell_id)
        if match.part == "source":
            texts = cell.source.split("\n")
            if match.line >= len(texts):
                return None
            if cell.cell_type != "markdown" and match.line < len(lines):
                # Code and raw sources are drawn a line per line, cut at the edge, not wrapped.
                shift = line_number_width(len(texts)) if numbered and (
                    cell.cell_type == "code") else 0
                before = texts[match.line][:match.start].expandtabs(4)
                upto = texts[match.line][:match.end].expandtabs(4)
                return match.line, shift + cell_len(before), shift + cell_len(upto)
        else:
            texts = output_lines(cell.outputs)
            if match.line >= len(texts):
                return None
        # Drawn lines that do not follow the text's lines (rendered markdown, wrapped or cut
        # outputs): count the occurrences of the matched text up to the match and find the
        # same occurrence among the drawn lines.
        needle = texts[match.line][match.start:match.end]
        if not needle:
            return None
        wanted = sum(text.count(needle) for text in texts[:match.line])
        wanted += texts[match.line][:match.start].count(needle)
        for row, strip in enumerate(lines):
            drawn = strip.text
            at = drawn.find(needle)
            while at >= 0:
                if wanted == 0:
                    start = cell_len(drawn[:at])
                    return row, start, start + cell_len(needle)
                wanted -= 1
                at = drawn.find(needle, at + len(needle))
        return None

    # -- mouse -----------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        line = round(self.scroll_y) + event.y
        if not self._ids or line >= self._tops[-1]:
            return
        index = bisect_right(self._tops, line) - 1
        cell_id = self._ids[index]
        entry = self._entries.get(cell_id)
        offset = line - self._tops[index]
        if (entry is not None and entry.complete and entry.outputs is not None
                and entry.outputs.more_line is not None
                and offset - len(entry.source or []) == entry.outputs.more_line):
            self.select(cell_id, scroll=False)
            self.action_toggle_output()
            return
        if event.shift:
            self._select_index(index, scroll=False, extend=True)
            return
        was_selected = cell_id == self.selected_id and self.range_anchor is None
        self.select(cell_id, scroll=False)
        if (was_selected or event.chain >= 2) and not (
                self.editing and self.editing[0] == cell_id):
            self.post_message(self.EditRequested(cell_id))

    # -- keys ------------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        if self._chord is not None and event.key != self._chord[0]:
            self._chord = None

    def _chord_complete(self, key: str) -> bool:
        now = time.monotonic()
        if self._chord is not None and self._chord[0] == key and (
                now - self._chord[1] <= CHORD_SECONDS):
            self._chord = None
            return True
        self._chord = (key, now)
        return False

    def _notify_error(self, exc: Exception) -> None:
        self.notify(str(exc), severity="error", timeout=6)

    def action_edit(self) -> None:
        """Edit the selected cell."""
        if self.selected_id is not None:
            self.post_message(self.EditRequested(self.selected_id))

    def action_select_next(self) -> None:
        """Select the cell below."""
        index = self.selected_index
        self._select_index(0 if index is None else index + 1)

    def action_select_previous(self) -> None:
        """Select the cell above."""
        index = self.selected_index
        self._select_index(0 if index is None else index - 1)

    def action_select_first(self) -> None:
        """Select the first cell."""
        self._select_index(0)

    def action_select_last(self) -> None:
        """Select the last cell."""
        self._select_index(len(self._ids) - 1)

    def action_extend_next(self) -> None:
        """Extend the selection to the cell below (or shrink it from above)."""
        index = self.selected_index
        self._select_index(0 if index is None else index + 1, extend=True)

    def action_extend_previous(self) -> None:
        """Extend the selection to the cell above (or shrink it from below)."""
        index = self.selected_index
        self._select_index(0 if index is None else index - 1, extend=True)

    def _insert(self, *, above: bool, cell_type: str = "code", source: str = "",
                metadata: dict[str, Any] | None = None) -> Cell | None:
        anchor_id = self.selected_id
        try:
            if anchor_id is None:
                cell = self.document.insert_cell(source, cell_type, author=USER,
                                                 metadata=metadata)
            elif above:
                cell = self.document.insert_cell(source, cell_type, before_cell_id=anchor_id,
                                                 author=USER, metadata=metadata)
            else:
                cell = self.document.insert_cell(source, cell_type, after_cell_id=anchor_id,
                                                 author=USER, metadata=metadata)
        except DocumentError as exc:
            self._notify_error(exc)
            return None
        self.catch_up()
        self.select(cell.id)
        return cell

    def catch_up(self) -> None:
        """Apply a structural change made here now (its event message comes later)."""
        anchor = self._anchor()
        if self._sync_structure():
            self._relayout(anchor)

    def insert_below(self, cell_type: str = "code", source: str = "") -> Cell | None:
        """Insert a cell below the selected one and select it."""
        return self._insert(above=False, cell_type=cell_type, source=source)

    def action_insert_above(self) -> None:
        """Insert an empty code cell above the selected one."""
        self._insert(above=True)

    def action_insert_below(self) -> None:
        """Insert an empty code cell below the selected one."""
        self._insert(above=False)

    def action_delete(self) -> None:
        """Delete the selected cells on the second press of `d`."""
        if not self._chord_complete("d") or self.selected_id is None:
            return
        self.delete_selected()

    def delete_selected(self) -> list[Cell]:
        """Delete the selected cells now (one step for z) and select the cell after them."""
        span = self._selection_span()
        if span is None:
            return []
        try:
            cells = self.document.delete_cells(self.selected_ids, author=USER)
        except DocumentError as exc:
            self._notify_error(exc)
            return []
        self.catch_up()
        if self._ids:
            self._select_index(min(span[0], len(self._ids) - 1))
        else:
            self.selected_id = None
            self.post_message(self.SelectionChanged(None))
        return cells

    def action_undo_delete(self) -> None:
        """Bring back the cells of the last delete, cut or merge, selected."""
        cells = self.document.restore_deleted_cells(author=USER)
        if not cells:
            self.notify("Nothing to undelete.")
            return
        self.catch_up()
        self.select_range(cells[0].id, cells[-1].id)

    def action_undo_agent_change(self) -> None:
        """Take back the last change an agent made to the selected cell: its edit, its move,
        or the cell itself if an agent inserted it (z brings that back)."""
        cell_id = self.selected_id
        if cell_id is None or not self.document.has(cell_id):
            return
        number = self.document.index_of(cell_id) + 1
        try:
            change = self.document.undo_agent_change(cell_id, author=USER)
        except DocumentError as exc:
            self._notify_error(exc)
            return
        if change is None:
            self.notify(f"Cell {number} has no agent change to undo.")
            return
        self._marks.pop(cell_id, None)
        self.catch_up()
        who = change.author
        if change.kind == "insert":
            if self._ids:
                self._select_index(min(number - 1, len(self._ids) - 1))
            else:
                self.selected_id = None
                self.post_message(self.SelectionChanged(None))
            self.notify(f"Removed the cell {who} inserted (cell {number}); z brings it back.")
        elif change.kind == "move":
            self.select(cell_id)
            self.notify(f"Undid {who}'s move of cell {number}: it is cell "
                        f"{self.document.index_of(cell_id) + 1} again.")
        else:
            self.notify(f"Undid {who}'s edit of cell {number}.")

    def action_cut(self) -> None:
        """Cut the selected cells to the clipboard."""
        if self.selected_id is None:
            return
        self.action_copy()
        self.delete_selected()

    def action_copy(self) -> None:
        """Copy the selected cells to the clipboard, in order."""
        cells = [self.document.get(cell_id) for cell_id in self.selected_ids]
        if cells:
            self.clipboard = [ClipboardCell(cell.cell_type, cell.source, dict(cell.metadata))
                              for cell in cells]

    def action_paste(self) -> None:
        """Paste the clipboard's cells below the selected ones, in order."""
        span = self._selection_span()
        if span is not None and self.range_anchor is not None:
            self._select_index(span[1], scroll=False)
        for item in self.clipboard:
            self._insert(above=False, cell_type=item.cell_type, source=item.source,
                         metadata=item.metadata)

    def action_to_type(self, cell_type: str) -> None:
        """Change the selected cells' type."""
        for cell_id in self.selected_ids:
            try:
                self.document.edit_cell(cell_id, cell_type=cell_type, author=USER)
            except DocumentError as exc:
                self._notify_error(exc)
                return

    def action_merge(self) -> None:
        """Merge the selected cells into the first of them; one cell merges with the one below.

        As in Jupyter the sources are joined with a newline, the first cell's type is kept
        and outputs are dropped; z undoes it.
        """
        ids = self.selected_ids
        if len(ids) == 1:
            index = self._pos[ids[0]]
            if index + 1 >= len(self._ids):
                self.notify("There is no cell below to merge with.")
                return
            ids.append(self._ids[index + 1])
        if not ids:
            return
        try:
            merged = self.document.merge_cells(ids, author=USER)
        except DocumentError as exc:
            self._notify_error(exc)
            return
        self.catch_up()
        self.select(merged.id)

    def action_move(self, step: int) -> None:
        """Move the selected cells one place up (step -1) or down (step 1)."""
        span = self._selection_span()
        if span is None:
            return
        first, last = span
        if step < 0 and first > 0:
            # The cell above the range goes below it: one move, whatever the range's size.
            neighbour, index = self._ids[first - 1], last
        elif step > 0 and last + 1 < len(self._ids):
            neighbour, index = self._ids[last + 1], first
        else:
            return
        try:
            self.document.move_cell(neighbour, index=index, author=USER)
        except DocumentError as exc:
            self._notify_error(exc)
            return
        self.catch_up()
        if self.selected_id is not None:
            self._scroll_cell_into_view(self.selected_id)
        self.refresh()

    def action_clear_outputs(self) -> None:
        """Clear the outputs of the selected cells."""
        self.document.clear_outputs(self.selected_ids, author=USER)

    def action_clear_all_outputs(self) -> None:
        """Clear the outputs of every cell."""
        self.document.clear_outputs(author=USER)

    def line_numbers(self, cell_id: str) -> bool:
        """Whether a cell's source is drawn with line numbers (code cells only show them)."""
        return self.all_line_numbers != (cell_id in self._line_numbers_toggled)

    def action_toggle_line_numbers(self) -> None:
        """Switch line numbers on or off for the selected cells (as the selected one was)."""
        if self.selected_id is None:
            return
        show = not self.line_numbers(self.selected_id)
        for cell_id in self.selected_ids:
            if self.line_numbers(cell_id) != show:
                self._line_numbers_toggled ^= {cell_id}
        self.refresh()

    def action_toggle_all_line_numbers(self) -> None:
        """Switch line numbers on or off for every cell."""
        self.all_line_numbers = not self.all_line_numbers
        self._line_numbers_toggled.clear()
        self.refresh()

    def action_view_image(self) -> None:
        """Show the selected cell's last picture fitted to the terminal (the others: n/p)."""
        cell_id = self.selected_id
        if cell_id is None or not self.document.has(cell_id):
            return
        cell = self.document.get(cell_id)
        pictures = cell_pictures(cell.outputs)
        number = self.document.index_of(cell_id) + 1
        if not pictures:
            self.notify(f"Cell {number} has no image output.")
            return
        self.app.push_screen(ImageViewScreen(pictures, f"Cell {number}"))

    def action_toggle_output(self) -> None:
        """Cycle the selected cell's outputs: collapsed → expanded → hidden → collapsed.

        Outputs short enough to show whole skip the expanded step.
        """
        cell_id = self.selected_id
        if cell_id not in self._pos or not self.document.has(cell_id):
            return
        anchor = self._anchor()
        if cell_id in self._pending_outputs:
            # Outputs arrived since the cell was drawn: whether they are cut is not known yet.
            self._invalidate(cell_id, outputs=True)
        entry = self._ensure(self._pos[cell_id])
        assert entry.outputs is not None
        fold = self.fold_of(cell_id)
        if fold == "collapsed":
            new: Fold = "expanded" if entry.outputs.more > 0 else "hidden"
        elif fold == "expanded":
            new = "hidden"
        else:
            new = "collapsed"
        self._folds[cell_id] = new
        self._invalidate(cell_id, outputs=True)
        self._update_height(self._pos[cell_id])
        self._relayout(anchor)

    def action_toggle_follow(self) -> None:
        """Switch follow mode: scroll to the cells agents work on."""
        self.follow = not self.follow
        self.post_message(self.FollowChanged(self.follow))
        self.notify("Following the agent." if self.follow else "Not following the agent.")

    def action_run(self, how: str) -> None:
        """Run the selected cells (see :data:`~nbtui.tui.messages.RunHow`).

        Several selected cells run in order; then run_next selects the cell after them (a new
        one, edited, after the last cell) and run_insert inserts a cell below them to edit.
        """
        ids = self.selected_ids
        if len(ids) <= 1:
            self.post_message(RunRequested(how, self.selected_id))  # type: ignore[arg-type]
            return
        self.post_message(RunCellsRequested(ids))
        if how == "run":
            return
        last = self._pos[ids[-1]]
        if how == "run_next" and last + 1 < len(self._ids):
            self._select_index(last + 1)
            return
        self._select_index(last)
        cell = self.insert_below()
        if cell is not None:
            self.post_message(self.EditRequested(cell.id))

    def _run_cells(self, cell_ids: list[str], *, restart: bool = False,
                   none: str = "There are no cells to run.") -> None:
        if not cell_ids:
            self.notify(none)
            return
        self.post_message(RunCellsRequested(cell_ids, restart=restart))

    def action_run_all(self) -> None:
        """Run every cell, top to bottom."""
        self._run_cells(self.cell_ids)

    def action_run_above(self) -> None:
        """Run the cells above the selected one (not it), as Jupyter does."""
        index = self.selected_index
        self._run_cells([] if index is None else self._ids[:index],
                        none="There are no cells above this one.")

    def action_run_below(self) -> None:
        """Run the selected cell and every cell below it, as Jupyter does."""
        index = self.selected_index
        self._run_cells([] if index is None else self._ids[index:])

    def action_restart_run_all(self) -> None:
        """Restart the kernel and run every cell, on the second press of `)`."""
        if self._chord_complete("right_parenthesis"):
            self._run_cells(self.cell_ids, restart=True)

    def action_agent_access(self) -> None:
        """Let agents do more, or less: read → edit → run → read."""
        self.post_message(AgentAccessRequested())

    def action_approval_mode(self) -> None:
        """Switch approval of agent runs on or off."""
        self.post_message(ApprovalModeRequested())

    def action_interrupt(self) -> None:
        """Interrupt the kernel on the second press of `i`."""
        if self._chord_complete("i"):
            self.post_message(KernelRequested("interrupt"))

    def action_restart(self) -> None:
        """Restart the kernel on the second press of `0`."""
        if self._chord_complete("0"):
            self.post_message(KernelRequested("restart"))
