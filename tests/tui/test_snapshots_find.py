"""The find bar as drawn (pytest-textual-snapshot), on the fixed notebook of test_snapshots.

Regenerate after a deliberate change with
``pytest tests/tui/test_snapshots_find.py --snapshot-update`` and look at the SVG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui_helpers import write_notebook

from tests.tui.test_snapshots import fixed_look, notebook_app, snapshot_cells

__all__ = ["fixed_look"]  # the fixed times and image cells apply here too

SIZE = (80, 24)


def test_find_bar_with_a_match_in_an_output(snap_compare: Any, tmp_path: Path) -> None:
    """/ and a query: the bar at the bottom says "2 of 3 · ignoring case" and the match in the
    cell's output is highlighted."""
    path = write_notebook(tmp_path / "sales.ipynb", snapshot_cells())
    assert snap_compare(notebook_app(path), terminal_size=SIZE,
                        press=["slash", *"rows", "enter"])
