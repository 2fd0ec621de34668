"""Recovery copies: one per distinct content, a bounded number kept, private to the user."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import nbformat
import pytest

from nbtui.core import storage
from nbtui.core.document import USER
from nbtui.core.session import NotebookSession
from nbtui.core.storage import new_notebook, recovery_dir, serialize, write_recovery
from tests.conftest import poll
from tests.test_logs_private import as_another_user, public_state  # noqa: F401 - a fixture


def copies_of(stem: str) -> list[Path]:
    return sorted(recovery_dir().glob(f"{stem}-*.ipynb"))


def copy_named_in(error: str) -> Path:
    """The recovery copy a save error names: it ends "A copy was saved to <path>."."""
    return Path(error.split("A copy was saved to ", 1)[1].removesuffix("."))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def counting_autosaves(session: NotebookSession) -> list[None]:
    """Count the session's calls of save_or_recover (what autosave does when there are changes)."""
    calls: list[None] = []
    save_or_recover = session.save_or_recover

    def counted():  # noqa: ANN202 - same as the wrapped method
        calls.append(None)
        return save_or_recover()

    session.save_or_recover = counted
    return calls


async def test_a_failing_autosave_keeps_one_copy_per_content_and_a_bounded_number(
        public_state: Path, tmp_path: Path) -> None:  # noqa: F811 - the fixture
    """While saving keeps failing (the file changed on disk), autosaves without edits write one
    recovery copy; each edit writes one more, and only the newest few are kept, all 0600 in a
    0700 directory that another user can neither list nor read."""
    notebook = tmp_path / "work.ipynb"
    session = NotebookSession(notebook, autosave_seconds=0.02)
    autosaves = counting_autosaves(session)
    await session.start()
    try:
        # A new notebook is written by its first save; then another editor changes the file.
        await session.kernel.wait_ready(60)
        session.save()
        outside = nbformat.read(notebook, as_version=4)
        outside.cells.append(nbformat.v4.new_markdown_cell("written by another editor"))
        nbformat.write(outside, notebook)
        session.document.insert_cell("edit = 0", author=USER)
        autosaves.clear()
        await poll(lambda: len(autosaves) >= 20, message="twenty autosaves")
        assert len(copies_of("work")) == 1
        assert "changed on disk" in session.last_save_error
        assert copy_named_in(session.last_save_error) == copies_of("work")[0]

        edits = storage.RECOVERY_COPIES_PER_NOTEBOOK + 5
        for n in range(1, edits + 1):
            session.document.insert_cell(f"edit = {n}", author=USER)
            wanted = serialize(session.document.to_notebook())
            await poll(lambda wanted=wanted: copy_named_in(session.last_save_error).read_text()
                       == wanted, message=f"the recovery copy of edit {n}")
    finally:
        await session.close(save=False)

    copies = copies_of("work")
    assert len(copies) == storage.RECOVERY_COPIES_PER_NOTEBOOK
    newest = max(copies, key=lambda p: p.stat().st_mtime_ns)
    assert f"edit = {edits}" in newest.read_text()
    assert {mode(c) for c in copies} == {0o600}
    assert mode(recovery_dir()) == 0o700 and mode(public_state) == 0o700
    seen = as_another_user(public_state, recovery_dir(), newest)
    assert all(result.startswith("denied: Permission denied") for result in seen.values()), seen


def test_same_content_is_kept_once_and_counts_as_the_newest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writing the same notebook again returns the existing copy without writing; returning to an
    earlier content brings its copy to the front, so pruning keeps it."""
    monkeypatch.setenv("NBTUI_STATE_DIR", str(tmp_path / "state"))
    path = Path("/somewhere/undo.ipynb")

    def notebook(n: int) -> nbformat.NotebookNode:
        nb = new_notebook()
        nb.cells.append(nbformat.v4.new_code_cell(f"version = {n}", id="c"))
        return nb

    first = write_recovery(path, notebook(0))
    inode = first.stat().st_ino
    assert write_recovery(path, notebook(0)) == first
    assert first.stat().st_ino == inode and len(copies_of("undo")) == 1  # not written again
    for n in range(1, storage.RECOVERY_COPIES_PER_NOTEBOOK):
        write_recovery(path, notebook(n))
    assert write_recovery(path, notebook(0)) == first  # back to the first content
    write_recovery(path, notebook(99))  # one more than the bound
    assert first.exists() and len(copies_of("undo")) == storage.RECOVERY_COPIES_PER_NOTEBOOK
    assert '"version = 1"' not in "".join(c.read_text() for c in copies_of("undo"))


def test_copies_are_bounded_in_all_and_old_style_copies_are_pruned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Copies of many notebooks are bounded in all, and the piles older nbtui versions left
    (one copy per failed autosave) are cut to the same bound."""
    monkeypatch.setenv("NBTUI_STATE_DIR", str(tmp_path / "state"))
    directory = recovery_dir()
    directory.mkdir(parents=True)
    pile = [directory / f"work-20240101-0000{n:02d}.ipynb" for n in range(30)]
    for n, old in enumerate(pile):
        old.write_text(serialize(new_notebook()))
        os.utime(old, (1_000_000 + n, 1_000_000 + n))
    unrelated = directory / "notes.txt"
    unrelated.write_text("not a copy\n")

    write_recovery(Path("work.ipynb"), new_notebook("python3", "Python 3 (new)"))
    kept = copies_of("work")
    assert len(kept) == storage.RECOVERY_COPIES_PER_NOTEBOOK
    assert set(pile[-(storage.RECOVERY_COPIES_PER_NOTEBOOK - 1):]) < set(kept)

    for n in range(storage.RECOVERY_COPIES + 5):
        write_recovery(Path(f"nb{n}.ipynb"), new_notebook())
    assert len(list(directory.glob("*.ipynb"))) == storage.RECOVERY_COPIES
    assert copies_of(f"nb{storage.RECOVERY_COPIES + 4}") and not copies_of("nb0")
    assert unrelated.exists()


def test_a_recovery_copy_that_cannot_be_written_is_reported_not_raised(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the recovery copy fails too, save_or_recover says both in its error instead of
    raising (which would end autosave, or the exit save)."""
    notebook = tmp_path / "lost.ipynb"
    session = NotebookSession(notebook)
    notebook.write_text(serialize(new_notebook()))  # another program creates the file first
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state directory should be")
    monkeypatch.setenv("NBTUI_STATE_DIR", str(blocker))

    assert session.save_or_recover() is None
    error = session.last_save_error
    assert error.startswith("lost.ipynb already exists on disk")
    assert "Could not write a recovery copy of lost.ipynb" in error and "\n" not in error
