"""In the TUI, a notebook nobody edited is not unsaved and is left as it was on disk; the first
real save of an older format says once that it upgraded the file to 4.5."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nbformat
from textual.pilot import Pilot
from tui_helpers import SIZE, screen_text, wait_until

from nbtui.core.session import NotebookSession
from nbtui.tui.app import NotebookApp
from nbtui.tui.screens.dialogs import QuitScreen
from tests.test_open_unchanged import KERNEL_TIMEOUT, running_kernelspec, write_jupyter_notebook


@contextlib.asynccontextmanager
async def app_opened(path: Path) -> AsyncIterator[tuple[NotebookApp, Pilot]]:
    """The app on `path` with autosave every 0.05 s and a real kernel, once the kernel is idle,
    its kernelspec is in the document and autosave has looked for changes twice."""
    session = NotebookSession(path, autosave_seconds=0.05)

    async def start() -> tuple[None, None]:
        await session.start()
        return None, None

    async def stop(session: NotebookSession, lock: Any, endpoint: Any) -> None:
        await session.close()

    app = NotebookApp(session, start=start)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await wait_until(pilot, lambda: session.kernel.state == "idle", KERNEL_TIMEOUT,
                             what="an idle kernel")
            await wait_until(pilot, lambda: session.document.metadata["kernelspec"]
                             == running_kernelspec(), what="the kernelspec in the document")
            checks = session.autosave_checks
            await wait_until(pilot, lambda: session.autosave_checks >= checks + 2,
                             what="two autosave checks")
            yield app, pilot
    finally:
        await app.finish(stop)


def assert_not_unsaved(app: NotebookApp) -> None:
    """The document is clean and the status bar shows no unsaved marker."""
    assert not app.session.document.dirty
    assert not app.status_bar.dirty
    assert "unsaved" not in screen_text(app)


async def test_ctrl_q_quits_an_unedited_notebook_without_asking_and_leaves_it(tmp_path):
    """A 4.4 notebook whose kernelspec says "Python 3", opened with its kernel running and
    autosave on: no unsaved marker, ctrl+q quits without asking, and the file is unchanged."""
    path = write_jupyter_notebook(tmp_path / "chapter.ipynb", "4.4", "Python 3")
    before = path.read_bytes()
    async with app_opened(path) as (app, pilot):
        assert_not_unsaved(app)
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: not app.is_running or isinstance(app.screen, QuitScreen),
                         what="the app to end or ask")
        assert not isinstance(app.screen, QuitScreen)
    assert path.read_bytes() == before


async def test_a_hang_up_leaves_an_unedited_notebook_as_it_was(tmp_path):
    """A hang-up (SIGHUP saves unsaved changes at once) leaves an unedited 4.0 notebook
    byte-identical."""
    path = write_jupyter_notebook(tmp_path / "chapter.ipynb", "4.0", "Python 3")
    before = path.read_bytes()
    async with app_opened(path) as (app, pilot):
        assert_not_unsaved(app)
        app.exit_on_signal(signal.SIGHUP)
        await wait_until(pilot, lambda: not app.is_running, what="the app to end")
    assert path.read_bytes() == before


async def test_the_first_save_after_an_edit_says_once_that_it_upgraded_the_format(tmp_path):
    """After an edit, ctrl+s writes format 4.5 and a notification says so; a second save does
    not say it again."""
    path = write_jupyter_notebook(tmp_path / "old.ipynb", "4.4", "Python 3")
    note = ("old.ipynb was saved in notebook format 4.5 (it was 4.4), which gives every cell an "
            "id, as JupyterLab 4 does.")

    def notes(app: NotebookApp) -> int:
        return sum(n.message == note for n in app._notifications)

    async with app_opened(path) as (app, pilot):
        await pilot.press("b")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: notes(app), what="the upgrade note")
        assert "old.ipynb was saved in notebook format 4.5" in screen_text(app)
        assert app.session.document.to_notebook().nbformat_minor == 5
        await pilot.press("b", "ctrl+s")
        app._check_save_error()  # the poll that shows the note, once more
        assert notes(app) == 1
    saved = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert saved.nbformat_minor == 5 and all(cell.get("id") for cell in saved.cells)
