"""Splitting the edited cell at the cursor (ctrl+shift+minus, and ctrl+backslash in tmux)."""

from __future__ import annotations

import pytest
from tui_helpers import running_app

from nbtui.tui.widgets.editor import CellEditor

SIZE = (80, 24)


@pytest.mark.parametrize("key", ["ctrl+shift+minus", "ctrl+underscore", "ctrl+backslash"])
async def test_split_at_the_cursor_goes_on_editing_the_second_half(notebook, key):
    """The split key cuts the edited cell at the cursor (unsent typing included) and leaves
    the cursor at the start of the new second cell, still in edit mode."""
    path = notebook([("code", "a = 1\nb = 2"), ("code", "c = 3")])
    async with running_app(path, size=SIZE) as (app, pilot):
        doc, view = app.session.document, app.view
        first_id = doc.cells[0].id
        await pilot.press("enter", *"  # two", "up", "end", key)
        await pilot.pause()
        assert [cell.source for cell in doc.cells] == ["a = 1", "b = 2  # two", "c = 3"]
        assert doc.cells[0].id == first_id
        assert app.pane.mode == "edit" and isinstance(app.focused, CellEditor)
        editor = app.pane.editor
        assert editor.cell_id == doc.cells[1].id == view.selected_id
        assert editor.cursor_location == (0, 0)
        assert editor.text == "b = 2  # two"
        await pilot.press("x", "escape")
        assert doc.cells[1].source == "xb = 2  # two"
        text = view.visible_text()
        assert "a = 1" in text and "xb = 2  # two" in text
        assert text.index("a = 1") < text.index("xb = 2") < text.index("c = 3")


async def test_split_in_command_mode_does_nothing(notebook):
    """In command mode the split keys change nothing."""
    async with running_app(notebook([("code", "a\nb")]), size=SIZE) as (app, pilot):
        await pilot.press("ctrl+backslash", "ctrl+underscore")
        assert [cell.source for cell in app.session.document.cells] == ["a\nb"]
        assert app.pane.mode == "command"


async def test_split_keeps_the_cell_type(notebook):
    """A markdown cell splits into two markdown cells."""
    async with running_app(notebook([("markdown", "# Title\nBody")]), size=SIZE) as (app, pilot):
        doc = app.session.document
        await pilot.press("enter", "up", "end", "ctrl+backslash", "escape")
        assert [(cell.cell_type, cell.source) for cell in doc.cells] == [
            ("markdown", "# Title"), ("markdown", "Body")]
        assert "Title" in app.view.visible_text() and "Body" in app.view.visible_text()
