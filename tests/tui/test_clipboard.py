"""Copying to the system clipboard (OSC 52): Y copies the cell's source, ctrl+y its output text;
the human is told when the copy cannot arrive (no clipboard escape, tmux not taking it)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tui_helpers import running_app, wait_until

from nbtui.tui.widgets.notebook import terminal_clipboard_problem

SIZE = (80, 24)

ERROR_CELL = {
    "cell_type": "code", "source": "1 / 0", "metadata": {}, "execution_count": 1,
    "outputs": [
        {"output_type": "stream", "name": "stdout", "text": "\x1b[1mbold\x1b[0m start\n"},
        {"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero",
         "traceback": ["\x1b[0;31mZeroDivisionError\x1b[0m  Traceback",
                       "\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"]},
    ],
}


def notices(app) -> list[str]:
    """The messages of every notification so far."""
    return [notification.message for notification in app._notifications]


async def test_Y_copies_the_selected_cells_source(notebook):
    """Y puts the selected cell's source on the clipboard and says how many lines."""
    path = notebook([("code", "a = 1"), ("code", "import math\nmath.pi")])
    async with running_app(path, size=SIZE) as (app, pilot):
        await pilot.press("j", "Y")
        assert app.clipboard == "import math\nmath.pi"
        assert notices(app)[-1] == "Copied 2 lines to the clipboard (OSC 52)."
        assert app.view.selected_index == 1
        assert [cell.source for cell in app.session.document.cells] == [
            "a = 1", "import math\nmath.pi"]


async def test_ctrl_y_copies_the_output_text_without_colours(notebook):
    """ctrl+y copies the cell's outputs as plain text: streams and tracebacks, ANSI stripped."""
    async with running_app(notebook([ERROR_CELL]), size=SIZE) as (app, pilot):
        await pilot.press("ctrl+y")
        assert app.clipboard == ("bold start\nZeroDivisionError  Traceback\n"
                                 "ZeroDivisionError: division by zero")
        assert notices(app)[-1] == "Copied 3 lines to the clipboard (OSC 52)."
        assert "division by zero" in app.view.visible_text()


async def test_nothing_to_copy_is_said(notebook):
    """An empty cell, or a cell without output, copies nothing and says so."""
    async with running_app(notebook([("code", ""), ("code", "x")]), size=SIZE) as (app, pilot):
        await pilot.press("Y")
        assert notices(app)[-1] == "The cell is empty: nothing to copy."
        await pilot.press("j", "ctrl+y")
        assert notices(app)[-1] == "The cell has no output text to copy."
        assert app.clipboard == ""


async def test_Y_in_edit_mode_is_a_letter(notebook):
    """While editing, Y types a Y and copies nothing."""
    async with running_app(notebook([("code", "")]), size=SIZE) as (app, pilot):
        await pilot.press("enter", "Y", "escape")
        assert app.session.document.cells[0].source == "Y"
        assert app.clipboard == ""


def test_a_terminal_without_osc52_or_no_terminal_is_named():
    """TERM=dumb or linux, or a screen that is not a terminal, gets a reason in one sentence."""
    primary, secondary = os.openpty()
    try:
        with os.fdopen(secondary, "w", closefd=False) as tty:
            assert terminal_clipboard_problem("xterm-256color", tty) is None
            assert terminal_clipboard_problem("linux", tty) == (
                "this terminal (TERM=linux) has no clipboard escape (OSC 52).")
            assert "TERM=dumb" in terminal_clipboard_problem("dumb", tty)
    finally:
        os.close(primary)
        os.close(secondary)
    assert terminal_clipboard_problem("xterm", io.StringIO()) == (
        "nbtui's output is not a terminal.")
    assert terminal_clipboard_problem("xterm", None) == "nbtui's output is not a terminal."


@pytest.fixture
def tmux_server(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Start a private tmux server with a given set-clipboard; returns its TMUX value."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is needed for this test")
    name = f"nbtui-clip-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "tmux.conf"
    env = dict(os.environ)

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", "-L", name, "-f", str(config), *args],
                              capture_output=True, text=True, env=env, check=False).stdout

    def start(setting: str) -> str:
        config.write_text(f"set -g set-clipboard {setting}\n")
        tmux("new-session", "-d", "-s", "main")
        socket = tmux("display-message", "-p", "#{socket_path}").strip()
        pid = tmux("display-message", "-p", "#{pid}").strip()
        return f"{socket},{pid},0"

    yield start
    socket = tmux("display-message", "-p", "#{socket_path}").strip()
    tmux("kill-server")
    if socket:
        Path(socket).unlink(missing_ok=True)


async def test_in_tmux_with_set_clipboard_off_the_human_is_told(notebook, tmux_server,
                                                                monkeypatch):
    """Inside tmux whose set-clipboard is off, Y says the copy needs `set-clipboard on`."""
    monkeypatch.setenv("TMUX", tmux_server("off"))
    async with running_app(notebook([("code", "a = 1")]), size=SIZE) as (app, pilot):
        await pilot.press("Y")
        notice = await wait_until(
            pilot, lambda: [n for n in notices(app) if "set-clipboard" in n], what="the notice")
        assert notice == ["Sent 1 line to the clipboard (OSC 52), but tmux's set-clipboard "
                          "is off: add `set -g set-clipboard on` to ~/.tmux.conf for copies "
                          "to arrive."]


async def test_in_tmux_with_set_clipboard_on_the_copy_is_confirmed(notebook, tmux_server,
                                                                   monkeypatch):
    """Inside tmux whose set-clipboard is on, Y confirms the copy."""
    monkeypatch.setenv("TMUX", tmux_server("on"))
    async with running_app(notebook([("code", "a = 1")]), size=SIZE) as (app, pilot):
        await pilot.press("Y")
        await wait_until(pilot, lambda: "Copied 1 line to the clipboard (OSC 52)." in
                         notices(app), what="the notice")
        assert not [n for n in notices(app) if "set-clipboard" in n]
