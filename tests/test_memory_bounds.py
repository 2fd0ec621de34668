"""What the session keeps about past work (the activity log, the change feed, deleted cells)
stays within a memory budget however large the code and cells were, while undo, restore and
changes_since keep their promises. Driven by an agent through the real socket and kernel."""

from __future__ import annotations

from nbtui.core import document as document_module
from nbtui.core.document import USER, cell_bytes, text_bytes
from nbtui.core.session import ActivityLog
from tests.conftest import agent, call

FIVE_MB = 5_000_000


async def test_activity_log_holds_at_most_its_byte_budget(served):
    """Scratch runs with 5 MB of code and 5 MB of output leave the activity log within its
    byte budget, its accounting equal to a recount, each entry's code cut to a head."""
    log = served.session.activity
    log.max_bytes = 20_000
    async with agent(served.socket) as client:
        for i in range(12):
            await call(client, "run_code", code=f"big_{i % 2} = '{'c' * FIVE_MB}'", timeout=120)
            await call(client, "run_code", code=f"print('o' * {FIVE_MB})", timeout=120)
    recount = sum(ActivityLog.entry_bytes(e) for e in log.entries)
    assert log.held_bytes == recount <= log.max_bytes
    scratch = [e for e in log.entries if e.tool == "run_code"]
    assert scratch and all(len(e.code) < 3000 for e in scratch)
    assert scratch[-1].code == f"print('o' * {FIVE_MB})"
    assert any(e.code.startswith("big_") and "more characters" in e.code for e in scratch)


async def test_change_feed_and_deleted_cells_hold_at_most_their_byte_budgets(served,
                                                                             monkeypatch):
    """Inserting, editing and deleting 5 MB cells many times leaves the change feed and the
    deleted-cell store within their byte budgets (accounting equal to a recount); an old
    revision is then reported too old, and undo and restore of the latest changes still
    work."""
    monkeypatch.setattr(document_module, "FEED_MAX_BYTES", 30_000_000)
    monkeypatch.setattr(document_module, "DELETED_MAX_BYTES", 20_000_000)
    doc = served.document
    start = doc.revision
    async with agent(served.socket) as client:
        for i in range(8):
            cell = (await call(client, "insert_cell", source=f"{i}" + "a" * FIVE_MB))["cell"]
            await call(client, "edit_cell", cell_id=cell["id"], source=f"{i}" + "b" * FIVE_MB)
            await call(client, "delete_cells", cell_ids=[cell["id"]])
        feed = doc.changes_since(doc.feed_floor)
        assert doc.feed_bytes == sum(text_bytes(c.details) for c in feed) <= 30_000_000
        assert doc.deleted_bytes == sum(cell_bytes(c) for _, c, _ in doc.deleted) <= 20_000_000
        too_old = await call(client, "changes_since", revision=start)
        assert too_old["too_old"]

        normal = (await call(client, "insert_cell", source="x = 1"))["cell"]
        await call(client, "edit_cell", cell_id=normal["id"], source="x = 2")
        assert doc.undo_agent_change(normal["id"]).kind == "edit"
        assert doc.get(normal["id"]).source == "x = 1"
        await call(client, "delete_cells", cell_ids=[normal["id"]])
    assert doc.restore_deleted().source == "x = 1"
    doc.delete_cells([normal["id"]])


async def test_the_latest_change_is_kept_even_above_the_budget(served, monkeypatch):
    """A single edit larger than the whole feed budget is still kept, so undo of an agent's
    edit of a huge cell gives the user's text back."""
    size = FIVE_MB
    monkeypatch.setattr(document_module, "FEED_MAX_BYTES", size // 2)
    doc = served.document
    cell = doc.insert_cell("u" * size, author=USER)
    async with agent(served.socket) as client:
        await call(client, "edit_cell", cell_id=cell.id, source="agent")
    assert doc.feed_bytes <= size * 2 + 1000
    assert doc.undo_agent_change(cell.id).kind == "edit"
    assert doc.get(cell.id).source == "u" * size
    doc.delete_cells([cell.id])
