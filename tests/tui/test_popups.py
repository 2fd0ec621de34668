"""The completion list, the inspection panel and the approval prompt at 80x24: each stays on
screen and off the line being edited, wherever that line is."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from test_pairing import paired_app
from textual.geometry import Region
from textual.pilot import Pilot
from tui_helpers import running_app, screen_text, wait_until

from nbtui.tui.app import NotebookApp
from nbtui.tui.screens.dialogs import ApprovalScreen
from nbtui.tui.widgets.editor import CompletionMenu, InspectPanel
from nbtui.tui.widgets.status_bar import shorten_path
from tests.conftest import agent, call_error

SMALL = (80, 24)
KERNEL_TIMEOUT = 60
LONG_CELL = "\n".join(f"x{i} = {i}" for i in range(40))
"""A cell taller than the screen: editing its last line puts the cursor at the bottom."""


async def kernel_ready(app: NotebookApp, pilot: Pilot) -> None:
    """Wait for the kernel to be idle."""
    await wait_until(pilot, lambda: app.session.kernel.state == "idle", KERNEL_TIMEOUT,
                     what="the kernel to be idle")


def cursor_row(app: NotebookApp) -> int:
    """The screen row of the editor's cursor."""
    return app.pane.editor.cursor_screen_offset.y


def assert_clear_of_cursor(app: NotebookApp, region: Region) -> None:
    """`region` lies within the screen and does not cover the cursor's row."""
    row = cursor_row(app)
    assert region.height > 0
    assert app.screen.region.contains_region(region), (region, app.screen.region)
    assert not region.y <= row < region.bottom, (region, row)


async def open_completions(app: NotebookApp, pilot: Pilot, source: str) -> CompletionMenu:
    """Edit the first cell (the cursor at its end), type `import o` on a new line and press
    tab; returns the completion list once it shows."""
    await kernel_ready(app, pilot)
    await pilot.press("enter")
    if source:
        await pilot.press("enter")
    await pilot.press(*"import o", "tab")
    menu = app.query_one(CompletionMenu)
    await wait_until(pilot, lambda: menu.display and menu.option_count > 1, KERNEL_TIMEOUT,
                     what="the completion list")
    await pilot.pause()
    return menu


async def test_completion_list_opens_above_a_cursor_at_the_bottom_and_takes_keys(notebook):
    """At 80x24, tab on the bottom line of the screen opens the list above the cursor, within
    the screen; down and enter insert the second completion."""
    path = notebook([("code", LONG_CELL)])
    async with running_app(path, kernel=True, size=SMALL) as (app, pilot):
        menu = await open_completions(app, pilot, LONG_CELL)
        row = cursor_row(app)
        assert row >= SMALL[1] - 3, "the edited line should be at the bottom of the screen"
        assert_clear_of_cursor(app, menu.region)
        assert menu.region.bottom <= row
        assert app.focused is menu
        second = str(menu.get_option_at_index(1).prompt)
        await pilot.press("down", "enter")
        assert not menu.display
        editor = app.pane.editor
        assert editor.text.splitlines()[-1] == f"import {second}"
        assert app.focused is editor


async def test_completion_list_opens_below_when_there_is_room_and_follows_a_resize(notebook):
    """With room below the cursor, the list opens below it; when the terminal shrinks under
    it, it moves to stay on screen and off the cursor's line."""
    path = notebook([("code", "\n" * 8)])
    async with running_app(path, kernel=True, size=SMALL) as (app, pilot):
        menu = await open_completions(app, pilot, "")
        assert_clear_of_cursor(app, menu.region)
        assert menu.region.y == cursor_row(app) + 1
        await pilot.resize_terminal(80, 14)
        await pilot.pause()
        await pilot.pause()
        assert menu.display and app.focused is menu
        assert_clear_of_cursor(app, menu.region)


async def inspect_len(app: NotebookApp, pilot: Pilot, source: str) -> InspectPanel:
    """Edit the first cell, type `len(` on a new line and press shift+tab; returns the panel."""
    await kernel_ready(app, pilot)
    await pilot.press("enter")
    if source:
        await pilot.press("enter")
    await pilot.press(*"len(", "shift+tab")
    panel = app.query_one(InspectPanel)
    await wait_until(pilot, lambda: panel.display, KERNEL_TIMEOUT, what="the inspection panel")
    await pilot.pause()
    return panel


