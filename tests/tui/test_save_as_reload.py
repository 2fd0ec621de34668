"""Save as, reload from disk, and the question a save asks when the file changed on disk."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from textual.widgets import Button, Input, Static
from tui_helpers import running_app, screen_text, wait_until

from nbtui.agent.sessions import SessionError, SessionLock, running_sessions
from nbtui.core.document import USER
from nbtui.core.session import NotebookSession
from nbtui.tui.app import NotebookApp
from nbtui.tui.screens.dialogs import ReloadScreen, SaveAsScreen, SaveConflictScreen

DEADLINE = 60


async def open_save_as(app: NotebookApp, pilot: Any, key: str = "S") -> Input:
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, SaveAsScreen), what="save as")
    return app.screen.query_one(Input)


async def submit(app: NotebookApp, pilot: Any, path: str | Path) -> str:
    """Type `path` into the save-as dialog, press enter; the dialog's error line ("" once it
    closed)."""
    screen = app.screen
    screen.query_one(Input).value = str(path)
    await pilot.press("enter")
    await pilot.pause()
    return "".join(str(error.content) for error in screen.query("#save-as-error").results(Static))


def edit_on_disk(path: Path, source: str) -> None:
    other = nbformat.read(path, as_version=4)
    other.cells[0].source = source
    nbformat.write(other, path)


async def test_save_as_writes_the_new_file_and_works_on_it(notebook, tmp_path):
    """S opens a dialog with the current path; a new name writes the notebook there, the
    session, the document and the status bar name the new file, the old file is untouched,
    and ctrl+s then saves the new file."""
    path = notebook(1)
    before = path.read_bytes()
    async with running_app(path) as (app, pilot):
        field = await open_save_as(app, pilot)
        assert field.value == str(path)
        await pilot.press("b")  # typed into the path, not a cell inserted
        assert len(app.session.document.cells) == 1
        target = tmp_path / "copy.ipynb"
        await submit(app, pilot, target)
        await wait_until(pilot, lambda: not isinstance(app.screen, SaveAsScreen),
                         what="the dialog to close")
        assert app.session.path == target and app.session.document.path == str(target)
        assert "copy.ipynb" in str(app.status_bar.render())
        assert [c.source for c in nbformat.read(target, as_version=4).cells] == ["x0 = 0"]
        assert path.read_bytes() == before
        await pilot.press("b", "ctrl+s")
        await wait_until(pilot, lambda: len(json.loads(target.read_text())["cells"]) == 2,
                         what="ctrl+s to write the new file")
        assert path.read_bytes() == before


async def test_ctrl_shift_s_opens_save_as(notebook):
    """ctrl+shift+s opens the save-as dialog (where the terminal delivers it)."""
    async with running_app(notebook(1)) as (app, pilot):
        await open_save_as(app, pilot, "ctrl+shift+s")


async def test_save_as_refuses_bad_names_with_one_sentence(notebook, tmp_path):
    """A name without .ipynb, a directory, a missing directory and an unwritable place are
    refused with one sentence each; the dialog stays and nothing is written."""
    path = notebook(1)
    async with running_app(path) as (app, pilot):
        await open_save_as(app, pilot)
        refusals = {
            tmp_path / "notes.txt": "is not a .ipynb file name",
            tmp_path: "is a directory",
            tmp_path / "missing" / "n.ipynb": "does not exist",
            Path("/proc/n.ipynb"): "Could not save n.ipynb",
        }
        for name, sentence in refusals.items():
            assert sentence in await submit(app, pilot, name), name
            assert isinstance(app.screen, SaveAsScreen)
        assert not (tmp_path / "notes.txt").exists()
        assert app.session.path == path
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, SaveAsScreen),
                         what="the dialog to close")
        assert app.session.path == path


async def test_save_as_replaces_an_existing_file_only_when_confirmed(notebook, tmp_path):
    """An existing file is named and replaced only on a second enter with the same name."""
    path = notebook(1)
    other = notebook(3, name="other.ipynb")
    async with running_app(path) as (app, pilot):
        await open_save_as(app, pilot)
        assert "other.ipynb already exists; press enter again" in await submit(app, pilot,
                                                                              other)
        assert len(json.loads(other.read_text())["cells"]) == 3
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, SaveAsScreen),
                         what="the dialog to close")
        assert len(json.loads(other.read_text())["cells"]) == 1
        assert app.session.path == other


async def test_reload_replaces_the_cells_with_the_file(notebook):
    """ctrl+o without unsaved changes loads the file's cells: edited, added and removed cells
    follow the file, ids are kept, the notebook is not unsaved, and the changes are in the
    feed as the human's."""
    path = notebook(3)
    async with running_app(path) as (app, pilot):
        document = app.session.document
        ids = [cell.id for cell in document.cells]
        revision = document.revision
        other = nbformat.read(path, as_version=4)
        other.cells[0].source = "changed = 1"
        del other.cells[1]
        other.cells.append(nbformat.v4.new_markdown_cell("# new"))
        nbformat.write(other, path)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: document.cells[0].source == "changed = 1",
                         what="the reload")
        assert [c.source for c in document.cells] == ["changed = 1", "x2 = 2", "# new"]
        assert [c.id for c in document.cells[:2]] == [ids[0], ids[2]]
        assert document.cells[2].cell_type == "markdown"
        assert not document.dirty
        kinds = {(c.kind, c.author) for c in document.changes_since(revision)}
        assert {("edit", USER), ("delete", USER), ("insert", USER)} <= kinds
        assert "changed = 1" in app.view.visible_text()


