"""What the kernel's runs do to the notebook: cell statuses, execution counts and outputs.

The kernel session knows executions, not cells' documents; a :class:`DocumentRunner` applies
its execution events to the notebook document, which is the only place that touches both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nbtui.core.kernels.execution import Execution

if TYPE_CHECKING:
    from nbtui.core.document import Document, DocumentEvent

logger = logging.getLogger(__name__)


class DocumentRunner:
    """Writes the progress of cell runs into the notebook document.

    Args:
        document: the notebook whose cells run.
        outputs_cleared: called with a cell's id when someone clears the outputs of a cell
            while it runs (only what it prints from then on is to be shown).
    """

    def __init__(self, document: Document, outputs_cleared: Callable[[str], None]) -> None:
        self.document = document
        self._outputs_cleared = outputs_cleared
        document.subscribe(self._document_changed)

    def cell(self, cell_id: str) -> tuple[str, str]:
        """The cell's type and source, as they are now.

        Raises:
            UnknownCell: no cell has this id.
        """
        cell = self.document.get(cell_id)
        return cell.cell_type, cell.source

    def queued(self, execution: Execution) -> None:
        """A cell run joined the queue: its cell shows as queued."""
        if execution.cell_id is not None:
            self._update(self.document.set_status, execution.cell_id, "queued",
                         author=execution.author)

    def started(self, execution: Execution) -> None:
        """A cell run began: its cell shows the run's (empty) outputs and runs."""
        cell_id = execution.cell_id
        if cell_id is not None:
            self._update(self.document.set_outputs, cell_id, execution.outputs)
            self._update(self.document.set_status, cell_id, "running",
                         author=execution.author, execution_count=None)

    def counted(self, execution: Execution) -> None:
        """The kernel gave a cell run its execution count."""
        if execution.cell_id is not None:
            self._update(self.document.set_status, execution.cell_id, "running",
                         author=execution.author, execution_count=execution.execution_count)

    def outputs(self, execution: Execution) -> None:
        """A run's outputs changed: its cell shows them while it runs, and after it ended only
        while the cell still shows this run's outputs (not a later run's, nor cleared ones)."""
        cell_id = execution.cell_id
        if cell_id is None:
            return
        # The document adopts the outputs list, so identity says whether the cell still shows
        # this run's outputs.
        if not execution.done.is_set() or (self.document.has(cell_id) and
                                           self.document.get(cell_id).outputs
                                           is execution.outputs):
            self._update(self.document.set_outputs, cell_id, execution.outputs)

    def finished(self, execution: Execution, summary: str, waiting: Execution | None) -> None:
        """A cell run ended (`execution.status` says how); `waiting` is a later run of the same
        cell still in the queue, whose status the cell then shows."""
        cell_id = execution.cell_id
        if cell_id is None:
            return
        doc = self.document
        if execution.status in ("ok", "error"):
            if execution.status == "error" and execution.error is not None:
                summary = f"error {execution.error.get('ename', '')}".strip()
            self._update(doc.finish_run, cell_id, execution.status, author=execution.author,
                         execution_count=execution.execution_count,
                         summary=summary or execution.status)
        elif execution.started_at is not None:
            self._update(doc.finish_run, cell_id, "idle", author=execution.author,
                         execution_count=execution.execution_count,
                         summary=summary or "aborted")
        else:
            self._update(doc.set_status, cell_id, "idle", author=execution.author)
        if waiting is not None:
            self._update(doc.set_status, cell_id, "queued", author=waiting.author)

    def clear_outputs(self, author: str | None) -> None:
        """Clear every cell's outputs and execution count (a restart asked for it); `author`
        None is the document's default, the human."""
        if author is None:
            self._update(self.document.clear_outputs)
        else:
            self._update(self.document.clear_outputs, author=author)

    def _document_changed(self, event: DocumentEvent) -> None:
        if event.kind == "outputs_cleared" and event.cell_id is not None:
            self._outputs_cleared(event.cell_id)

    def _update(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        # A failing document listener (a view's bug) must not stop the kernel's loops.
        try:
            method(*args, **kwargs)
        except Exception:
            logger.exception("Updating the document (%s) failed", method.__name__)
