"""The notebook pane: the cell view, the one editor over it, and the modes between them.

The pane owns what spans both widgets: entering and leaving edit mode, sending the editor's text
to the document while the human types (debounced) and when they leave, telling the document
where the human is (`set_focus`), running cells and talking to the kernel.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Literal

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Container
from textual.geometry import Offset
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import TextArea

from nbtui.core.document import USER, DocumentError
from nbtui.core.kernel import KernelError
from nbtui.tui.messages import DocumentChanged, KernelRequested, RunRequested
from nbtui.tui.widgets.editor import CellEditor, CompletionMenu, InspectPanel
from nbtui.tui.widgets.notebook_view import NotebookView

if TYPE_CHECKING:
    from nbtui.core.session import NotebookSession

EDIT_SYNC_SECONDS = 0.3
"""Typing reaches the document this long after the last keystroke (and on leaving edit mode)."""

EDIT_SYNC_MAX_SECONDS = 1.0
"""...and at least this often while the human keeps typing without a pause."""

Mode = Literal["command", "edit"]


class NotebookPane(Container):
    """The notebook being worked on: a :class:`NotebookView` with the editor floating over it.

    Args:
        session: the notebook session (its document and kernel).
    """

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

    @property
    def view(self) -> NotebookView:
        """The cell list."""
        return self.query_one(NotebookView)

    @property
    def editor(self) -> CellEditor:
        """The one editor."""
        return self.query_one(CellEditor)

    def on_mount(self) -> None:
        view = self.view
        view.editor = self.editor
        self.editor.display = False
        self.query_one(CompletionMenu).display = False
        self.query_one(InspectPanel).display = False
        view.focus()
        self._publish_focus()

    # -- document events -------------------------------------------------------------------

    def on_document_changed(self, message: DocumentChanged) -> None:
        self.view.apply_event(message.event)

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
        self._publish_focus()

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

    @on(KernelRequested)
    def _kernel_requested(self, message: KernelRequested) -> None:
        message.stop()
        if message.what == "interrupt":
            self._spawn(self._interrupt())
        else:
            self._spawn(self._restart())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
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

    async def _restart(self) -> None:
        self.notify("Restarting the kernel…")
        try:
            await self.session.kernel.restart()
        except KernelError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        self.notify("The kernel restarted.")

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
