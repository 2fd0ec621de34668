"""The notebook document: cells with stable ids, revisions, authored operations and a change feed.

Every change to a notebook, whoever makes it (the human in the TUI, an agent over MCP, the kernel
writing outputs), goes through a method of :class:`Document`. Each method checks its arguments,
applies the change, bumps the revisions, records an authored :class:`Change` in a bounded feed and
tells every listener with a :class:`DocumentEvent`. Views never mutate cells directly.
"""

from __future__ import annotations

import copy
import difflib
import logging
import re
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import nbformat

from nbtui.core.render import excerpt

log = logging.getLogger(__name__)

USER = "user"
"""The author name of changes the human makes in the TUI."""

KERNEL = "kernel"
"""The author name of output changes written by the kernel on behalf of a run."""

CELL_TYPES = ("code", "markdown", "raw")
CellType = Literal["code", "markdown", "raw"]
CellStatus = Literal["idle", "queued", "running", "ok", "error"]
FocusMode = Literal["command", "edit"]

TYPING_COALESCE_SECONDS = 10.0
"""The human's edits of one cell closer together than this are one change in the feed."""

FEED_LENGTH = 2000
"""How many changes `changes_since` can look back over before it answers "too old"."""

FEED_MAX_BYTES = 32 * 1024 * 1024
"""Memory the feed's changes may hold in text (sources kept for diffs and undo). The oldest
changes go first; the newest is always kept, so undo of the latest change works at any size."""

DIFF_MAX_CHARS = 2_000_000
"""Sources longer than this together are not diffed line by line (see `source_diff`)."""

DELETED_LENGTH = 100
"""How many deleted cells are kept for restore."""

DELETED_MAX_BYTES = 32 * 1024 * 1024
"""Memory the deleted cells kept for restore may hold; the oldest go first, the newest stays."""

MERGE_SEPARATOR = "\n"

CELL_ID_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,64}")
"""What nbformat 4.5 allows as a cell id."""
"""What joins the sources of merged cells (as Jupyter joins them)."""


class DocumentError(Exception):
    """An operation could not be applied; `str(exc)` is one sentence saying what and what to do."""


class UnknownCell(DocumentError):
    """No cell has the given id."""


class RevisionConflict(DocumentError):
    """The cell changed since the revision the caller last saw."""

    def __init__(self, message: str, cell: Cell) -> None:
        super().__init__(message)
        self.cell_id = cell.id
        self.current_source = cell.source
        self.current_revision = cell.revision


class CellBeingEdited(DocumentError):
    """The human is editing this cell right now; agents may not change it."""


class InvalidArgument(DocumentError):
    """An argument has the wrong type or value."""


@dataclass
class Cell:
    """One notebook cell, as the document holds it.

    `metadata`, `attachments` and `outputs` are kept in their nbformat form so that a notebook
    read and written again without edits is unchanged.
    """

    id: str
    cell_type: CellType
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    execution_count: int | None = None
    attachments: dict[str, Any] | None = None
    revision: int = 0
    """The notebook revision at which this cell's source, type or metadata last changed."""
    status: CellStatus = "idle"
    """Outcome of the cell's last run in this session, or where it is in the queue."""
    last_author: str | None = None
    """Who last changed the cell's source or type (None: loaded from the file)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Cell-level keys nbformat does not define, kept for the round trip."""


