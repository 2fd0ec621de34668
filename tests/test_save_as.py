"""NotebookSession.save_as and reload: the session moves to a new file, or takes its file's
content, through checks that refuse bad targets with one sentence."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from nbtui.core.document import InvalidArgument
from nbtui.core.session import NotebookSession
from nbtui.core.storage import FileChangedOnDisk, NotebookFileError, NotebookFileExists


def write(path: Path, sources: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nb, path)
    return path


def test_save_as_moves_the_session_to_the_new_file(tmp_path: Path) -> None:
    """After save_as the session saves to the new file and watches it for changes on disk;
    the old file keeps its content."""
    old = write(tmp_path / "a.ipynb", ["1"])
    before = old.read_bytes()
    session = NotebookSession(old, autosave_seconds=0)
    session.document.insert_cell("2")
    new = tmp_path / "b.ipynb"
    info = session.save_as(new)
    assert info.path == str(new) and session.path == new and not session.document.dirty
    assert old.read_bytes() == before
    session.document.insert_cell("3")
    session.save()
    assert [c.source for c in nbformat.read(new, as_version=4).cells] == ["1", "2", "3"]
    write(new, ["elsewhere"])
    session.document.insert_cell("4")
    with pytest.raises(FileChangedOnDisk, match="b.ipynb changed on disk"):
        session.save()


def test_save_as_a_relative_or_home_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative name is taken from the current directory, ~ from the home directory."""
    session = NotebookSession(write(tmp_path / "a.ipynb", ["1"]), autosave_seconds=0)
    monkeypatch.chdir(tmp_path)
    session.save_as("rel.ipynb")
    assert session.path == tmp_path / "rel.ipynb" and session.path.exists()
    monkeypatch.setenv("HOME", str(tmp_path))
    session.save_as("~/home.ipynb")
    assert session.path == tmp_path / "home.ipynb" and session.path.exists()


@pytest.mark.parametrize(("name", "sentence"), [
    ("notes.txt", "notes.txt is not a .ipynb file name"),
    ("missing/n.ipynb", "the directory"),
    ("", "is a directory"),
])
def test_save_as_refuses_a_bad_target(tmp_path: Path, name: str, sentence: str) -> None:
    """A name without .ipynb, a missing directory and a directory are refused in one
    sentence; the session keeps its file and nothing is written."""
    old = write(tmp_path / "a.ipynb", ["1"])
    session = NotebookSession(old, autosave_seconds=0)
    with pytest.raises(NotebookFileError, match=sentence) as raised:
        session.save_as(tmp_path / name)
    assert "\n" not in str(raised.value)
    assert session.path == old and sorted(tmp_path.iterdir()) == [old]


def test_save_as_an_unwritable_place_changes_nothing(tmp_path: Path) -> None:
    """A place that cannot be written (here /proc, which even root cannot write) is refused in
    one sentence and the session keeps its file."""
    old = write(tmp_path / "a.ipynb", ["1"])
    session = NotebookSession(old, autosave_seconds=0)
    with pytest.raises(NotebookFileError, match="Could not save n.ipynb"):
        session.save_as("/proc/n.ipynb")
    assert session.path == old


def test_save_as_over_an_existing_file_needs_overwrite(tmp_path: Path) -> None:
    """An existing file is replaced only with overwrite=True."""
    session = NotebookSession(write(tmp_path / "a.ipynb", ["1"]), autosave_seconds=0)
    other = write(tmp_path / "b.ipynb", ["other"])
    with pytest.raises(NotebookFileExists, match="b.ipynb already exists"):
        session.save_as(other)
    assert nbformat.read(other, as_version=4).cells[0].source == "other"
    session.save_as(other, overwrite=True)
    assert nbformat.read(other, as_version=4).cells[0].source == "1"


def test_reload_takes_the_files_content_and_keeps_ids(tmp_path: Path) -> None:
    """reload makes the document what the file holds (sources, order, outputs, metadata),
    keeps the ids of cells that stay, and a save right after writes the same bytes."""
    path = write(tmp_path / "a.ipynb", ["a", "b", "c"])
    session = NotebookSession(path, autosave_seconds=0)
    ids = [cell.id for cell in session.document.cells]
    session.document.edit_cell(ids[0], "unsaved edit")
    nb = nbformat.read(path, as_version=4)
    nb.cells = [nb.cells[2], nb.cells[0]]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="out\n")]
    nb.cells[1].execution_count = 7
    nb.cells[1].metadata["tags"] = ["kept"]
    nb.metadata["extra"] = {"k": 1}
    nbformat.write(nb, path)
    on_disk = path.read_bytes()
    session.reload()
    document = session.document
    assert [(c.id, c.source) for c in document.cells] == [(ids[2], "c"), (ids[0], "a")]
    assert document.cells[1].outputs[0]["text"] == "out\n"
    assert document.cells[1].execution_count == 7
    assert document.cells[1].metadata == {"tags": ["kept"]}
    assert document.metadata["extra"] == {"k": 1}
    assert not document.dirty
    session.save()
    assert path.read_bytes() == on_disk


def test_reload_of_a_broken_file_changes_nothing(tmp_path: Path) -> None:
    """A file that is no longer a notebook is refused in one sentence; the cells stay."""
    path = write(tmp_path / "a.ipynb", ["a"])
    session = NotebookSession(path, autosave_seconds=0)
    session.document.insert_cell("mine")
    path.write_text("{not json")
    with pytest.raises(NotebookFileError, match="a.ipynb is not valid JSON"):
        session.reload()
    assert [c.source for c in session.document.cells] == ["a", "mine"]
    assert session.document.dirty


def test_reload_keeps_the_id_of_a_cell_only_the_file_has(tmp_path: Path) -> None:
    """A cell added to the file by another program keeps its id when reloaded, so a save
    right after changes nothing on disk; a bad or taken id is refused by the document."""
    path = write(tmp_path / "a.ipynb", ["a"])
    session = NotebookSession(path, autosave_seconds=0)
    nb = nbformat.read(path, as_version=4)
    added = nbformat.v4.new_code_cell("added elsewhere")
    added.id = "from-elsewhere"
    nb.cells.append(added)
    nbformat.write(nb, path)
    on_disk = path.read_bytes()
    session.reload()
    assert [c.id for c in session.document.cells][-1] == "from-elsewhere"
    session.save()
    assert path.read_bytes() == on_disk
    with pytest.raises(InvalidArgument, match="taken or not a valid id"):
        session.document.insert_cell("x", cell_id="from-elsewhere")
    with pytest.raises(InvalidArgument, match="taken or not a valid id"):
        session.document.insert_cell("x", cell_id="no spaces allowed")
