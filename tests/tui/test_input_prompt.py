"""The input line: a running cell's input(), getpass and debugger prompts answered in the app,
with a real kernel (and an agent's run through the real socket)."""

from __future__ import annotations

import asyncio
import os
import random

from test_pairing import paired_app
from textual.pilot import Pilot
from textual.widgets import Input
from tui_helpers import running_app, screen_text, wait_until

from nbtui.tui.app import NotebookApp
from nbtui.tui.widgets.editor import CellEditor
from nbtui.tui.widgets.input_prompt import ANSWER_KEY, InputPrompt
from nbtui.tui.widgets.notebook_view import NotebookView
from tests.conftest import agent, call

KERNEL_TIMEOUT = 30


def prompt_of(app: NotebookApp) -> InputPrompt:
    return app.query_one(InputPrompt)


def outputs_text(app: NotebookApp, index: int) -> str:
    cell = app.session.document.cells[index]
    return "".join(o.get("text", "") for o in cell.outputs)


def notifications(app: NotebookApp) -> str:
    return "\n".join(n.message for n in app._notifications)


async def kernel_idle(app: NotebookApp, pilot: Pilot) -> None:
    await wait_until(pilot, lambda: app.session.kernel.state == "idle", KERNEL_TIMEOUT,
                     what="the kernel to be idle")


async def asked(app: NotebookApp, pilot: Pilot, text: str) -> InputPrompt:
    """Wait until the input line shows a prompt containing `text`."""
    prompt = prompt_of(app)
    await wait_until(pilot, lambda: prompt.display and prompt.request is not None
                     and text in str(prompt.query_one("#input-label").render()),
                     KERNEL_TIMEOUT, what=f"the input line asking {text!r}")
    return prompt


async def test_input_shows_a_focused_line_and_enter_answers_into_the_cell_output(notebook):
    """input() in a cell run with ctrl+enter shows "[1] Name: " above the status bar, focused;
    typing and enter answer it: the output shows prompt and answer, the line goes away."""
    path = notebook([("code", "name = input('Name: ')\nprint('hi', name)"), ("code", "x = 1")])
    async with running_app(path, kernel=True) as (app, pilot):
        await kernel_idle(app, pilot)
        await pilot.press("ctrl+enter")
        prompt = await asked(app, pilot, "Name: ")
        assert str(prompt.query_one("#input-label").render()) == "[1] Name: "
        assert app.focused is prompt.line
        rows = screen_text(app).splitlines()
        assert rows[-2].startswith("[1] Name:") and "python3" in rows[-1]
        assert app.session.document.cells[0].status == "running"
        await pilot.press(*"Bob", "enter")
        await wait_until(pilot, lambda: "hi Bob" in app.view.visible_text(), KERNEL_TIMEOUT,
                         what="the cell to print the answer")
        await wait_until(pilot, lambda: not prompt.display, what="the line to go away")
        assert outputs_text(app, 0) == "Name: Bob\nhi Bob\n"
        assert "Name: Bob" in app.view.visible_text()
        assert isinstance(app.focused, NotebookView)


async def test_getpass_is_masked_on_screen_and_kept_out_of_the_output(notebook):
    """getpass shows a masked line: what is typed never appears on screen nor in the output,
    which shows only the prompt."""
    path = notebook([("code", "import getpass\nsecret = getpass.getpass('Token: ')\n"
                              "print('length', len(secret))")])
    async with running_app(path, kernel=True) as (app, pilot):
        await kernel_idle(app, pilot)
        await pilot.press("ctrl+enter")
        prompt = await asked(app, pilot, "Token: ")
        assert prompt.line.password is True
        await pilot.press(*"hunter22")
        await pilot.pause()
        assert prompt.line.value == "hunter22"
        assert "hunter22" not in screen_text(app) and "•" * 8 in screen_text(app)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "length 8" in app.view.visible_text(), KERNEL_TIMEOUT,
                         what="the cell to finish")
        assert outputs_text(app, 0) == "Token: \nlength 8\n"
        assert "hunter22" not in screen_text(app)
        assert "hunter22" not in repr(app.session.document.cells[0].outputs)


async def test_while_the_human_edits_a_cell_the_line_waits_for_the_answer_key(notebook):
    """A request that comes while the human types in a cell (here from a cell an agent runs,
    named in the label) leaves the focus in the editor and says which key answers; that key
    focuses the line, escape leaves it (the prompt stays)."""
    path = notebook([("code", "print(input('Name: '))"), ("code", "draft = 1")])
    async with running_app(path, kernel=True) as (app, pilot):
        await kernel_idle(app, pilot)
        await pilot.press("j", "enter")
        assert isinstance(app.focused, CellEditor)
        app.session.kernel.run_cell(app.session.document.cells[0].id, "claude")
        prompt = await asked(app, pilot, "Name: ")
        assert str(prompt.query_one("#input-label").render()) == "[1] (claude) Name: "
        assert isinstance(app.focused, CellEditor)
        assert (f"(run by claude) waits for input: press {ANSWER_KEY} to answer"
                in notifications(app))
        await pilot.press(ANSWER_KEY)
        assert app.focused is prompt.line
        await pilot.press("escape")
        assert not isinstance(app.focused, Input) and prompt.display
        await pilot.press(ANSWER_KEY, *"Ada", "enter")
        await wait_until(pilot, lambda: outputs_text(app, 0) == "Name: Ada\nAda\n",
                         KERNEL_TIMEOUT, what="the answer to reach the cell")
        await wait_until(pilot, lambda: not prompt.display, what="the line to go away")
        assert app.session.document.cells[1].source == "draft = 1"