async def test_inspection_panel_never_covers_the_line_being_edited(notebook):
    """shift+tab on the bottom line shows the panel above it; on the top line, below it; a new
    line typed while it shows is still not covered."""
    path = notebook([("code", LONG_CELL)])
    async with running_app(path, kernel=True, size=SMALL) as (app, pilot):
        panel = await inspect_len(app, pilot, LONG_CELL)
        assert "Return the number of items" in str(panel.render())
        assert_clear_of_cursor(app, panel.region)
        assert panel.region.bottom <= cursor_row(app)

    path = notebook([("code", "")], name="top.ipynb")
    async with running_app(path, kernel=True, size=SMALL) as (app, pilot):
        panel = await inspect_len(app, pilot, "")
        assert_clear_of_cursor(app, panel.region)
        assert panel.region.y > cursor_row(app)
        await pilot.press(*["enter"] * 20)
        await wait_until(pilot, lambda: panel.region.bottom <= cursor_row(app),
                         what="the panel to move above the cursor")
        assert panel.display
        assert_clear_of_cursor(app, panel.region)


async def test_approval_prompt_never_covers_the_line_being_edited(notebook):
    """An agent's run waiting for approval while the human edits the bottom line of the screen:
    the prompt shows above that line (and below it when the line is at the top, moving down
    as new lines are typed into the cell), whole."""
    code = "\n".join(f"print({i})" for i in range(30))
    for name, source in (("bottom.ipynb", LONG_CELL), ("top.ipynb", "")):
        async with paired_app(notebook([("code", source)], name=name), kernel=True, approve=True,
                              size=SMALL) as (app, pilot,
                                                                           socket):
            await pilot.press("enter", "end")
            async with agent(socket) as claude:
                run = asyncio.create_task(call_error(claude, "run_code", code=code))
                screen = await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen)
                                          and app.screen, what="the approval prompt")
                await pilot.pause()
                prompt = screen.query_one("#approval")
                if not source:
                    # New lines put into the cell below the prompt: the prompt makes way.
                    app.pane.editor.insert("\n\n\n")
                    await wait_until(pilot, lambda prompt=prompt: cursor_row(app) == 3
                                     and prompt.region.y > 3, what="the prompt to make way")
                assert_clear_of_cursor(app, prompt.region)
                assert screen.query_one("#approval-answers").region.height == 1
                if source:
                    assert prompt.region.bottom <= cursor_row(app)
                else:
                    assert prompt.region.y > cursor_row(app)
                await wait_until(pilot, lambda prompt=screen: prompt.ready,
                                 what="the prompt to take answers")
                await pilot.press("n")
                assert "declined" in await asyncio.wait_for(run, 10)


def status_line(app: NotebookApp) -> str:
    """The status bar's line as drawn on the screen."""
    return screen_text(app).splitlines()[-1]


async def test_status_bar_shows_a_long_socket_path_shortened_at_80_columns(notebook, monkeypatch):
    """At 80 columns a socket path too long for the line is shortened in the middle of its
    directory, with home as ~ and its file name whole; a session without a socket says so."""
    # Not tmp_path: under pytest-xdist it leaves a socket path below it too little room.
    with tempfile.TemporaryDirectory(prefix="nbtui-home-") as home:
        monkeypatch.setenv("HOME", home)
        directory = Path(home, "sockets", "for", "nbtui")
        directory.mkdir(parents=True, mode=0o700)
        socket_path = str(directory / "analysis-0123456789.sock")
        path = notebook(1)
        async with paired_app(path, size=SMALL, socket_path=socket_path) as (app, pilot, _):
            line = await wait_until(pilot, lambda: ".sock" in status_line(app)
                                    and status_line(app), what="the socket in the status bar")
            shown = line.rsplit("│ ", 1)[1].strip()
            assert shown == "~/…/analysis-0123456789.sock", line
            assert shown.endswith("/analysis-0123456789.sock"), line
            assert "nb.ipynb" in line and "COMMAND" in line

    async with running_app(path, size=SMALL) as (app, pilot):
        line = await wait_until(pilot, lambda: app.owns_notebook and status_line(app),
                                what="the session to start")
        await wait_until(pilot, lambda: "no agent socket" in status_line(app),
                         what="the status bar to say there is no socket")
        assert "agents:" not in status_line(app)


def test_a_long_path_loses_directories_from_its_middle_and_keeps_its_file_name():
    """Shortening a socket path drops middle directories for an ellipsis, keeps its start
    (/run or ~) while it fits, and never cuts the file name."""
    path = "/run/user/1000/nbtui/analysis-0123456789.sock"
    assert shorten_path(path, 60) == path
    assert shorten_path(path, 42) == "/run/…/1000/nbtui/analysis-0123456789.sock"
    assert shorten_path(path, 35) == "/run/…/analysis-0123456789.sock"
    assert shorten_path(path, 10) == "…/analysis-0123456789.sock"
    assert shorten_path("~/sockets/for/nbtui/x.sock", 20) == "~/…/for/nbtui/x.sock"
