"""Opening a notebook Jupyter wrote and closing it without an edit leaves the file as it was;
the first real save writes format 4.5, the running kernel's kernelspec, and says so once."""

from __future__ import annotations

import asyncio
import base64
import platform
import signal
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import (
    new_code_cell,
    new_markdown_cell,
    new_notebook,
    new_output,
    new_raw_cell,
)

from nbtui.core.document import USER, DocumentEvent
from nbtui.core.kernel import find_kernelspec
from nbtui.core.session import NotebookSession
from nbtui.core.storage import load_notebook
from tests.conftest import agent, call, poll
from tests.test_cli import serving

KERNEL_TIMEOUT = 60

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db00000000049454e44ae426082"
)).decode()

LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
    "version": "3.8.5",
}

JUPYTER_NOTEBOOKS = [
    ("4.0", "Python 3"),
    ("4.4", "Python 3"),
    ("4.4", "Python 3 (ipykernel)"),
    ("4.5", "Python 3"),
    ("4.5", "Python 3 (ipykernel)"),
]
"""(format, kernelspec display name) of the notebooks Jupyter wrote that the tests open."""


def running_kernelspec() -> dict[str, str]:
    """The kernelspec metadata of the kernel nbtui starts for these notebooks, as Jupyter
    writes it."""
    spec = find_kernelspec("python3")
    return {"display_name": spec.display_name, "language": spec.language, "name": "python3"}


def write_jupyter_notebook(path: Path, version: str, display_name: str) -> Path:
    """Write a notebook as Jupyter does (`nbformat.write`) in format `version` ("4.0" to
    "4.5"): markdown, code with every kind of output, raw and empty cells, non-ASCII text;
    formats before 4.5 have no cell ids."""
    minor = int(version.split(".")[1])
    nb = new_notebook(metadata={
        "kernelspec": {"display_name": display_name, "language": "python", "name": "python3"},
        "language_info": LANGUAGE_INFO,
    })
    nb.nbformat_minor = minor
    nb.cells = [
        new_markdown_cell("# Chapter 2\n\nCafé, naïve — 日本語 *text*."),
        new_code_cell("import sys\nprint('hello')\n6 * 7", execution_count=1, outputs=[
            new_output("stream", name="stdout", text="hello\n"),
            new_output("execute_result", data={"text/plain": "42"}, execution_count=1),
        ]),
        new_code_cell("display_png()", execution_count=2, metadata={"tags": ["figure"]},
                      outputs=[new_output("display_data", data={"image/png": PNG,
                                                                "text/plain": "<Figure>"})]),
        new_code_cell("1 / 0", execution_count=3, outputs=[new_output(
            "error", ename="ZeroDivisionError", evalue="division by zero",
            traceback=["\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"])]),
        new_raw_cell("raw *text*", metadata={"raw_mimetype": "text/restructuredtext"}),
        new_code_cell(""),
    ]
    if minor < 5:
        for cell in nb.cells:
            del cell["id"]
    nbformat.write(nb, path)
    return path


class DirtyWatch:
    """Records every document event seen while the document was dirty."""

    def __init__(self, session: NotebookSession) -> None:
        self.session = session
        self.dirty_events: list[str] = []
        session.document.subscribe(self)

    def __call__(self, event: DocumentEvent) -> None:
        if self.session.document.dirty:
            self.dirty_events.append(event.kind)


async def open_until_autosave_ran(session: NotebookSession, watch: DirtyWatch) -> None:
    """Start the session's kernel, wait until it is idle and its kernelspec is in the document,
    then until autosave has looked for changes twice; the document must never be dirty."""
    await session.start()
    await session.kernel.wait_ready(KERNEL_TIMEOUT)
    await poll(lambda: session.kernel.state == "idle", KERNEL_TIMEOUT, message="an idle kernel")
    await poll(lambda: session.document.metadata["kernelspec"] == running_kernelspec(),
               message="the running kernel's kernelspec in the document")
    checks = session.autosave_checks
    await poll(lambda: session.autosave_checks >= checks + 2, message="two autosave checks")
    assert not session.document.dirty
    assert watch.dirty_events == []


@pytest.mark.parametrize(("version", "display_name"), JUPYTER_NOTEBOOKS)
async def test_opening_and_closing_leaves_the_file_byte_identical(tmp_path, version,
                                                                   display_name):
    """A Jupyter notebook opened with a real kernel, autosaved and closed with save=True
    without an edit is never dirty and stays byte-identical (its modification time too)."""
    path = write_jupyter_notebook(tmp_path / "chapter.ipynb", version, display_name)
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    session = NotebookSession(path, autosave_seconds=0.05)
    watch = DirtyWatch(session)
    try:
        await open_until_autosave_ran(session, watch)
    finally:
        info = await session.close(save=True)
    assert info is None
    assert watch.dirty_events == []
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == mtime
    assert session.take_upgrade_note() == ""


