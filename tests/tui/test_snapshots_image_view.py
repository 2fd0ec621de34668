"""The full-screen image view as drawn, pinned as an SVG snapshot (see test_snapshots.py for
what keeps it deterministic: fixed cells and outputs, half blocks for 10x20-pixel cells)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_snapshots import SIZE, fixed_look, notebook_app, snapshot_cells  # noqa: F401
from tui_helpers import write_notebook


def test_image_view_fills_the_terminal(snap_compare: Any, tmp_path: Path) -> None:
    """`I` on the plot's cell shows the plot as large as the terminal allows, with a line
    saying what it is and how to close it."""
    path = write_notebook(tmp_path / "sales.ipynb", snapshot_cells())
    assert snap_compare(notebook_app(path), terminal_size=SIZE, press=["end", "I"])


def test_image_view_zoomed_in(snap_compare: Any, tmp_path: Path) -> None:
    """`+` three times and `k` twice show the chart's top middle (the tall orange bar's top) at
    3×, drawn from that part alone, with a line saying the zoom, the part shown and the keys."""
    path = write_notebook(tmp_path / "sales.ipynb", snapshot_cells())
    assert snap_compare(notebook_app(path), terminal_size=SIZE,
                        press=["end", "I", "plus", "plus", "plus", "k", "k"])
