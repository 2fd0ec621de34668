"""alt+enter arrives although tmux (and any terminal without the kitty keyboard protocol) sends
it as ESC CR, which Textual reads as a plain enter; end to end in tmux it runs the cell and
inserts one below, in command mode and in edit mode (issue 8)."""

from __future__ import annotations

import nbformat
from test_e2e_tmux import NBTUI, children, log_of, pane  # noqa: F401 - pane is a fixture
from textual._xterm_parser import XTermParser
from tui_helpers import write_notebook

from nbtui.tui.widgets.editor import deliver_alt_enter
from tests.conftest import poll
from tests.test_cli import alive


def test_esc_cr_is_read_as_alt_enter_and_cr_as_enter():
    """Once the editor has made sure of it, the terminal's ESC CR is alt+enter, CR still enter."""
    deliver_alt_enter()
    assert [key.key for key in XTermParser().feed("\x1b\r")] == ["alt+enter"]
    assert [key.key for key in XTermParser().feed("\r")] == ["enter"]


async def test_alt_enter_in_tmux_runs_and_inserts_below_in_both_modes(tmp_path, pane):  # noqa: F811
    """M-Enter on a selected cell runs it and opens a new cell below in edit mode; M-Enter
    there runs what was typed and opens another; the file has the three cells in order."""
    path = write_notebook(tmp_path / "alt.ipynb", [("code", "print('alt', 6 * 7)")])
    pane.start(tmp_path, NBTUI, path.name)
    await pane.shows("print('alt', 6 * 7)", "python3: idle", "socket:")
    pid = pane.program_pid()
    kernels = children(pid)

    pane.press("M-Enter")
    await pane.shows("alt 42", "EDIT")
    pane.type("print('typed', 2 + 3)")
    await pane.shows("print('typed', 2 + 3)")
    pane.press("M-Enter")
    await pane.shows("typed 5")

    pane.press("Escape")
    await pane.shows("COMMAND")
    pane.press("C-s")
    await pane.shows("Saved alt.ipynb")
    saved = nbformat.read(path, as_version=4)
    assert [cell.source for cell in saved.cells] == [
        "print('alt', 6 * 7)", "print('typed', 2 + 3)", ""]
    assert saved.cells[0].outputs[0]["text"] == "alt 42\n"
    assert saved.cells[1].outputs[0]["text"] == "typed 5\n"

    pane.press("C-q")
    assert await pane.exit_status() == 0, log_of(pid)
    await poll(lambda: not any(alive(k) for k in kernels), 10, message="the kernel to be gone")
