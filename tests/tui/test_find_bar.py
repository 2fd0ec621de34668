"""Find and replace in the TUI: the find bar, n/N in command mode, replace in sources only."""

from __future__ import annotations

from tui_helpers import running_app, screen_text, wait_until

from nbtui.tui.widgets.editor import CellEditor
from nbtui.tui.widgets.find_bar import FindBar
from nbtui.tui.widgets.notebook_view import NotebookView

SIZE = (80, 24)


def notices(app) -> list[str]:
    """The messages of every notification so far."""
    return [notification.message for notification in app._notifications]


def cells_with_outputs() -> list:
    """Three code cells about totals; the second printed a total, the third failed."""
    return [
        {"cell_type": "code", "source": "total = 1\nprint(total)", "metadata": {},
         "execution_count": 1, "outputs": [
             {"output_type": "stream", "name": "stdout", "text": "1\n"}]},
        {"cell_type": "code", "source": "x = 2", "metadata": {}, "execution_count": 2,
         "outputs": [{"output_type": "stream", "name": "stdout",
                      "text": "the total is 3\n"}]},
        {"cell_type": "markdown", "source": "# Grand Total", "metadata": {}},
        {"cell_type": "code", "source": "TOTAL + total", "metadata": {}, "execution_count": 3,
         "outputs": [{"output_type": "error", "ename": "NameError",
                      "evalue": "name 'TOTAL' is not defined",
                      "traceback": ["\x1b[0;31mNameError\x1b[0m: name 'TOTAL' is not defined"]}]},
    ]


def bottom_rows(app, count: int = 3) -> list[str]:
    """The last rows of the screen (the find bar sits above the status bar)."""
    return screen_text(app).split("\n")[-count:]


async def test_slash_opens_the_bar_and_typing_finds_in_sources_and_outputs(notebook):
    """/ opens the find bar above the status bar; each typed letter searches the sources and
    outputs, selects the first match's cell and says "1 of N" and that case is ignored."""
    async with running_app(notebook(cells_with_outputs()), size=SIZE) as (app, pilot):
        doc, view, bar = app.session.document, app.view, app.pane.find_bar
        assert not bar.display
        await pilot.press("j", "slash")
        assert bar.display and isinstance(app.focused.parent.parent, FindBar)
        await pilot.press(*"total")
        await pilot.pause()
        # From the selected (second) cell on: its output has the first match.
        assert bar.status == "3 of 7 · ignoring case"
        assert view.selected_id == doc.cells[1].id
        rows = bottom_rows(app)
        assert "Find" in rows[1] and "total" in rows[1] and "3 of 7 · ignoring case" in rows[1]
        assert bar.region.bottom == app.status_bar.region.y
        assert "the total is 3" in view.visible_text()


async def test_enter_and_shift_enter_step_through_matches_and_wrap_with_a_note(notebook):
    """enter goes to the next match, shift+enter (and ↑) to the previous one; going past the
    last match wraps to the first and the bar says so."""
    async with running_app(notebook(cells_with_outputs()), size=SIZE) as (app, pilot):
        doc, view, bar = app.session.document, app.view, app.pane.find_bar
        await pilot.press("slash", *"total")
        await pilot.pause()
        assert bar.status == "1 of 7 · ignoring case"
        assert view.selected_id == doc.cells[0].id
        for expected, cell in ((2, 0), (3, 1), (4, 2), (5, 3), (6, 3), (7, 3)):
            await pilot.press("enter")
            assert bar.status == f"{expected} of 7 · ignoring case"
            assert view.selected_id == doc.cells[cell].id
        await pilot.press("enter")
        assert bar.status == "1 of 7 · ignoring case · wrapped to the top"
        assert view.selected_id == doc.cells[0].id
        assert "wrapped to the top" in screen_text(app)
        await pilot.press("shift+enter")
        assert bar.status == "7 of 7 · ignoring case · wrapped to the bottom"
        await pilot.press("up")
        assert bar.status == "6 of 7 · ignoring case"
        assert view.selected_id == doc.cells[3].id


