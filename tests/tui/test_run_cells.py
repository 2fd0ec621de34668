"""Running several cells (RunCellsRequested) and bringing a run's output into view, with a real
kernel, at 80x24."""

from __future__ import annotations

from pathlib import Path

from tui_helpers import running_app, wait_until

from nbtui.tui.messages import RunCellsRequested

SIZE = (80, 24)
KERNEL_TIMEOUT = 30


def notices(app) -> list[str]:
    """The messages of every notification so far."""
    return [notification.message for notification in app._notifications]


async def kernel_ready(app, pilot) -> None:
    await wait_until(pilot, lambda: app.session.kernel.state == "idle", KERNEL_TIMEOUT,
                     what="the kernel to be idle")


def finished(doc, *indexes: int):
    return lambda: all(doc.cells[i].status not in ("queued", "running")
                       and doc.cells[i].execution_count is not None for i in indexes)


async def test_run_cells_queues_every_cell_in_order(notebook):
    """The cells of a RunCellsRequested run one after another in the order given, markdown
    included, and the screen shows their outputs and execution counts."""
    path = notebook([("code", "order = ['a']"), ("markdown", "# Notes"),
                     ("code", "order.append('b')"), ("code", "print('-'.join(order))")])
    async with running_app(path, kernel=True, size=SIZE) as (app, pilot):
        doc = app.session.document
        await kernel_ready(app, pilot)
        app.pane.post_message(RunCellsRequested([cell.id for cell in doc.cells]))
        await wait_until(pilot, finished(doc, 0, 2, 3), KERNEL_TIMEOUT, what="the runs")
        assert [doc.cells[i].execution_count for i in (0, 2, 3)] == [1, 2, 3]
        assert doc.cells[3].outputs[0]["text"] == "a-b\n"
        await wait_until(pilot, lambda: "a-b" in app.view.visible_text(), what="the output")
        assert "[3] print('-'.join(order))" in app.view.visible_text()


async def test_run_cells_sends_the_edit_in_progress_first(notebook):
    """A run of several cells asked for while typing runs the text on screen."""
    async with running_app(notebook([("code", "v = 1")]), kernel=True, size=SIZE) as (app, pilot):
        doc = app.session.document
        await kernel_ready(app, pilot)
        await pilot.press("enter", *"0; print(v)")
        app.pane.post_message(RunCellsRequested([doc.cells[0].id]))
        await wait_until(pilot, finished(doc, 0), KERNEL_TIMEOUT, what="the run")
        assert doc.cells[0].source == "v = 10; print(v)"
        assert doc.cells[0].outputs[0]["text"] == "10\n"


async def test_restart_and_run_restarts_first_then_queues(notebook):
    """With restart, the kernel restarts (the old variables are gone) before the cells run."""
    path = notebook([("code", "print('kept' if 'old' in dir() else 'fresh')"),
                     ("code", "old = 1")])
    async with running_app(path, kernel=True, size=SIZE) as (app, pilot):
        doc = app.session.document
        await kernel_ready(app, pilot)
        app.pane.post_message(RunCellsRequested([doc.cells[1].id, doc.cells[0].id]))
        await wait_until(pilot, finished(doc, 0, 1), KERNEL_TIMEOUT, what="the first runs")
        assert doc.cells[0].outputs[0]["text"] == "kept\n"
        app.pane.post_message(RunCellsRequested([doc.cells[0].id], restart=True))
        await wait_until(pilot, lambda: doc.cells[0].execution_count == 1
                         and doc.cells[0].outputs
                         and doc.cells[0].status not in ("queued", "running"),
                         KERNEL_TIMEOUT, what="the run after the restart")
        assert doc.cells[0].outputs[0]["text"] == "fresh\n"
        assert "The kernel restarted." in notices(app)
        await wait_until(pilot, lambda: "fresh" in app.view.visible_text(), what="the output")


