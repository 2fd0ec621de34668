"""The notebook pane: the cell view, the one editor over it, and the modes between them.

The pane owns what spans both widgets: entering and leaving edit mode, sending the editor's text
to the document while the human types (debounced) and when they leave, telling the document
where the human is (`set_focus`), running cells and talking to the kernel, finding and replacing
across the notebook (the find bar at its bottom), splitting the edited cell, and copying to the
system clipboard.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TextIO

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.geometry import Offset
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import TextArea

from nbtui.core.document import USER, DocumentError
from nbtui.core.find import (
    FindResult,
    Match,
    OutputTexts,
    find_matches,
    output_lines,
    pick,
    replace_all,
    replace_match,
)
from nbtui.core.kernel import KernelError
from nbtui.tui.messages import DocumentChanged, KernelRequested, RunCellsRequested, RunRequested
from nbtui.tui.widgets.editor import CellEditor, CompletionMenu, InspectPanel
from nbtui.tui.widgets.find_bar import FindBar
from nbtui.tui.widgets.notebook_view import NotebookView

if TYPE_CHECKING:
    from nbtui.core.session import NotebookSession

EDIT_SYNC_SECONDS = 0.3
"""Typing reaches the document this long after the last keystroke (and on leaving edit mode)."""

EDIT_SYNC_MAX_SECONDS = 1.0
"""...and at least this often while the human keeps typing without a pause."""

TMUX_QUERY_SECONDS = 1.0
"""How long to wait for tmux to say whether it passes clipboard copies on."""

NO_OSC52_TERMS = ("dumb", "linux")
"""Terminals that have no clipboard escape (the Linux console, a dumb terminal)."""

Mode = Literal["command", "edit"]


class NotebookPane(Container):
    """The notebook being worked on: a :class:`NotebookView` with the editor floating over it.

    Args:
        session: the notebook session (its document and kernel).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "find", "Find in sources and outputs", id="pane.find",
                key_display="/"),
        Binding("ctrl+f", "find", "Find in sources and outputs (also while editing)",
                id="pane.find_anywhere", key_display="ctrl+f", priority=True),
        Binding("n", "find_step(True)", "Next match", id="pane.find_next", key_display="n"),
        Binding("N", "find_step(False)", "Previous match", id="pane.find_previous",
                key_display="N"),
        Binding("Y", "copy_source", "Copy the cell's source to the system clipboard",
                id="pane.copy_source", key_display="Y"),
        Binding("ctrl+y", "copy_output", "Copy the cell's output text to the system clipboard",
                id="pane.copy_output", key_display="ctrl+y"),
        Binding("ctrl+shift+minus,ctrl+underscore", "split", "Split the cell at the cursor",
                id="pane.split", key_display="ctrl+shift+-"),
        Binding("ctrl+backslash", "split", "Split the cell at the cursor (fallback for "
                "ctrl+shift+-)", id="pane.split_fallback", key_display="ctrl+\\"),
    ]

    mode: reactive[Mode] = reactive("command")
    """command: keys act on cells; edit: keys type into the selected cell."""

    def __init__(self, session: NotebookSession, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.document = session.document
        self._sync_timer: Timer | None = None
        self._unsent_since: float | None = None
        self._completion_span: tuple[int, int] | None = None
        self._tasks: set[asyncio.Task] = set()
        self._find_query = ""
        self._find_origin: Match | None = None
        """Where the search started (the selected cell when the bar opened)."""
        self._match: Match | None = None
        """The match shown now."""
        self._output_texts = OutputTexts()
        self._reveal: set[str] = set()
        """Cells the human ran from the keyboard whose outputs are scrolled into view."""

    @property
    def language(self) -> str | None:
        """The kernel language (from the notebook's metadata until the kernel says)."""
        info = self.document.metadata.get("language_info") or {}
        spec = self.document.metadata.get("kernelspec") or {}
        return (self.session.kernel.language
                or (info.get("name") if isinstance(info, dict) else None)
                or (spec.get("language") if isinstance(spec, dict) else None))

    def compose(self) -> ComposeResult:
        yield NotebookView(self.document, self.language, id="cells")
        yield CellEditor(id="editor")
        yield CompletionMenu(id="completions")
        yield InspectPanel(id="inspect")
        yield FindBar(id="find")

    @property
    def view(self) -> NotebookView:
        """The cell list."""
        return self.query_one(NotebookView)

    @property
    def editor(self) -> CellEditor:
        """The one editor."""
        return self.query_one(CellEditor)

    @property
    def find_bar(self) -> FindBar:
        """The find bar."""
        return self.query_one(FindBar)

    def on_mount(self) -> None:
        view = self.view
        view.editor = self.editor
        self.editor.display = False
        self.query_one(CompletionMenu).display = False
        self.query_one(InspectPanel).display = False
        self.find_bar.display = False
        view.focus()
        self._publish_focus()

    # -- document events -------------------------------------------------------------------

    def on_document_changed(self, message: DocumentChanged) -> None:
        event = message.event
        self.view.apply_event(event)
        if event.cell_id in self._reveal and event.kind in ("outputs", "run", "delete"):
            if event.kind != "outputs":
                self._reveal.discard(event.cell_id)
            if event.kind != "delete":
                self.call_after_refresh(self._reveal_outputs, event.cell_id)

    # -- modes -----------------------------------------------------------------------------

    def _publish_focus(self) -> None:
        cell_id = self.view.selected_id
        mode = self.mode if cell_id is not None else "command"
        self.document.set_focus(cell_id, mode)

    class ModeChanged(Message):
        """The human switched between command and edit mode."""

        def __init__(self, mode: Mode) -> None:
            super().__init__()
            self.mode = mode

    def watch_mode(self, mode: Mode) -> None:
        self.set_class(mode == "edit", "-editing")
        self._publish_focus()
        self.post_message(self.ModeChanged(mode))

    @on(NotebookView.SelectionChanged)
    def _selection_changed(self, message: NotebookView.SelectionChanged) -> None:
        if self.mode == "edit" and message.cell_id != self.editor.cell_id:
            self.leave_edit()
        if (self._match is not None and message.cell_id != self._match.cell_id
                and not self.find_bar.display):
            self.view.clear_match()
        self._publish_focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "split":
            return self.mode == "edit"
        if action in ("find_step", "copy_source", "copy_output"):
            return self.mode == "command"
        return True

    @on(NotebookView.EditRequested)
    def _edit_requested(self, message: NotebookView.EditRequested) -> None:
        self.enter_edit(message.cell_id)

    def enter_edit(self, cell_id: str | None = None) -> None:
        """Start editing a cell (the selected one by default)."""
        view, editor = self.view, self.editor
        cell_id = cell_id or view.selected_id
        if cell_id is None or not self.document.has(cell_id):
            return
        if self.mode == "edit":
            if editor.cell_id == cell_id:
                editor.focus()
                return
            self.leave_edit()
        if view.selected_id != cell_id:
            view.select(cell_id)
        cell = self.document.get(cell_id)
        editor.load_cell(cell_id, cell.source, cell.cell_type, self.language)
        view.set_editing(cell_id, editor.document.line_count)
        editor.display = True
        editor.focus()
        self.mode = "edit"

    def leave_edit(self) -> None:
        """Back to command mode; the editor's text goes to the document first."""
        if self.mode != "edit":
            return
        self.flush_edit()
        self._close_popups()
        editor = self.editor
        editor.cell_id = None
        editor.display = False
        self.view.set_editing(None)
        self.view.focus()
        self.mode = "command"

    def flush_edit(self) -> None:
        """Send the editor's text to the document now, if it differs."""
        if self._sync_timer is not None:
            self._sync_timer.stop()
            self._sync_timer = None
        self._unsent_since = None
        editor = self.editor
        cell_id = editor.cell_id
        if cell_id is None or not self.document.has(cell_id):
            return
        if self.document.get(cell_id).source != editor.text:
            try:
                self.document.edit_cell(cell_id, editor.text, author=USER)
            except DocumentError as exc:
                self.notify(str(exc), severity="error")

    @on(TextArea.Changed, "#editor")
    def _editor_changed(self, message: TextArea.Changed) -> None:
        editor = self.editor
        if editor.cell_id is None:
            return
        lines = editor.document.line_count
        if self.view.editing and self.view.editing[1] != lines:
            self.view.set_editing(editor.cell_id, lines)
        now = time.monotonic()
        if self._unsent_since is None:
            self._unsent_since = now
        elif now - self._unsent_since >= EDIT_SYNC_MAX_SECONDS:
            self.flush_edit()
            return
        if self._sync_timer is not None:
            self._sync_timer.stop()
        self._sync_timer = self.set_timer(EDIT_SYNC_SECONDS, self.flush_edit)

    @on(TextArea.SelectionChanged, "#editor")
    def _cursor_moved(self, message: TextArea.SelectionChanged) -> None:
        editor = self.editor
        if editor.cell_id is None:
            return
        top = self.view.cell_top(editor.cell_id)
        if top is not None:
            self.view.scroll_line_into_view(top + editor.cursor_location[0])
        if self.query_one(InspectPanel).display:
            self.call_after_refresh(self._place_inspect_panel)

    @on(CellEditor.LeaveRequested)
    def _leave_requested(self) -> None:
        inspect = self.query_one(InspectPanel)
        if inspect.display:
            inspect.hide()
            return
        self.leave_edit()

    @on(NotebookView.EditedCellDeleted)
    def _edited_cell_deleted(self, message: NotebookView.EditedCellDeleted) -> None:
        editor = self.editor
        if editor.cell_id != message.cell_id:
            return
        text = editor.text
        self.leave_edit()
        index = min(message.index, len(self.document.cells))
        cell = self.document.insert_cell(text, index=index, author=USER)
        self.view.catch_up()
        self.view.select(cell.id)
        self.notify(f"{message.author} deleted the cell you were editing; your text is kept in "
                    "a new cell.", severity="warning", timeout=8)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        # The wheel over the editor (which does not scroll itself) scrolls the notebook.
        if event.widget is not self.view:
            self.view.scroll_down(animate=False)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if event.widget is not self.view:
            self.view.scroll_up(animate=False)

    # -- running -----------------------------------------------------------------------------

    @on(RunRequested)
    def _run_requested(self, message: RunRequested) -> None:
        message.stop()
        view = self.view
        cell_id = message.cell_id or view.selected_id
        if cell_id is None or not self.document.has(cell_id):
            return
        editing = self.mode == "edit"
        if editing:
            self.flush_edit()
        try:
            self.session.kernel.run_cell(cell_id, USER)
        except (KernelError, DocumentError) as exc:
            self.notify(str(exc), severity="error", timeout=6)
        else:
            self._reveal.add(cell_id)
        if message.how == "run":
            self.leave_edit()
            return
        self.leave_edit()
        index = self.document.index_of(cell_id) if self.document.has(cell_id) else None
        if message.how == "run_next" and index is not None and index + 1 < len(view.cell_ids):
            view.select(view.cell_ids[index + 1])
            return
        view.select(cell_id)
        cell = view.insert_below()
        if cell is not None:
            self.enter_edit(cell.id)

    @on(RunCellsRequested)
    def _run_cells_requested(self, message: RunCellsRequested) -> None:
        message.stop()
        if self.mode == "edit":
            self.flush_edit()
        cell_ids = list(message.cell_ids)
        if message.restart:
            self._spawn(self._restart_and_run(cell_ids))
        else:
            self._queue_cells(cell_ids)

    async def _restart_and_run(self, cell_ids: list[str]) -> None:
        if await self._restart():
            self._queue_cells(cell_ids)

    def _queue_cells(self, cell_ids: list[str]) -> None:
        """Queue cells in order; one notice for those that could not be queued."""
        failed: list[Exception] = []
        for index, cell_id in enumerate(cell_ids):
            try:
                self.session.kernel.run_cell(cell_id, USER)
            except KernelError as exc:
                # The kernel cannot run anything now: the rest would fail the same way.
                failed.extend([exc] * (len(cell_ids) - index))
                break
            except DocumentError as exc:
                failed.append(exc)
            else:
                self._reveal.add(cell_id)
        if failed:
            count = len(failed)
            self.notify(f"{count} of {len(cell_ids)} cell{'s' if len(cell_ids) != 1 else ''} "
                        f"could not be queued: {failed[0]}", severity="error", timeout=8)

    def _reveal_outputs(self, cell_id: str) -> None:
        """Scroll a run cell's newest output into view, if the human is still at that cell
        (it is selected, or it is the one just above the selection)."""
        view = self.view
        ids = view.cell_ids
        selected = view.selected_index
        if cell_id not in ids or selected is None:
            return
        index = ids.index(cell_id)
        if index not in (selected, selected - 1):
            return
        below = ids[index + 1] if index + 1 < len(ids) else None
        top = view.cell_top(cell_id)
        end = view.cell_top(below) if below is not None else view.virtual_size.height
        if top is None or end is None:
            return
        # The last line of the outputs, unless that pushes the cell's first line off the top
        # (a long output then shows as much of itself as fits under its cell's source).
        height = max(1, view.scrollable_content_region.height)
        view.scroll_line_into_view(min(end - 2, top + height - 1))
        if below is not None and index == selected - 1:
            view.scroll_line_into_view(end)

    @on(KernelRequested)
    def _kernel_requested(self, message: KernelRequested) -> None:
        message.stop()
        if message.what == "interrupt":
            self._spawn(self._interrupt())
        else:
            self._spawn(self._restart())

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _interrupt(self) -> None:
        try:
            result = await self.session.kernel.interrupt()
        except KernelError as exc:
            self.notify(str(exc), severity="error")
            return
        stopped = len(result.get("stopped", [])) + len(result.get("dequeued", []))
        self.notify(f"Interrupted the kernel ({stopped} run{'s' if stopped != 1 else ''} "
                    "stopped).")

    async def _restart(self) -> bool:
        """Restart the kernel; False (after telling the human) if it failed."""
        self.notify("Restarting the kernel…")
        try:
            await self.session.kernel.restart()
        except KernelError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return False
        self.notify("The kernel restarted.")
        return True

    # -- completion and inspection ---------------------------------------------------------

    @on(CellEditor.CompletionRequested)
    def _completion_requested(self, message: CellEditor.CompletionRequested) -> None:
        self._spawn(self._complete(message.code, message.cursor))

    async def _complete(self, code: str, cursor: int) -> None:
        try:
            reply = await self.session.kernel.complete(code, cursor)
        except KernelError as exc:
            self.notify(str(exc), severity="warning")
            return
        editor = self.editor
        if editor.cell_id is None or editor.text != code:
            return
        matches = reply.get("matches") or []
        start, end = reply.get("cursor_start", cursor), reply.get("cursor_end", cursor)
        self._completion_span = (start, end)
        if not matches:
            self.notify("No completions.", timeout=2)
            return
        if len(matches) == 1:
            self._apply_completion(matches[0])
            return
        self.query_one(InspectPanel).hide()
        self.query_one(CompletionMenu).show(matches[:200], self._cursor_in_pane(),
                                            self.region.size)

    @on(CompletionMenu.Picked)
    def _completion_picked(self, message: CompletionMenu.Picked) -> None:
        if message.text is not None:
            self._apply_completion(message.text)
        if self.mode == "edit":
            self.editor.focus()

    def _apply_completion(self, text: str) -> None:
        editor = self.editor
        start, end = self._completion_span or (editor.cursor_offset, editor.cursor_offset)
        document = editor.document
        editor.replace(text, document.get_location_from_index(start),
                       document.get_location_from_index(end))

    @on(CellEditor.InspectionRequested)
    def _inspection_requested(self, message: CellEditor.InspectionRequested) -> None:
        self._spawn(self._inspect(message.code, message.cursor))

    async def _inspect(self, code: str, cursor: int) -> None:
        try:
            text = await self.session.kernel.inspect(code, cursor)
        except KernelError as exc:
            self.notify(str(exc), severity="warning")
            return
        if self.mode == "edit":
            self.query_one(InspectPanel).show_text(text)
            self._place_inspect_panel()

    def _cursor_in_pane(self) -> Offset:
        return self.editor.cursor_screen_offset - self.region.offset

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._place_popups)

    def _place_popups(self) -> None:
        menu = self.query_one(CompletionMenu)
        if menu.display:
            menu.place(self._cursor_in_pane(), self.region.size)
        self._place_inspect_panel()

    def _place_inspect_panel(self) -> None:
        panel = self.query_one(InspectPanel)
        if panel.display and self.mode == "edit":
            panel.keep_clear_of(self._cursor_in_pane().y, self.region.height)

    def _close_popups(self) -> None:
        self.query_one(CompletionMenu).display = False
        self.query_one(InspectPanel).hide()

    # -- find and replace ------------------------------------------------------------------

    def action_find(self) -> None:
        """Open the find bar (leaving edit mode, with the editor's text sent first)."""
        self.leave_edit()
        bar = self.find_bar
        if not bar.display:
            self._find_origin = self._start_of_selection()
        bar.open()
        if self._find_query:
            self._search(self._match or self._find_origin, inclusive=True)

    def _start_of_selection(self) -> Match | None:
        cell_id = self.view.selected_id
        return None if cell_id is None else Match(cell_id, "source", 0, 0, 0)

    @on(FindBar.QueryChanged)
    def _find_query_changed(self, message: FindBar.QueryChanged) -> None:
        self._find_query = message.query
        self._search(self._find_origin, inclusive=True)

    @on(FindBar.Step)
    def _find_step_requested(self, message: FindBar.Step) -> None:
        self.action_find_step(message.forward)

    def action_find_step(self, forward: bool) -> None:
        """Go to the next (or previous) match of the last query, wrapping at the ends."""
        if not self._find_query:
            self.notify("Nothing to find yet: press / to search.", timeout=4)
            return
        match = self._match
        if match is not None and match.cell_id == self.view.selected_id:
            self._search(match, forward=forward)
        else:
            # The human moved: search from the cell they are at now.
            self._search(self._start_of_selection(), forward=forward, inclusive=forward)

    @on(FindBar.Closed)
    def _find_closed(self) -> None:
        self.view.clear_match()
        self.view.focus()

    def _search(self, origin: Match | None, *, forward: bool = True,
                inclusive: bool = False) -> None:
        """Find the query again (the notebook may have changed) and show the match that
        follows `origin` (or precedes it)."""
        result = find_matches(self.document, self._find_query, texts=self._output_texts)
        if origin is None:
            origin = Match(self.document.cells[0].id, "source", 0, 0, 0) if (
                self.document.cells) else None
        picked = None if origin is None else pick(self.document, result.matches, origin,
                                                   forward=forward, inclusive=inclusive)
        if picked is None:
            self._match = None
            self.view.clear_match()
            self._say(result, None, "")
            return
        index, wrapped = picked
        match = result.matches[index]
        self._match = match
        self.view.show_match(match.cell_id, match.part, match.line, match.start, match.end)
        self._say(result, index, ("wrapped to the top" if forward else "wrapped to the bottom")
                  if wrapped else "")

    def _say(self, result: FindResult, index: int | None, note: str) -> None:
        """Tell the human where the search stands: in the bar, or in a notice when the bar
        is closed (n and N in command mode)."""
        case = "matching case" if result.case_sensitive else "ignoring case"
        total = f"{len(result.matches)}{'' if result.complete else '+'}"
        if not self._find_query:
            text = ""
        elif index is None:
            text = f"No matches · {case}"
        else:
            text = f"{index + 1} of {total} · {case}"
        bar = self.find_bar
        if bar.display:
            bar.say(f"{text} · {note}" if note else text)
        elif text:
            self.notify(f"{text}; {note}." if note else f"{text}.", timeout=3)

    @on(FindBar.Replace)
    def _replace_requested(self, message: FindBar.Replace) -> None:
        self.leave_edit()
        if message.query != self._find_query:
            self._find_query = message.query
        if message.all:
            self._replace_all(message.replacement)
        else:
            self._replace_current(message.replacement)

    def _replace_current(self, replacement: str) -> None:
        """Replace the match shown (if it is in a source, and still there), then show the
        next one."""
        match = self._match
        fresh = find_matches(self.document, self._find_query, texts=self._output_texts).matches
        if match is None or match not in fresh:
            self._search(match or self._find_origin, inclusive=True)
            return
        if match.part != "source":
            self.notify("That match is in an output, and outputs never change; showing the "
                        "next one.", timeout=4)
            self._search(match)
            return
        cell = self.document.get(match.cell_id)
        try:
            self.document.edit_cell(cell.id, replace_match(cell.source, match, replacement),
                                    author=USER)
        except DocumentError as exc:
            self.notify(str(exc), severity="error", timeout=6)
            return
        after = Match(match.cell_id, "source", match.line, match.start + len(replacement),
                      match.start + len(replacement))
        self._search(after, inclusive=True)

    def _replace_all(self, replacement: str) -> None:
        """Replace every match in every cell's source (outputs never change); one notice."""
        total = cells = 0
        for cell in list(self.document.cells):
            source, count = replace_all(cell.source, self._find_query, replacement)
            if not count:
                continue
            try:
                self.document.edit_cell(cell.id, source, author=USER)
            except DocumentError as exc:
                self.notify(str(exc), severity="error", timeout=6)
                continue
            total += count
            cells += 1
        if total:
            self.notify(f"Replaced {total} in {cells} cell{'s' if cells != 1 else ''}.")
        else:
            self.notify("Nothing to replace in the cells' sources (outputs never change).")
        self._search(self._match or self._find_origin, inclusive=True)

    # -- splitting -----------------------------------------------------------------------------

    def action_split(self) -> None:
        """Split the edited cell at the cursor and go on editing the second half."""
        cell_id = self.editor.cell_id
        if self.mode != "edit" or cell_id is None:
            return
        offset = self.editor.cursor_offset
        self.leave_edit()
        try:
            _, lower = self.document.split_cell(cell_id, offset, author=USER)
        except DocumentError as exc:
            self.notify(str(exc), severity="error", timeout=6)
            self.enter_edit(cell_id)
            return
        self.view.catch_up()
        self.enter_edit(lower.id)
        self.editor.move_cursor((0, 0))

    # -- the system clipboard --------------------------------------------------------------

    def action_copy_source(self) -> None:
        """Copy the selected cell's source to the system clipboard (OSC 52)."""
        cell_id = self.view.selected_id
        if cell_id is None or not self.document.has(cell_id):
            return
        source = self.document.get(cell_id).source
        if not source:
            self.notify("The cell is empty: nothing to copy.", timeout=4)
            return
        self._copy(source)

    def action_copy_output(self) -> None:
        """Copy the selected cell's output text (plain, no colours) to the system clipboard."""
        cell_id = self.view.selected_id
        if cell_id is None or not self.document.has(cell_id):
            return
        text = "\n".join(output_lines(self.document.get(cell_id).outputs))
        if not text:
            self.notify("The cell has no output text to copy.", timeout=4)
            return
        self._copy(text)

    def _copy(self, text: str) -> None:
        lines = text.count("\n") + 1
        what = f"{lines} line{'s' if lines != 1 else ''}"
        # A headless app (tests) has no terminal: the copy stays in `app.clipboard`.
        problem = None if self.app.is_headless else terminal_clipboard_problem(
            os.environ.get("TERM", ""), sys.__stderr__)
        if problem is not None:
            self.notify(f"Could not copy {what}: {problem}", severity="warning", timeout=8)
            return
        self.app.copy_to_clipboard(text)
        if os.environ.get("TMUX"):
            self._spawn(self._copied_in_tmux(what))
        else:
            self.notify(f"Copied {what} to the clipboard (OSC 52).")

    async def _copied_in_tmux(self, what: str) -> None:
        setting = await tmux_set_clipboard()
        if setting in (None, "on"):
            self.notify(f"Copied {what} to the clipboard (OSC 52).")
        else:
            self.notify(f"Sent {what} to the clipboard (OSC 52), but tmux's set-clipboard is "
                        f"{setting}: add `set -g set-clipboard on` to ~/.tmux.conf for copies "
                        "to arrive.", severity="warning", timeout=10)


def terminal_clipboard_problem(term: str, stream: TextIO | None) -> str | None:
    """Why a clipboard escape (OSC 52) cannot reach the terminal, or None if it can.

    Args:
        term: the TERM environment variable.
        stream: where Textual writes the screen (its drivers use stderr).
    """
    if term in NO_OSC52_TERMS:
        return f"this terminal (TERM={term}) has no clipboard escape (OSC 52)."
    if stream is None or not stream.isatty():
        return "nbtui's output is not a terminal."
    return None


async def tmux_set_clipboard() -> str | None:
    """tmux's `set-clipboard` option (on, external, off), or None if tmux did not say."""
    try:
        process = await asyncio.create_subprocess_exec(
            "tmux", "show-options", "-gv", "set-clipboard", stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    except OSError:
        return None
    try:
        out, _ = await asyncio.wait_for(process.communicate(), TMUX_QUERY_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        return None
    value = out.decode(errors="replace").strip()
    return value or None
