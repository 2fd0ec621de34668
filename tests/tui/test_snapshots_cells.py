"""Snapshots of the cell list's new looks: several selected cells, and line numbers.

The deterministic setup (fixed notebook, socket, times and image mode) is the one of
test_snapshots.py. Regenerate after a deliberate change with
``pytest tests/tui/test_snapshots_cells.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_snapshots import SIZE, fixed_look, notebook_app, snapshot_cells
from tui_helpers import write_notebook

__all__ = ["fixed_look"]  # the autouse fixture that makes these snapshots deterministic


def test_several_selected_cells(snap_compare: Any, tmp_path: Path) -> None:
    """J twice from the second cell: three cells selected, each with the selection gutter."""
    path = write_notebook(tmp_path / "sales.ipynb", snapshot_cells())
    assert snap_compare(notebook_app(path), terminal_size=SIZE, press=["j", "J", "J"])


def test_line_numbers(snap_compare: Any, tmp_path: Path) -> None:
    """L numbers the lines of every code cell; markdown is drawn as before."""
    path = write_notebook(tmp_path / "sales.ipynb", snapshot_cells())
    assert snap_compare(notebook_app(path), terminal_size=SIZE, press=["L"])