async def test_a_capital_letter_makes_the_search_match_case(notebook):
    """A query with a capital letter matches case and the bar says so."""
    async with running_app(notebook(cells_with_outputs()), size=SIZE) as (app, pilot):
        doc, view, bar = app.session.document, app.view, app.pane.find_bar
        await pilot.press("slash", *"TOTAL")
        await pilot.pause()
        assert bar.status == "1 of 2 · matching case"
        assert view.selected_id == doc.cells[3].id
        assert "1 of 2 · matching case" in screen_text(app)
        await pilot.press("backspace", "backspace", "backspace", "backspace", "backspace",
                          *"nothing")
        assert bar.status == "No matches · ignoring case"
        assert "No matches" in screen_text(app)


async def test_escape_returns_to_the_cells_and_n_goes_on_in_command_mode(notebook):
    """esc closes the bar and focuses the cell list on the match's cell; n and N then go to
    the next and previous match of the same query, with a notice saying which (and that the
    search wrapped)."""
    async with running_app(notebook(cells_with_outputs()), size=SIZE) as (app, pilot):
        doc, view, bar = app.session.document, app.view, app.pane.find_bar
        await pilot.press("slash", *"total", "enter", "enter")
        assert view.selected_id == doc.cells[1].id
        await pilot.press("escape")
        assert not bar.display
        assert isinstance(app.focused, NotebookView)
        assert view.selected_id == doc.cells[1].id
        assert "Find" not in bottom_rows(app)[1]
        await pilot.press("n")
        assert view.selected_id == doc.cells[2].id
        assert notices(app)[-1] == "4 of 7 · ignoring case."
        await pilot.press("N", "N")
        assert view.selected_id == doc.cells[0].id
        assert notices(app)[-1] == "2 of 7 · ignoring case."
        await pilot.press("N", "N")
        assert view.selected_id == doc.cells[3].id
        assert notices(app)[-1] == "7 of 7 · ignoring case; wrapped to the bottom."
        assert app.pane.mode == "command" and doc.cells[0].source == "total = 1\nprint(total)"


async def test_n_before_any_search_says_how_to_search(notebook):
    """n with no query yet tells the human to press / first, and moves nothing."""
    async with running_app(notebook(3), size=SIZE) as (app, pilot):
        await pilot.press("n")
        assert app.view.selected_index == 0
        assert notices(app)[-1] == "Nothing to find yet: press / to search."


async def test_n_after_moving_searches_from_the_selected_cell(notebook):
    """After the human moves to another cell, n finds the next match from there."""
    async with running_app(notebook([("code", "a = 1"), ("code", "b"), ("code", "a")]),
                           size=SIZE) as (app, pilot):
        doc, view = app.session.document, app.view
        await pilot.press("slash", "a", "escape")
        assert view.selected_id == doc.cells[0].id
        await pilot.press("j", "n")
        assert view.selected_id == doc.cells[2].id


async def test_ctrl_f_while_editing_sends_the_text_first_and_finds_it(notebook):
    """ctrl+f in edit mode leaves edit mode (the typed text reaches the document) and finds
    what was just typed."""
    async with running_app(notebook(2), size=SIZE) as (app, pilot):
        doc, view, bar = app.session.document, app.view, app.pane.find_bar
        await pilot.press("j", "enter", *" # needle", "ctrl+f")
        assert app.pane.mode == "command"
        assert doc.cells[1].source == "x1 = 1 # needle"
        assert bar.display
        await pilot.press(*"needle")
        assert bar.status == "1 of 1 · ignoring case"
        assert view.selected_id == doc.cells[1].id
        assert "x1 = 1 # needle" in view.visible_text()


async def test_typing_n_in_edit_mode_types_it(notebook):
    """n, N and / are letters while editing: they reach the cell, not find."""
    async with running_app(notebook([("code", "")]), size=SIZE) as (app, pilot):
        await pilot.press("enter", "n", "N", "slash", "escape")
        assert app.session.document.cells[0].source == "nN/"
        assert not app.pane.find_bar.display


