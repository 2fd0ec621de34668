"""The session keeps the file safe: autosave, read-only directories, outside edits."""

from __future__ import annotations

import errno
import subprocess
from contextlib import contextmanager
from pathlib import Path

import nbformat

from nbtui.core import storage
from nbtui.core.document import USER
from nbtui.core.session import NotebookSession
from tests.conftest import agent, call, call_error, poll, serve_notebook


@contextmanager
def read_only_directory(directory: Path, monkeypatch):
    """Make `directory` read-only for real (a tmpfs remounted read-only) where the machine
    allows mounts, else make every write into it fail with EROFS as such a file system would."""
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(directory)],
                             capture_output=True).returncode == 0

    def make_read_only() -> None:
        if mounted:
            subprocess.run(["mount", "-o", "remount,ro", str(directory)], check=True)
        else:
            def refuse(*args, **kwargs):
                raise OSError(errno.EROFS, "Read-only file system")
            monkeypatch.setattr(storage.tempfile, "mkstemp", refuse)

    try:
        yield make_read_only
    finally:
        monkeypatch.undo()
        if mounted:
            subprocess.run(["umount", "-l", str(directory)], check=False)


async def test_read_only_directory_at_save_time(tmp_path, monkeypatch):
    """Saving into a directory that became read-only gives a clear error; closing writes a
    recovery copy with everything, and the original is untouched."""
    directory = tmp_path / "ro"
    directory.mkdir()
    with read_only_directory(directory, monkeypatch) as make_read_only:
        notebook = directory / "work.ipynb"
        NotebookSession(notebook).save()
        original = notebook.read_bytes()
        async with serve_notebook(notebook, start_kernel=False) as served:
            async with agent(served.socket) as client:
                await call(client, "insert_cell", source="precious = 'agent work'")
                make_read_only()
                text = await call_error(client, "save_notebook")
                assert "Could not save work.ipynb" in text and "read-only" in text
                assert "\n" not in text.strip()
                await call(client, "get_notebook")
            await served.session.close(save=True)
            assert "A copy was saved to" in served.session.last_save_error
        assert notebook.read_bytes() == original
    recovered = list((storage.recovery_dir()).glob("work-*.ipynb"))
    assert recovered
    nb = nbformat.read(max(recovered, key=lambda p: p.stat().st_mtime), as_version=4)
    assert any(c.source == "precious = 'agent work'" for c in nb.cells)


async def test_autosave_writes_changes(tmp_path):
    """With autosave on, a change reaches the file without an explicit save."""
    notebook = tmp_path / "auto.ipynb"
    session = NotebookSession(notebook, autosave_seconds=0.1)
    await session.start()
    try:
        session.document.insert_cell("autosaved = True", author=USER)
        await poll(lambda: notebook.exists() and "autosaved = True" in notebook.read_text(),
                   message="the autosave")
        assert not session.document.dirty
    finally:
        await session.close(save=False)


async def test_outside_edit_is_never_overwritten(tmp_path):
    """A file changed on disk since it was loaded is not overwritten by a save; the agent is
    told so in one sentence."""
    notebook = tmp_path / "shared.ipynb"
    NotebookSession(notebook).save()
    async with serve_notebook(notebook, start_kernel=False) as served:
        outside = nbformat.read(notebook, as_version=4)
        outside.cells.append(nbformat.v4.new_markdown_cell("written by another editor"))
        nbformat.write(outside, notebook)
        before = notebook.read_bytes()
        async with agent(served.socket) as client:
            await call(client, "insert_cell", source="mine = 1")
            text = await call_error(client, "save_notebook")
        assert "changed on disk" in text
        assert notebook.read_bytes() == before
