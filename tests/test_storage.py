"""Loading, checking, serialising and atomically saving .ipynb files (nbtui.core.storage)."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import nbformat
import pytest
from nbformat import v3, v4

from nbtui.core import storage
from nbtui.core.storage import (
    FileChangedOnDisk,
    FileFingerprint,
    NotebookFileError,
    changed_on_disk,
    load_notebook,
    new_notebook,
    recovery_dir,
    save_notebook,
    serialize,
    write_recovery,
)

# A 1x1 PNG, base64 with the trailing newline IPython puts there.
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
    "awAAAABJRU5ErkJggg==\n"
)
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def jupyter_notebook() -> nbformat.NotebookNode:
    """A 4.5 notebook with every kind of cell and output, attachments and unknown metadata."""
    markdown = v4.new_markdown_cell(
        "# Analysis ✓\n\nSee ![plot](attachment:plot.png)\r\nand “quotes”.",
        attachments={"plot.png": {"image/png": PNG}},
        metadata={"tags": ["intro"], "x-unknown-cell": {"nested": [1, 2.5, None]}},
    )
    code = v4.new_code_cell(
        "import pandas as pd\nprint('hi')\n1 + 1\n",
        execution_count=3,
        metadata={"scrolled": True, "execution": {"iopub.status.busy": "2024-01-01T00:00:00Z"}},
        outputs=[
            v4.new_output("stream", name="stdout", text="hi\nthere\n"),
            v4.new_output("stream", name="stderr", text="warning: no newline"),
            v4.new_output(
                "execute_result",
                execution_count=3,
                data={"text/plain": "2", "text/html": "<b>2</b>\n<i>two</i>"},
                metadata={"x-unknown-output": "kept"},
            ),
            v4.new_output(
                "display_data",
                data={
                    "image/png": PNG,
                    "text/plain": "<Figure size 640x480 with 1 Axes>",
                    "application/json": {"a": [1, 2], "é": "ü"},
                    "application/vnd.custom+json": {"lines": ["x\n", "y"]},
                },
                metadata={"image/png": {"width": 640, "height": 480}},
            ),
            v4.new_output(
                "error",
                ename="ZeroDivisionError",
                evalue="division by zero",
                traceback=["\x1b[0;31m---\x1b[0m", "ZeroDivisionError: division by zero"],
            ),
        ],
    )
    empty = v4.new_code_cell("")
    raw = v4.new_raw_cell("raw\ntext\n", metadata={"format": "text/x-rst", "x-raw": 1})
    return v4.new_notebook(
        cells=[markdown, code, empty, raw],
        metadata={
            "kernelspec": {
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
                "name": "python3",
            },
            "language_info": {"name": "python", "version": "3.11.4"},
            "x-unknown-notebook": {"author": "Zoë", "values": [1e-9, 10**20, True]},
        },
    )


def write_with_jupyter(path: Path, nb: nbformat.NotebookNode) -> bytes:
    """Write ``nb`` the way jupyter_server does (nbformat.write) and return the file's bytes."""
    nbformat.write(nb, str(path), version=nbformat.NO_CONVERT)
    return path.read_bytes()


def assert_valid_45(nb: nbformat.NotebookNode) -> None:
    """Assert ``nb`` is strictly valid nbformat 4.5 with unique ids."""
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    ids = [cell.id for cell in nb.cells]
    assert len(set(ids)) == len(ids)
    nbformat.validate(nb)


# --- round trip ------------------------------------------------------------------------------


def test_jupyter_written_notebook_round_trips_byte_for_byte(tmp_path: Path) -> None:
    """A notebook Jupyter wrote, loaded and saved without edits, is byte-identical."""
    path = tmp_path / "analysis.ipynb"
    original = write_with_jupyter(path, jupyter_notebook())

    loaded = load_notebook(path)
    assert not loaded.upgraded
    assert serialize(loaded.notebook).encode("utf-8") == original
    size, _ = save_notebook(path, loaded.notebook, loaded.fingerprint)
    assert path.read_bytes() == original
    assert size == len(original)


