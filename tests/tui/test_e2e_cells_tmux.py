"""End to end in tmux: the keys of several selected cells, moving, merging, line numbers and
restart-and-run-all reach the real `nbtui` as tmux sends them, and change the saved file."""

from __future__ import annotations

from collections.abc import Callable

import nbformat
from test_e2e_tmux import NBTUI, TIMEOUT, TmuxPane, pane
from tui_helpers import write_notebook

from tests.conftest import poll

__all__ = ["pane"]  # the fixture: a private tmux server


def gutters(screen: str) -> list[str]:
    """The first column of each screen line showing a cell's first line, top to bottom."""
    return [line[:1] for line in screen.splitlines() if "; print(" in line and "[" in line]


def cell_order(screen: str) -> list[str]:
    """The assignment each code line on screen starts with, top to bottom."""
    return [line.split("; print")[0][-6:] for line in screen.splitlines() if "; print(" in line]


async def screen_where(pane: TmuxPane, condition: Callable[[str], bool], what: str) -> str:
    """Wait until the screen satisfies `condition`; returns the screen."""
    screen = ""

    def holds() -> bool:
        nonlocal screen
        screen = pane.screen()
        return condition(screen)

    try:
        await poll(holds, TIMEOUT, message=what)
    except AssertionError:
        raise AssertionError(f"{what} not on screen:\n{screen}") from None
    return screen


async def test_cell_keys_arrive_through_tmux(tmp_path, pane):
    """In tmux: J selects two cells, ctrl+shift+down and alt+up move them, M merges them, l
    numbers the lines, ) ) restarts and runs all, O clears outputs; the file shows the result."""
    path = write_notebook(tmp_path / "cells.ipynb",
                          [("code", f"c{i} = {i}; print('out', {i})") for i in range(4)])
    pane.start(tmp_path, NBTUI, "--no-agent", "--autosave", "0", path.name)
    await pane.shows("c3 = 3", "python3: idle")

    pane.press("J")
    await screen_where(pane, lambda s: gutters(s) == ["▌", "▌", " ", " "], "two selected")

    pane.press("C-S-Down")
    moved = ["c2 = 2", "c0 = 0", "c1 = 1", "c3 = 3"]
    screen = await screen_where(pane, lambda s: cell_order(s) == moved, "the cells moved down")
    assert gutters(screen) == [" ", "▌", "▌", " "]
    pane.press("M-Up")
    back = ["c0 = 0", "c1 = 1", "c2 = 2", "c3 = 3"]
    await screen_where(pane, lambda s: cell_order(s) == back, "the cells moved up")

    pane.press("M")
    await pane.shows("c0 = 0; print('out', 0)")
    pane.press("l")
    await pane.shows("1  c0 = 0", "2  c1 = 1")

    pane.press(")", ")")
    await pane.shows("out 0", "out 1", "out 2", "out 3", "[3]")
    pane.press("O")
    await pane.shows("[ ] 1  c0 = 0")
    pane.press("C-s")
    await pane.shows("cells.ipynb")
    pane.press("C-q")
    assert await pane.exit_status() == 0
    cells = nbformat.read(path, as_version=4).cells
    assert [cell.source for cell in cells] == [
        "c0 = 0; print('out', 0)\nc1 = 1; print('out', 1)", "c2 = 2; print('out', 2)",
        "c3 = 3; print('out', 3)"]
    assert cells[0].outputs == [] and cells[1].execution_count == 2
