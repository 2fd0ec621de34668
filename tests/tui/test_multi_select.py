"""Several selected cells: J/K and shift+arrows extend the selection, and the cell keys act on
every selected cell."""

from __future__ import annotations

from tui_helpers import running_app, wait_until

SELECTED = "▌"


def sources(app) -> list[str]:
    return [cell.source for cell in app.session.document.cells]


def gutter_rows(app) -> list[str]:
    """The first line of every cell whose gutter is drawn as selected (the text after it)."""
    rows = []
    for cell_id in app.view.cell_ids:
        row = app.view.screen_row(cell_id)
        line = app.view.visible_text().splitlines()[row]
        if line.startswith(SELECTED):
            rows.append(app.session.document.get(cell_id).source.split("\n")[0])
    return rows


async def test_shift_j_and_shift_down_extend_k_shrinks_and_j_collapses(notebook):
    """J and shift+down add the next cells to the selection, K and shift+up take them back (or
    extend upwards), plain j/k keep one cell; every selected cell's gutter is drawn."""
    async with running_app(notebook(5)) as (app, pilot):
        view = app.view
        await pilot.press("j", "J", "shift+down")
        assert [app.session.document.get(c).source for c in view.selected_ids] == [
            "x1 = 1", "x2 = 2", "x3 = 3"]
        assert app.session.document.focus.cell_id == view.selected_id == view.cell_ids[3]
        await pilot.pause()
        assert gutter_rows(app) == ["x1 = 1", "x2 = 2", "x3 = 3"]
        await pilot.press("K")
        assert len(view.selected_ids) == 2
        await pilot.press("shift+up", "shift+up")
        assert [app.session.document.get(c).source for c in view.selected_ids] == [
            "x0 = 0", "x1 = 1"]
        await pilot.pause()
        assert gutter_rows(app) == ["x0 = 0", "x1 = 1"]
        await pilot.press("j")
        assert view.selected_ids == [view.cell_ids[1]]
        await pilot.pause()
        assert gutter_rows(app) == ["x1 = 1"]


async def test_shift_click_extends_and_a_click_collapses(notebook):
    """A shift+click selects from the selected cell to the clicked one; a plain click selects
    only the clicked cell."""
    async with running_app(notebook(4)) as (app, pilot):
        view = app.view
        row = view.screen_row(view.cell_ids[2])
        await pilot.click(view, offset=(12, row), shift=True)
        await pilot.pause()
        assert view.selected_ids == view.cell_ids[:3]
        assert gutter_rows(app) == ["x0 = 0", "x1 = 1", "x2 = 2"]
        await pilot.click(view, offset=(12, view.screen_row(view.cell_ids[3])))
        await pilot.pause()
        assert view.selected_ids == [view.cell_ids[3]] and app.pane.mode == "command"
        assert gutter_rows(app) == ["x3 = 3"]


async def test_d_d_deletes_every_selected_cell_and_z_brings_them_all_back(notebook):
    """d d deletes the selected cells at once; z restores all of them, selected."""
    async with running_app(notebook(5)) as (app, pilot):
        await pilot.press("j", "J", "J", "d", "d")
        assert sources(app) == ["x0 = 0", "x4 = 4"]
        assert app.session.document.get(app.view.selected_id).source == "x4 = 4"
        await pilot.pause()
        screen = app.view.visible_text()
        assert "x2 = 2" not in screen and "x4 = 4" in screen
        await pilot.press("z")
        assert sources(app) == [f"x{i} = {i}" for i in range(5)]
        await pilot.pause()
        assert gutter_rows(app) == ["x1 = 1", "x2 = 2", "x3 = 3"]
        assert "x2 = 2" in app.view.visible_text()


async def test_x_cuts_c_copies_and_v_pastes_every_selected_cell_in_order(notebook):
    """x cuts all selected cells, v pastes them all in order below the selected cell; c copies
    several cells."""
    async with running_app(notebook(4)) as (app, pilot):
        await pilot.press("J", "x")
        assert sources(app) == ["x2 = 2", "x3 = 3"]
        await pilot.press("j", "v")
        assert sources(app) == ["x2 = 2", "x3 = 3", "x0 = 0", "x1 = 1"]
        await pilot.press("k", "k", "k", "J", "c", "j", "j", "j", "v")
        assert sources(app) == ["x2 = 2", "x3 = 3", "x0 = 0", "x1 = 1", "x2 = 2", "x3 = 3"]
        await pilot.pause()
        assert app.view.visible_text().count("x3 = 3") == 2


async def test_m_y_r_change_the_type_of_every_selected_cell(notebook):
    """m, r and y change every selected cell's type; the screen shows them as such."""
    cells = [("code", "**one**"), ("code", "**two**"), ("code", "three")]
    async with running_app(notebook(cells)) as (app, pilot):
        doc = app.session.document
        await pilot.press("J", "m")
        assert [cell.cell_type for cell in doc.cells] == ["markdown", "markdown", "code"]
        await pilot.pause()
        screen = app.view.visible_text()
        assert "one" in screen and "**one**" not in screen and "**two**" not in screen
        await pilot.press("r")
        assert [cell.cell_type for cell in doc.cells] == ["raw", "raw", "code"]
        await pilot.press("y")
        assert [cell.cell_type for cell in doc.cells] == ["code", "code", "code"]
        await pilot.pause()
        assert "[ ] **two**" in app.view.visible_text()


async def test_entering_edit_mode_keeps_only_the_edited_cell_selected(notebook):
    """enter on a range edits the selected cell and the range collapses to it."""
    async with running_app(notebook(3)) as (app, pilot):
        await pilot.press("J", "enter")
        await wait_until(pilot, lambda: app.pane.mode == "edit", what="edit mode")
        assert app.view.selected_ids == [app.view.cell_ids[1]]


async def test_keys_on_a_range_an_agent_just_shrank_act_on_the_cells_left(notebook):
    """Cells an agent deleted a moment ago, still on screen in the range, are skipped: clear,
    copy, retype, merge and delete act on the others without an error."""
    cells = [{"cell_type": "code", "source": f"print({i})", "metadata": {},
              "execution_count": i + 1,
              "outputs": [{"output_type": "stream", "name": "stdout", "text": f"{i}\n"}]}
             for i in range(5)]
    async with running_app(notebook(cells)) as (app, pilot):
        doc, view = app.session.document, app.view
        await pilot.press("J", "J", "J")
        doc.delete_cells([doc.cells[1].id], author="claude")
        view.action_clear_outputs()
        view.action_copy()
        view.action_to_type("raw")
        assert [cell.outputs == [] for cell in doc.cells] == [True, True, True, False]
        assert [item.source for item in view.clipboard] == ["print(0)", "print(2)", "print(3)"]
        assert [cell.cell_type for cell in doc.cells] == ["raw", "raw", "raw", "code"]
        view.action_merge()
        assert [cell.source for cell in doc.cells] == ["print(0)\nprint(2)\nprint(3)",
                                                       "print(4)"]
        await pilot.pause()
        assert "print(2)" in view.visible_text() and app.is_running
