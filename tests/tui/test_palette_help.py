"""The command palette and the help screen are read from the key bindings: every binding with a
description is a command in both, shown with the keys in effect after the user's remaps."""

from __future__ import annotations

from typing import Any

import pytest
from textual.binding import Binding
from tui_helpers import running_app, screen_text, wait_until

from nbtui.tui.app import NotebookApp
from nbtui.tui.screens.help import HelpScreen, commands
from nbtui.tui.widgets.editor import CellEditor
from nbtui.tui.widgets.notebook import NotebookPane
from nbtui.tui.widgets.notebook_view import NotebookView

HELP_SIZE = (140, 200)
"""Tall enough for the whole help screen on one page."""

SCOPES = (NotebookView, CellEditor, NotebookPane, NotebookApp)


def palette_titles(app: NotebookApp) -> dict[str, str]:
    """The palette's commands: title → help text (the keys)."""
    return {command.title: command.help for command in app.get_system_commands(app.screen)}


async def open_help(app: NotebookApp, pilot: Any) -> str:
    await pilot.press("question_mark")
    await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
    return screen_text(app)


async def test_every_described_binding_is_in_the_palette_and_the_help(notebook):
    """Each binding with a description of the view, the pane and the app is a palette command
    titled by its description with its keys as help, and a row of the help screen; the
    editor's join the palette while a cell is edited."""
    async with running_app(notebook(1), size=HELP_SIZE) as (app, pilot):
        titles = palette_titles(app)
        for scope in (NotebookView, NotebookPane, NotebookApp):
            for command in commands(scope.BINDINGS, {}):
                assert titles.get(command.description) == command.key_text, command
        elsewhere = {c.description for scope in (NotebookView, NotebookPane, NotebookApp)
                     for c in commands(scope.BINDINGS, {})}
        editor_only = {c.description for c in commands(CellEditor.BINDINGS, {})} - elsewhere
        assert editor_only and not editor_only & set(titles)
        text = await open_help(app, pilot)
        for scope in SCOPES:
            for command in commands(scope.BINDINGS, {}):
                assert command.description in text, command
        await pilot.press("escape", "enter")
        await wait_until(pilot, lambda: app.pane.mode == "edit", what="edit mode")
        titles = palette_titles(app)
        for command in commands(CellEditor.BINDINGS, {}):
            assert command.description in titles, command


async def test_a_new_binding_appears_without_other_changes(notebook, monkeypatch):
    """A binding added to the view's BINDINGS is a palette command and a help row at once."""
    extra = Binding("ctrl+t", "added_for_the_test", "Jump to the last cell (added)", id="view.test")
    monkeypatch.setattr(NotebookView, "BINDINGS", [*NotebookView.BINDINGS, extra])
    async with running_app(notebook(1), size=HELP_SIZE) as (app, pilot):
        assert palette_titles(app)["Jump to the last cell (added)"] == "ctrl+t"
        assert "Jump to the last cell (added)" in await open_help(app, pilot)


async def test_a_fallback_key_joins_its_command(notebook):
    """Two keys bound to one action (the main key and its fallback) are one command listing
    both keys."""
    found = commands([Binding("ctrl+shift+s", "save_as", "Save as", id="app.save_as"),
                      Binding("S", "save_as", "Save as (fallback)", id="app.save_as_fallback")],
                     {})
    assert [(c.description, c.key_text) for c in found] == [("Save as", "ctrl+shift+s, S")]


async def test_choosing_a_palette_command_runs_it_on_the_notebook(notebook):
    """Typing a command's name in the palette and pressing enter runs it: a cell is inserted
    below the selected one."""
    async with running_app(notebook(1)) as (app, pilot):
        await pilot.press("ctrl+p")
        await pilot.press(*"Insert a cell below")
        await wait_until(pilot, lambda: "Insert a cell below" in screen_text(app),
                         what="the palette entry")
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.session.document.cells) == 2,
                         what="the inserted cell")
        assert app.view.selected_id == app.session.document.cells[1].id


async def test_a_twice_pressed_command_runs_once_chosen(notebook):
    """A command whose key is pressed twice (d d) runs when chosen once in the palette."""
    async with running_app(notebook(2)) as (app, pilot):
        first = app.session.document.cells[0].id
        (delete,) = [c for c in commands(NotebookView.BINDINGS, {}) if c.action == "delete"]
        assert delete.presses == 2
        (command,) = [c for c in app.get_system_commands(app.screen)
                      if c.title == delete.description]
        await command.callback()
        assert not app.session.document.has(first)
        assert len(app.session.document.cells) == 1


@pytest.mark.parametrize("remap", [{"app.toggle_log": "f2"}, {"app.toggle_log": "f2,f3"}])
async def test_a_remapped_key_shows_in_the_help_and_the_palette_and_works(notebook, remap):
    """After set_keymap (the user's settings) the help and the palette show the new key for
    the command, not the old one, and the new key runs it."""
    async with running_app(notebook(1), size=HELP_SIZE) as (app, pilot):
        app.set_keymap(remap)
        shown = ", ".join(remap["app.toggle_log"].split(","))
        assert palette_titles(app)["Show or hide the activity log"] == shown
        text = await open_help(app, pilot)
        (row,) = [line for line in text.splitlines() if "Show or hide the activity log" in line]
        assert shown in row and "ctrl+l" not in row
        await pilot.press("escape", "f2")
        await wait_until(pilot, lambda: app.activity_log.display, what="the log to show")


async def test_ctrl_l_shows_the_activity_log_and_l_does_not(notebook):
    """The activity log is on ctrl+l; a plain l no longer opens it."""
    async with running_app(notebook(1)) as (app, pilot):
        await pilot.press("l")
        await pilot.pause()
        assert not app.activity_log.display
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: app.activity_log.display, what="the log to show")
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: not app.activity_log.display, what="the log to hide")


async def test_the_app_bindings_have_ids():
    """Every binding of the app has an id app.<name>, for remaps in the config file."""
    for binding in NotebookApp.BINDINGS:
        assert isinstance(binding, Binding) and binding.id and binding.id.startswith("app.")


async def test_the_palette_sets_agent_access_without_a_key(notebook):
    """The palette offers read only, edit and run for agents; choosing one sets it."""
    async with running_app(notebook(1)) as (app, pilot):
        titles = palette_titles(app)
        for title in ("Agents: read only", "Agents: edit, no runs", "Agents: edit and run"):
            assert title in titles
        (command,) = [c for c in app.get_system_commands(app.screen)
                      if c.title == "Agents: read only"]
        command.callback()
        assert app.session.policy.access == "read"


async def test_the_help_lists_the_find_bars_and_the_input_lines_keys(notebook):
    """The keys that work only inside the find bar, the input line or the full-screen image
    have their own help sections (and are not palette commands: those act on the notebook)."""
    from nbtui.tui.screens.image_view import ImageViewScreen
    from nbtui.tui.widgets.find_bar import FindBar
    from nbtui.tui.widgets.input_prompt import InputPrompt

    async with running_app(notebook(1), size=HELP_SIZE) as (app, pilot):
        titles = palette_titles(app)
        text = await open_help(app, pilot)
        assert "The find bar" in text and "The input line" in text
        assert "The full-screen image" in text
        for scope in (FindBar, InputPrompt, ImageViewScreen):
            for command in commands(scope.BINDINGS, {}):
                assert command.description in text, command
        assert "Replace all (in sources)" not in titles