def test_serialize_matches_nbformat_write_for_in_memory_notebook(tmp_path: Path) -> None:
    """serialize() gives the same text as nbformat.write for a notebook built in memory."""
    nb = jupyter_notebook()
    path = tmp_path / "n.ipynb"
    expected = write_with_jupyter(path, nb).decode("utf-8")
    text = serialize(nb)
    assert text == expected
    assert text.endswith("}\n")
    assert '"source": [\n    "import pandas as pd\\n",' in text
    assert "✓" in text  # non-ASCII is written as is, not escaped


def test_serialize_does_not_modify_the_notebook() -> None:
    """serialize() leaves the in-memory notebook as it was (strings stay strings)."""
    nb = jupyter_notebook()
    before = json.dumps(nb, sort_keys=True)
    serialize(nb)
    assert json.dumps(nb, sort_keys=True) == before


def test_unknown_metadata_is_kept_at_every_level(tmp_path: Path) -> None:
    """Metadata nbformat does not define survives load and save at notebook, cell and output."""
    path = tmp_path / "meta.ipynb"
    write_with_jupyter(path, jupyter_notebook())
    loaded = load_notebook(path)
    save_notebook(path, loaded.notebook, loaded.fingerprint)
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["x-unknown-notebook"]["author"] == "Zoë"
    assert nb["cells"][0]["metadata"]["x-unknown-cell"] == {"nested": [1, 2.5, None]}
    assert nb["cells"][1]["outputs"][2]["metadata"] == {"x-unknown-output": "kept"}
    assert nb["cells"][3]["metadata"]["x-raw"] == 1


def test_loaded_text_is_joined_into_strings(tmp_path: Path) -> None:
    """Sources and text outputs split into lines on disk are single strings in memory."""
    path = tmp_path / "joined.ipynb"
    write_with_jupyter(path, jupyter_notebook())
    nb = load_notebook(path).notebook
    assert nb.cells[1].source == "import pandas as pd\nprint('hi')\n1 + 1\n"
    assert nb.cells[1].outputs[0].text == "hi\nthere\n"
    assert nb.cells[1].outputs[2].data["text/html"] == "<b>2</b>\n<i>two</i>"
    assert nb.cells[0].attachments["plot.png"]["image/png"] == PNG


# --- upgrades and ids ------------------------------------------------------------------------


def test_v3_notebook_is_upgraded_to_45_with_ids(tmp_path: Path) -> None:
    """A version 3 notebook loads as valid 4.5 with unique ids and is marked upgraded."""
    nb3 = v3.new_notebook(
        worksheets=[
            v3.new_worksheet(
                cells=[
                    v3.new_heading_cell("Title", level=2),
                    v3.new_text_cell("markdown", source="Some *text*"),
                    v3.new_code_cell(
                        input="1 + 1",
                        prompt_number=1,
                        outputs=[
                            v3.new_output("pyout", output_text="2", prompt_number=1),
                            v3.new_output("stream", output_text="hi\n", stream="stdout"),
                        ],
                    ),
                ]
            )
        ],
        metadata=v3.new_metadata(name="old"),
    )
    path = tmp_path / "old.ipynb"
    original = v3.writes_json(nb3).encode("utf-8")
    path.write_bytes(original)

    loaded = load_notebook(path)
    nb = loaded.notebook
    assert loaded.upgraded
    assert_valid_45(nb)
    assert [c.cell_type for c in nb.cells] == ["markdown", "markdown", "code"]
    assert nb.cells[0].source == "## Title"
    assert nb.cells[2].source == "1 + 1"
    assert nb.cells[2].outputs[0].data["text/plain"] == "2"
    assert "orig_nbformat" not in nb.metadata
    assert path.read_bytes() == original


