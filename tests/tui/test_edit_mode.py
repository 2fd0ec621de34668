"""Edit mode: one editor over the selected cell; typing reaches the document while typing."""

from __future__ import annotations

from tui_helpers import running_app, wait_until

from nbtui.core.document import KERNEL
from nbtui.tui.widgets.editor import CellEditor


async def test_enter_edits_and_typing_reaches_the_document_while_typing(notebook):
    """Typed text reaches the document (debounced) without leaving edit mode."""
    async with running_app(notebook(2)) as (app, pilot):
        doc = app.session.document
        await pilot.press("enter")
        assert app.pane.mode == "edit"
        assert isinstance(app.focused, CellEditor)
        assert doc.focus.mode == "edit" and doc.focus.cell_id == doc.cells[0].id
        await pilot.press("space", "+", "space", "4", "2")
        assert app.pane.mode == "edit"
        await wait_until(pilot, lambda: doc.cells[0].source == "x0 = 0 + 42",
                         what="the typed text in the document")
        assert doc.cells[0].last_author == "user"
        assert "EDIT" in str(app.status_bar.render())


async def test_escape_sends_the_text_at_once_and_returns_to_command_mode(notebook):
    """esc leaves edit mode; the document has the editor's text immediately."""
    async with running_app(notebook(2)) as (app, pilot):
        doc = app.session.document
        await pilot.press("j", "enter", "enter", "y", "=", "1", "escape")
        assert app.pane.mode == "command"
        assert doc.cells[1].source == "x1 = 1\ny=1"
        assert doc.focus.mode == "command"
        assert app.focused is app.view
        await pilot.pause()
        assert "y=1" in app.view.visible_text()
        await pilot.press("j")
        assert app.view.selected_index == 1


async def test_the_editor_sits_over_the_cell_and_grows_with_its_text(notebook):
    """The editor covers the edited cell's source lines; new lines push the cells below down."""
    async with running_app(notebook(3)) as (app, pilot):
        doc = app.session.document
        await pilot.press("j", "enter")
        await pilot.pause()
        editor = app.pane.editor
        row = app.view.screen_row(doc.cells[1].id)
        assert editor.region.y - app.view.region.y == row
        below = app.view.screen_row(doc.cells[2].id)
        await pilot.press("enter", "a", "enter", "b")
        await pilot.pause()
        assert editor.region.height == 3
        assert app.view.screen_row(doc.cells[2].id) == below + 2


async def test_tab_at_the_start_of_a_line_indents(notebook):
    """tab with only whitespace before the cursor inserts an indent (no kernel needed)."""
    async with running_app(notebook([("code", "")])) as (app, pilot):
        await pilot.press("enter", "tab", "x", "escape")
        assert app.session.document.cells[0].source == "    x"


async def test_markdown_is_edited_as_source_and_rendered_after(notebook):
    """A markdown cell shows its source while edited and is rendered again on leaving."""
    async with running_app(notebook([("markdown", "# Title")])) as (app, pilot):
        await pilot.press("enter")
        await pilot.pause()
        assert app.pane.editor.text == "# Title"
        await pilot.press("end", "!", "escape")
        await pilot.pause()
        assert app.session.document.cells[0].source == "# Title!"
        assert "# Title" not in app.view.visible_text()
        assert "Title!" in app.view.visible_text()


async def test_selecting_another_cell_by_click_leaves_edit_mode_and_keeps_the_text(notebook):
    """Clicking another cell while editing saves the text to the document and selects it."""
    async with running_app(notebook(3)) as (app, pilot):
        doc = app.session.document
        await pilot.press("enter", "9")
        row = app.view.screen_row(doc.cells[2].id)
        await pilot.click(app.view, offset=(12, row))
        await pilot.pause()
        assert app.pane.mode == "command"
        assert doc.cells[0].source == "x0 = 09"
        assert app.view.selected_index == 2


async def test_deleting_the_edited_cell_keeps_the_typed_text_in_a_new_cell(notebook):
    """If the cell being edited disappears, edit mode ends and the text survives in a new cell."""
    async with running_app(notebook(3)) as (app, pilot):
        doc = app.session.document
        await pilot.press("j", "enter", "z", "z")
        edited = doc.cells[1].id
        doc.delete_cells([edited], author=KERNEL)
        await wait_until(pilot, lambda: app.pane.mode == "command", what="command mode")
        assert [c.source for c in doc.cells] == ["x0 = 0", "x1 = 1zz", "x2 = 2"]
        assert app.view.selected_id == doc.cells[1].id != edited
