"""Pairing in the TUI with real agents over the real socket: focus rules, authorship and undo,
approval prompts, access modes, and several agents at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from tui_helpers import SIZE, screen_text, wait_until

from nbtui.agent.endpoint import AgentEndpoint
from nbtui.agent.sessions import SessionLock
from nbtui.core.session import NotebookSession
from nbtui.tui.app import NotebookApp
from nbtui.tui.screens.dialogs import ApprovalScreen
from tests.conftest import agent, call, call_error

KERNEL_TIMEOUT = 60


@contextlib.asynccontextmanager
async def paired_app(path: Path, *, kernel: bool = False, approve: bool = False,
                     size: tuple[int, int] = SIZE, socket_path: str | None = None
                     ) -> AsyncIterator[tuple[NotebookApp, Pilot, str]]:
    """The app on a real session of `path` whose agent socket listens (at `socket_path`, else
    the default place); yields the socket too."""
    session = NotebookSession(path, autosave_seconds=0)
    endpoint = AgentEndpoint(session, socket_path)
    lock = SessionLock(session.path, endpoint.socket_path)

    async def start() -> tuple[SessionLock, AgentEndpoint]:
        await endpoint.start(lock)
        if kernel:
            await session.start()
        return lock, endpoint

    async def stop(session: NotebookSession, lock: Any, endpoint: Any) -> None:
        try:
            await endpoint.close()
            await session.close(save=False)
        finally:
            lock.release()

    app = NotebookApp(session, start=start, approve=approve)
    try:
        async with app.run_test(size=size, notifications=True) as pilot:
            await wait_until(pilot, lambda: app.owns_notebook, what="the session to start")
            if kernel:
                await wait_until(pilot, lambda: session.kernel.state == "idle", KERNEL_TIMEOUT,
                                 what="the kernel")
            yield app, pilot, endpoint.socket_path
    finally:
        await app.finish(stop)


def line_with(app: NotebookApp, needle: str) -> str:
    """The line of the notebook view that shows `needle` ('' if none)."""
    return next((line for line in app.view.visible_text().splitlines() if needle in line), "")


async def prompt(app: NotebookApp, pilot: Pilot) -> ApprovalScreen:
    """Wait for an approval prompt and return it."""
    return await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen)
                            and app.screen, what="the approval prompt")


async def answer(app: NotebookApp, pilot: Pilot, key: str) -> None:
    """Answer the approval prompt on screen with `key` once it takes answers."""
    screen = await prompt(app, pilot)
    await wait_until(pilot, lambda: screen.ready, what="the prompt to take answers")
    await pilot.press(key)
    await wait_until(pilot, lambda: app.screen is not screen, what="the prompt to close")


async def test_agent_reads_what_the_human_types_but_cannot_edit_that_cell(notebook):
    """While the human types in a cell, an agent's read_cells sees the typed text (debounced),
    its edit of that cell is refused, and its edit of another cell is shown at once."""
    async with paired_app(notebook(2)) as (app, pilot, socket):
        doc, editor = app.session.document, app.pane.editor
        first, second = doc.cells[0].id, doc.cells[1].id
        await pilot.press("enter", "space", "+", "space", "4", "1")
        assert editor.text == "x0 = 0 + 41"
        async with agent(socket) as claude:
            async def seen() -> str:
                cells = (await call(claude, "read_cells", cell_ids=[first]))["cells"]
                return cells[0]["source"]

            deadline = asyncio.get_running_loop().time() + 5
            while await seen() != "x0 = 0 + 41":
                assert asyncio.get_running_loop().time() < deadline, "typing never arrived"
                await pilot.pause()
            error = await call_error(claude, "edit_cell", cell_id=first, source="mine = 1")
            assert "user is editing" in error
            await call(claude, "edit_cell", cell_id=second, source="x1 = 'from claude'")
            await wait_until(pilot, lambda: "claude" in line_with(app, "from claude"),
                             what="the agent's edit on screen, marked")
        assert app.pane.mode == "edit" and app.focused is editor
        assert editor.text == "x0 = 0 + 41"


async def test_changes_since_names_authors_and_u_undoes_the_agents_edit(notebook):
    """changes_since says who changed what (user or the agent); u puts the agent's edit back,
    on screen too, and then says there is nothing more to undo."""
    async with paired_app(notebook(2)) as (app, pilot, socket):
        doc, view = app.session.document, app.view
        first, second = doc.cells[0].id, doc.cells[1].id
        async with agent(socket) as claude:
            start = (await call(claude, "get_notebook"))["revision"]
            await pilot.press("enter", "9", "escape")
            await call(claude, "edit_cell", cell_id=second, source="x1 = 'claude was here'")
            changes = (await call(claude, "changes_since", revision=start))["changes"]
        edits = {(c["cell_id"], c["author"]) for c in changes if c["kind"] == "edit"}
        assert edits == {(first, "user"), (second, "claude")}
        await wait_until(pilot, lambda: "claude was here" in view.visible_text(),
                         what="the agent's edit on screen")
        await pilot.press("j", "u")
        assert doc.get(second).source == "x1 = 1"
        await wait_until(pilot, lambda: "x1 = 1" in view.visible_text()
                         and "claude was here" not in view.visible_text(),
                         what="the old source back on screen")
        await wait_until(pilot, lambda: "Undid claude's edit of cell 2" in screen_text(app),
                         what="the notification")
        assert "claude" not in line_with(app, "x1 = 1")
        await pilot.press("u")
        await wait_until(pilot, lambda: "no agent change to undo" in screen_text(app),
                         what="the nothing-to-undo notification")
        assert doc.get(first).source == "x0 = 09"


async def test_u_removes_an_agents_cell_and_z_brings_back_agent_deletions(notebook):
    """u on a cell an agent inserted removes it (z restores it); cells an agent deleted come
    back with z at their old place."""
    async with paired_app(notebook(3)) as (app, pilot, socket):
        doc, view = app.session.document, app.view
        async with agent(socket) as claude:
            added = (await call(claude, "insert_cell", source="inserted = 'by claude'",
                                index=1))["cell"]["id"]
            await wait_until(pilot, lambda: added in view.cell_ids, what="the inserted cell")
            await pilot.press("j")
            assert view.selected_id == added
            await pilot.press("u")
            assert not doc.has(added)
            await wait_until(pilot, lambda: "inserted = " not in view.visible_text(),
                             what="the cell to go")
            await pilot.press("z")
            assert doc.cells[1].source == "inserted = 'by claude'"
            doomed = doc.cells[3].id
            await call(claude, "delete_cells", cell_ids=[doomed])
        await wait_until(pilot, lambda: "x2 = 2" not in view.visible_text(),
                         what="the agent's delete on screen")
        await pilot.press("z")
        assert [c.source for c in doc.cells][-1] == "x2 = 2"
        await wait_until(pilot, lambda: "x2 = 2" in view.visible_text(),
                         what="the restored cell on screen")


async def test_approval_y_runs_n_declines_and_keys_typed_in_a_hurry_never_answer(notebook):
    """In approval mode the agent's run_code waits for the prompt: keys typed just before and as
    it appears go to the cell being edited, never to the answer; y then runs it (the agent gets
    the result), n declines (the agent gets the decline), and the editor has the focus and its
    cursor back."""
    async with paired_app(notebook(1), kernel=True, approve=True) as (app, pilot, socket):
        editor = app.pane.editor
        await pilot.press("enter", "space", "#")
        assert "✓approve" in str(app.status_bar.render())
        async with agent(socket) as claude:
            run = asyncio.create_task(call(claude, "run_code", code="6 * 7"))
            await pilot.press("y", "y")
            screen = await prompt(app, pilot)
            assert not screen.ready
            await pilot.press("n", "y")
            assert not run.done() and app.screen is screen
            assert editor.text == "x0 = 0 #yyny"
            cursor = editor.cursor_location
            assert "claude asks to run this code" in screen_text(app)
            assert "6 * 7" in screen_text(app)
            await answer(app, pilot, "y")
            result = await asyncio.wait_for(run, 30)
            assert result["status"] == "ok"
            assert result["outputs"][0]["text"].strip() == "42"
            assert app.focused is editor and editor.cursor_location == cursor

            declined = asyncio.create_task(call_error(claude, "run_code", code="import os"))
            await answer(app, pilot, "n")
            assert "declined" in await asyncio.wait_for(declined, 10)
            assert app.focused is editor and editor.cursor_location == cursor
        await pilot.press("!")
        assert editor.text == "x0 = 0 #yyny!"


async def test_pending_approvals_queue_and_block_neither_agents_kernel_nor_ctrl_s(notebook):
    """While one agent waits for approval, another agent's reads and edits answer, a running
    cell finishes, ctrl+s saves; a second request waits its turn; after both answers the
    selected cell has the focus again."""
    path = notebook([("code", "import time; time.sleep(0.3); print('slept')"),
                     ("code", "x = 1")])
    async with paired_app(path, kernel=True, approve=True) as (app, pilot, socket):
        doc, view = app.session.document, app.view
        await pilot.press("j")
        selected = view.selected_id
        await pilot.press("k", "ctrl+e", "j")
        async with agent(socket) as claude, agent(socket, name="goose") as goose:
            first = asyncio.create_task(call(claude, "run_code", code="'first'"))
            screen = await prompt(app, pilot)
            second = asyncio.create_task(call_error(goose, "run_code", code="'second'"))
            overview = await asyncio.wait_for(call(goose, "get_notebook"), 10)
            assert overview["cell_count"] == 2
            await call(goose, "insert_cell", source="from_goose = 1")
            assert not first.done() and app.screen is screen
            await wait_until(pilot, lambda: app.pending_approvals == 2,
                             what="the second request to queue")
            await wait_until(pilot, lambda: "1 more request waiting" in screen_text(app),
                             what="the waiting count")
            await wait_until(pilot, lambda: doc.cells[0].status == "ok", KERNEL_TIMEOUT,
                             what="the running cell to finish behind the prompt")
            assert doc.dirty
            await pilot.press("ctrl+s")
            assert not doc.dirty and "from_goose" in path.read_text()
            assert app.screen is screen and not first.done()

            await answer(app, pilot, "y")
            assert (await asyncio.wait_for(first, 30))["outputs"][0]["text"] == "'first'"
            second_screen = await prompt(app, pilot)
            assert second_screen is not screen and "goose" in screen_text(app)
            await answer(app, pilot, "escape")
            assert "declined" in await asyncio.wait_for(second, 10)
        assert app.pending_approvals == 0
        assert app.focused is view and view.selected_id == selected
        assert app.pane.mode == "command"


async def test_access_mode_and_approval_change_from_the_tui(notebook):
    """A cycles agent access read → edit → run and ctrl+a switches approval; the status bar
    says which, and agents are held to it from their next call."""
    async with paired_app(notebook(1)) as (app, pilot, socket):
        status = app.status_bar
        assert "agents: none · run" in str(status.render())
        async with agent(socket) as claude:
            await pilot.press("A")
            await wait_until(pilot, lambda: "read-only" in str(status.render()),
                             what="read-only in the status bar")
            error = await call_error(claude, "insert_cell", source="nope = 1")
            assert "access to read" in error
            await pilot.press("A")
            await call(claude, "insert_cell", source="allowed = 1")
            assert "access to edit" in await call_error(claude, "run_code", code="1")
            assert "edit, no runs" in str(status.render())
            await pilot.press("A", "ctrl+a")
            assert app.session.policy.access == "run"
            await wait_until(pilot, lambda: "run ✓approve" in str(status.render()),
                             what="approval in the status bar")
            assert (await call(claude, "get_notebook"))["access"] == {"mode": "run",
                                                                      "approval": True}
            await pilot.press("ctrl+a")
            await wait_until(pilot, lambda: "✓approve" not in str(status.render()),
                             what="approval off")
            assert app.session.policy.approver is None


async def test_two_agents_are_named_and_a_queued_cell_shows_whose_run_it_is(notebook, tmp_path):
    """With claude and goose attached, the status bar names both; a cell goose runs shows
    "queued: goose" behind the human's run and "running: goose" while it runs; each agent's
    touched cell carries its own name."""
    go, go_on = tmp_path / "go", tmp_path / "go-on"
    wait = "import os, time\nwhile not os.path.exists({!r}): time.sleep(0.01)\n"
    path = notebook([("code", wait.format(str(go)) + "'human done'"),
                     ("code", wait.format(str(go_on)) + "'goose done'"),
                     ("code", "x2 = 2")])
    async with paired_app(path, kernel=True) as (app, pilot, socket):
        doc, status = app.session.document, app.status_bar
        gooses = doc.cells[1].id
        async with agent(socket) as claude, agent(socket, name="goose") as goose:
            await call(claude, "get_notebook")
            await call(goose, "get_notebook")
            await wait_until(pilot, lambda: "claude, goose" in str(status.render()),
                             what="both agents in the status bar")
            await pilot.press("ctrl+e")
            await wait_until(pilot, lambda: doc.cells[0].status == "running", KERNEL_TIMEOUT,
                             what="the human's cell to run")
            run = asyncio.create_task(call(goose, "run_cells", cell_ids=[gooses]))
            await wait_until(pilot, lambda: "queued: goose" in line_with(app, "[…]"),
                             what="the queued cell marked with goose")
            assert app.view.run_owner(gooses) == "goose"
            await call(claude, "edit_cell", cell_id=doc.cells[2].id, source="x2 = 'claude'")
            await wait_until(pilot, lambda: "claude" in line_with(app, "x2 = 'claude'"),
                             what="claude's mark on its cell")
            go.touch()
            await wait_until(pilot, lambda: "running: goose" in line_with(app, "[*]"),
                             KERNEL_TIMEOUT, what="the running cell marked with goose")
            go_on.touch()
            cells = (await asyncio.wait_for(run, 30))["cells"]
            assert cells[0]["status"] == "ok"
        await wait_until(pilot, lambda: app.view.run_owner(gooses) is None,
                         what="the run to end")
        assert "running: goose" not in app.view.visible_text()


async def test_the_palette_sets_read_only_over_a_prompt_and_that_declines_it(notebook):
    """The command palette opens over an approval prompt; choosing "Agents: read only" there
    declines the waiting request and closes the prompt."""
    async with paired_app(notebook(1), approve=True) as (app, pilot, socket):
        async with agent(socket) as claude:
            run = asyncio.create_task(call_error(claude, "run_code", code="1 + 1"))
            await prompt(app, pilot)
            await pilot.press("ctrl+p")
            await pilot.press(*"read only")
            await wait_until(pilot, lambda: "Agents: read only" in screen_text(app),
                             what="the palette entry")
            await pilot.press("enter")
            assert "declined" in await asyncio.wait_for(run, 10)
            await wait_until(pilot, lambda: app.screen is app.default_screen,
                             what="the prompt to close")
            assert "read-only" in str(app.status_bar.render())
            assert "access to read" in await call_error(claude, "run_code", code="1")
        assert app.focused is app.view


async def test_an_agent_that_disconnects_takes_its_prompt_away(notebook):
    """If the agent goes away while its request waits, the prompt closes by itself and the
    human's focus is back in the cell list."""
    async with paired_app(notebook(1), approve=True) as (app, pilot, socket):
        async with agent(socket) as claude:
            run = asyncio.create_task(claude.call_tool("run_code", {"code": "1 + 1"}))
            await prompt(app, pilot)
            run.cancel()
        await wait_until(pilot, lambda: app.screen is app.default_screen,
                         what="the prompt to go away")
        assert app.pending_approvals == 0 and app.focused is app.view
