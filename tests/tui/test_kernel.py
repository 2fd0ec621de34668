"""Running code with a real kernel: outputs, prompts, run keys, completion, interrupt, restart."""

from __future__ import annotations

import os
import signal

from tui_helpers import running_app, wait_until

from nbtui.tui.widgets.editor import CompletionMenu, InspectPanel

KERNEL_TIMEOUT = 30


async def kernel_ready(app, pilot) -> None:
    await wait_until(pilot, lambda: app.session.kernel.state == "idle", KERNEL_TIMEOUT,
                     what="the kernel to be idle")
    await wait_until(pilot, lambda: "python3: idle" in str(app.status_bar.render()),
                     what="the status bar to say idle")


async def test_running_cells_shows_outputs_prompts_and_the_run_keys(notebook):
    """ctrl+enter runs and stays, shift+enter runs and moves on (a new cell at the end), and
    the fallbacks ctrl+e / ctrl+r do the same, in command and in edit mode."""
    path = notebook([("code", "print(6 * 7)"), ("code", "'ok' * 2"),
                     ("code", "import sys; print('oops', file=sys.stderr)")])
    async with running_app(path, kernel=True) as (app, pilot):
        doc, view = app.session.document, app.view
        await pilot.press("ctrl+enter")
        assert view.selected_index == 0
        await wait_until(pilot, lambda: doc.cells[0].execution_count == 1, KERNEL_TIMEOUT,
                         what="the first run")
        await wait_until(pilot, lambda: "42" in view.visible_text(), what="its output")
        assert "[1] print(6 * 7)" in view.visible_text()

        await pilot.press("ctrl+r")
        assert view.selected_index == 1
        await pilot.press("enter", "ctrl+e")
        assert app.pane.mode == "command"
        assert view.selected_index == 1
        await wait_until(pilot, lambda: "okok" in view.visible_text(), KERNEL_TIMEOUT,
                         what="the second output")
        assert doc.cells[0].execution_count == 2 and doc.cells[1].execution_count == 3

        await pilot.press("j", "shift+enter")
        assert len(doc.cells) == 4
        assert view.selected_index == 3 and app.pane.mode == "edit"
        await wait_until(pilot, lambda: "oops" in view.visible_text(), KERNEL_TIMEOUT,
                         what="the stderr output")
        await pilot.press("1", "/", "0", "ctrl+r")
        await wait_until(pilot, lambda: "ZeroDivisionError" in view.visible_text(),
                         KERNEL_TIMEOUT, what="the traceback")
        assert doc.cells[3].status == "error"


async def test_tab_completes_and_shift_tab_inspects_with_the_kernel(notebook):
    """tab after a name asks the kernel (one match is inserted); shift+tab shows its doc."""
    path = notebook([("code", "zebra_unique_name = 1"), ("code", "")])
    async with running_app(path, kernel=True) as (app, pilot):
        doc = app.session.document
        await kernel_ready(app, pilot)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: doc.cells[0].execution_count == 1, KERNEL_TIMEOUT,
                         what="the definition to run")
        await pilot.press("enter", *"zebra_uni", "tab")
        await wait_until(pilot, lambda: app.pane.editor.text == "zebra_unique_name",
                         what="the completion")
        await pilot.press("ctrl+a", "ctrl+k", *"len", "tab")
        await pilot.pause()
        menu = app.query_one(CompletionMenu)
        if menu.display:
            await pilot.press("escape")
        await pilot.press(*"(", "shift+tab")
        panel = app.query_one(InspectPanel)
        await wait_until(pilot, lambda: panel.display, what="the inspection panel")
        assert "Return the number of items" in str(panel.render())


async def test_interrupt_and_a_dead_kernel_restarted_with_0_0(notebook):
    """i i interrupts a long run; a killed kernel shows as dead with the restart hint, and
    0 0 restarts it."""
    path = notebook([("code", "import time; time.sleep(30)"), ("code", "print('alive')")])
    async with running_app(path, kernel=True) as (app, pilot):
        doc, kernel = app.session.document, app.session.kernel
        await kernel_ready(app, pilot)
        await pilot.press("ctrl+enter")
        await wait_until(pilot, lambda: doc.cells[0].status == "running", KERNEL_TIMEOUT,
                         what="the sleep to start")
        await wait_until(pilot, lambda: "[*]" in app.view.visible_text(), what="[*]")
        await pilot.press("i", "i")
        await wait_until(pilot, lambda: "KeyboardInterrupt" in app.view.visible_text(),
                         KERNEL_TIMEOUT, what="the interrupt")
        os.kill(kernel.kernel_pid, signal.SIGKILL)
        await wait_until(pilot, lambda: "dead: press 0 0 to restart" in str(
            app.status_bar.render()), KERNEL_TIMEOUT, what="the dead state")
        await pilot.press("0", "0")
        await kernel_ready(app, pilot)
        await pilot.press("j", "ctrl+enter")
        await wait_until(pilot, lambda: "alive" in app.view.visible_text(), KERNEL_TIMEOUT,
                         what="a run after the restart")


async def test_a_run_key_runs_the_cell_selected_when_it_was_pressed(notebook):
    """A run request carries its cell: moving the selection before it is handled (a quick j
    after ctrl+e) does not change which cell runs."""
    from nbtui.tui.messages import RunRequested

    path = notebook([("code", "first_ran = True"), ("code", "second_ran = True")])
    async with running_app(path, kernel=True) as (app, pilot):
        doc, view = app.session.document, app.view
        first, second = doc.cells
        view.select(second.id)
        app.pane.post_message(RunRequested("run", first.id))
        await wait_until(pilot, lambda: first.execution_count is not None, KERNEL_TIMEOUT,
                         what="the first cell to run")
        assert second.execution_count is None and second.status == "idle"
