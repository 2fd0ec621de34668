"""Command mode: every cell key acts on the document and shows on screen."""

from __future__ import annotations

import nbformat
from tui_helpers import running_app, screen_text, wait_until

from nbtui.tui.screens.dialogs import QuitScreen
from nbtui.tui.screens.help import HelpScreen


def sources(app) -> list[str]:
    return [cell.source for cell in app.session.document.cells]


def selected_source(app) -> str:
    return app.session.document.get(app.view.selected_id).source


async def test_j_k_and_arrows_move_the_selection_and_the_documents_focus(notebook):
    """j/down select the next cell, k/up the previous; the document learns where the human is."""
    async with running_app(notebook(4)) as (app, pilot):
        doc = app.session.document
        assert app.view.selected_index == 0
        await pilot.press("j", "down")
        assert app.view.selected_index == 2
        assert doc.focus.cell_id == doc.cells[2].id and doc.focus.mode == "command"
        await pilot.press("k")
        assert app.view.selected_index == 1
        await pilot.press("up", "up")
        assert app.view.selected_index == 0
        assert "▌" in app.view.visible_text().splitlines()[0]


async def test_a_and_b_insert_empty_cells_above_and_below(notebook):
    """a inserts above the selected cell, b below; the new cell is selected."""
    async with running_app(notebook(2)) as (app, pilot):
        await pilot.press("a")
        assert sources(app) == ["", "x0 = 0", "x1 = 1"]
        assert app.view.selected_index == 0
        await pilot.press("j", "b")
        assert sources(app) == ["", "x0 = 0", "", "x1 = 1"]
        assert app.view.selected_index == 2
        await pilot.pause()
        assert app.view.cell_ids == [c.id for c in app.session.document.cells]


async def test_d_d_deletes_and_z_brings_the_cell_back(notebook):
    """One d does nothing, d d deletes the selected cell, z restores it where it was."""
    async with running_app(notebook(3)) as (app, pilot):
        await pilot.press("j", "d")
        assert len(app.session.document) == 3
        await pilot.press("d")
        assert sources(app) == ["x0 = 0", "x2 = 2"]
        assert selected_source(app) == "x2 = 2"
        await pilot.pause()
        assert "x1 = 1" not in app.view.visible_text()
        await pilot.press("z")
        assert sources(app) == ["x0 = 0", "x1 = 1", "x2 = 2"]
        assert selected_source(app) == "x1 = 1"
        await pilot.pause()
        assert "x1 = 1" in app.view.visible_text()


async def test_x_cuts_c_copies_and_v_pastes_below(notebook):
    """x cuts the cell, c copies it, v pastes the clipboard below the selected cell."""
    async with running_app(notebook(3)) as (app, pilot):
        await pilot.press("x")
        assert sources(app) == ["x1 = 1", "x2 = 2"]
        await pilot.press("j", "v")
        assert sources(app) == ["x1 = 1", "x2 = 2", "x0 = 0"]
        assert app.view.selected_index == 2
        await pilot.press("k", "c", "v")
        assert sources(app) == ["x1 = 1", "x2 = 2", "x2 = 2", "x0 = 0"]


async def test_m_y_r_change_the_cell_type_and_markdown_is_rendered(notebook):
    """m makes a markdown cell (shown rendered), y makes it code again, r raw."""
    async with running_app(notebook([("code", "**bold** text")])) as (app, pilot):
        cell = app.session.document.cells[0]
        await pilot.press("m")
        assert cell.cell_type == "markdown"
        await pilot.pause()
        assert "bold text" in app.view.visible_text()
        assert "**bold**" not in app.view.visible_text()
        await pilot.press("r")
        assert cell.cell_type == "raw"
        await pilot.pause()
        assert "**bold** text" in app.view.visible_text()
        await pilot.press("y")
        assert cell.cell_type == "code"
        await pilot.pause()
        assert "[ ] **bold** text" in app.view.visible_text()


async def test_o_collapses_expands_and_hides_long_outputs(notebook):
    """A long output shows its first 20 and last 10 lines around a "more lines" marker; o
    expands, hides, shows again."""
    text = "".join(f"line {i}\n" for i in range(100))
    cell = {"cell_type": "code", "source": "print(...)", "metadata": {}, "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": text}]}
    async with running_app(notebook([cell]), size=(120, 200)) as (app, pilot):
        screen = app.view.visible_text()
        assert "line 19" in screen and "line 20" not in screen and "line 99" in screen
        assert "70 more lines" in screen
        await pilot.press("o")
        await pilot.pause()
        screen = app.view.visible_text()
        assert "line 99" in screen and "more lines" not in screen
        await pilot.press("o")
        await pilot.pause()
        screen = app.view.visible_text()
        assert "line 0" not in screen and "1 output hidden" in screen
        await pilot.press("o")
        await pilot.pause()
        assert "70 more lines" in app.view.visible_text()


