"""The document model: authored operations, revisions, the change feed and the human's focus."""

from __future__ import annotations

import nbformat
import pytest

from nbtui.core.document import (
    USER,
    CellBeingEdited,
    Document,
    InvalidArgument,
    RevisionConflict,
    UnknownCell,
)


def make_doc(*sources: str) -> Document:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return Document(nb, "t.ipynb")


def test_insert_positions_and_authorship():
    """insert_cell places cells by index or anchor and records the author in the feed."""
    doc = make_doc("a", "b")
    first, second = doc.cells
    end = doc.insert_cell("end", author="claude")
    after = doc.insert_cell("after a", after_cell_id=first.id, author="claude")
    before = doc.insert_cell("before b", before_cell_id=second.id)
    top = doc.insert_cell("top", index=0)
    assert [c.source for c in doc.cells] == ["top", "a", "after a", "before b", "b", "end"]
    assert [c.author for c in doc.changes_since(0)] == ["claude", "claude", USER, USER]
    assert {end.id, after.id, before.id, top.id}.isdisjoint({first.id, second.id})


def test_insert_rejects_two_positions_and_bad_type():
    """An insert with two positions or an unknown cell type is refused and changes nothing."""
    doc = make_doc("a")
    with pytest.raises(InvalidArgument, match="at most one"):
        doc.insert_cell("x", index=0, after_cell_id=doc.cells[0].id)
    with pytest.raises(InvalidArgument, match="code, markdown or raw"):
        doc.insert_cell("x", cell_type="python")
    with pytest.raises(InvalidArgument, match="out of range"):
        doc.insert_cell("x", index=5)
    assert len(doc) == 1 and doc.revision == 0


def test_edit_bumps_cell_revision_and_diffs():
    """edit_cell returns a unified diff and moves the cell revision to the notebook revision."""
    doc = make_doc("x = 1\ny = 2\n")
    cell = doc.cells[0]
    _, diff = doc.edit_cell(cell.id, "x = 1\ny = 3\n", author="claude")
    assert "-y = 2" in diff and "+y = 3" in diff
    assert cell.revision == doc.revision == 1
    (change,) = doc.changes_since(0)
    described = change.describe()
    assert described["kind"] == "edit" and described["author"] == "claude"
    assert "+y = 3" in described["diff"]


def test_stale_if_revision_is_a_conflict_with_current_source():
    """An edit with a stale if_revision fails with the current source and changes nothing."""
    doc = make_doc("v1")
    cell = doc.cells[0]
    seen = cell.revision
    doc.edit_cell(cell.id, "v2")
    with pytest.raises(RevisionConflict) as info:
        doc.edit_cell(cell.id, "agent's v3", author="claude", if_revision=seen)
    assert info.value.current_source == "v2"
    assert cell.source == "v2"


def test_agent_cannot_touch_the_cell_the_human_is_editing():
    """Agents' edit, delete and move of the cell in edit focus are refused; the human's are not."""
    doc = make_doc("mine", "other")
    mine = doc.cells[0]
    doc.set_focus(mine.id, "edit")
    for op in (lambda: doc.edit_cell(mine.id, "agent", author="claude"),
               lambda: doc.delete_cells([mine.id], author="claude"),
               lambda: doc.move_cell(mine.id, index=1, author="claude")):
        with pytest.raises(CellBeingEdited, match="user is editing"):
            op()
    assert mine.source == "mine" and doc.cells[0] is mine
    doc.edit_cell(doc.cells[1].id, "agent edit", author="claude")
    doc.edit_cell(mine.id, "typed", author=USER)
    assert [c.source for c in doc.cells] == ["typed", "agent edit"]


def test_delete_checks_all_ids_first_and_restore_brings_cells_back():
    """delete_cells refuses a batch with an unknown id whole; restore_deleted undoes a delete."""
    doc = make_doc("a", "b", "c")
    a, b, _ = doc.cells
    with pytest.raises(UnknownCell):
        doc.delete_cells([a.id, "nope"])
    assert len(doc) == 3
    doc.delete_cells([b.id], author="claude")
    assert [c.source for c in doc.cells] == ["a", "c"]
    restored = doc.restore_deleted()
    assert restored.source == "b" and doc.index_of(restored.id) == 1


def test_move_by_index_and_anchor():
    """move_cell moves by final index or relative to another cell and records both indices."""
    doc = make_doc("a", "b", "c")
    a, b, c = doc.cells
    assert doc.move_cell(a.id, index=2) == 2
    assert [x.source for x in doc.cells] == ["b", "c", "a"]
    assert doc.move_cell(a.id, before_cell_id=b.id) == 0
    assert doc.move_cell(c.id, after_cell_id=a.id) == 1
    assert [x.source for x in doc.cells] == ["a", "c", "b"]
    assert doc.changes_since(0)[0].details == {"old_index": 0, "index": 2}
    with pytest.raises(InvalidArgument):
        doc.move_cell(a.id, after_cell_id=a.id)


