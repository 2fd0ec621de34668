"""Starting and stopping: start after the first paint, stop whatever way the app ends."""

from __future__ import annotations

import asyncio
import signal

import click
import nbformat
from tui_helpers import wait_until

from nbtui.core.session import NotebookSession
from nbtui.tui.app import NotebookApp
from nbtui.tui.screens.dialogs import ApprovalScreen


class Recorder:
    """A start and a stop function that record their calls."""

    def __init__(self, session: NotebookSession, error: Exception | None = None) -> None:
        self.session = session
        self.error = error
        self.started = asyncio.Event()
        self.stops: list[tuple] = []
        self.painted_before_start = False
        self.app: NotebookApp | None = None

    async def start(self):
        assert self.app is not None
        self.painted_before_start = "x0 = 0" in self.app.view.visible_text()
        self.started.set()
        if self.error is not None:
            raise self.error
        return "lock", "endpoint"

    async def stop(self, session, lock, endpoint) -> None:
        self.stops.append((lock, endpoint))
        await session.close()


async def test_start_runs_after_the_first_paint_and_stop_runs_once(notebook):
    """The notebook is on screen before start runs; finish runs stop exactly once."""
    session = NotebookSession(notebook(2), autosave_seconds=0)
    recorder = Recorder(session)
    app = NotebookApp(session, start=recorder.start)
    recorder.app = app
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, recorder.started.is_set, what="start")
        assert recorder.painted_before_start
        await pilot.press("b")
    await app.finish(recorder.stop)
    await app.finish(recorder.stop)
    assert recorder.stops == [("lock", "endpoint")]
    assert len(nbformat.read(session.path, as_version=4).cells) == 3


async def test_the_status_bar_can_be_updated_while_the_app_is_taken_down(notebook):
    """The save-error check (a timer) may fire after the main screen was removed on exit: it
    updates the status bar without raising, and the bar still shows the notebook's name."""
    session = NotebookSession(notebook(1), autosave_seconds=0)
    app = NotebookApp(session)
    async with app.run_test(size=(120, 40)):
        pass
    app._check_save_error()
    assert app.status_bar.notebook == session.path.name
    await session.close()


async def test_a_start_error_ends_the_app_without_saving(notebook):
    """A user error from start ends the app, is kept for run_app to show, and nothing is saved."""
    path = notebook(2)
    before = path.read_bytes()
    session = NotebookSession(path, autosave_seconds=0)
    recorder = Recorder(session, click.ClickException("notebook already open elsewhere"))
    app = NotebookApp(session, start=recorder.start)
    recorder.app = app
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("b")
        await wait_until(pilot, lambda: not app.is_running, what="the app to end")
    await app.finish(recorder.stop)
    assert str(app.start_error) == "notebook already open elsewhere"
    assert app.return_code == 1
    assert recorder.stops == []
    assert path.read_bytes() == before
    assert session.kernel.state == "stopped"


async def test_a_signal_saves_at_once_and_ends_the_app(notebook):
    """SIGTERM/SIGHUP take the editor's text, save the notebook and end the app."""
    path = notebook(2)
    session = NotebookSession(path, autosave_seconds=0)
    recorder = Recorder(session)
    app = NotebookApp(session, start=recorder.start)
    recorder.app = app
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.owns_notebook, what="start")
        await pilot.press("enter", "9")
        app.exit_on_signal(signal.SIGHUP)
        assert nbformat.read(path, as_version=4).cells[0].source == "x0 = 09"
        await wait_until(pilot, lambda: not app.is_running, what="the app to end")
    await app.finish(recorder.stop)
    assert recorder.stops == [("lock", "endpoint")]


async def test_approval_mode_asks_the_human(notebook):
    """In approval mode an agent's execution waits for y or n."""
    session = NotebookSession(notebook(1), autosave_seconds=0)
    app = NotebookApp(session, approve=True)
    async with app.run_test(size=(120, 40)) as pilot:
        answer = asyncio.ensure_future(app.ask_approval("claude", "run_code", "print(1)"))
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen)
                         and app.screen.ready, what="the question")
        await pilot.press("y")
        assert await asyncio.wait_for(answer, 5) is True
        answer = asyncio.ensure_future(app.ask_approval("claude", "run_code", "rm -rf"))
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen)
                         and app.screen.ready, what="the question")
        await pilot.press("n")
        assert await asyncio.wait_for(answer, 5) is False
    await app.finish()