async def test_clicking_the_more_marker_expands_the_output(notebook):
    """Clicking "… N more lines" shows the whole output."""
    text = "".join(f"line {i}\n" for i in range(40))
    cell = {"cell_type": "code", "source": "x", "metadata": {}, "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": text}]}
    async with running_app(notebook([cell]), size=(120, 60)) as (app, pilot):
        row = app.view.visible_text().splitlines().index(
            next(line for line in app.view.visible_text().splitlines() if "more lines" in line))
        await pilot.click(app.view, offset=(20, row))
        await pilot.pause()
        assert "line 39" in app.view.visible_text()


async def test_ctrl_s_writes_the_file(notebook):
    """ctrl+s saves the notebook to its file and clears the unsaved marker."""
    path = notebook(2)
    async with running_app(path) as (app, pilot):
        await pilot.press("b")
        await pilot.pause()
        assert app.session.document.dirty
        assert "unsaved" in str(app.status_bar.render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not app.session.document.dirty
        assert len(nbformat.read(path, as_version=4).cells) == 3
        assert "unsaved" not in str(app.status_bar.render())


async def test_ctrl_q_asks_when_there_are_unsaved_changes(notebook):
    """ctrl+q with unsaved changes asks; cancel stays, save quits."""
    async with running_app(notebook(1)) as (app, pilot):
        await pilot.press("b", "ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, QuitScreen)
        assert app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("s")
        await wait_until(pilot, lambda: not app.is_running, what="the app to exit")


async def test_ctrl_q_quits_at_once_when_everything_is_saved(notebook):
    """ctrl+q without unsaved changes quits without asking."""
    async with running_app(notebook(1)) as (app, pilot):
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: not app.is_running, what="the app to exit")


async def test_help_lists_every_key_and_the_run_fallbacks(notebook):
    """? shows the help screen: command and edit keys, and the ctrl+e / ctrl+r fallbacks."""
    async with running_app(notebook(1), size=(120, 200)) as (app, pilot):
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for key in ("ctrl+e", "ctrl+r", "d d", "i i", "0 0", "shift+enter", "alt+enter",
                    "esc", "tab", "shift+tab", "ctrl+s", "ctrl+q", "z", "o", "f"):
            assert key in text, key
        assert "always arrive" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_offers_the_notebook_actions(notebook):
    """The command palette lists the notebook's actions by name."""
    async with running_app(notebook(1)) as (app, pilot):
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in ("Run", "Insert a cell below", "Delete the selected cells (press twice)",
                      "Restart the kernel (press twice)", "Save the notebook",
                      "Follow the agent"):
            assert title in titles


async def test_clicking_selects_and_a_second_click_edits(notebook):
    """A click selects the cell under the mouse; clicking it again enters edit mode."""
    async with running_app(notebook(3)) as (app, pilot):
        row = app.view.screen_row(app.session.document.cells[2].id)
        await pilot.click(app.view, offset=(12, row))
        await pilot.pause()
        assert app.view.selected_index == 2
        assert app.pane.mode == "command"
        await pilot.click(app.view, offset=(12, row))
        await pilot.pause()
        assert app.pane.mode == "edit"
        assert app.session.document.focus.mode == "edit"


async def test_an_empty_notebook_gets_cells_with_b(tmp_path):
    """A new, empty notebook shows nothing to select; b adds a cell and selects it."""
    async with running_app(tmp_path / "new.ipynb") as (app, pilot):
        doc = app.session.document
        assert len(doc.cells) == 0 and app.view.selected_id is None
        assert "press b to add a cell" in app.view.visible_text()
        await pilot.press("b")
        assert len(doc.cells) == 1
        assert app.view.selected_id == doc.cells[0].id
        await pilot.press("enter", "1", "escape")
        assert app.session.document.get(app.view.selected_id).source == "1"


async def test_ctrl_s_does_not_silently_overwrite_a_file_changed_on_disk(notebook):
    """If the file changed on disk, ctrl+s warns; a second ctrl+s overwrites it."""
    path = notebook(1)
    async with running_app(path) as (app, pilot):
        other = nbformat.read(path, as_version=4)
        other.cells[0].source = "changed elsewhere"
        nbformat.write(other, path)
        await pilot.press("b", "ctrl+s")
        await pilot.pause()
        assert "changed elsewhere" in path.read_text()
        assert app.session.document.dirty
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "changed elsewhere" not in path.read_text()
        assert len(nbformat.read(path, as_version=4).cells) == 2
