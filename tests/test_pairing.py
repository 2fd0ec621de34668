"""Pairing rules seen from the agents' side: staying in sync, access modes, several agents."""

from __future__ import annotations

import asyncio
import json

import pytest
from mcp.shared.exceptions import MCPDeprecationWarning

from nbtui.core.document import USER
from nbtui.core.policy import AgentPolicy
from tests.conftest import agent, call, call_error, poll, serve_notebook


async def test_notebook_resource_and_update_notifications(served):
    """nbtui://notebook reads as the overview, and a subscribed client is notified (once per
    burst) when the document changes."""
    updates = []

    async def on_message(message):
        root = getattr(message, "root", message)
        if getattr(root, "method", None) == "notifications/resources/updated":
            updates.append(root.params.uri)

    async with agent(served.socket, name="watcher", message_handler=on_message) as client:
        contents = (await client.read_resource("nbtui://notebook")).contents
        overview = json.loads(contents[0].text)
        assert overview["cell_count"] == len(served.document)
        # Clients on the handshake-era protocol (today's agents) subscribe this way; the SDK
        # flags it as removed in the newest protocol version.
        with pytest.warns(MCPDeprecationWarning):
            await client.subscribe_resource("nbtui://notebook")
        for i in range(20):
            served.document.insert_cell(f"burst = {i}", author=USER)
        await poll(lambda: updates, message="a resources/updated notification")
        assert set(map(str, updates)) == {"nbtui://notebook"}
        assert len(updates) <= 3


async def test_read_only_access_refuses_changes_and_runs(tmp_path):
    """With --agent-access read, every mutating tool and every run is refused with a clear
    error; reads work."""
    async with serve_notebook(tmp_path / "ro.ipynb", AgentPolicy(access="read"),
                              start_kernel=False) as served:
        cell = served.document.insert_cell("x = 1", author=USER)
        async with agent(served.socket) as client:
            await call(client, "get_notebook")
            await call(client, "read_cells")
            await call(client, "changes_since", revision=0)
            refused = [
                ("insert_cell", {"source": "y"}),
                ("edit_cell", {"cell_id": cell.id, "source": "y"}),
                ("delete_cells", {"cell_ids": [cell.id]}),
                ("move_cell", {"cell_id": cell.id, "index": 0}),
                ("run_cells", {"cell_ids": [cell.id]}),
                ("run_code", {"code": "1"}),
                ("interrupt_kernel", {}),
                ("restart_kernel", {}),
                ("install_packages", {"packages": ["six"]}),
                ("list_variables", {}),
                ("save_notebook", {}),
            ]
            for tool, args in refused:
                text = await call_error(client, tool, **args)
                assert "agent access to read" in text and "only read" in text, (tool, text)
        assert [c.source for c in served.document.cells] == ["x = 1"]


async def test_edit_access_allows_changes_but_no_execution(tmp_path):
    """With --agent-access edit, agents change cells but cannot run code or control the
    kernel."""
    async with serve_notebook(tmp_path / "edit.ipynb", AgentPolicy(access="edit"),
                              start_kernel=False) as served:
        async with agent(served.socket) as client:
            inserted = (await call(client, "insert_cell", source="z = 1"))["cell"]
            await call(client, "edit_cell", cell_id=inserted["id"], source="z = 2")
            for tool, args in [("run_cells", {"cell_ids": [inserted["id"]]}),
                               ("insert_cell", {"source": "w", "run": True}),
                               ("edit_cell", {"cell_id": inserted["id"], "source": "z = 3",
                                              "run": True}),
                               ("run_code", {"code": "1"}),
                               ("install_packages", {"packages": ["six"]}),
                               ("restart_kernel", {}),
                               ("interrupt_kernel", {})]:
                text = await call_error(client, tool, **args)
                assert "not run code" in text, (tool, text)
        assert served.document.get(inserted["id"]).source == "z = 2"


async def test_two_agents_inserting_at_once_are_all_attributed(served):
    """Two agents inserting 15 cells each at the same time: all 30 land, each attributed."""
    start = served.document.revision

    async def insert_many(name):
        async with agent(served.socket, name=name) as client:
            await asyncio.gather(*(call(client, "insert_cell", source=f"{name} {i}")
                                   for i in range(15)))

    await asyncio.gather(insert_many("alpha"), insert_many("beta"))
    inserts = [c for c in served.document.changes_since(start) if c.kind == "insert"]
    by_author = {name: sorted(int(c.details["source"].split()[1]) for c in inserts
                              if c.author == name) for name in ("alpha", "beta")}
    assert by_author == {"alpha": list(range(15)), "beta": list(range(15))}
    for change in inserts:
        assert served.document.get(change.cell_id).last_author == change.author


async def test_agent_edit_of_the_cell_the_user_is_editing_is_refused(served):
    """An agent's edit of the cell the user is typing in is refused, suggesting a new cell;
    get_notebook reports the user's focus."""
    mine = served.document.insert_cell("typing here", author=USER)
    served.document.set_focus(mine.id, "edit")
    try:
        async with agent(served.socket) as client:
            focus = (await call(client, "get_notebook"))["focus"]
            assert focus == {"cell_id": mine.id, "mode": "edit"}
            text = await call_error(client, "edit_cell", cell_id=mine.id, source="agent")
            assert "user is editing" in text and "insert a new cell" in text
    finally:
        served.document.set_focus(mine.id, "command")
    assert mine.source == "typing here"


@pytest.mark.parametrize("access", ["read", "edit", "run"])
def test_policy_describes_itself(access):
    """The access mode is reported to agents as it is set."""
    assert AgentPolicy(access=access).describe() == {"mode": access, "approval": False}
