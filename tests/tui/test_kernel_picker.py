"""The kernel picker: ctrl+k (or the palette) lists the installed kernelspecs, the current one
marked, and switches the notebook's kernel to the one chosen."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from textual.widgets import OptionList
from tui_helpers import running_app, screen_text, wait_until

from nbtui.core.document import USER
from nbtui.tui.app import NotebookApp
from nbtui.tui.screens.kernel_picker import KernelPickerScreen

DEADLINE = 60


def install_spec(root: Path, name: str, display_name: str, argv: list[str]) -> None:
    spec = root / "kernels" / name
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": argv, "display_name": display_name, "language": "python"}))


@pytest.fixture
def kernelspecs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two more installed kernelspecs: `second`, this interpreter's ipykernel under another
    name, and `broken`, whose program does not exist."""
    root = tmp_path / "jupyter"
    install_spec(root, "second", "Second Python",
                 [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"])
    install_spec(root, "broken", "Broken Kernel",
                 [str(tmp_path / "no-such-program"), "{connection_file}"])
    monkeypatch.setenv("JUPYTER_PATH", str(root))


async def pick(app: NotebookApp, pilot, name: str) -> None:
    """Open the picker with ctrl+k and choose `name`."""
    await pilot.press("ctrl+k")
    screen = await wait_until(pilot, lambda: isinstance(app.screen, KernelPickerScreen)
                              and app.screen, what="the kernel picker")
    options = screen.query_one(OptionList)
    names = [options.get_option_at_index(i).id for i in range(options.option_count)]
    assert {"python3", "second", "broken"} <= set(names)
    options.highlighted = names.index(name)
    await pilot.press("enter")


async def test_the_picker_lists_the_kernels_and_marks_the_current_one(notebook, kernelspecs):
    """ctrl+k lists every installed kernelspec by display name and name, the notebook's own
    marked current and highlighted; esc closes it with nothing changed."""
    async with running_app(notebook(1)) as (app, pilot):
        await pilot.press("ctrl+k")
        screen = await wait_until(pilot, lambda: isinstance(app.screen, KernelPickerScreen)
                                  and app.screen, what="the kernel picker")
        text = screen_text(app)
        assert "Second Python  second" in text and "Broken Kernel  broken" in text
        (current,) = [line for line in text.splitlines() if "(current)" in line]
        assert "● " in current and "python3" in current
        options = screen.query_one(OptionList)
        assert options.get_option_at_index(options.highlighted).id == "python3"
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.default_screen, what="it to close")
        assert app.session.kernel_name == "python3"


async def test_choosing_a_kernel_switches_to_it(notebook, kernelspecs):
    """Choosing another kernelspec stops the kernel and starts that one: its variables are
    gone, the status bar and the notebook's metadata name the new kernel."""
    async with running_app(notebook(1), kernel=True) as (app, pilot):
        kernel = app.session.kernel
        await kernel.wait_ready(DEADLINE)
        await kernel.run_code("old = 1", USER).wait(DEADLINE)
        await pick(app, pilot, "second")
        await wait_until(pilot, lambda: kernel.kernel_name == "second"
                         and kernel.state == "idle", timeout=DEADLINE, what="the new kernel")
        await wait_until(pilot, lambda: app.status_bar.kernel_name == "second",
                         what="the status bar")
        assert "second: idle" in screen_text(app)
        assert app.session.document.metadata["kernelspec"]["display_name"] == "Second Python"
        run = kernel.run_code("print('old' in globals())", USER)
        await run.wait(DEADLINE)
        assert run.outputs[0]["text"] == "False\n"


async def test_a_kernel_that_cannot_start_is_one_line(notebook, kernelspecs):
    """A kernelspec whose program is missing: one line says so, and the app carries on."""
    async with running_app(notebook(1), kernel=True) as (app, pilot):
        await app.session.kernel.wait_ready(DEADLINE)
        await pick(app, pilot, "broken")
        notice = await wait_until(pilot, lambda: [n for n in app._notifications
                                                  if n.severity == "error"],
                                  timeout=DEADLINE, what="the error")
        assert "\n" not in notice[0].message and "Broken Kernel" in notice[0].message
        assert app.is_running and not app.ui_errors


async def test_the_palette_offers_the_kernel_picker(notebook, kernelspecs):
    """"Change the kernel" in the palette opens the picker."""
    async with running_app(notebook(1)) as (app, pilot):
        await pilot.press("ctrl+p", *"Change the kernel")
        await wait_until(pilot, lambda: "Change the kernel" in screen_text(app),
                         what="the palette entry")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, KernelPickerScreen),
                         what="the kernel picker")