async def test_replace_changes_the_current_match_in_a_source_and_moves_on(notebook):
    """ctrl+r shows the replace field; enter in it replaces the match shown (as the human's
    edit) and shows the next one."""
    async with running_app(notebook(cells_with_outputs()), size=SIZE) as (app, pilot):
        doc, bar = app.session.document, app.pane.find_bar
        await pilot.press("slash", *"total", "ctrl+r")
        assert bar.replacing
        assert isinstance(app.focused, type(bar.replacement_input))
        assert app.focused is bar.replacement_input
        assert "Replace" in bottom_rows(app)[1]
        await pilot.press(*"sum", "enter")
        assert doc.cells[0].source == "sum = 1\nprint(total)"
        assert doc.cells[0].last_author == "user"
        assert bar.status == "1 of 6 · ignoring case"
        await pilot.press("enter")
        assert doc.cells[0].source == "sum = 1\nprint(sum)"
        assert "print(sum)" in app.view.visible_text()
        # The next match is in an output: it is never changed.
        await pilot.press("enter")
        assert doc.cells[1].outputs[0]["text"] == "the total is 3\n"
        assert notices(app)[-1].startswith("That match is in an output")


async def test_replace_all_changes_sources_only_in_one_notice(notebook):
    """ctrl+a replaces every match in every source (markdown too), never in outputs, and one
    notice counts the replacements and cells."""
    async with running_app(notebook(cells_with_outputs()), size=SIZE) as (app, pilot):
        doc, bar = app.session.document, app.pane.find_bar
        outputs = [cell.outputs for cell in doc.cells]
        await pilot.press("slash", *"total", "ctrl+r", *"sum", "ctrl+a")
        assert [cell.source for cell in doc.cells] == [
            "sum = 1\nprint(sum)", "x = 2", "# Grand sum", "sum + sum"]
        assert [cell.outputs for cell in doc.cells] == outputs
        assert notices(app)[-1] == "Replaced 5 in 3 cells."
        assert bar.status == "1 of 2 · ignoring case"
        assert "sum + sum" in app.view.visible_text()


async def test_escape_from_the_replace_field_closes_the_bar(notebook):
    """esc in the replace field closes the bar too, and focus is back on the cells."""
    async with running_app(notebook(2), size=SIZE) as (app, pilot):
        await pilot.press("slash", "x", "ctrl+r", "escape")
        assert not app.pane.find_bar.display
        assert isinstance(app.focused, NotebookView)
        assert not isinstance(app.focused, CellEditor)
        await wait_until(pilot, lambda: "Replace" not in screen_text(app),
                         what="the bar to go")


async def test_ctrl_h_shows_and_hides_the_replace_field(notebook):
    """ctrl+h in the bar shows the replace field (focused) and hides it again."""
    async with running_app(notebook(2), size=SIZE) as (app, pilot):
        bar = app.pane.find_bar
        await pilot.press("slash", "ctrl+h")
        assert bar.replacing and app.focused is bar.replacement_input
        assert "Replace" in bottom_rows(app)[1]
        await pilot.press("ctrl+h")
        assert not bar.replacing and app.focused is bar.query_input
        assert "Replace" not in screen_text(app)


async def test_replace_all_sends_an_edit_in_progress_first(notebook):
    """With the bar open, text typed into a cell is sent to the document before replace all
    runs, so the typed occurrences are replaced too and nothing typed is lost."""
    async with running_app(notebook([("code", "old = 1"), ("code", "y = 2")]),
                           size=SIZE) as (app, pilot):
        doc, view, bar = app.session.document, app.view, app.pane.find_bar
        await pilot.press("slash", *"old", "ctrl+r", *"new")
        row = view.screen_row(doc.cells[1].id)
        await pilot.click(NotebookView, offset=(12, row))
        await pilot.click(NotebookView, offset=(12, row))
        assert app.pane.mode == "edit" and app.pane.editor.cell_id == doc.cells[1].id
        await pilot.press("end", *" + old")
        await pilot.click("#find-replacement")
        await pilot.press("ctrl+a")
        assert [cell.source for cell in doc.cells] == ["new = 1", "y = 2 + new"]
        assert app.pane.mode == "command"
        assert notices(app)[-1] == "Replaced 2 in 2 cells."
        assert "y = 2 + new" in view.visible_text()
        assert bar.status == "No matches · ignoring case"
