"""Merging and splitting cells, and undoing a delete or merge in one step."""

from __future__ import annotations

import nbformat
import pytest

from nbtui.core.document import CellBeingEdited, Document, InvalidArgument


def make_doc(*sources: str) -> Document:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return Document(nb, "t.ipynb")


def stream(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def test_merge_joins_sources_into_the_first_cell_and_drops_outputs():
    """merge_cells joins sources with a newline in notebook order, into the first cell (its id
    and type kept), drops its outputs and deletes the others."""
    doc = make_doc("a = 1", "b = 2", "c = 3", "d = 4")
    a, b, c, _ = doc.cells
    a.outputs, a.execution_count = [stream("1\n")], 1
    merged = doc.merge_cells([c.id, a.id, b.id], author="claude")
    assert merged is a and merged.source == "a = 1\nb = 2\nc = 3"
    assert merged.outputs == [] and merged.execution_count is None
    assert [cell.source for cell in doc.cells] == ["a = 1\nb = 2\nc = 3", "d = 4"]
    kinds = [(change.kind, change.cell_id) for change in doc.changes_since(0)]
    assert kinds == [("edit", a.id), ("delete", b.id), ("delete", c.id)]
    assert all(change.author == "claude" for change in doc.changes_since(0))


def test_merge_refuses_fewer_than_two_cells_and_a_cell_being_edited():
    """A merge of one cell, or an agent's merge of the cell the human types in, changes
    nothing."""
    doc = make_doc("a", "b")
    a, b = doc.cells
    with pytest.raises(InvalidArgument, match="at least two"):
        doc.merge_cells([a.id, a.id])
    doc.set_focus(b.id, "edit")
    with pytest.raises(CellBeingEdited, match="cannot be merged"):
        doc.merge_cells([a.id, b.id], author="claude")
    assert [cell.source for cell in doc.cells] == ["a", "b"] and doc.revision == 0


def test_restore_after_a_merge_brings_back_every_cell_and_the_first_cells_outputs():
    """One restore_deleted_cells undoes a merge: the merged-away cells return in place and the
    first cell gets its source and outputs back."""
    doc = make_doc("a", "b", "c", "d")
    a, b, c, d = doc.cells
    a.outputs, a.execution_count = [stream("A\n")], 3
    doc.merge_cells([a.id, b.id, c.id])
    restored = doc.restore_deleted_cells()
    assert [cell.id for cell in restored] == [b.id, c.id]
    assert [cell.source for cell in doc.cells] == ["a", "b", "c", "d"]
    assert [cell.id for cell in doc.cells] == [a.id, b.id, c.id, d.id]
    assert a.outputs == [stream("A\n")] and a.execution_count == 3
    assert doc.deleted == [] and doc.deleted_bytes == 0


def test_restore_after_a_merge_keeps_text_typed_into_the_merged_cell():
    """If the merged cell was edited after the merge, undoing it restores the other cells but
    keeps what was typed."""
    doc = make_doc("a", "b")
    a, b = doc.cells
    doc.merge_cells([a.id, b.id])
    doc.edit_cell(a.id, "a\nb\ntyped")
    doc.restore_deleted_cells()
    assert [cell.source for cell in doc.cells] == ["a\nb\ntyped", "b"]


def test_restore_brings_back_all_cells_of_one_delete_at_once():
    """Cells deleted in one delete_cells call come back together, each at its old place;
    restore_deleted (one cell) keeps answering with the first of them."""
    doc = make_doc("a", "b", "c", "d", "e")
    _, b, c, _, e = doc.cells
    doc.delete_cells([e.id])
    doc.delete_cells([b.id, c.id])
    first = doc.restore_deleted()
    assert first is b
    assert [cell.source for cell in doc.cells] == ["a", "b", "c", "d"]
    assert [cell.source for cell in doc.restore_deleted_cells()] == ["e"]
    assert doc.restore_deleted_cells() == [] and doc.restore_deleted() is None


def test_split_at_an_offset_keeps_the_id_above_and_moves_outputs_below():
    """split_cell keeps the text before the offset in the cell (same id), puts the rest in a
    new cell below with the type and metadata, moves the outputs there and drops a newline at
    the split."""
    doc = make_doc("x = 1\ny = 2\nprint(x + y)", "after")
    cell = doc.cells[0]
    cell.metadata["tags"] = ["keep"]
    cell.outputs, cell.execution_count, cell.status = [stream("3\n")], 7, "ok"
    upper, lower = doc.split_cell(cell.id, len("x = 1\ny = 2"), author="claude")
    assert upper is cell and upper.source == "x = 1\ny = 2"
    assert upper.outputs == [] and upper.execution_count is None and upper.status == "idle"
    assert lower.source == "print(x + y)" and lower.cell_type == "code"
    assert lower.metadata == {"tags": ["keep"]} and lower.metadata is not cell.metadata
    assert lower.outputs == [stream("3\n")] and lower.execution_count == 7
    assert [c.source for c in doc.cells] == ["x = 1\ny = 2", "print(x + y)", "after"]
    assert [(ch.kind, ch.author) for ch in doc.changes_since(0)] == [
        ("edit", "claude"), ("insert", "claude")]


def test_split_at_the_ends_and_bad_offsets():
    """Splitting at 0 leaves an empty cell above; an offset out of range or not a number is
    refused with a sentence and changes nothing."""
    doc = make_doc("abc")
    cell = doc.cells[0]
    for bad in (-1, 4, "1", True):
        with pytest.raises(InvalidArgument, match="offset"):
            doc.split_cell(cell.id, bad)
    assert len(doc) == 1 and doc.revision == 0
    upper, lower = doc.split_cell(cell.id, 0)
    assert (upper.source, lower.source) == ("", "abc")
    upper, lower = doc.split_cell(lower.id, 3)
    assert (upper.source, lower.source) == ("abc", "")


def test_split_refuses_a_cell_being_edited_or_run():
    """An agent cannot split the cell the human types in; nobody splits a queued cell."""
    doc = make_doc("a\nb")
    cell = doc.cells[0]
    doc.set_focus(cell.id, "edit")
    with pytest.raises(CellBeingEdited, match="cannot be split;"):
        doc.split_cell(cell.id, 1, author="claude")
    doc.set_focus(cell.id, "command")
    doc.set_status(cell.id, "queued")
    with pytest.raises(InvalidArgument, match="queued"):
        doc.split_cell(cell.id, 1)
    assert len(doc) == 1
