"""Agent work appears live, marked with the agent's name, without moving the human."""

from __future__ import annotations

import time

import pytest
from tui_helpers import running_app, screen_text, wait_until

from nbtui.core.document import CellBeingEdited
from nbtui.core.session import Activity


async def test_agent_insert_above_is_shown_marked_and_the_selection_stays_put(notebook):
    """An agent's insert above the selected cell shows at once with its name; the human's
    selected cell keeps its row on screen."""
    async with running_app(notebook(30)) as (app, pilot):
        doc, view = app.session.document, app.view
        for _ in range(12):
            await pilot.press("j")
        selected = view.selected_id
        row = view.screen_row(selected)
        assert 0 <= row < 38
        doc.insert_cell("agent_was_here = 1", before_cell_id=selected, author="claude")
        doc.insert_cell("more = 2\nand_more = 3", index=0, author="claude")
        await pilot.pause()
        assert view.selected_id == selected
        assert view.screen_row(selected) == row
        assert doc.focus.cell_id == selected
        text = view.visible_text()
        line = next(line for line in text.splitlines() if "agent_was_here" in line)
        assert "claude" in line


async def test_agent_edits_do_not_disturb_the_text_being_typed(notebook):
    """While the human types, agent inserts and edits elsewhere change neither the editor's text
    nor where it is on screen."""
    async with running_app(notebook(40)) as (app, pilot):
        doc, view, editor = app.session.document, app.view, app.pane.editor
        for _ in range(15):
            await pilot.press("j")
        await pilot.press("enter", "a", "b")
        edited = doc.cells[15].id
        row = view.screen_row(edited)
        doc.insert_cell("above = 1", before_cell_id=edited, author="claude")
        doc.edit_cell(doc.cells[0].id, "x0 = 'changed by claude'", author="claude")
        await pilot.press("c", "d")
        await pilot.pause()
        assert app.pane.mode == "edit"
        assert editor.text == "x15 = 15abcd"
        assert view.screen_row(edited) == row
        assert editor.region.y - view.region.y == row
        await wait_until(pilot, lambda: doc.get(edited).source == "x15 = 15abcd",
                         what="the typed text in the document")


async def test_agents_cannot_edit_the_cell_the_human_is_typing_in(notebook):
    """The document refuses an agent edit of the cell in edit mode (the TUI sets focus)."""
    async with running_app(notebook(2)) as (app, pilot):
        doc = app.session.document
        await pilot.press("enter")
        with pytest.raises(CellBeingEdited):
            doc.edit_cell(doc.cells[0].id, "nope", author="claude")


async def test_agent_outputs_and_deletes_update_in_place(notebook):
    """Outputs an agent's run writes, and cells it deletes, show up at once."""
    async with running_app(notebook(3)) as (app, pilot):
        doc, view = app.session.document, app.view
        target = doc.cells[1].id
        doc.set_outputs(target, [{"output_type": "stream", "name": "stdout",
                                  "text": "hello from the kernel\n"}])
        await wait_until(pilot, lambda: "hello from the kernel" in view.visible_text(),
                         what="the output on screen")
        doc.delete_cells([doc.cells[2].id], author="claude")
        await wait_until(pilot, lambda: "x2 = 2" not in view.visible_text(),
                         what="the deleted cell to go")
        assert view.selected_index == 0


async def test_follow_mode_scrolls_to_the_cell_the_agent_works_on(notebook):
    """With f on, an agent's edit far below scrolls the view to that cell; the selection stays."""
    async with running_app(notebook(80)) as (app, pilot):
        doc, view = app.session.document, app.view
        await pilot.press("f")
        assert "following" in str(app.status_bar.render())
        far = doc.cells[70].id
        doc.edit_cell(far, "far_away = 'agent'", author="claude")
        await pilot.pause()
        assert "far_away" in view.visible_text()
        assert view.selected_index == 0


async def test_without_follow_the_view_stays_where_it_is(notebook):
    """Without follow mode, an agent's edit far below does not scroll the view."""
    async with running_app(notebook(80)) as (app, pilot):
        doc, view = app.session.document, app.view
        doc.edit_cell(doc.cells[70].id, "far_away = 'agent'", author="claude")
        await pilot.pause()
        assert "far_away" not in view.visible_text()
        assert view.scroll_y == 0


async def test_the_agent_mark_fades_away(notebook):
    """The agent's name on a touched cell disappears after a while."""
    async with running_app(notebook(2)) as (app, pilot):
        doc, view = app.session.document, app.view
        doc.edit_cell(doc.cells[1].id, "touched = 1", author="claude")
        await pilot.pause()
        assert view.agent_mark(doc.cells[1].id) == "claude"
        author, _ = view._marks[doc.cells[1].id]
        view._marks[doc.cells[1].id] = (author, time.monotonic() - 60)
        view.refresh()
        await pilot.pause()
        assert view.agent_mark(doc.cells[1].id) is None
        assert "claude" not in view.visible_text()


async def test_activity_log_lists_agent_actions_with_scratch_code(notebook):
    """l shows the activity log: time, agent, tool, cell, summary, and run_code's code."""
    async with running_app(notebook(2)) as (app, pilot):
        activity = app.session.activity
        cell_id = app.session.document.cells[0].id
        activity.add(Activity(time.time(), "claude", "edit_cell", cell_id, "changed 1 line"))
        activity.add(Activity(time.time(), "claude", "run_code", None, "ok: 42",
                              code="import math\nmath.sqrt(42)"))
        await pilot.press("ctrl+l")
        assert app.activity_log.display
        text = await wait_until(pilot, lambda: "math.sqrt(42)" in screen_text(app)
                                and screen_text(app), what="the log on screen")
        assert "edit_cell" in text and cell_id in text and "changed 1 line" in text
        assert "run_code" in text and "math.sqrt(42)" in text and "ok: 42" in text
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert not app.activity_log.display


async def test_status_bar_names_attached_agents_and_the_socket(notebook):
    """The status bar lists attached agents by name as they come and go."""
    async with running_app(notebook(1)) as (app, pilot):
        app.status_bar.socket_path = "/run/user/1000/nbtui/nb-0123456789.sock"
        app.session.agent_attached(1, "claude")
        app.session.agent_attached(2, "goose")
        await pilot.pause()
        assert "claude, goose" in str(app.status_bar.render())
        assert "nb-0123456789.sock" in str(app.status_bar.render())
        app.session.agent_detached(1)
        await pilot.pause()
        assert "claude" not in str(app.status_bar.render())
