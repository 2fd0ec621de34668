"""End to end in tmux: copies reach tmux's buffer through OSC 52, and the split keys arrive.

nbtui runs for real in a private tmux server with `set-clipboard on`, as a human would run it
over SSH; `tmux show-buffer` reads back what the copy sent.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from test_e2e_tmux import NBTUI, TIMEOUT, TmuxPane, log_of
from tui_helpers import write_notebook

from tests.conftest import poll

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

SOURCE = "message = 'copy me'\nprint(message)"


@pytest.fixture
def clipboard_pane(tmp_path: Path) -> Iterator[TmuxPane]:
    """A private tmux server that takes clipboard copies from programs into its buffer."""
    terminal = TmuxPane(tmp_path)
    terminal.config.write_text(terminal.config.read_text() + "set -g set-clipboard on\n")
    yield terminal
    terminal.close()


async def buffer_is(pane: TmuxPane, text: str) -> None:
    """Wait until tmux's newest buffer holds `text`."""
    try:
        await poll(lambda: pane.tmux("show-buffer") == text, TIMEOUT,
                   message="the copy in tmux's buffer")
    except AssertionError:
        raise AssertionError(f"buffer: {pane.tmux('show-buffer')!r}\n{pane.screen()}") from None


async def test_copies_land_in_tmux_buffer_and_split_keys_arrive(tmp_path, clipboard_pane):
    """In tmux with set-clipboard on, Y puts the cell's source and ctrl+y its output text in
    tmux's buffer; in edit mode ctrl+\\ and ctrl+_ (what ctrl+shift+minus sends) split the
    cell at the cursor."""
    pane = clipboard_pane
    cell = {"cell_type": "code", "source": SOURCE, "metadata": {}, "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout",
                         "text": "\x1b[32mcopy me\x1b[0m\n"}]}
    path = write_notebook(tmp_path / "clip.ipynb", [cell, ("code", "a = 1\nb = 2\nc = 3")])
    pane.start(tmp_path, NBTUI, "--no-agent", path.name)
    await pane.shows("print(message)", "COMMAND")
    pid = pane.program_pid()

    pane.press("Y")
    await pane.shows("Copied 2 lines to the clipboard (OSC 52).")
    await buffer_is(pane, SOURCE)

    pane.press("C-y")
    await pane.shows("Copied 1 line to the clipboard (OSC 52).")
    await buffer_is(pane, "copy me")

    pane.press("j", "Enter")
    await pane.shows("EDIT")
    pane.press("Up", "Up", "End", "C-\\")
    await pane.shows("[ ] b = 2")
    pane.press("End", "C-_")
    await pane.shows("[ ] c = 3")
    pane.press("Escape")
    await pane.shows("COMMAND")
    pane.press("C-s")
    await pane.shows("Saved clip.ipynb")
    saved = nbformat.read(path, as_version=4)
    assert [c.source for c in saved.cells] == [SOURCE, "a = 1", "b = 2", "c = 3"], log_of(pid)
    pane.press("C-q")
    assert await pane.exit_status() == 0, log_of(pid)