@pytest.mark.parametrize("version", ["4.0", "4.4"])
async def test_the_first_real_save_upgrades_to_45_and_says_so_once(tmp_path, version):
    """After an edit, autosave writes format 4.5 with the ids nbtui showed and the running
    kernel's kernelspec and language_info (as JupyterLab writes them from the kernel's info),
    and the upgrade note is given exactly once."""
    path = write_jupyter_notebook(tmp_path / "old.ipynb", version, "Python 3")
    session = NotebookSession(path, autosave_seconds=0.05)
    watch = DirtyWatch(session)
    try:
        await open_until_autosave_ran(session, watch)
        document = session.document
        document.edit_cell(document.cells[0].id, "# Chapter 2, edited", author=USER)
        await poll(lambda: not document.dirty and "edited" in path.read_text(),
                   message="the autosave of the edit")
        saved = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        nbformat.validate(saved)
        assert (saved.nbformat, saved.nbformat_minor) == (4, 5)
        assert [c.id for c in saved.cells] == [c.id for c in document.cells]
        assert saved.metadata.kernelspec == running_kernelspec()
        assert saved.metadata.language_info == session.kernel.language_info
        assert saved.metadata.language_info["version"] == platform.python_version()
        assert session.take_upgrade_note() == (
            f"old.ipynb was saved in notebook format 4.5 (it was {version}), which gives every "
            "cell an id, as JupyterLab 4 does.")
        assert session.take_upgrade_note() == ""
        document.edit_cell(document.cells[0].id, "# Chapter 2, edited again", author=USER)
        session.save()
        assert session.take_upgrade_note() == ""
    finally:
        await session.close(save=False)


async def test_a_45_notebook_saves_without_an_upgrade_note(tmp_path):
    """The first save of a notebook already in format 4.5 keeps its ids and gives no note."""
    path = write_jupyter_notebook(tmp_path / "new.ipynb", "4.5", "Python 3")
    ids = [c.id for c in nbformat.read(path, as_version=4).cells]
    session = NotebookSession(path, autosave_seconds=0)
    try:
        session.document.insert_cell("x = 1", author=USER)
        session.save()
        assert [c.id for c in nbformat.read(path, as_version=4).cells][:-1] == ids
        assert session.take_upgrade_note() == ""
    finally:
        await session.close(save=False)


def test_load_names_the_format_change_the_first_save_makes(tmp_path):
    """Loading says what the first save will change: the format (from 3.x or 4.0-4.4 to 4.5)
    or cell ids that were repeated; nothing for a clean 4.5 file."""
    nb3 = nbformat.v3.new_notebook(worksheets=[nbformat.v3.new_worksheet(
        cells=[nbformat.v3.new_code_cell(input="1 + 1")])])
    (tmp_path / "v3.ipynb").write_text(nbformat.v3.writes_json(nb3), encoding="utf-8")
    write_jupyter_notebook(tmp_path / "v44.ipynb", "4.4", "Python 3")
    write_jupyter_notebook(tmp_path / "v45.ipynb", "4.5", "Python 3")
    repeated = nbformat.read(tmp_path / "v45.ipynb", as_version=4)
    repeated.cells[1]["id"] = repeated.cells[0]["id"]
    (tmp_path / "ids.ipynb").write_text(nbformat.v4.writes_json(repeated), encoding="utf-8")

    def note(name: str) -> str:
        return load_notebook(tmp_path / name).upgrade_note

    assert note("v3.ipynb") == ("v3.ipynb was saved in notebook format 4.5 (it was 3.0), which "
                                "gives every cell an id, as JupyterLab 4 does.")
    assert "(it was 4.4)" in note("v44.ipynb")
    assert note("ids.ipynb") == ("ids.ipynb was saved with new ids for the cells whose ids were "
                                 "missing, invalid or repeated.")
    assert note("v45.ipynb") == ""


async def test_serve_and_sigterm_leave_an_unedited_notebook_untouched(tmp_path):
    """`nbtui serve` with autosave on, its kernel idle, then SIGTERM (which saves unsaved
    changes on the way out): the notebook nobody edited stays byte-identical."""
    path = write_jupyter_notebook(tmp_path / "served.ipynb", "4.4", "Python 3")
    before = path.read_bytes()
    with serving(path, "--autosave", "0.05") as (proc, socket_path):
        async with agent(socket_path) as client:
            deadline = time.monotonic() + KERNEL_TIMEOUT
            while (overview := await call(client, "get_notebook"))["kernel"]["state"] != "idle":
                assert time.monotonic() < deadline, "timed out waiting for an idle kernel"
                await asyncio.sleep(0.05)
            # Once more: the kernelspec is recorded when the start ends, just after "idle".
            overview = await call(client, "get_notebook")
            assert overview["dirty"] is False
        proc.send_signal(signal.SIGTERM)
        await poll(lambda: proc.poll() is not None, KERNEL_TIMEOUT, message="serve to exit")
        assert proc.returncode == 0
    assert path.read_bytes() == before
