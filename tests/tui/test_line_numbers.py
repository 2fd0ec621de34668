"""Line numbers: l for the selected cells, L for all; drawn before each source line of code
cells (right-aligned), and in the editor when the edited cell has them."""

from __future__ import annotations

from tui_helpers import running_app, screen_text, wait_until

SOURCE = "\n".join(f"line_{i} = {i}" for i in range(1, 11))
"""Ten lines, so that numbers take two columns."""


def cell_lines(app, index: int) -> list[str]:
    """The screen lines of a cell's source, without the gutter and prompt columns."""
    view = app.view
    cell = app.session.document.cells[index]
    row = view.screen_row(cell.id)
    lines = view.visible_text().splitlines()
    return [line[8:] for line in lines[row:row + cell.source.count("\n") + 1]]


async def test_l_numbers_the_selected_cells_lines_and_l_again_removes_them(notebook):
    """l puts right-aligned numbers before each line of the selected code cell only."""
    async with running_app(notebook([("code", SOURCE), ("code", "a = 1\nb = 2")])) as (
            app, pilot):
        await pilot.press("l")
        await pilot.pause()
        lines = cell_lines(app, 0)
        assert lines[0] == " 1  line_1 = 1"
        assert lines[8] == " 9  line_9 = 9" and lines[9] == "10  line_10 = 10"
        assert cell_lines(app, 1) == ["a = 1", "b = 2"]
        await pilot.press("l")
        await pilot.pause()
        assert cell_lines(app, 0)[0] == "line_1 = 1"


async def test_l_on_several_selected_cells_and_shift_l_for_all(notebook):
    """l numbers every selected cell; L numbers all code cells (markdown stays as it is) and L
    again takes all numbers away."""
    cells = [("code", "a = 1\nb = 2"), ("code", "c = 3"), ("markdown", "# Title"),
             ("code", "d = 4")]
    async with running_app(notebook(cells)) as (app, pilot):
        await pilot.press("J", "l")
        await pilot.pause()
        assert cell_lines(app, 0) == ["1  a = 1", "2  b = 2"]
        assert cell_lines(app, 1) == ["1  c = 3"]
        assert cell_lines(app, 3) == ["d = 4"]
        await pilot.press("L")
        await pilot.pause()
        assert cell_lines(app, 3) == ["1  d = 4"] and cell_lines(app, 0)[1] == "2  b = 2"
        assert "Title" in cell_lines(app, 2)[0] and "1" not in cell_lines(app, 2)[0]
        await pilot.press("L")
        await pilot.pause()
        assert cell_lines(app, 0) == ["a = 1", "b = 2"] and cell_lines(app, 3) == ["d = 4"]


async def test_a_long_line_is_cut_after_its_number_and_the_editor_numbers_too(notebook):
    """A line wider than the cell keeps its number and is cut at the edge; editing a numbered
    cell shows the editor's own line numbers, an unnumbered one none."""
    long = "x = '" + "y" * 300 + "'"
    async with running_app(notebook([("code", f"{long}\nz = 1"), ("code", "w = 2")])) as (
            app, pilot):
        await pilot.press("l")
        await pilot.pause()
        first, second = cell_lines(app, 0)
        assert first.startswith("1  x = 'yyy") and first.endswith("…")
        assert second == "2  z = 1"
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.pane.mode == "edit", what="edit mode")
        assert app.pane.editor.show_line_numbers
        await pilot.pause()
        assert "[ ] 1  " in screen_text(app).splitlines()[0]
        await pilot.press("escape", "j", "enter")
        await wait_until(pilot, lambda: app.pane.editor.cell_id == app.view.selected_id,
                         what="the second cell to be edited")
        assert not app.pane.editor.show_line_numbers
