"""Key fuzz: thousands of seeded random keys and chords, in command and edit mode, while an agent
edits, inserts, deletes, moves and runs cells through the real socket. Nothing may fail, and the
screen must show the document as it is.

Replay a failure with the seed it names: `NBTUI_FUZZ_SEED=<seed> pytest tests/tui/test_key_fuzz.py`.
The seed fixes the keys and the agent's choices; how the agent's changes interleave with the keys
depends on timing, so a replay may take a few runs.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import string
import traceback
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from test_outputs import png
from test_pairing import KERNEL_TIMEOUT, paired_app
from textual import events
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.message_pump import MessagePump
from textual.pilot import Pilot
from tui_helpers import wait_until, write_notebook

from nbtui.tui.app import NotebookApp
from nbtui.tui.screens.dialogs import QuitScreen
from nbtui.tui.screens.image_view import ImageViewScreen
from nbtui.tui.widgets.editor import CellEditor
from nbtui.tui.widgets.find_bar import FindBar
from nbtui.tui.widgets.input_prompt import InputPrompt
from nbtui.tui.widgets.notebook import NotebookPane
from nbtui.tui.widgets.notebook_view import NotebookView
from tests.conftest import agent

KEYS_PER_SIZE = 2000
AGENT_EVERY_KEYS = 15
"""The agent starts its next change after this many keys (if its last one has finished)."""

EXCLUDED_KEYS = {"ctrl+q", "ctrl+p", "ctrl+a"}
"""ctrl+q quits, and so can the palette (ctrl+p), whose Screenshot also writes files. ctrl+a
turns on approval of agent runs, whose prompt takes an answer only after 0.4 s without a key,
which a stream of keys never leaves: the rest of the run would go to the prompt."""

NAMED_KEYS = ["enter", "escape", "tab", "shift+tab", "up", "down", "left", "right", "pageup",
              "pagedown", "home", "end", "backspace", "delete", "space", "shift+up",
              "shift+down", "ctrl+home", "ctrl+end"]
CHORDS = [f"ctrl+{c}" for c in string.ascii_lowercase] + [
    "ctrl+enter", "shift+enter", "alt+enter", "ctrl+left", "ctrl+right", "alt+up", "alt+down"]
TEXT_KEYS = list(string.ascii_lowercase + string.digits + "A" + "()[]:=+-*/.,'\"#_")

AGENT_SNIPPETS = [
    "print('agent', 1)",
    "1 / 0",
    "for i in range(120): print(i, 'w' * (i * 2))",
    "x = [i * i for i in range(10)]\nx",
    "undefined_name",
    "import sys; print('to stderr', file=sys.stderr)",
]


def binding_keys() -> list[str]:
    """Every key the app, the notebook pane, the cell list, the editor, the find bar, the
    input line and the full-screen image bind."""
    keys = set()
    for bindings in (NotebookApp.BINDINGS, NotebookPane.BINDINGS, NotebookView.BINDINGS,
                     CellEditor.BINDINGS, FindBar.BINDINGS, InputPrompt.BINDINGS,
                     ImageViewScreen.BINDINGS):
        for binding in bindings:
            keys.update(key.strip() for key in binding.key.split(","))  # type: ignore[union-attr]
    return sorted(keys)


def key_pool() -> list[str]:
    """The keys to draw from, weighted towards typing and moving around."""
    pool = binding_keys() * 3 + NAMED_KEYS * 2 + CHORDS + TEXT_KEYS
    return [key for key in pool if key not in EXCLUDED_KEYS]


def fuzz_notebook(path: Path) -> Path:
    """A notebook with every kind of cell and output the view draws differently."""
    long_wrapped = "".join(f"line {i:3d} {'x' * (i % 150)}\n" for i in range(200))
    traceback_lines = [f"\x1b[0;31mFrame {i}\x1b[0m in <module> line {i}" for i in range(40)]
    cells: list[Any] = [
        ("markdown", "# A title\n\nSome *markdown* with a [link](https://example.com)."),
        {"cell_type": "code", "source": "for i in range(200): print(i)", "metadata": {},
         "execution_count": 1,
         "outputs": [{"output_type": "stream", "name": "stdout", "text": long_wrapped}]},
        {"cell_type": "code", "source": "1 / 0", "metadata": {}, "execution_count": 2,
         "outputs": [{"output_type": "error", "ename": "ZeroDivisionError",
                      "evalue": "division by zero", "traceback": traceback_lines}]},
        {"cell_type": "code", "source": "picture", "metadata": {}, "execution_count": 3,
         "outputs": [{"output_type": "display_data", "metadata": {},
                      "data": {"image/png": png(40, 20, (0, 128, 255)),
                               "text/plain": "<picture>"}}]},
        ("raw", "raw text\nthat is not run"),
        ("code", "y = 2"),
        ("markdown", ""),
        ("code", "def f(a):\n    return a * 2\n\nf(21)"),
    ]
    return write_notebook(path, cells)


async def agent_change(client: Client, app: NotebookApp, rng: random.Random,
                       inserted: list[str]) -> None:
    """One random change through the socket; refusals (access, a cell being edited) are fine."""
    ids = [cell.id for cell in app.session.document.cells]
    kind = rng.choice(["edit", "insert", "insert", "delete", "move", "run", "run"])
    if kind == "edit" and ids:
        args: dict[str, Any] = {"cell_id": rng.choice(ids), "source": rng.choice(AGENT_SNIPPETS)}
        await client.call_tool("edit_cell", args)
    elif kind == "insert" or not ids:
        args = {"source": rng.choice(AGENT_SNIPPETS),
                "cell_type": rng.choice(["code", "code", "markdown", "raw"])}
        if ids:
            args["after_cell_id"] = rng.choice(ids)
        result = await client.call_tool("insert_cell", args)
        if not result.is_error:
            inserted.append(result.structured_content["cell"]["id"])
    elif kind == "delete":
        mine = [cell_id for cell_id in inserted if cell_id in ids]
        if mine:
            await client.call_tool("delete_cells", {"cell_ids": [rng.choice(mine)]})
    elif kind == "move":
        await client.call_tool("move_cell", {"cell_id": rng.choice(ids),
                                             "index": rng.randrange(len(ids))})
    else:
        await client.call_tool("run_cells", {"cell_ids": [rng.choice(ids)], "timeout": 5})


async def press(pilot: Pilot, key: str) -> None:
    """Press a key as Pilot does, without its two idle waits of 20 ms or more a key: the key
    goes in as the terminal would send it, and the screen handles it before the next one."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    try:
        char: str | None = unicodedata.lookup(
            _get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
    except KeyError:
        char = key if len(key) == 1 else None
    event = events.Key(key, char)
    event.set_sender(pilot.app)
    pilot.app._driver.send_message(event)  # type: ignore[union-attr]
    await settle(pilot.app)


class Stuck(Exception):
    """The app or a widget of the screen did not handle the messages queued before a key."""


async def settle(app: NotebookApp, timeout: float = 30.0) -> None:
    """Wait, as Pilot does after a key, until the app and every widget of the screen have
    handled what was queued so far; on a timeout say which did not and where each one is.

    Raises:
        Stuck: after `timeout` seconds, naming the widgets that are behind and their stacks.
    """
    pending: dict[int, MessagePump] = {}
    caught_up = asyncio.Event()

    def handled(node: MessagePump) -> None:
        pending.pop(id(node), None)
        if not pending:
            caught_up.set()

    for node in [app, *app.screen.walk_children(with_self=True)]:
        pending[id(node)] = node
        if not node.call_later(handled, node):
            del pending[id(node)]
    if not pending:
        return
    waits = [asyncio.create_task(caught_up.wait()),
             asyncio.create_task(app._exception_event.wait())]
    _, still = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for task in still:
        task.cancel()
    if len(still) == len(waits):
        raise Stuck("; ".join(where_stuck(node) for node in pending.values()))


def where_stuck(node: MessagePump) -> str:
    """A message pump's state and, if its task is waiting somewhere, the stack it waits in."""
    task = node._task
    state = (f"{node!r} (closing={node._closing}, closed={node._closed}, "
             f"running={node._running}, attached={getattr(node, 'is_attached', '?')}, "
             f"queued={node._message_queue.qsize()}, task={'none' if task is None else 'yes'})")
    if task is None or task.done():
        return state
    stack = io.StringIO()
    task.print_stack(file=stack)
    return f"{state} waiting in:\n{stack.getvalue()}"


def next_key(rng: random.Random, pool: list[str], previous: str | None) -> str:
    """A random key; never a second `0` in a row (0 0 restarts the kernel, which is slow)."""
    while True:
        key = rng.choice(pool)
        if not (key == "0" and previous == "0"):
            return key


def describe(seed: int, size: tuple[int, int], pressed: list[str], what: str) -> str:
    return (f"{what}\nseed {seed} at {size[0]}x{size[1]} after {len(pressed)} keys; replay with "
            f"NBTUI_FUZZ_SEED={seed}. The last keys: {pressed[-40:]}")


def first_traceback(errors: list[BaseException]) -> str:
    return "".join(traceback.format_exception(errors[0])) if errors else ""


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
async def test_random_keys_with_an_agent_at_work_break_nothing(tmp_path, monkeypatch, size):
    """Thousands of random keys and chords in both modes while an agent changes and runs cells:
    no handler fails, the app runs on, and the view shows the document's cells in order."""
    seed = int(os.environ.get("NBTUI_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
    monkeypatch.chdir(tmp_path)  # a relative name typed into save-as lands here
    # Shown with any failure, whatever raised it (pytest prints a failed test's output).
    print(f"key fuzz seed {seed}: replay with NBTUI_FUZZ_SEED={seed}")
    rng = random.Random(f"{seed}-{size}")
    agent_rng = random.Random(f"{seed}-{size}-agent")
    pool = key_pool()
    path = fuzz_notebook(tmp_path / "fuzz.ipynb")
    pressed: list[str] = []
    modes = {"command": 0, "edit": 0}
    async with paired_app(path, kernel=True, size=size) as (app, pilot, socket):
        doc, view = app.session.document, app.view
        inserted: list[str] = []
        async with agent(socket) as client:
            change: asyncio.Task[None] | None = None
            for count in range(KEYS_PER_SIZE):
                if isinstance(app.screen, QuitScreen):
                    await press(pilot, "escape")
                if count % AGENT_EVERY_KEYS == 0 and (change is None or change.done()):
                    if change is not None:
                        change.result()
                    change = asyncio.create_task(agent_change(client, app, agent_rng, inserted))
                key = next_key(rng, pool, pressed[-1] if pressed else None)
                pressed.append(key)
                modes[app.pane.mode] += 1
                try:
                    await press(pilot, key)
                except Stuck as stuck:
                    pytest.fail(describe(seed, size, pressed, "the screen stopped handling keys "
                                         f"(the focus is on {app.focused}, {app.screen} on top)"
                                         f": {stuck}"))
                assert app.is_running and app.screen_stack, describe(
                    seed, size, pressed, "the app ended")
                assert not app.ui_errors, describe(
                    seed, size, pressed, first_traceback(app.take_ui_errors()))
            if change is not None:
                await wait_until(pilot, change.done, KERNEL_TIMEOUT,
                                 what=describe(seed, size, pressed, "the agent's last change"))
                change.result()

        while app.screen is not app.screen_stack[0]:
            await pilot.press("escape")
        if app.pane.mode == "edit":
            await pilot.press("escape")
        await wait_until(pilot, lambda: view.cell_ids == [cell.id for cell in doc.cells],
                         what=describe(seed, size, pressed, "the view to show the document"))
        assert view.selected_id is None or doc.has(view.selected_id), describe(
            seed, size, pressed, "the selected cell does not exist")
        if doc.cells:
            assert view.selected_id is not None, describe(seed, size, pressed,
                                                          "no cell is selected")
            focused = app.focused
            view.focus()
            if view.follow:  # it would scroll to the cells the agent touched as outputs arrive
                await pilot.press("f")
            await pilot.press("home")
            first = doc.cells[0]
            assert view.selected_id == first.id and view.screen_row(first.id) == 0, describe(
                seed, size, pressed, f"home did not show the first cell at the top (the focus "
                f"was on {focused})")
            badge = first.status in ("queued", "running") or view.agent_mark(first.id)
            if first.cell_type == "code" and not badge:
                # (A badge covers the end of the line when the view is narrow.)
                line = first.source.splitlines()[0].rstrip() if first.source.strip() else ""
                shown = view.visible_text().splitlines()[0]
                assert line[:min(20, view.content_width - 1)] in shown, describe(
                    seed, size, pressed, f"the first cell's source {line!r} is not shown")
        assert all(modes.values()), describe(seed, size, pressed, f"a mode was missed: {modes}")
        assert not app.ui_errors, describe(seed, size, pressed,
                                           first_traceback(app.take_ui_errors()))
        assert app.is_running