async def test_cells_that_cannot_be_queued_get_one_notice(notebook):
    """Cells gone by the time they are queued are reported once; the others still run."""
    path = notebook([("code", "1 + 1"), ("code", "2 + 2"), ("code", "3 + 3")])
    async with running_app(path, kernel=True, size=SIZE) as (app, pilot):
        doc = app.session.document
        await kernel_ready(app, pilot)
        ids = [cell.id for cell in doc.cells]
        doc.delete_cells([ids[1]])
        app.pane.post_message(RunCellsRequested(ids))
        await wait_until(pilot, finished(doc, 0, 1), KERNEL_TIMEOUT, what="the runs")
        failures = [n for n in notices(app) if "could not be queued" in n]
        assert len(failures) == 1 and failures[0].startswith("1 of 3 cells could not be queued")
        await wait_until(pilot, lambda: "6" in app.view.visible_text(), what="the output")


def long_output_cells(gate: Path | None = None) -> list[tuple[str, str]]:
    """Cells filling more than a screen, then a last cell printing eight lines (once `gate`
    exists, when given)."""
    wait = (f"import os, time\nwhile not os.path.exists({str(gate)!r}): time.sleep(0.01)\n"
            if gate else "")
    return [("code", f"a{i} = {i}\n" * 3) for i in range(6)] + [
        ("code", wait + "for i in range(8): print('line', i)")]


async def test_run_output_scrolls_into_view_when_the_cell_is_still_selected(notebook):
    """ctrl+enter on a cell at the bottom of the screen: its output, arriving below the
    screen's edge, is scrolled into view."""
    async with running_app(notebook(long_output_cells()), kernel=True, size=SIZE) as (
            app, pilot):
        doc, view = app.session.document, app.view
        await kernel_ready(app, pilot)
        await pilot.press("end", "ctrl+enter")
        await wait_until(pilot, finished(doc, 6), KERNEL_TIMEOUT, what="the run")
        await wait_until(pilot, lambda: "line 7" in view.visible_text(), what="the last line")
        assert "[1] " in view.visible_text()
        assert view.selected_index == 6


async def test_output_of_the_last_cell_shows_above_the_new_cell(notebook):
    """shift+enter on the last cell inserts a cell below and edits it; the run's output shows
    between them, the new cell stays on screen."""
    async with running_app(notebook(long_output_cells()), kernel=True, size=SIZE) as (
            app, pilot):
        doc, view = app.session.document, app.view
        await kernel_ready(app, pilot)
        await pilot.press("end", "shift+enter")
        assert app.pane.mode == "edit" and view.selected_index == 7
        await wait_until(pilot, finished(doc, 6), KERNEL_TIMEOUT, what="the run")
        await wait_until(pilot, lambda: "line 7" in view.visible_text(), what="the last line")
        lines = view.visible_text().split("\n")
        row = view.screen_row(doc.cells[7].id)
        assert 0 < row < len(lines) and lines[row - 2].strip() == "line 7"


async def test_the_view_does_not_jump_when_the_human_moved_away(notebook, tmp_path):
    """When the human moved up before the output arrived, the view stays where they are."""
    gate = tmp_path / "gate"
    async with running_app(notebook(long_output_cells(gate)), kernel=True, size=SIZE) as (
            app, pilot):
        doc, view = app.session.document, app.view
        await kernel_ready(app, pilot)
        await pilot.press("end", "ctrl+enter")
        await wait_until(pilot, lambda: doc.cells[6].status == "running", KERNEL_TIMEOUT,
                         what="the run to start")
        await pilot.press("k", "k")
        row = view.screen_row(doc.cells[4].id)
        gate.touch()
        await wait_until(pilot, finished(doc, 6), KERNEL_TIMEOUT, what="the run")
        await wait_until(pilot, lambda: view.selected_index == 4 and "[1]" in view.visible_text(),
                         what="the prompt")
        assert view.screen_row(doc.cells[4].id) == row
        assert "line 7" not in view.visible_text()