@dataclass(frozen=True)
class Change:
    """One entry in the change feed.

    `kind` is one of insert, edit, delete, move, run, outputs_cleared, restore.
    `details` holds what a reader needs to catch up: for an edit the old and new source,
    for a move the old and new index, for a delete the deleted source, for a run its status.
    """

    revision: int
    kind: str
    cell_id: str
    author: str
    time: float
    details: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The change as a JSON-ready dict, with a unified diff for source edits."""
        out: dict[str, Any] = {
            "revision": self.revision,
            "kind": self.kind,
            "cell_id": self.cell_id,
            "author": self.author,
        }
        d = dict(self.details)
        if "old_source" in d and "new_source" in d:
            out["diff"] = source_diff(d.pop("old_source"), d.pop("new_source"))
        out.update(d)
        return out


@dataclass(frozen=True)
class DocumentEvent:
    """What listeners hear after every change (and on output/status updates that are not in
    the feed).

    `kind` is a feed kind (see :class:`Change`) or one of: outputs (outputs replaced or grew),
    status (queue/run status or execution count changed), focus (the human's focus moved),
    saved, dirty.
    """

    kind: str
    cell_id: str | None
    author: str
    revision: int
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Focus:
    """Where the human is: the selected cell and whether they are typing in it."""

    cell_id: str | None = None
    mode: FocusMode = "command"


Listener = Callable[[DocumentEvent], None]


@dataclass
class _MergedInto:
    """What a merge changed in the cell the others were merged into, for undoing it."""

    cell_id: str
    old_source: str
    merged_source: str
    outputs: list[dict[str, Any]]
    execution_count: int | None


@dataclass
class _DeletedBatch:
    """Cells that went in one step (one `delete_cells` call or one merge), in the order they
    were removed, each with its index at that moment and who removed it."""

    cells: list[tuple[int, Cell, str]] = field(default_factory=list)
    merged_into: _MergedInto | None = None
    bytes: int = 0


def source_diff(old: str, new: str, name: str = "cell") -> str:
    """A unified diff between two cell sources (empty when they are equal).

    Sources longer than DIFF_MAX_CHARS together are not diffed (diffing costs time that grows
    faster than their size): the diff's hunk then only says how their sizes changed.
    """
    if old == new:
        return ""
    if len(old) + len(new) > DIFF_MAX_CHARS:
        return (f"--- {name} (before)\n+++ {name} (after)\n@@ replaced: {len(old):,} "
                f"characters before, {len(new):,} after (too large to diff) @@\n")
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"{name} (before)",
        tofile=f"{name} (after)",
        n=2,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def text_bytes(value: Any) -> int:
    """Memory the strings and bytes inside a value take (through nested dicts and lists)."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += sys.getsizeof(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return total


def cell_bytes(cell: Cell) -> int:
    """Memory a cell's text takes: source, outputs, metadata and attachments."""
    return text_bytes([cell.source, cell.outputs, cell.metadata, cell.attachments])


def new_cell_id() -> str:
    """A fresh nbformat 4.5 cell id (8 hex characters, as JupyterLab makes them), never all
    digits: clients that read arguments from a command line (the MCP Inspector) send "12345678"
    as a number, and an id like that reads as an index."""
    while True:
        cell_id = uuid.uuid4().hex[:8]
        if not cell_id.isdigit():
            return cell_id


def _join(value: Any) -> str:
    if isinstance(value, list):
        return "".join(value)
    return value or ""


_CELL_KEYS = {"id", "cell_type", "source", "metadata", "outputs", "execution_count", "attachments"}


class Document:
    """A notebook held in memory: the one source of truth for every view and agent.

    Args:
        notebook: an nbformat 4.5 notebook (cells must have ids).
        path: where it lives on disk (used in messages and by the session's storage).
    """

    def __init__(self, notebook: nbformat.NotebookNode, path: str = "notebook.ipynb") -> None:
        self.path = path
        self.metadata: dict[str, Any] = copy.deepcopy(dict(notebook.get("metadata", {})))
        self.nbformat = notebook.get("nbformat", 4)
        self.nbformat_minor = notebook.get("nbformat_minor", 5)
        self._extra_top = {
            k: copy.deepcopy(v)
            for k, v in notebook.items()
            if k not in {"cells", "metadata", "nbformat", "nbformat_minor"}
        }
        self.cells: list[Cell] = []
        self._by_id: dict[str, Cell] = {}
        for raw in notebook.get("cells", []):
            cell = self._cell_from_node(raw)
            self.cells.append(cell)
            self._by_id[cell.id] = cell
        self.revision = 0
        self.version = 0
        """Counts every modification, outputs included (revision counts only feed changes)."""
        self.saved_version = 0
        self._feed: deque[Change] = deque()
        self._feed_floor = 0
        """The oldest revision `changes_since` can still answer from."""
        self.feed_bytes = 0
        """Memory the feed's text takes now: `text_bytes` of every change's details."""
        self._listeners: list[Listener] = []
        self.focus = Focus(self.cells[0].id if self.cells else None, "command")
        self._undone: set[int] = set()
        self._deleted: deque[_DeletedBatch] = deque()
        self.deleted_bytes = 0
        """Memory the deleted cells take now: `cell_bytes` of each (and the outputs a merge
        dropped, kept to undo it)."""

    # -- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.cells)

    def get(self, cell_id: str) -> Cell:
        """The cell with this id.

        Raises:
            UnknownCell: no cell has this id.
        """
        if not isinstance(cell_id, str):
            raise InvalidArgument(f"A cell id is a string, not {type(cell_id).__name__}.")
        try:
            return self._by_id[cell_id]
        except KeyError:
            raise UnknownCell(
                f"No cell has id {excerpt(cell_id)}; call get_notebook to see the current "
                "cell ids."
            ) from None

    def index_of(self, cell_id: str) -> int:
        """The current position of a cell."""
        cell = self.get(cell_id)
        return self.cells.index(cell)

    def has(self, cell_id: str) -> bool:
        """Whether a cell with this id exists."""
        return cell_id in self._by_id

    @property
    def deleted(self) -> list[tuple[int, Cell, str]]:
        """Deleted cells kept for restore, newest last, with their old index and who deleted
        them."""
        return [entry for batch in self._deleted for entry in batch.cells]

    @property
    def dirty(self) -> bool:
        """Whether the document has changes that are not saved to disk."""
        return self.version != self.saved_version

    @property
    def kernel_name(self) -> str | None:
        """The kernelspec name the notebook's metadata asks for, if any."""
        spec = self.metadata.get("kernelspec") or {}
        return spec.get("name") if isinstance(spec, dict) else None

    @property
    def feed_floor(self) -> int:
        """The oldest revision `changes_since` can still answer from."""
        return self._feed_floor

    def changes_since(self, revision: int) -> list[Change] | None:
        """The changes after `revision`, oldest first; None if the feed no longer reaches back."""
        if revision >= self.revision:
            return []
        if revision < self._feed_floor:
            return None
        return [c for c in self._feed if c.revision > revision]

    def to_notebook(self) -> nbformat.NotebookNode:
        """The document as an nbformat 4.5 notebook, ready to save."""
        nb = nbformat.from_dict(
            {
                **copy.deepcopy(self._extra_top),
                "cells": [self._cell_to_node(c) for c in self.cells],
                "metadata": copy.deepcopy(self.metadata),
                "nbformat": 4,
                "nbformat_minor": max(5, self.nbformat_minor if self.nbformat == 4 else 5),
            }
        )
        return nb

    # -- listeners -----------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` after every change; returns a function that unsubscribes."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, event: DocumentEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken view must not undo an agent's edit
                log.exception("document listener failed on %s", event.kind)

    # -- operations ----------------------------------------------------------------------

    def insert_cell(
        self,
        source: str = "",
        cell_type: str = "code",
        *,
        index: int | None = None,
        after_cell_id: str | None = None,
        before_cell_id: str | None = None,
        author: str = USER,
        metadata: dict[str, Any] | None = None,
        cell_id: str | None = None,
    ) -> Cell:
        """Insert a new cell (at the end when no position is given).

        `cell_id` keeps a cell's id from elsewhere (reloading the file); it must be free.

        Raises:
            InvalidArgument: a bad type, source, position or id.
            UnknownCell: an anchor id does not exist.
        """
        source = self._check_source(source)
        cell_type = self._check_type(cell_type)
        position = self._position(index, after_cell_id, before_cell_id, len(self.cells))
        if cell_id is not None and (cell_id in self._by_id or not CELL_ID_PATTERN.fullmatch(
                cell_id)):
            raise InvalidArgument(f"Cell id {cell_id[:40]!r} is taken or not a valid id.")
        cell = Cell(
            id=cell_id or self._fresh_id(),
            cell_type=cell_type,
            source=source,
            metadata=dict(metadata or {}),
            last_author=author,
        )
        self.cells.insert(position, cell)
        self._by_id[cell.id] = cell
        rev = self._bump()
        cell.revision = rev
        self._record("insert", cell.id, author, {"index": position, "cell_type": cell_type,
                                                   "source": source})
        return cell

    def edit_cell(
        self,
        cell_id: str,
        source: str | None = None,
        *,
        cell_type: str | None = None,
        author: str = USER,
        if_revision: int | None = None,
    ) -> tuple[Cell, str]:
        """Replace a cell's source and/or change its type.

        Returns:
            The cell and the unified diff of its source.

        Raises:
            UnknownCell, RevisionConflict, CellBeingEdited, InvalidArgument.
        """
        cell = self.get(cell_id)
        self._guard_agent(cell, author, "edit")
        self._check_revision(cell, if_revision)
        if source is None and cell_type is None:
            raise InvalidArgument("Nothing to change: give a new source, old_text/new_text, "
                                  "or a cell_type.")
        new_source = cell.source if source is None else self._check_source(source)
        new_type = cell.cell_type if cell_type is None else self._check_type(cell_type)
        if new_source == cell.source and new_type == cell.cell_type:
            return cell, ""
        old_source, old_type = cell.source, cell.cell_type
        cell.source = new_source
        if new_type != old_type:
            self._retype(cell, new_type)
        cell.last_author = author
        rev = self._bump()
        cell.revision = rev
        details: dict[str, Any] = {"old_source": old_source, "new_source": new_source}
        if new_type != old_type:
            details["old_type"] = old_type
            details["cell_type"] = new_type
        elif self._continues_typing(cell.id, author):
            # The human's typing reaches the document in small steps; readers of the feed
            # should see one edit per stretch of typing, not one per step.
            details["old_source"] = self._pop_newest_change().details["old_source"]
        self._record("edit", cell.id, author, details)
        return cell, source_diff(old_source, new_source)

    def _continues_typing(self, cell_id: str, author: str) -> bool:
        """Whether an edit by the human extends their previous edit of the same cell."""
        if author != USER or not self._feed:
            return False
        last = self._feed[-1]
        return (last.kind == "edit" and last.cell_id == cell_id and last.author == USER
                and "old_type" not in last.details
                and time.time() - last.time < TYPING_COALESCE_SECONDS)

    def delete_cells(self, cell_ids: Iterable[str], *, author: str = USER) -> list[Cell]:
        """Delete cells; all ids are checked before any cell is removed.

        Raises:
            UnknownCell, CellBeingEdited, InvalidArgument.
        """
        if isinstance(cell_ids, str):
            cell_ids = [cell_ids]
        ids = list(dict.fromkeys(cell_ids))
        if not ids:
            raise InvalidArgument("cell_ids is empty; name at least one cell to delete.")
        cells = [self.get(cid) for cid in ids]
        for cell in cells:
            self._guard_agent(cell, author, "delete")
        focus_index = (self.cells.index(self._by_id[self.focus.cell_id])
                       if self.focus.cell_id in ids else None)
        batch = _DeletedBatch()
        self._remove(cells, batch, author)
        self._keep_deleted(batch)
        if focus_index is not None:
            self.set_focus(self.cells[min(focus_index, len(self.cells) - 1)].id
                           if self.cells else None, "command")
        return [cell for _, cell, _ in batch.cells]

    def _remove(self, cells: list[Cell], batch: _DeletedBatch, author: str,
                details: dict[str, Any] | None = None) -> None:
        """Take cells out of the notebook into `batch`, one feed change each."""
        for cell in cells:
            index = self.cells.index(cell)
            self.cells.pop(index)
            del self._by_id[cell.id]
            batch.cells.append((index, cell, author))
            batch.bytes += cell_bytes(cell)
            self._bump()
            self._record("delete", cell.id, author, {"index": index, "source": cell.source,
                                                      "cell_type": cell.cell_type,
                                                      **(details or {})})

    def merge_cells(self, cell_ids: Iterable[str], *, author: str = USER) -> Cell:
        """Merge cells into the first of them (in notebook order), as Jupyter merges them.

        The first cell keeps its id and type; its source becomes the sources of all the cells
        joined with a newline, and its outputs are dropped. The other cells are deleted, and
        one `restore_deleted` brings them all back and gives the first cell its source and
        outputs again (unless it was changed since).

        Returns:
            The merged cell.

        Raises:
            InvalidArgument: fewer than two distinct cells.
            UnknownCell, CellBeingEdited.
        """
        if isinstance(cell_ids, str):
            cell_ids = [cell_ids]
        ids = list(dict.fromkeys(cell_ids))
        if len(ids) < 2:
            raise InvalidArgument("Name at least two cells to merge.")
        cells = sorted((self.get(cid) for cid in ids), key=self.cells.index)
        for cell in cells:
            self._guard_agent(cell, author, "merge")
        first, rest = cells[0], cells[1:]
        old_source = first.source
        merged = MERGE_SEPARATOR.join(cell.source for cell in cells)
        batch = _DeletedBatch(merged_into=_MergedInto(first.id, old_source, merged,
                                                      first.outputs, first.execution_count))
        batch.bytes += text_bytes([old_source, first.outputs])
        first.source = merged
        first.outputs = []
        first.execution_count = None
        first.status = "idle"
        first.last_author = author
        first.revision = self._bump()
        self._record("edit", first.id, author, {
            "old_source": old_source, "new_source": merged, "outputs_dropped": True,
            "merged": [cell.id for cell in rest]})
        self._remove(rest, batch, author, {"merged_into": first.id})
        self._keep_deleted(batch)
        return first

    def split_cell(self, cell_id: str, offset: int, *, author: str = USER) -> tuple[Cell, Cell]:
        """Split a cell in two at a character offset of its source, as Jupyter splits them.

        The cell keeps its id and the text before `offset`; a new cell of the same type and
        metadata below it gets the text from `offset` on. A newline right at the split is
        dropped (the cursor at the start or end of a line makes no empty line). The outputs
        belong to the code that made them, so they move to the new, lower cell.

        Args:
            cell_id: the cell to split.
            offset: where to split: 0 to the length of the source (a Python string index).
            author: who splits it.

        Returns:
            The upper (original) cell and the new lower one.

        Raises:
            InvalidArgument: an offset that is not a whole number in range.
            UnknownCell, CellBeingEdited.
        """
        cell = self.get(cell_id)
        self._guard_agent(cell, author, "split")
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise InvalidArgument(f"offset must be a whole number, not {excerpt(offset)}.")
        if not 0 <= offset <= len(cell.source):
            raise InvalidArgument(f"offset {offset} is out of range; use 0 to "
                                  f"{len(cell.source)}.")
        if cell.status in ("queued", "running"):
            raise InvalidArgument(f"Cell {cell.id} is {cell.status}; split it once its run "
                                  "ends.")
        old_source = cell.source
        upper = old_source[:offset].removesuffix("\n")
        lower = old_source[offset:].removeprefix("\n")
        outputs, execution_count = cell.outputs, cell.execution_count
        cell.source = upper
        cell.outputs = []
        cell.execution_count = None
        cell.last_author = author
        cell.revision = self._bump()
        self._record("edit", cell.id, author, {"old_source": old_source, "new_source": upper,
                                               "outputs_dropped": bool(outputs)})
        new = self.insert_cell(lower, cell.cell_type, after_cell_id=cell.id, author=author,
                               metadata=copy.deepcopy(cell.metadata))
        if outputs or execution_count is not None:
            new.outputs, new.execution_count = outputs, execution_count
            new.status, cell.status = cell.status, "idle"
            self._touch(author, emit=False)
            self._emit(DocumentEvent("outputs", new.id, author, self.revision,
                                     {"count": len(outputs)}))
        return cell, new

    def move_cell(
        self,
        cell_id: str,
        *,
        index: int | None = None,
        after_cell_id: str | None = None,
        before_cell_id: str | None = None,
        author: str = USER,
    ) -> int:
        """Move a cell; returns its new index.

        `index` is the position the cell will have after the move.
        """
        cell = self.get(cell_id)
        self._guard_agent(cell, author, "move")
        if index is None and after_cell_id is None and before_cell_id is None:
            raise InvalidArgument("Say where to move the cell: index, after_cell_id "
                                  "or before_cell_id.")
        if cell_id in (after_cell_id, before_cell_id):
            raise InvalidArgument("A cell cannot be moved relative to itself.")
        old_index = self.cells.index(cell)
        self.cells.pop(old_index)
        try:
            if index is not None:
                self._check_index(index, len(self.cells))
                new_index = index
            else:
                new_index = self._position(None, after_cell_id, before_cell_id, len(self.cells))
        except DocumentError:
            self.cells.insert(old_index, cell)
            raise
        self.cells.insert(new_index, cell)
        if new_index == old_index:
            return new_index
        self._bump()
        self._record("move", cell.id, author, {"old_index": old_index, "index": new_index})
        return new_index

    def restore_deleted(self, *, author: str = USER) -> Cell | None:
        """Undo the most recent delete (see `restore_deleted_cells`); returns the first cell
        it brought back, or None if nothing is left to restore."""
        cells = self.restore_deleted_cells(author=author)
        return cells[0] if cells else None

    def restore_deleted_cells(self, *, author: str = USER) -> list[Cell]:
        """Bring back the cells of the most recent delete (one `delete_cells` call, or the
        cells a merge took in) at their old positions.

        Undoing a merge also gives the merged cell its source and outputs back, unless its
        source changed since the merge (then the text written since is kept).

        Returns:
            The cells brought back, in notebook order (empty if nothing is left to restore).
        """
        if not self._deleted:
            return []
        batch = self._deleted.pop()
        self.deleted_bytes -= batch.bytes
        restored = []
        for index, cell, _who in reversed(batch.cells):
            index = min(index, len(self.cells))
            if cell.id in self._by_id:
                cell.id = self._fresh_id()
            self.cells.insert(index, cell)
            self._by_id[cell.id] = cell
            cell.revision = self._bump()
            self._record("insert", cell.id, author, {"index": index,
                                                      "cell_type": cell.cell_type,
                                                      "source": cell.source, "restored": True})
            restored.append(cell)
        merged = batch.merged_into
        if merged is not None and self.has(merged.cell_id):
            cell = self._by_id[merged.cell_id]
            if cell.source == merged.merged_source:
                cell.source = merged.old_source
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = merged.outputs, merged.execution_count
                cell.revision = self._bump()
                self._record("edit", cell.id, author, {
                    "old_source": merged.merged_source, "new_source": merged.old_source,
                    "outputs_dropped": True, "unmerged": True})
        return sorted(restored, key=self.cells.index)

    def last_agent_change(self, cell_id: str) -> Change | None:
        """The most recent change an agent made to this cell that has not been undone."""
        for change in reversed(self._feed):
            if (change.cell_id == cell_id and change.author not in (USER, KERNEL)
                    and change.kind in ("insert", "edit", "move")
                    and change.revision not in self._undone):
                return change
        return None

    def undo_agent_change(self, cell_id: str, *, author: str = USER) -> Change | None:
        """Take back the last change an agent made to a cell: restore the source and type it
        edited, move it back, or remove the cell it inserted (restorable like any delete).

        Returns:
            The change that was undone, or None if no agent change to this cell is left.
        """
        self.get(cell_id)
        change = self.last_agent_change(cell_id)
        if change is None:
            return None
        self._undone.add(change.revision)
        if change.kind == "edit":
            self.edit_cell(cell_id, change.details["old_source"],
                           cell_type=change.details.get("old_type"), author=author)
        elif change.kind == "move":
            self.move_cell(cell_id, index=min(change.details["old_index"], len(self.cells) - 1),
                           author=author)
        else:
            self.delete_cells([cell_id], author=author)
        return change

    def clear_outputs(self, cell_ids: Iterable[str] | None = None, *, author: str = USER) -> None:
        """Remove the outputs and execution counts of the given cells (all cells if None)."""
        cells = self.cells if cell_ids is None else [self.get(c) for c in cell_ids]
        for cell in cells:
            if cell.cell_type != "code" or (not cell.outputs and cell.execution_count is None):
                continue
            cell.outputs = []
            cell.execution_count = None
            cell.status = "idle"
            self._bump()
            self._record("outputs_cleared", cell.id, author, {})

    def set_metadata(self, key: str, value: Any, *, author: str = USER) -> None:
        """Set a top-level notebook metadata key (e.g. kernelspec)."""
        self.metadata[key] = value
        self._touch(author)

    def follow_metadata(self, key: str, value: Any) -> None:
        """Set a top-level metadata key that describes the session rather than the notebook's
        content (the running kernel's spec): not an edit, so the document does not become
        dirty, and the next save writes it along with the edits that prompt it."""
        self.metadata[key] = value

    # -- run state, written by the kernel session ----------------------------------------

    def set_status(self, cell_id: str, status: CellStatus, *, author: str = KERNEL,
                   execution_count: int | None | Literal[False] = False) -> None:
        """Set a cell's queue/run status (and execution count) without a feed entry.

        Finishing a run (ok/error) is recorded in the feed as a `run` change by `finish_run`.
        """
        if cell_id not in self._by_id:
            return
        cell = self._by_id[cell_id]
        cell.status = status
        if execution_count is not False and cell.cell_type == "code":
            cell.execution_count = execution_count
            self._touch(author, emit=False)
        self._emit(DocumentEvent("status", cell_id, author, self.revision,
                                 {"status": status, "execution_count": cell.execution_count}))

    def set_outputs(self, cell_id: str, outputs: list[dict[str, Any]], *,
                    author: str = KERNEL) -> None:
        """Replace a code cell's outputs (the kernel session calls this as outputs stream in).

        The list is adopted, not copied: the caller hands over ownership.
        """
        cell = self._by_id.get(cell_id)
        if cell is None or cell.cell_type != "code":
            return
        cell.outputs = outputs
        self._touch(author, emit=False)
        self._emit(DocumentEvent("outputs", cell_id, author, self.revision,
                                 {"count": len(outputs)}))

    def finish_run(self, cell_id: str, status: CellStatus, *, author: str,
                   execution_count: int | None = None, summary: str = "") -> None:
        """Record that a run of a cell ended (ok or error), with who asked for it."""
        cell = self._by_id.get(cell_id)
        if cell is None:
            return
        cell.status = status
        if cell.cell_type == "code":
            cell.execution_count = execution_count
        self._bump()
        self._record("run", cell_id, author, {"status": status,
                                               "execution_count": execution_count,
                                               "summary": summary})

    # -- the human's focus ---------------------------------------------------------------

    def set_focus(self, cell_id: str | None, mode: FocusMode = "command") -> None:
        """Record where the human is (the TUI calls this on every selection or mode change)."""
        if cell_id is not None and cell_id not in self._by_id:
            cell_id = None
        new = Focus(cell_id, mode if cell_id is not None else "command")
        if new == self.focus:
            return
        self.focus = new
        self._emit(DocumentEvent("focus", cell_id, USER, self.revision, {"mode": new.mode}))

    # -- saving --------------------------------------------------------------------------

    def mark_saved(self, version: int) -> None:
        """Tell the document that its state at `version` (see `self.version`) is on disk."""
        self.saved_version = version
        self._emit(DocumentEvent("saved", None, USER, self.revision, {"dirty": self.dirty}))

    # -- internals -----------------------------------------------------------------------

    def _bump(self) -> int:
        self.revision += 1
        self.version += 1
        return self.revision

    def _touch(self, author: str, emit: bool = True) -> None:
        was_dirty = self.dirty
        self.version += 1
        if emit and not was_dirty:
            self._emit(DocumentEvent("dirty", None, author, self.revision, {}))

    def _record(self, kind: str, cell_id: str, author: str, details: dict[str, Any]) -> None:
        change = Change(self.revision, kind, cell_id, author, time.time(), details)
        self._feed.append(change)
        self.feed_bytes += text_bytes(details)
        while len(self._feed) > 1 and (len(self._feed) > FEED_LENGTH
                                       or self.feed_bytes > FEED_MAX_BYTES):
            oldest = self._feed.popleft()
            self.feed_bytes -= text_bytes(oldest.details)
            self._feed_floor = oldest.revision
            self._undone.discard(oldest.revision)
        self._emit(DocumentEvent(kind, cell_id, author, self.revision, details))

    def _pop_newest_change(self) -> Change:
        change = self._feed.pop()
        self.feed_bytes -= text_bytes(change.details)
        return change

    def _keep_deleted(self, batch: _DeletedBatch) -> None:
        """Keep deleted cells for restore, dropping the oldest beyond the store's bounds."""
        self._deleted.append(batch)
        self.deleted_bytes += batch.bytes
        count = sum(len(kept.cells) for kept in self._deleted)
        while len(self._deleted) > 1 and (count > DELETED_LENGTH
                                          or self.deleted_bytes > DELETED_MAX_BYTES):
            oldest = self._deleted.popleft()
            self.deleted_bytes -= oldest.bytes
            count -= len(oldest.cells)

    def _guard_agent(self, cell: Cell, author: str, verb: str) -> None:
        if author in (USER, KERNEL):
            return
        if self.focus.mode == "edit" and self.focus.cell_id == cell.id:
            done = verb if verb == "split" else f"{verb}d"
            raise CellBeingEdited(
                f"The user is editing cell {cell.id} right now, so it cannot be {done}; "
                "insert a new cell instead, or try again after they leave it."
                if verb != "move" else
                f"The user is editing cell {cell.id} right now, so it cannot be moved; "
                "try again after they leave it."
            )

    @staticmethod
    def _check_revision(cell: Cell, if_revision: int | None) -> None:
        if if_revision is None:
            return
        if isinstance(if_revision, bool) or not isinstance(if_revision, int):
            raise InvalidArgument("if_revision is the cell's revision number from a read.")
        if if_revision != cell.revision:
            raise RevisionConflict(
                f"Cell {cell.id} changed since revision {if_revision} (it is now at revision "
                f"{cell.revision}); read its current source and try again.",
                cell,
            )

    @staticmethod
    def _check_source(source: Any) -> str:
        if not isinstance(source, str):
            raise InvalidArgument(f"source must be a string, not {type(source).__name__}.")
        return source

    @staticmethod
    def _check_type(cell_type: Any) -> CellType:
        if cell_type not in CELL_TYPES:
            raise InvalidArgument(
                f"cell_type must be one of code, markdown or raw, not {excerpt(cell_type)}."
            )
        return cell_type

    @staticmethod
    def _check_index(index: Any, upper: int) -> None:
        if isinstance(index, bool) or not isinstance(index, int):
            raise InvalidArgument(f"index must be a whole number, not {excerpt(index)}.")
        if not 0 <= index <= upper:
            raise InvalidArgument(f"index {index} is out of range; use 0 to {upper}.")

    def _position(self, index: int | None, after: str | None, before: str | None,
                  upper: int) -> int:
        given = [x for x in (index, after, before) if x is not None]
        if len(given) > 1:
            raise InvalidArgument("Give at most one of index, after_cell_id and before_cell_id.")
        if index is not None:
            self._check_index(index, upper)
            return index
        if after is not None:
            return self.cells.index(self.get(after)) + 1
        if before is not None:
            return self.cells.index(self.get(before))
        return upper

    def _fresh_id(self) -> str:
        while True:
            cid = new_cell_id()
            if cid not in self._by_id:
                return cid

    @staticmethod
    def _retype(cell: Cell, new_type: CellType) -> None:
        cell.cell_type = new_type
        if new_type != "code":
            cell.outputs = []
            cell.execution_count = None
            cell.status = "idle"

    @staticmethod
    def _cell_from_node(node: dict[str, Any]) -> Cell:
        extra = {k: copy.deepcopy(v) for k, v in node.items() if k not in _CELL_KEYS}
        return Cell(
            id=node.get("id") or new_cell_id(),
            cell_type=node.get("cell_type", "code"),
            source=_join(node.get("source", "")),
            metadata=copy.deepcopy(dict(node.get("metadata", {}))),
            outputs=[copy.deepcopy(dict(o)) for o in node.get("outputs", [])]
            if node.get("cell_type") == "code" else [],
            execution_count=node.get("execution_count"),
            attachments=copy.deepcopy(node.get("attachments")) if "attachments" in node else None,
            extra=extra,
        )

    @staticmethod
    def _cell_to_node(cell: Cell) -> dict[str, Any]:
        node: dict[str, Any] = {
            **copy.deepcopy(cell.extra),
            "id": cell.id,
            "cell_type": cell.cell_type,
            "metadata": copy.deepcopy(cell.metadata),
            "source": cell.source,
        }
        if cell.attachments is not None and cell.cell_type in ("markdown", "raw"):
            node["attachments"] = copy.deepcopy(cell.attachments)
        if cell.cell_type == "code":
            node["execution_count"] = cell.execution_count
            node["outputs"] = copy.deepcopy(cell.outputs)
        return node