async def test_reload_with_unsaved_changes_asks_first(notebook):
    """With unsaved changes reload asks; enter does not answer, esc keeps them, r drops them
    for the file."""
    path = notebook(1)
    async with running_app(path) as (app, pilot):
        document = app.session.document
        await pilot.press("b")
        assert document.dirty
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ReloadScreen), what="the question")
        await pilot.press("enter")  # no answer: only r drops the changes
        await pilot.pause()
        assert isinstance(app.screen, ReloadScreen) and len(document.cells) == 2
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ReloadScreen),
                         what="the question to close")
        assert len(document.cells) == 2 and document.dirty
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ReloadScreen), what="the question")
        await pilot.press("r")
        await wait_until(pilot, lambda: len(document.cells) == 1, what="the reload")
        assert not document.dirty


async def test_reload_keeps_the_kernel_running(notebook):
    """After a reload the kernel still holds the variables it had."""
    path = notebook(1)
    async with running_app(path, kernel=True) as (app, pilot):
        kernel = app.session.kernel
        await kernel.wait_ready(DEADLINE)
        await kernel.run_code("kept = 41", USER).wait(DEADLINE)
        edit_on_disk(path, "changed = 1")
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: app.session.document.cells[0].source == "changed = 1",
                         what="the reload")
        run = kernel.run_code("print(kept + 1)", USER)
        await run.wait(DEADLINE)
        assert run.outputs[0]["text"] == "42\n"


async def conflict(app: NotebookApp, pilot: Any, path: Path) -> SaveConflictScreen:
    """Change the file on disk, make an edit, press ctrl+s: the question it asks."""
    edit_on_disk(path, "changed elsewhere")
    await pilot.press("b", "ctrl+s")
    await wait_until(pilot, lambda: isinstance(app.screen, SaveConflictScreen),
                     what="the save conflict question")
    return app.screen


async def test_a_save_conflict_offers_overwrite_save_as_reload_and_cancel(notebook):
    """When the file changed on disk, ctrl+s asks, with exactly overwrite, save as, reload and
    cancel and their keys; enter answers nothing; cancel writes nothing and keeps the
    changes."""
    path = notebook(1)
    async with running_app(path) as (app, pilot):
        screen = await conflict(app, pilot, path)
        labels = [str(button.label) for button in screen.query(Button)]
        assert labels == ["Overwrite (o)", "Save as… (a)", "Reload from disk (r)",
                          "Cancel (esc)"]
        assert "changed on disk" in screen_text(app)
        await pilot.press("enter")  # a stray enter answers nothing
        await pilot.pause()
        assert app.screen is screen and "changed elsewhere" in path.read_text()
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.default_screen, what="it to close")
        assert "changed elsewhere" in path.read_text()
        assert app.session.document.dirty and len(app.session.document.cells) == 2


async def test_a_save_conflict_overwritten(notebook):
    """o on the question writes the notebook over the file changed on disk."""
    path = notebook(1)
    async with running_app(path) as (app, pilot):
        await conflict(app, pilot, path)
        await pilot.press("o")
        await wait_until(pilot, lambda: "changed elsewhere" not in path.read_text(),
                         what="the overwrite")
        assert len(json.loads(path.read_text())["cells"]) == 2
        assert not app.session.document.dirty


