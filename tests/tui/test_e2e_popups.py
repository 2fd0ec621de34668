"""End to end at 80x24: the real `nbtui` in tmux shows the completion list at the bottom of the
screen and its socket (or that it has none) in the status bar."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_e2e_tmux import NBTUI, TIMEOUT, TmuxPane
from tui_helpers import write_notebook

from tests.conftest import poll

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

LONG_CELL = "\n".join(f"x{i} = {i}" for i in range(40))
"""Taller than the screen: editing its last line puts the cursor on the bottom line."""


@pytest.fixture
def small_pane(tmp_path: Path) -> Iterator[TmuxPane]:
    """A private tmux server whose pane is 80x24, killed after the test."""
    terminal = TmuxPane(tmp_path, size=(80, 24))
    yield terminal
    terminal.close()


async def test_completion_list_at_the_bottom_of_an_80x24_terminal(tmp_path, small_pane):
    """Tab on the bottom line of the screen shows the completions' entries on screen above
    it; down and enter insert one; the status bar shows the socket's file name."""
    socket_dir = tmp_path / "sock"  # short: under pytest-xdist tmp_path is 10 characters longer
    socket_dir.mkdir(mode=0o700)
    path = write_notebook(tmp_path / "bottom.ipynb", [("code", LONG_CELL)])
    small_pane.start(tmp_path, NBTUI, "open", "--socket", str(socket_dir / "bottom-e2e.sock"),
                     path.name)
    await small_pane.shows("python3: idle", "/bottom-e2e.sock")
    small_pane.press("Enter")
    await small_pane.shows("EDIT")
    small_pane.press("Enter")
    small_pane.type("import o")
    screen = await small_pane.shows("import o")
    rows = screen.splitlines()
    cursor_row = next(i for i, line in enumerate(rows) if "import o" in line)
    assert cursor_row >= len(rows) - 3, screen
    small_pane.press("Tab")
    screen = await small_pane.shows(" os ", " operator ")
    rows = screen.splitlines()
    assert "import o" in rows[cursor_row], screen
    listed = [i for i, line in enumerate(rows) if " operator " in line or " os " in line]
    assert listed and max(listed) < cursor_row, screen
    top = max(i for i in range(cursor_row) if "╭" in rows[i])  # the list's top border
    second = rows[top + 2].split("│")[-2].strip()
    small_pane.press("Down", "Enter")
    await poll(lambda: " operator " not in small_pane.screen(), TIMEOUT,
               message="the completion list to close")
    assert f"import {second}" in small_pane.screen().splitlines()[cursor_row]


async def test_no_agent_session_says_it_has_no_socket(tmp_path, small_pane):
    """`nbtui open --no-agent` says in its status bar that there is no agent socket."""
    path = write_notebook(tmp_path / "alone.ipynb", [("code", "x = 1")])
    small_pane.start(tmp_path, NBTUI, "open", "--no-agent", path.name)
    screen = await small_pane.shows("python3: idle", "no agent socket")
    assert "agents:" not in screen
