"""Live agent work through the real socket while the human types: everything the agent does is
displayed, and the human's text and selection are untouched."""

from __future__ import annotations

from test_pairing import KERNEL_TIMEOUT, paired_app
from tui_helpers import wait_until

from tests.conftest import agent, call


async def test_agent_edits_inserts_deletes_moves_and_runs_while_the_human_types(notebook):
    """An agent's edit, insert, delete, move and run (through the socket) all appear on screen
    while the human types in another cell; the typed text, edit mode and selection stay."""
    path = notebook([("code", "typed_by_human = ''"), ("code", "agent_edits_me = 1"),
                     ("code", "agent_deletes_me = 2"), ("code", "agent_moves_me = 3")])
    async with paired_app(path, kernel=True) as (app, pilot, socket):
        doc, view, pane = app.session.document, app.view, app.pane
        human, edited, deleted, moved = (c.id for c in doc.cells)
        await pilot.press("enter", "end")
        await pilot.press(*"  # typing")
        assert pane.mode == "edit" and view.selected_id == human

        async with agent(socket) as client:
            await call(client, "edit_cell", cell_id=edited, source="agent_edits_me = 'edited'")
            await pilot.press(*" more")
            inserted = (await call(client, "insert_cell", source="print('agent ran this')",
                                   after_cell_id=moved))["cell"]["id"]
            await call(client, "delete_cells", cell_ids=[deleted])
            await call(client, "move_cell", cell_id=moved, index=1)
            await pilot.press(*" text")
            await call(client, "run_cells", cell_ids=[inserted], timeout=KERNEL_TIMEOUT)

        await wait_until(pilot, lambda: "agent ran this\n" in view.visible_text(),
                         KERNEL_TIMEOUT, what="the agent's output on screen")
        shown = view.visible_text()
        assert "agent_edits_me = 'edited'" in shown
        assert "agent_deletes_me" not in shown
        assert shown.index("agent_moves_me") < shown.index("agent_edits_me")
        assert [c.id for c in doc.cells] == [human, moved, edited, inserted]

        assert pane.mode == "edit" and view.selected_id == human
        assert pane.editor.text == "typed_by_human = ''  # typing more text"
        await pilot.press("escape")
        assert doc.get(human).source == "typed_by_human = ''  # typing more text"
