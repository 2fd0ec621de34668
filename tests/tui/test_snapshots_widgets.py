"""Widgets as drawn, pinned as an SVG snapshot: tqdm bars (finished, half way, failed) and
other ipywidgets, from recorded comm messages of real runs (tests/data/widgets).

Deterministic as tests/tui/test_snapshots.py is (fixed ids, outputs already in the notebook,
no kernel). Regenerate after a deliberate change with
``pytest tests/tui/test_snapshots_widgets.py --snapshot-update`` and look at the SVG.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_snapshots import notebook_app
from tui_helpers import write_notebook

from nbtui.core.kernels.outputs import OutputCollector

DATA = Path(__file__).parent.parent / "data" / "widgets"
SIZE = (100, 46)


def replayed(name: str, until: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The code and outputs of a recorded run, replayed to its end or until the first output
    shows `until`."""
    recording = json.loads((DATA / f"{name}.json").read_text())
    collector = OutputCollector()
    for msg in recording["messages"]:
        collector.apply(msg)
        if until is not None and collector.outputs and \
                until in collector.outputs[0]["data"]["text/plain"]:
            break
    return recording["code"], collector.outputs


def cell(cell_id: str, count: int, recording: str, until: str | None = None) -> dict[str, Any]:
    source, outputs = replayed(recording, until)
    if recording == "tqdm_error":
        # Only the bar matters here: the traceback's first line stands for the rest.
        outputs[-1]["traceback"] = outputs[-1]["traceback"][:1]
    return {"cell_type": "code", "id": cell_id, "metadata": {}, "execution_count": count,
            "source": source, "outputs": outputs}


def test_progress_bars_and_controls(snap_compare: Any, tmp_path: Path) -> None:
    """A finished tqdm bar, one half way, one stopped by an error, and controls as text."""
    cells = [cell("done", 1, "tqdm_auto"), cell("halfway", 2, "tqdm_auto", "19/30"),
             cell("failed", 3, "tqdm_error"), cell("controls", 4, "controls")]
    path = write_notebook(tmp_path / "train.ipynb", cells)
    assert snap_compare(notebook_app(path), terminal_size=SIZE)
