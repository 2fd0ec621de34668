"""Undo and redo in the editor while its height lags behind its text (the view resizes it after
each change): the text area resizes before it moves the cursor back into the changed text, so
a cursor on a line the change removed must not break it (found by the key fuzz, issue 8)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from nbtui.tui.widgets.editor import CellEditor


class OneEditor(App[None]):
    """A CellEditor one line tall, as the view leaves it until it sees a change."""

    CSS = "CellEditor { height: 1; width: 40; }"

    def compose(self) -> ComposeResult:
        yield CellEditor()


async def test_undo_of_a_new_line_in_an_editor_one_line_tall_restores_the_text():
    """`1`, enter, ctrl+z in a one-line editor: the text is back to empty, nothing raises."""
    app = OneEditor()
    async with app.run_test() as pilot:
        editor = app.query_one(CellEditor)
        editor.load_cell("c1", "", "code", "python")
        editor.focus()
        editor.insert("1\n")
        assert editor.show_vertical_scrollbar  # two lines in a one-line editor
        editor.undo()
        await pilot.pause()
        assert editor.text == ""
        assert editor.cursor_location == (0, 0)
        assert app._exception is None


async def test_redo_of_a_deletion_of_lines_in_an_editor_one_line_tall_deletes_them():
    """Deleting three lines, undo, redo: the lines are gone again and the cursor is in the text."""
    app = OneEditor()
    async with app.run_test() as pilot:
        editor = app.query_one(CellEditor)
        editor.load_cell("c1", "a\nb\nc", "code", "python")
        editor.focus()
        editor.select_all()
        editor.delete(*editor.selection)
        editor.undo()
        assert editor.text == "a\nb\nc"
        editor.redo()
        await pilot.pause()
        assert editor.text == ""
        assert editor.cursor_location == (0, 0)
        assert app._exception is None


async def test_paste_that_widens_the_line_number_gutter_wraps_the_new_lines():
    """Pasting ten lines into a one-line cell with line numbers on widens the gutter, so Textual
    wraps the whole text again instead of the changed range: the new lines are wrapped, the
    cursor lands at the end of the paste, and nothing raises (found by the key fuzz in CI)."""
    app = OneEditor()
    async with app.run_test() as pilot:
        editor = app.query_one(CellEditor)
        editor.load_cell("c1", "x", "code", "python")
        editor.show_line_numbers = True
        editor.focus()
        await pilot.pause()
        width = editor.gutter_width
        app.copy_to_clipboard("\n".join(f"line{i}" for i in range(10)))
        editor.action_paste()
        await pilot.pause()
        assert editor.gutter_width > width
        assert editor.document.line_count == 10
        assert editor.wrapped_document.height == 10
        assert editor.cursor_location == (9, 5)
        assert app._exception is None