async def test_a_save_conflict_reloaded(notebook):
    """r on the question takes the file's content instead of the changes made here."""
    path = notebook(1)
    async with running_app(path) as (app, pilot):
        await conflict(app, pilot, path)
        await pilot.press("r")
        await wait_until(pilot, lambda: app.session.document.cells[0].source
                         == "changed elsewhere", what="the reload")
        assert len(app.session.document.cells) == 1 and not app.session.document.dirty
        assert "changed elsewhere" in path.read_text()


async def test_a_save_conflict_saved_as_another_file(notebook, tmp_path):
    """a on the question opens save as; the notebook goes to the new file, the changed file
    stays as it is."""
    path = notebook(1)
    async with running_app(path) as (app, pilot):
        await conflict(app, pilot, path)
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveAsScreen), what="save as")
        await submit(app, pilot, tmp_path / "mine.ipynb")
        await wait_until(pilot, lambda: (tmp_path / "mine.ipynb").exists(), what="the save")
        assert len(json.loads((tmp_path / "mine.ipynb").read_text())["cells"]) == 2
        assert "changed elsewhere" in path.read_text()
        assert app.session.path == tmp_path / "mine.ipynb"


@contextlib.asynccontextmanager
async def app_with_lock(path: Path) -> AsyncIterator[tuple[NotebookApp, Any, SessionLock]]:
    """The app on `path` holding the notebook's real session lock, as `nbtui` does."""
    session = NotebookSession(path, autosave_seconds=0)
    lock = SessionLock(path, None)

    async def start() -> tuple[SessionLock, None]:
        return lock, None

    async def stop(session: NotebookSession, lock: SessionLock, endpoint: Any) -> None:
        try:
            await session.close()
        finally:
            lock.release()

    app = NotebookApp(session, start=start)
    try:
        async with app.run_test() as pilot:
            await wait_until(pilot, lambda: app.owns_notebook, what="the start")
            yield app, pilot, lock
    finally:
        await app.finish(stop)


def listed() -> list[str]:
    """The notebooks of the running sessions, as `nbtui list` shows them."""
    return [record.notebook for record in running_sessions()]


async def test_save_as_moves_the_sessions_lock_to_the_new_file(notebook, tmp_path):
    """The session's lock and record (what `nbtui list` and `attach` read) follow the notebook
    to its new name; a name another session has open is refused with its sentence and nothing
    written; a save that fails leaves the lock on the old name."""
    path = notebook(1)
    busy = notebook(1, name="busy.ipynb")
    other_session = SessionLock(busy, None)
    try:
        async with app_with_lock(path) as (app, pilot, lock):
            assert str(path) in listed()
            await open_save_as(app, pilot)
            error = await submit(app, pilot, busy)
            assert "busy.ipynb is already open in another nbtui session" in error
            assert len(nbformat.read(busy, as_version=4).cells) == 1
            assert "Could not save" in await submit(app, pilot, "/proc/n.ipynb")
            assert lock.notebook == str(path) and str(path) in listed()
            new = tmp_path / "new.ipynb"
            assert await submit(app, pilot, new) == ""
            assert lock.notebook == str(new)
            assert str(new) in listed() and str(path) not in listed()
            with pytest.raises(SessionError, match="already open"):
                SessionLock(new, None)
            SessionLock(path, None).release()  # the old name is free again
    finally:
        other_session.release()


async def test_save_as_refuses_a_name_too_long_for_the_file_system(notebook, tmp_path):
    """A pasted name longer than the file system allows (ENAMETOOLONG) is one sentence in the
    dialog, not a failure of the interface."""
    path = notebook(1)
    async with running_app(path) as (app, pilot):
        await open_save_as(app, pilot)
        error = await submit(app, pilot, tmp_path / ("x" * 400 + ".ipynb"))
        assert "Cannot save to that name: File name too long" in error
        assert isinstance(app.screen, SaveAsScreen) and not app.take_ui_errors()


async def test_a_question_answered_twice_at_once_closes_once(notebook):
    """A click and a key that answer the reload question in the same moment close it once;
    the notebook's own screen stays."""
    path = notebook(1)
    async with running_app(path) as (app, pilot):
        await pilot.press("b")
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ReloadScreen), what="the question")
        screen = app.screen
        screen.action_choose("cancel")
        screen.action_choose("cancel")
        await wait_until(pilot, lambda: not isinstance(app.screen, ReloadScreen),
                         what="the question to close")
        await pilot.pause()
        assert app.screen is app.screen_stack[0] and len(app.screen_stack) == 1
        assert not app.take_ui_errors()
        await pilot.press("j")
