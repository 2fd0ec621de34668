"""Command-mode cell commands: merge, move, clear outputs, and running several cells (run all,
above, below, the selected cells, restart and run all) with a real kernel."""

from __future__ import annotations

from tui_helpers import running_app, wait_until

KERNEL_TIMEOUT = 30


def sources(app) -> list[str]:
    return [cell.source for cell in app.session.document.cells]


def code_with_output(source: str, text: str, count: int) -> dict:
    return {"cell_type": "code", "source": source, "metadata": {}, "execution_count": count,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": text}]}


async def kernel_ready(app, pilot) -> None:
    await wait_until(pilot, lambda: app.session.kernel.state == "idle", KERNEL_TIMEOUT,
                     what="the kernel to be idle")


async def test_shift_m_merges_the_cell_with_the_one_below_and_z_undoes_it(notebook):
    """M on one cell merges it with the next (sources joined by a newline, outputs dropped, the
    first cell's type); z brings the merged-away cell and the outputs back."""
    cells = [code_with_output("a = 1", "first output\n", 1), ("markdown", "# below"),
             ("code", "c = 3")]
    async with running_app(notebook(cells)) as (app, pilot):
        doc, view = app.session.document, app.view
        first = doc.cells[0]
        await pilot.pause()
        assert "first output" in view.visible_text()
        await pilot.press("M")
        assert sources(app) == ["a = 1\n# below", "c = 3"]
        assert first.cell_type == "code" and first.outputs == []
        assert view.selected_id == first.id
        await pilot.pause()
        screen = view.visible_text()
        assert "# below" in screen and "first output" not in screen
        await pilot.press("z")
        assert sources(app) == ["a = 1", "# below", "c = 3"]
        assert doc.cells[1].cell_type == "markdown" and first.execution_count == 1
        await pilot.pause()
        assert "first output" in view.visible_text()
        await pilot.press("j", "j", "M")
        assert sources(app) == ["a = 1", "# below", "c = 3"]
        await pilot.pause()
        assert "no cell below" in "\n".join(n.message for n in app._notifications)


async def test_shift_m_merges_several_selected_cells_into_the_first(notebook):
    """M on a range merges every selected cell into the first; the screen shows one cell."""
    async with running_app(notebook(4)) as (app, pilot):
        await pilot.press("j", "J", "J", "M")
        assert sources(app) == ["x0 = 0", "x1 = 1\nx2 = 2\nx3 = 3"]
        assert app.view.selected_ids == [app.session.document.cells[1].id]
        await pilot.pause()
        lines = app.view.visible_text().splitlines()
        row = app.view.screen_row(app.view.selected_id)
        assert lines[row].startswith("▌") and lines[row].endswith("x1 = 1")
        assert lines[row + 1].endswith("x2 = 2") and lines[row + 2].endswith("x3 = 3")


async def test_ctrl_shift_arrows_and_alt_arrows_move_the_selected_cells(notebook):
    """ctrl+shift+down/up (and the alt+down/up fallbacks) move the selected cell, or the whole
    selected range, one place; the selection moves with it and the screen shows the order."""
    async with running_app(notebook(4)) as (app, pilot):
        view = app.view
        await pilot.press("ctrl+shift+down")
        assert sources(app) == ["x1 = 1", "x0 = 0", "x2 = 2", "x3 = 3"]
        assert view.selected_index == 1
        await pilot.press("alt+down", "alt+down", "alt+down")
        assert sources(app) == ["x1 = 1", "x2 = 2", "x3 = 3", "x0 = 0"]
        assert view.selected_index == 3
        await pilot.press("K", "ctrl+shift+up")
        assert sources(app) == ["x1 = 1", "x3 = 3", "x0 = 0", "x2 = 2"]
        assert [app.session.document.get(c).source for c in view.selected_ids] == [
            "x3 = 3", "x0 = 0"]
        await pilot.press("alt+up", "alt+up")
        assert sources(app) == ["x3 = 3", "x0 = 0", "x1 = 1", "x2 = 2"]
        await pilot.pause()
        screen = [line for line in view.visible_text().splitlines() if "= " in line]
        assert [line[-6:] for line in screen] == ["x3 = 3", "x0 = 0", "x1 = 1", "x2 = 2"]
        assert [line[0] for line in screen] == ["▌", "▌", " ", " "]


async def test_shift_o_clears_the_selected_cells_and_shift_c_every_cell(notebook):
    """O clears the outputs of the selected cells (prompts too), C those of all cells."""
    cells = [code_with_output(f"print({i})", f"out-{i}\n", i + 1) for i in range(4)]
    async with running_app(notebook(cells)) as (app, pilot):
        doc, view = app.session.document, app.view
        await pilot.press("j", "J", "O")
        assert [bool(cell.outputs) for cell in doc.cells] == [True, False, False, True]
        assert doc.cells[1].execution_count is None
        await pilot.pause()
        screen = view.visible_text()
        assert "out-0" in screen and "out-1" not in screen and "out-2" not in screen
        assert "[ ] print(1)" in screen and "out-3" in screen
        await pilot.press("C")
        assert not any(cell.outputs for cell in doc.cells)
        await pilot.pause()
        assert "out-" not in view.visible_text()


async def test_run_all_above_and_below_queue_the_cells_in_order(notebook):
    """R runs every cell, U the cells above the selected one, B the selected one and those
    below, each in notebook order."""
    path = notebook([("code", f"order = globals().get('order', []) + [{i}]; print(order)")
                     for i in range(4)])
    async with running_app(path, kernel=True) as (app, pilot):
        doc, view = app.session.document, app.view
        await kernel_ready(app, pilot)
        await pilot.press("j", "j", "U")
        await wait_until(pilot, lambda: doc.cells[1].execution_count == 2, KERNEL_TIMEOUT,
                         what="the cells above to run")
        assert [cell.execution_count for cell in doc.cells] == [1, 2, None, None]
        await wait_until(pilot, lambda: "[0, 1]" in view.visible_text(), what="their output")
        await pilot.press("B")
        await wait_until(pilot, lambda: doc.cells[3].execution_count == 4, KERNEL_TIMEOUT,
                         what="the cells below to run")
        assert [cell.execution_count for cell in doc.cells] == [1, 2, 3, 4]
        await wait_until(pilot, lambda: "[0, 1, 2, 3]" in view.visible_text(),
                         what="the last output")
        await pilot.press("R")
        await wait_until(pilot, lambda: doc.cells[3].execution_count == 8, KERNEL_TIMEOUT,
                         what="every cell to run")
        assert [cell.execution_count for cell in doc.cells] == [5, 6, 7, 8]
        await wait_until(pilot, lambda: "[0, 1, 2, 3, 0, 1, 2, 3]" in view.visible_text(),
                         what="the last output of run all")
        await pilot.press("k", "k", "k", "U")
        await pilot.pause()
        assert "no cells above" in "\n".join(n.message for n in app._notifications)


async def test_restart_and_run_all_needs_two_presses_and_starts_afresh(notebook):
    """One ) does nothing; ) ) restarts the kernel (variables gone) and runs every cell."""
    path = notebook([("code", "n = globals().get('n', 0) + 1; print('n is', n)"),
                     ("code", "print('done', n)")])
    async with running_app(path, kernel=True) as (app, pilot):
        doc, view = app.session.document, app.view
        await kernel_ready(app, pilot)
        await pilot.press("R")
        await wait_until(pilot, lambda: doc.cells[1].execution_count == 2, KERNEL_TIMEOUT,
                         what="run all")
        await pilot.press("R")
        await wait_until(pilot, lambda: doc.cells[1].execution_count == 4, KERNEL_TIMEOUT,
                         what="run all again")
        await wait_until(pilot, lambda: "done 2" in view.visible_text(), what="n at 2")
        await pilot.press("right_parenthesis")
        await pilot.pause()
        assert doc.cells[1].execution_count == 4
        await pilot.press("right_parenthesis")
        await wait_until(pilot, lambda: doc.cells[1].execution_count == 2, KERNEL_TIMEOUT,
                         what="the restart and run all")
        await wait_until(pilot, lambda: "done 1" in view.visible_text(), what="n back at 1")
        assert doc.cells[0].execution_count == 1


async def test_run_keys_on_several_selected_cells_run_them_all(notebook):
    """ctrl+enter runs every selected cell and keeps them selected; shift+enter runs them and
    selects the cell after them (at the end a new cell is added to edit); alt+enter runs them
    and inserts a cell below them to edit."""
    path = notebook([("code", f"print('cell', {i})") for i in range(4)])
    async with running_app(path, kernel=True) as (app, pilot):
        doc, view = app.session.document, app.view
        await kernel_ready(app, pilot)
        await pilot.press("J", "ctrl+enter")
        await wait_until(pilot, lambda: doc.cells[1].execution_count == 2, KERNEL_TIMEOUT,
                         what="the two selected cells to run")
        assert doc.cells[0].execution_count == 1 and doc.cells[2].execution_count is None
        assert view.selected_ids == view.cell_ids[:2]
        await wait_until(pilot, lambda: "cell 1" in view.visible_text(), what="the output")
        await pilot.press("j", "K", "shift+enter")
        assert view.selected_ids == [view.cell_ids[3]]
        await wait_until(pilot, lambda: doc.cells[2].execution_count == 4, KERNEL_TIMEOUT,
                         what="the range to run")
        assert doc.cells[1].execution_count == 3 and doc.cells[3].execution_count is None
        await pilot.press("k", "J", "ctrl+r")
        await wait_until(pilot, lambda: len(doc.cells) == 5 and app.pane.mode == "edit",
                         what="a new cell to edit after the last")
        assert view.selected_id == doc.cells[4].id
        await wait_until(pilot, lambda: doc.cells[3].execution_count == 6, KERNEL_TIMEOUT,
                         what="the last range to run")
        await wait_until(pilot, lambda: "cell 3" in view.visible_text(), what="its output")
        await pilot.press("escape", "k", "k", "k", "K", "alt+enter")
        await wait_until(pilot, lambda: len(doc.cells) == 6 and app.pane.mode == "edit",
                         what="a new cell to edit below the range")
        assert view.selected_id == doc.cells[2].id and doc.cells[2].source == ""
        await wait_until(pilot, lambda: doc.cells[1].execution_count == 8, KERNEL_TIMEOUT,
                         what="alt+enter's range to run")
        assert doc.cells[0].execution_count == 7