def test_v44_notebook_gets_ids_and_becomes_45(tmp_path: Path) -> None:
    """A 4.4 notebook (no ids) loads as valid 4.5 with ids; everything else is unchanged."""
    nb = jupyter_notebook()
    for cell in nb.cells:
        del cell["id"]
    nb.nbformat_minor = 4
    path = tmp_path / "v44.ipynb"
    path.write_text(v4.writes_json(nb) + "\n", encoding="utf-8")

    loaded = load_notebook(path)
    assert loaded.upgraded
    assert_valid_45(loaded.notebook)
    assert "orig_nbformat_minor" not in loaded.notebook.metadata
    for before, after in zip(nb.cells, loaded.notebook.cells, strict=True):
        assert {k: v for k, v in after.items() if k != "id"} == before


def test_45_notebook_missing_ids_gets_them(tmp_path: Path) -> None:
    """Cells of a 4.5 notebook that lack an id get one; existing ids are kept."""
    nb = jupyter_notebook()
    kept = nb.cells[0].id
    del nb.cells[1]["id"]
    path = tmp_path / "missing.ipynb"
    path.write_text(v4.writes_json(nb), encoding="utf-8")

    loaded = load_notebook(path)
    assert loaded.upgraded
    assert_valid_45(loaded.notebook)
    assert loaded.notebook.cells[0].id == kept


def test_duplicate_and_invalid_ids_are_repaired(tmp_path: Path) -> None:
    """Duplicate, malformed, empty, overlong and non-string ids are replaced; valid ones kept."""
    nb = jupyter_notebook()
    nb.cells += [v4.new_markdown_cell(str(i)) for i in range(3)]
    good = nb.cells[0].id
    bad_ids = [good, "has space", "", "x" * 65, 5, "trailing-newline\n"]
    for cell, bad in zip(nb.cells[1:], bad_ids, strict=True):
        cell["id"] = bad
    path = tmp_path / "ids.ipynb"
    raw = json.loads(v4.writes_json(nb, split_lines=False))
    path.write_text(json.dumps(raw), encoding="utf-8")

    loaded = load_notebook(path)
    assert loaded.upgraded
    assert_valid_45(loaded.notebook)
    assert loaded.notebook.cells[0].id == good


def test_missing_required_fields_are_filled_in(tmp_path: Path) -> None:
    """Fields Jupyter would tolerate missing (metadata, outputs, counts) are filled in."""
    raw = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "cells": [
            {"id": "a", "cell_type": "markdown", "source": "x"},
            {"id": "b", "cell_type": "code", "source": ["1\n", "2"]},
            {
                "id": "c",
                "cell_type": "code",
                "source": "",
                "metadata": {},
                "outputs": [{"output_type": "display_data", "data": {"text/plain": "1"}}],
                "execution_count": None,
            },
        ],
    }
    path = tmp_path / "sparse.ipynb"
    path.write_text(json.dumps(raw), encoding="utf-8")

    loaded = load_notebook(path)
    assert loaded.upgraded
    assert_valid_45(loaded.notebook)
    assert loaded.notebook.cells[1].source == "1\n2"


def test_schema_invalid_but_usable_notebook_is_accepted(tmp_path: Path) -> None:
    """Known metadata of the wrong shape, or extra keys, do not stop a usable notebook loading."""
    nb = jupyter_notebook()
    nb.metadata.kernelspec = {"name": "python3"}  # the schema requires display_name too
    nb.cells[0]["x-extra-key"] = "kept"
    nb.cells[1].metadata.tags = "not-a-list"
    path = tmp_path / "lenient.ipynb"
    text = v4.writes_json(nb) + "\n"
    path.write_text(text, encoding="utf-8")

    loaded = load_notebook(path)
    assert not loaded.upgraded
    assert serialize(loaded.notebook) == text


def test_newer_4x_minor_is_kept_as_is(tmp_path: Path) -> None:
    """A notebook from a newer 4.x minor loads without a downgrade and round-trips unchanged."""
    nb = jupyter_notebook()
    nb.nbformat_minor = 6
    nb.cells[0]["x-future-field"] = {"a": 1}
    path = tmp_path / "future.ipynb"
    text = v4.writes_json(nb) + "\n"
    path.write_text(text, encoding="utf-8")

    loaded = load_notebook(path)
    assert not loaded.upgraded
    assert loaded.notebook.nbformat_minor == 6
    assert serialize(loaded.notebook) == text


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    """A UTF-8 BOM is tolerated; the notebook loads and the first save will drop it."""
    path = tmp_path / "bom.ipynb"
    text = serialize(jupyter_notebook())
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    loaded = load_notebook(path)
    assert loaded.upgraded
    assert serialize(loaded.notebook) == text


