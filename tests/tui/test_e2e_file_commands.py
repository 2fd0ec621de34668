"""End to end in tmux, the real `nbtui`: save as (S), the question a save asks when the file
changed on disk, reload (ctrl+o) and the kernel picker (ctrl+k), all from keys tmux delivers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
from test_e2e_tmux import NBTUI, pane  # noqa: F401 - pane is a fixture
from tui_helpers import write_notebook

from tests.conftest import poll

KERNEL_DEADLINE = 60


def change_on_disk(path: Path, source: str) -> None:
    other = nbformat.read(path, as_version=4)
    other.cells[0].source = source
    nbformat.write(other, path)


def second_kernelspec(root: Path) -> None:
    """A kernelspec `second`: this interpreter's ipykernel under another display name."""
    spec = root / "kernels" / "second"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Second Python", "language": "python"}))


async def test_save_as_conflict_reload_and_kernel_change_in_tmux(tmp_path, pane):  # noqa: F811
    """In a real terminal: S saves the notebook as another file (nbtui list names it), a save
    over a file changed outside asks overwrite / save as / reload / cancel and r reloads it,
    ctrl+o reloads a clean notebook, ctrl+k switches to another kernelspec, ctrl+q exits 0."""
    path = write_notebook(tmp_path / "first.ipynb", [("code", "value = 6 * 7")])
    second_kernelspec(tmp_path / "jupyter")
    pane.start(tmp_path, "env", f"JUPYTER_PATH={tmp_path / 'jupyter'}", NBTUI, path.name)
    await pane.shows("value = 6 * 7", "python3: idle", timeout=KERNEL_DEADLINE)

    pane.press("S")
    await pane.shows("Save the notebook as", "first.ipynb   ")
    pane.press("C-u")
    await pane.shows("▊" + " " * 40)  # the field is empty
    pane.type(str(tmp_path / "second.ipynb"))
    await pane.shows("0/second.ipynb")
    pane.press("Enter")
    await pane.shows("Saved second.ipynb", " second.ipynb │")
    copy = tmp_path / "second.ipynb"
    assert nbformat.read(copy, as_version=4).cells[0].source == "value = 6 * 7"
    listed = subprocess.run([NBTUI, "list"], capture_output=True, text=True,
                            env=os.environ, check=True).stdout
    assert str(copy) in listed and str(path) not in listed

    change_on_disk(copy, "changed = 'outside'")
    pane.press("b")
    pane.press("C-s")
    await pane.shows("changed on disk", "Overwrite (o)", "Save as… (a)",
                     "Reload from disk (r)", "Cancel (esc)")
    pane.press("r")
    await pane.shows("changed = 'outside'", "Reloaded second.ipynb")

    change_on_disk(copy, "again = 'outside'")
    pane.press("C-o")
    await pane.shows("again = 'outside'")

    pane.press("C-k")
    await pane.shows("Change the kernel", "Python 3 (ipykernel)", "(current)", "Second Python")
    pane.press("Down")
    pane.press("Enter")
    await pane.shows("second: idle", timeout=KERNEL_DEADLINE)
    pane.press("C-s")
    # The toast of the first save may still be on screen: wait for the file itself.
    await poll(lambda: json.loads(copy.read_text())["metadata"]["kernelspec"]["name"]
               == "second", KERNEL_DEADLINE, "the new kernelspec saved")

    pane.press("C-q")
    assert await pane.exit_status() == 0