async def test_the_debugger_is_answered_prompt_after_prompt_until_continue(notebook):
    """breakpoint() asks at the debugger's prompt again after each command; the line keeps
    the focus between prompts, and `c` lets the cell finish."""
    path = notebook([("code", "y = 41\nbreakpoint()\nprint('after', y + 1)")])
    async with running_app(path, kernel=True) as (app, pilot):
        await kernel_idle(app, pilot)
        await pilot.press("ctrl+enter")
        prompt = await asked(app, pilot, "db>")
        first = prompt.request
        await pilot.press(*"p y", "enter")
        await wait_until(pilot, lambda: prompt.request is not None and prompt.request is not first,
                         KERNEL_TIMEOUT, what="the debugger's next prompt")
        assert app.focused is prompt.line and "41" in outputs_text(app, 0)
        await pilot.press("c", "enter")
        await wait_until(pilot, lambda: "after 42" in outputs_text(app, 0), KERNEL_TIMEOUT,
                         what="the cell to go on")
        await wait_until(pilot, lambda: not prompt.display, what="the line to go away")
        assert app.session.document.cells[0].status == "ok"


async def test_interrupting_a_run_that_waits_removes_the_line(notebook):
    """escape then i i interrupts a cell waiting for input: KeyboardInterrupt, no line left,
    and the next cell runs."""
    path = notebook([("code", "input('never: ')"), ("code", "print('next')")])
    async with running_app(path, kernel=True) as (app, pilot):
        await kernel_idle(app, pilot)
        await pilot.press("ctrl+enter")
        prompt = await asked(app, pilot, "never: ")
        await pilot.press("escape", "i", "i")
        await wait_until(pilot, lambda: app.session.document.cells[0].status == "error",
                         KERNEL_TIMEOUT, what="the interrupt")
        await wait_until(pilot, lambda: not prompt.display, what="the line to go away")
        assert "KeyboardInterrupt" in app.view.visible_text()
        await pilot.press("j", "ctrl+enter")
        await wait_until(pilot, lambda: outputs_text(app, 1) == "next\n", KERNEL_TIMEOUT,
                         what="the next cell")


FUZZ_KEYS = [*"abjkxyz 1(", "enter", "enter", "escape", "escape", ANSWER_KEY, ANSWER_KEY, "up",
             "down", "backspace", "tab", "ctrl+enter", "shift+enter"]
"""Keys a human might press around an input line: typing, answering, leaving, coming back,
moving, inserting and cutting cells, running."""


async def test_random_keys_while_a_cell_keeps_asking_never_trap_the_focus(notebook):
    """Seeded random keys while a cell asks for input again and again: no failure in the
    interface, escape always gets back to the notebook, and i i ends the run and the line
    (replay with NBTUI_INPUT_FUZZ_SEED=<seed>)."""
    seed = int(os.environ.get("NBTUI_INPUT_FUZZ_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    path = notebook([("code", "while True:\n    print('echo', input('> '))"), ("code", "x = 2")])
    async with running_app(path, kernel=True, size=(80, 24)) as (app, pilot):
        await kernel_idle(app, pilot)
        await pilot.press("ctrl+enter")
        prompt = await asked(app, pilot, "> ")
        for _ in range(200):
            await pilot.press(rng.choice(FUZZ_KEYS))
        assert not app.ui_errors, f"seed {seed}: {list(app.ui_errors)}"
        await pilot.press("escape", "escape", "escape")
        assert isinstance(app.focused, NotebookView), f"seed {seed}: focus on {app.focused}"
        await pilot.press("i", "i")
        await wait_until(pilot, lambda: not prompt.display, KERNEL_TIMEOUT,
                         what=f"the line to go away after the interrupt (seed {seed})")
        await wait_until(pilot, lambda: app.session.kernel.current is None, KERNEL_TIMEOUT,
                         what=f"the queue to end (seed {seed})")
        assert not app.ui_errors, f"seed {seed}: {list(app.ui_errors)}"


async def test_an_agents_input_returns_waiting_and_the_human_answers_in_the_app(notebook):
    """An agent's run_code of input() returns at once saying it waits for input; the human
    sees the prompt and answers it; the agent's wait then has the outputs."""
    path = notebook([("code", "x = 1")])
    async with paired_app(path, kernel=True, size=(120, 40)) as (app, pilot, socket), \
            agent(socket) as client:
        call_task = asyncio.ensure_future(call(client, "run_code", code="print('got', "
                                               "input('x? '))", timeout=600))
        prompt = await asked(app, pilot, "x? ")
        assert str(prompt.query_one("#input-label").render()) == "[claude] x? "
        await wait_until(pilot, call_task.done, KERNEL_TIMEOUT, what="run_code to return")
        data = call_task.result()
        assert data["status"] == "running"
        assert data["waiting_for_input"] == {"prompt": "x? ", "password": False}
        await pilot.press(*"yes", "enter")
        wait_task = asyncio.ensure_future(call(client, "wait", timeout=600))
        await wait_until(pilot, wait_task.done, KERNEL_TIMEOUT, what="wait to return")
        [run] = wait_task.result()["scratch_runs"]
        assert run["status"] == "ok" and run["outputs"][0]["text"] == "x? yes\ngot yes\n"