def test_retype_to_markdown_drops_outputs():
    """Changing a code cell to markdown clears its outputs and execution count."""
    doc = make_doc("print(1)")
    cell = doc.cells[0]
    doc.set_outputs(cell.id, [{"output_type": "stream", "name": "stdout", "text": "1\n"}])
    doc.finish_run(cell.id, "ok", author=USER, execution_count=1)
    doc.edit_cell(cell.id, cell_type="markdown")
    node = doc.to_notebook().cells[0]
    assert node.cell_type == "markdown" and "outputs" not in node
    nbformat.validate(doc.to_notebook())


def test_changes_since_reports_too_old(monkeypatch):
    """changes_since answers None when the feed no longer reaches back to the revision."""
    import nbtui.core.document as document

    monkeypatch.setattr(document, "FEED_LENGTH", 3)
    doc = make_doc("a")
    for i in range(6):
        doc.edit_cell(doc.cells[0].id, f"v{i}", author="claude")
    assert doc.changes_since(0) is None
    assert [c.revision for c in doc.changes_since(4)] == [5, 6]
    assert doc.changes_since(6) == []


def test_listeners_hear_every_change_and_outputs_mark_dirty():
    """Listeners get an event per change; output updates make the document dirty without a
    feed entry."""
    doc = make_doc("a")
    events = []
    unsubscribe = doc.subscribe(events.append)
    cell = doc.cells[0]
    doc.set_outputs(cell.id, [{"output_type": "stream", "name": "stdout", "text": "x"}])
    assert doc.dirty and doc.revision == 0
    doc.edit_cell(cell.id, "b", author="claude")
    doc.mark_saved(doc.version)
    assert not doc.dirty
    unsubscribe()
    doc.edit_cell(cell.id, "c")
    assert [e.kind for e in events] == ["outputs", "edit", "saved"]


def test_round_trip_keeps_unknown_metadata_and_attachments():
    """A notebook's unknown metadata, cell metadata and attachments survive to_notebook."""
    nb = nbformat.v4.new_notebook(metadata={"custom": {"k": 1}})
    md = nbformat.v4.new_markdown_cell("![x](attachment:x.png)",
                                       attachments={"x.png": {"image/png": "iVBO"}})
    md.metadata["tags"] = ["keep"]
    nb.cells = [md]
    out = Document(nb).to_notebook()
    assert out.metadata["custom"] == {"k": 1}
    assert out.cells[0].attachments == {"x.png": {"image/png": "iVBO"}}
    assert out.cells[0].metadata["tags"] == ["keep"]
    assert out.cells[0].id == md.id


def test_undo_agent_change_restores_edit_move_and_insert():
    """undo_agent_change takes back an agent's edit (source and type), move and insert, newest
    first, and leaves the human's changes alone."""
    doc = make_doc("a", "b")
    a, b = doc.cells
    doc.edit_cell(a.id, "agent text", cell_type="markdown", author="claude")
    doc.move_cell(a.id, index=1, author="claude")
    added = doc.insert_cell("agent cell", author="claude")
    doc.edit_cell(b.id, "human text", author=USER)
    assert doc.undo_agent_change(b.id) is None
    assert doc.undo_agent_change(a.id).kind == "move"
    assert doc.index_of(a.id) == 0
    assert doc.undo_agent_change(a.id).kind == "edit"
    assert (a.source, a.cell_type) == ("a", "code")
    assert doc.undo_agent_change(a.id) is None
    assert doc.undo_agent_change(added.id).kind == "insert"
    assert not doc.has(added.id)
    assert doc.restore_deleted().source == "agent cell"
    assert [c.author for c in doc.changes_since(4)][-4:] == [USER] * 4


def test_human_typing_is_one_change_in_the_feed():
    """Consecutive edits of one cell by the human (typing, synced in steps) are one feed entry
    with the whole diff; an agent's edit in between starts a new one."""
    doc = make_doc("")
    cell = doc.cells[0]
    for text in ("p", "pri", "print(", "print(1)"):
        doc.edit_cell(cell.id, text)
    (typing,) = doc.changes_since(0)
    assert typing.details["old_source"] == "" and typing.details["new_source"] == "print(1)"
    assert typing.revision == doc.revision == cell.revision == 4
    doc.edit_cell(cell.id, "print(2)", author="claude")
    doc.edit_cell(cell.id, "print(2)  # ok")
    assert [c.author for c in doc.changes_since(0)] == [USER, "claude", USER]


def test_a_new_cell_id_is_never_all_digits(monkeypatch):
    """A uuid whose first 8 hex characters are all digits is drawn again: such an id would
    reach the tools as a number from command-line clients."""
    import uuid

    from nbtui.core import document

    drawn = iter([uuid.UUID("12345678" + "0" * 24), uuid.UUID("1234567a" + "0" * 24)])
    monkeypatch.setattr(document.uuid, "uuid4", lambda: next(drawn))
    assert document.new_cell_id() == "1234567a"