# --- refusals ---------------------------------------------------------------------------------

VALID_CELL = {"id": "a", "cell_type": "markdown", "source": "", "metadata": {}}


def _nb(**fields: object) -> bytes:
    base: dict[str, object] = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}
    base.update(fields)
    return json.dumps(base).encode("utf-8")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{\n "cells": [\n    1\n    2]}', "is not valid JSON (line 4, column 5): Expecting ','"),
        (b"", "is empty"),
        (b"  \n", "is empty"),
        (b"\xff\xfe{}", "is not UTF-8 text (byte 0xff at offset 0)"),
        (b"[1, 2]", "is not a Jupyter notebook: its JSON is a list"),
        (b'{"cells": []}', "has no 'nbformat' version"),
        (b'{"nbformat": "4"}', "its 'nbformat' version is '4'"),
        (_nb(nbformat=5), "uses notebook format version 5"),
        (_nb(nbformat=2), "uses notebook format version 2"),
        (_nb(cells={"a": 1}), "the 'cells' of the notebook is not a list"),
        (b'{"nbformat": 4, "nbformat_minor": 5}', "the notebook has no 'cells'"),
        (_nb(cells=[7]), "cell 1 is not a JSON object"),
        (_nb(cells=[{"source": ""}]), "cell 1 has no 'cell_type'"),
        (_nb(cells=[VALID_CELL, {**VALID_CELL, "cell_type": "heading"}]), "cell 2 has an unknown"),
        (_nb(cells=[{**VALID_CELL, "source": 3}]), "the 'source' of cell 1 is not text"),
        (_nb(cells=[{**VALID_CELL, "metadata": []}]), "the 'metadata' of cell 1 is not an object"),
        (
            _nb(cells=[{**VALID_CELL, "attachments": {"a.png": "x"}}]),
            "the 'attachments' of cell 1 are not a set of MIME bundles",
        ),
        (
            _nb(cells=[{**VALID_CELL, "cell_type": "code", "outputs": [{"output_type": "pyout"}]}]),
            "output 1 of cell 1 has an unknown output_type 'pyout'",
        ),
        (
            _nb(
                cells=[
                    {
                        **VALID_CELL,
                        "cell_type": "code",
                        "outputs": [{"output_type": "stream", "text": {"a": 1}}],
                    }
                ]
            ),
            "the 'text' of output 1 of cell 1 is not text",
        ),
        (
            b'{"nbformat": 3, "nbformat_minor": 0, "metadata": {}}',
            "could not be upgraded to version 4 (it has no 'worksheets')",
        ),
    ],
)
def test_invalid_file_is_refused_and_left_untouched(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    """Unusable content is refused in one sentence naming the file; the file is not modified."""
    path = tmp_path / "analysis.ipynb"
    path.write_bytes(content)
    before = os.stat(path)

    with pytest.raises(NotebookFileError) as info:
        load_notebook(path)

    message = str(info.value)
    assert message.startswith("analysis.ipynb ")
    assert expected in message
    assert message.endswith(".") and "\n" not in message
    assert path.read_bytes() == content
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns


def test_json_error_message_has_the_documented_form(tmp_path: Path) -> None:
    """A JSON syntax error reads "<file> is not valid JSON (line L, column C): <reason>."."""
    path = tmp_path / "analysis.ipynb"
    path.write_text('{\n "a": 1,\n    "b" 2}', encoding="utf-8")
    with pytest.raises(NotebookFileError) as info:
        load_notebook(path)
    assert str(info.value) == (
        "analysis.ipynb is not valid JSON (line 3, column 9): Expecting ':' delimiter."
    )


def test_missing_file_is_refused(tmp_path: Path) -> None:
    """Loading a path that does not exist says so."""
    with pytest.raises(NotebookFileError, match=r"^gone\.ipynb does not exist\.$"):
        load_notebook(tmp_path / "gone.ipynb")


def test_directory_is_refused(tmp_path: Path) -> None:
    """Loading a directory says it is a directory."""
    path = tmp_path / "dir.ipynb"
    path.mkdir()
    with pytest.raises(NotebookFileError, match=r"^dir\.ipynb is a directory"):
        load_notebook(path)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """A FIFO is refused at once instead of blocking until something writes to it."""
    path = tmp_path / "pipe.ipynb"
    os.mkfifo(path)
    with pytest.raises(NotebookFileError, match=r"^pipe\.ipynb is not a regular file"):
        load_notebook(path)


def test_unreadable_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file without read permission is refused with a permission message, untouched."""
    path = tmp_path / "secret.ipynb"
    content = serialize(jupyter_notebook()).encode("utf-8")
    path.write_bytes(content)
    path.chmod(0)
    if IS_ROOT:  # root reads mode-0 files, so make the open fail the way it would for a user
        real_open = os.open

        def denying_open(file: os.PathLike[str] | str, *args: object, **kwargs: object) -> int:
            if Path(file) == path:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
            return real_open(file, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(storage.os, "open", denying_open)

    with pytest.raises(NotebookFileError, match=r"^secret\.ipynb could not be read: permission"):
        load_notebook(path)
    monkeypatch.undo()
    path.chmod(0o644)
    assert path.read_bytes() == content


# --- saving -----------------------------------------------------------------------------------


def saved_notebook(tmp_path: Path, mode: int = 0o644) -> tuple[Path, storage.LoadedNotebook]:
    """Write a Jupyter notebook with ``mode`` and load it."""
    path = tmp_path / "analysis.ipynb"
    write_with_jupyter(path, jupyter_notebook())
    path.chmod(mode)
    return path, load_notebook(path)


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664], ids=oct)
def test_save_keeps_the_file_mode(tmp_path: Path, mode: int) -> None:
    """Saving replaces the file but keeps its permission bits."""
    path, loaded = saved_notebook(tmp_path, mode)
    loaded.notebook.cells[0].source = "changed"
    save_notebook(path, loaded.notebook, loaded.fingerprint)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert load_notebook(path).notebook.cells[0].source == "changed"


def test_new_file_gets_0o644_minus_umask(tmp_path: Path) -> None:
    """A notebook saved to a new path gets mode 0o644 (0o666 minus the usual 022 umask)."""
    old_mask = os.umask(0o022)
    try:
        path = tmp_path / "new.ipynb"
        size, fingerprint = save_notebook(path, new_notebook(), None)
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert fingerprint == FileFingerprint.of(path)
    assert size == path.stat().st_size


def test_save_returns_a_fingerprint_that_allows_the_next_save(tmp_path: Path) -> None:
    """The fingerprint returned by a save matches the file, so saving again is not refused."""
    path, loaded = saved_notebook(tmp_path)
    nb = loaded.notebook
    nb.cells[0].source = "one"
    _, fingerprint = save_notebook(path, nb, loaded.fingerprint)
    assert fingerprint == FileFingerprint.of(path)
    nb.cells[0].source = "two"
    save_notebook(path, nb, fingerprint)
    assert load_notebook(path).notebook.cells[0].source == "two"


def test_save_leaves_no_temporary_files(tmp_path: Path) -> None:
    """After a successful save the directory holds only the notebook."""
    path, loaded = saved_notebook(tmp_path)
    save_notebook(path, loaded.notebook, loaded.fingerprint)
    assert list(tmp_path.iterdir()) == [path]


def test_save_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    """Saving via a symlink rewrites the target and leaves the link in place."""
    real, loaded = saved_notebook(tmp_path)
    link = tmp_path / "link.ipynb"
    link.symlink_to(real)
    loaded.notebook.cells[0].source = "via link"
    save_notebook(link, loaded.notebook, loaded.fingerprint)
    assert link.is_symlink()
    assert load_notebook(real).notebook.cells[0].source == "via link"


def test_file_changed_on_disk_is_not_overwritten(tmp_path: Path) -> None:
    """A file edited by someone else since loading is refused with a message that offers no
    action nbtui lacks, then overwritten only with force."""
    path, loaded = saved_notebook(tmp_path)
    theirs = path.read_bytes().replace(b"Analysis", b"Their edit")
    path.write_bytes(theirs)

    with pytest.raises(FileChangedOnDisk) as info:
        save_notebook(path, loaded.notebook, loaded.fingerprint)
    message = str(info.value)
    assert message.startswith("analysis.ipynb changed on disk") and "nothing lost" in message
    # It offers no action nbtui lacks; each front end adds the one it has (ctrl+s twice).
    assert "reload" not in message and "another name" not in message
    assert path.read_bytes() == theirs
    assert changed_on_disk(path, loaded.fingerprint)

    save_notebook(path, loaded.notebook, loaded.fingerprint, force=True)
    assert path.read_bytes() == serialize(loaded.notebook).encode("utf-8")


def test_same_size_change_is_detected_by_hash(tmp_path: Path) -> None:
    """An edit that keeps the size but moves the mtime is caught by comparing hashes."""
    path, loaded = saved_notebook(tmp_path)
    theirs = path.read_bytes().replace(b"Analysis", b"Sisylana")
    path.write_bytes(theirs)
    fp = loaded.fingerprint
    os.utime(path, ns=(fp.mtime_ns + 10**9, fp.mtime_ns + 10**9))

    with pytest.raises(FileChangedOnDisk):
        save_notebook(path, loaded.notebook, loaded.fingerprint)
    assert path.read_bytes() == theirs


def test_touch_alone_is_not_a_change(tmp_path: Path) -> None:
    """A new mtime with the same content does not block the save."""
    path, loaded = saved_notebook(tmp_path)
    later = loaded.fingerprint.mtime_ns + 5 * 10**9
    os.utime(path, ns=(later, later))
    assert not changed_on_disk(path, loaded.fingerprint)
    loaded.notebook.cells[0].source = "after touch"
    save_notebook(path, loaded.notebook, loaded.fingerprint)
    assert load_notebook(path).notebook.cells[0].source == "after touch"


def test_file_created_by_someone_else_is_not_overwritten(tmp_path: Path) -> None:
    """A new notebook (no fingerprint) is not saved over a file that appeared meanwhile."""
    path = tmp_path / "fresh.ipynb"
    path.write_text("someone else's", encoding="utf-8")
    assert changed_on_disk(path, None)
    with pytest.raises(FileChangedOnDisk, match=r"^fresh\.ipynb "):
        save_notebook(path, new_notebook(), None)
    assert path.read_text(encoding="utf-8") == "someone else's"
    save_notebook(path, new_notebook(), None, force=True)
    assert load_notebook(path).notebook.cells == []


def test_deleted_file_is_recreated(tmp_path: Path) -> None:
    """If the loaded file was deleted, saving writes it again (nobody's work is overwritten)."""
    path, loaded = saved_notebook(tmp_path)
    path.unlink()
    assert changed_on_disk(path, loaded.fingerprint)
    save_notebook(path, loaded.notebook, loaded.fingerprint)
    assert path.read_bytes() == serialize(loaded.notebook).encode("utf-8")


def _fail_with(err: int) -> object:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(err, os.strerror(err))

    return fail


@pytest.mark.parametrize(
    ("target", "err", "reason"),
    [
        ("mkstemp", errno.EACCES, "the directory is read-only (Permission denied)"),
        ("replace", errno.EROFS, "the file system is read-only (Read-only file system)"),
        ("fsync", errno.ENOSPC, "the disk is full (No space left on device)"),
    ],
)
def test_failed_save_leaves_original_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, err: int, reason: str
) -> None:
    """A read-only directory, read-only file system or full disk gives one clear sentence."""
    path, loaded = saved_notebook(tmp_path)
    original = path.read_bytes()
    loaded.notebook.cells[0].source = "unsaved work"
    # Root ignores directory permissions, so the failures are injected where the OS reports them.
    owner = storage.tempfile if target == "mkstemp" else storage.os
    monkeypatch.setattr(owner, target, _fail_with(err))

    with pytest.raises(NotebookFileError) as info:
        save_notebook(path, loaded.notebook, loaded.fingerprint)
    monkeypatch.undo()

    assert str(info.value) == f"Could not save analysis.ipynb: {reason}."
    assert not isinstance(info.value, FileChangedOnDisk)
    assert path.read_bytes() == original
    assert list(tmp_path.iterdir()) == [path]


def test_read_only_file_is_not_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file without write permission is not replaced behind its owner's back."""
    path, loaded = saved_notebook(tmp_path, 0o444)
    original = path.read_bytes()
    if IS_ROOT:  # root passes every access check
        monkeypatch.setattr(storage.os, "access", lambda *args, **kwargs: False)
    with pytest.raises(NotebookFileError, match=r"^Could not save analysis\.ipynb: .*read-only"):
        save_notebook(path, loaded.notebook, loaded.fingerprint)
    assert path.read_bytes() == original


def test_missing_directory_is_reported(tmp_path: Path) -> None:
    """Saving into a directory that does not exist says so."""
    with pytest.raises(NotebookFileError, match="the directory does not exist"):
        save_notebook(tmp_path / "nope" / "a.ipynb", new_notebook(), None)


# --- recovery and new notebooks ---------------------------------------------------------------


def test_write_recovery_writes_a_valid_notebook_under_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """write_recovery puts a loadable copy in $NBTUI_STATE_DIR/recovery, private to the user;
    another content gets another file."""
    monkeypatch.setenv("NBTUI_STATE_DIR", str(tmp_path / "state"))
    nb = jupyter_notebook()
    changed = jupyter_notebook()
    changed.cells.append(v4.new_markdown_cell("one more", id="more"))

    first = write_recovery(Path("/somewhere/analysis.ipynb"), nb)
    second = write_recovery(Path("/somewhere/analysis.ipynb"), changed)

    assert recovery_dir() == tmp_path / "state" / "recovery"
    assert first.parent == recovery_dir() and second.parent == recovery_dir()
    assert first != second
    assert first.name.startswith("analysis-") and first.suffix == ".ipynb"
    assert stat.S_IMODE(recovery_dir().stat().st_mode) == 0o700
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert first.read_text(encoding="utf-8") == serialize(nb)
    assert_valid_45(load_notebook(second).notebook)


def test_recovery_dir_follows_xdg_state_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without NBTUI_STATE_DIR, recovery goes under $XDG_STATE_HOME/nbtui, else ~/.local/state."""
    monkeypatch.delenv("NBTUI_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert recovery_dir() == tmp_path / "nbtui" / "recovery"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert recovery_dir() == tmp_path / "home" / ".local" / "state" / "nbtui" / "recovery"


def test_failed_recovery_write_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the recovery copy cannot be written either, the error says so in one sentence."""
    blocker = tmp_path / "state"
    blocker.write_text("a file where the directory should be", encoding="utf-8")
    monkeypatch.setenv("NBTUI_STATE_DIR", str(blocker))
    with pytest.raises(NotebookFileError, match=r"^Could not write a recovery copy of a\.ipynb"):
        write_recovery(Path("a.ipynb"), new_notebook())


def test_new_notebook_is_valid_45_with_kernelspec() -> None:
    """new_notebook() is an empty valid 4.5 notebook naming its kernel and language."""
    nb = new_notebook("ir", display_name="R", language="R")
    assert_valid_45(nb)
    assert nb.cells == []
    assert nb.metadata.kernelspec == {"name": "ir", "display_name": "R", "language": "R"}
    assert nb.metadata.language_info == {"name": "R"}
    assert new_notebook().metadata == {"kernelspec": {"name": "python3", "display_name": "python3"}}


def test_fingerprint_of_missing_file_is_none(tmp_path: Path) -> None:
    """FileFingerprint.of() returns None for a path with no file."""
    assert FileFingerprint.of(tmp_path / "none.ipynb") is None
