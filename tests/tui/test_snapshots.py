"""What the human sees, pinned as SVG snapshots (pytest-textual-snapshot).

Each snapshot is deterministic: a fixed notebook whose cells have fixed ids and outputs already
in it (no kernel runs), a fixed socket path, activity at fixed times shown in UTC, and images
drawn with half blocks for a fixed character-cell size. After a deliberate change to the look,
regenerate them with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at the
SVGs.

The tests are plain functions: ``snap_compare`` runs the app on its own event loop.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from textual.pilot import Pilot
from tui_helpers import write_notebook

from nbtui.core.document import KERNEL
from nbtui.core.session import Activity, NotebookSession
from nbtui.tui.app import NotebookApp
from nbtui.tui.widgets import images

SIZE = (110, 40)
SOCKET = "/run/user/1000/nbtui/sales-3f9c2a.sock"
STARTED = 1_767_261_600.0
"""2026-01-01 10:00:00 UTC: when the agent's work in the activity log begins."""

FIXED_SOURCE = 'ratio = sales["units"].sum() / len(sales)\nratio'


def chart_png() -> bytes:
    """A small bar chart drawn with Pillow: the same pixels on every run."""
    picture = Image.new("RGB", (280, 120), (248, 248, 244))
    draw = ImageDraw.Draw(picture)
    colours = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)]
    for i, (height, colour) in enumerate(zip((55, 85, 35, 100), colours, strict=True)):
        left = 40 + i * 60
        draw.rectangle([left, 110 - height, left + 40, 110], fill=colour)
    draw.line([(20, 8), (20, 110), (270, 110)], fill=(40, 40, 40), width=4)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


TABLE_HTML = """<div>
<table border="1" class="dataframe">
  <thead>
    <tr style="text-align: right;"><th></th><th>count</th><th>mean</th><th>sum</th></tr>
    <tr><th>region</th><th></th><th></th><th></th></tr>
  </thead>
  <tbody>
    <tr><th>east</th><td>31</td><td>412.6</td><td>12790.6</td></tr>
    <tr><th>north</th><td>27</td><td>398.1</td><td>10748.7</td></tr>
    <tr><th>south</th><td>33</td><td>405.9</td><td>13394.7</td></tr>
    <tr><th>west</th><td>29</td><td>420.3</td><td>12188.7</td></tr>
  </tbody>
</table>
</div>"""

TRACEBACK = [
    "\x1b[0;31m" + "-" * 75 + "\x1b[0m",
    "\x1b[0;31mNameError\x1b[0m                                 "
    "Traceback (most recent call last)",
    "Cell \x1b[0;32mIn[3], line 1\x1b[0m\n\x1b[0;32m----> 1\x1b[0m ratio \x1b[38;5;241m=\x1b[39m "
    "sales[\x1b[38;5;124m\"units\"\x1b[39m]\x1b[38;5;241m.\x1b[39msum() \x1b[38;5;241m/\x1b[39m "
    "\x1b[38;5;28mlen\x1b[39m(returns)\n",
    "\x1b[0;31mNameError\x1b[0m: name 'returns' is not defined",
]


def snapshot_cells() -> list[dict[str, Any]]:
    """Markdown, a stream (stdout and stderr), an HTML table, an error and an image."""
    png = base64.b64encode(chart_png()).decode()
    return [
        {"cell_type": "markdown", "id": "intro", "metadata": {},
         "source": "# Sales by region\n\nLoad the data, summarise it, plot it. "
                   "`units` is a **count**."},
        {"cell_type": "code", "id": "load", "metadata": {}, "execution_count": 1,
         "source": 'import pandas as pd\n\nsales = pd.read_csv("sales.csv")\n'
                   'print(f"{len(sales)} rows")',
         "outputs": [
             {"output_type": "stream", "name": "stdout", "text": "120 rows\n"},
             {"output_type": "stream", "name": "stderr",
              "text": "UserWarning: 2 rows have no region\n"},
         ]},
        {"cell_type": "code", "id": "table", "metadata": {}, "execution_count": 2,
         "source": 'sales.groupby("region")["revenue"].agg(["count", "mean", "sum"]).round(1)',
         "outputs": [{"output_type": "execute_result", "execution_count": 2, "metadata": {},
                      "data": {"text/html": TABLE_HTML,
                               "text/plain": "        count   mean      sum"}}]},
        {"cell_type": "code", "id": "oops", "metadata": {}, "execution_count": 3,
         "source": 'ratio = sales["units"].sum() / len(returns)',
         "outputs": [{"output_type": "error", "ename": "NameError",
                      "evalue": "name 'returns' is not defined", "traceback": TRACEBACK}]},
        {"cell_type": "code", "id": "plot", "metadata": {}, "execution_count": 4,
         "source": 'sales.groupby("region")["revenue"].sum().plot.bar()',
         "outputs": [{"output_type": "display_data", "metadata": {},
                      "data": {"image/png": png,
                               "text/plain": "<Figure size 280x120 with 1 Axes>"}}]},
    ]


AGENT_ACTIVITY = [
    Activity(STARTED + 2, "claude", "get_notebook", None, "5 cells"),
    Activity(STARTED + 5, "claude", "run_code", None, "ok: <class 'pandas.DataFrame'>",
             code="sales.info()"),
    Activity(STARTED + 9, "claude", "list_variables", None, "3 variables"),
    Activity(STARTED + 14, "claude", "edit_cell", "oops", "1 lines added, 1 removed"),
    Activity(STARTED + 15, "claude", "run_cells", "oops", "oops ok"),
]


@pytest.fixture(autouse=True)
def fixed_look(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times shown in UTC and images drawn with half blocks for 10x20-pixel cells, whatever
    the machine and terminal."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    cell_size = images.set_cell_size(10, 20)
    mode = images.set_image_mode("halfblock")
    yield
    images.set_image_mode(mode)
    images.set_cell_size(*cell_size)
    monkeypatch.undo()
    time.tzset()


def notebook_app(path: Path, *, agents: tuple[str, ...] = (),
                 activity: list[Activity] | None = None) -> NotebookApp:
    """The app on `path` as if its session had started: kernel idle, socket at SOCKET."""
    session = NotebookSession(path, autosave_seconds=0)
    session.socket_path = SOCKET
    session.kernel.state = "idle"
    for key, name in enumerate(agents):
        session.agent_attached(key, name)
    for entry in activity or []:
        session.activity.add(entry)
    return NotebookApp(session)


def test_notebook_with_every_kind_of_output(snap_compare: Any, tmp_path: Path) -> None:
    """Markdown, code, stdout and stderr, an HTML table, a traceback and an image, as drawn."""
    path = write_notebook(tmp_path / "sales.ipynb", snapshot_cells())
    assert snap_compare(notebook_app(path), terminal_size=SIZE)


def test_activity_log_with_an_agent_at_work(snap_compare: Any, tmp_path: Path) -> None:
    """The activity log lists the agent's actions; the cell it fixed carries its name."""
    path = write_notebook(tmp_path / "sales.ipynb", snapshot_cells())
    app = notebook_app(path, agents=("claude",), activity=AGENT_ACTIVITY)

    async def agent_fixes_a_cell(pilot: Pilot) -> None:
        document = app.session.document
        document.edit_cell("oops", FIXED_SOURCE, author="claude")
        document.set_outputs("oops", [{"output_type": "execute_result", "execution_count": 5,
                                       "metadata": {}, "data": {"text/plain": "38.9"}}],
                             author=KERNEL)
        document.finish_run("oops", "ok", author="claude", execution_count=5)
        await pilot.press("ctrl+l")

    assert snap_compare(app, terminal_size=SIZE, run_before=agent_fixes_a_cell)


def test_help_screen(snap_compare: Any, tmp_path: Path) -> None:
    """? shows every key, grouped by mode, over the notebook."""
    path = write_notebook(tmp_path / "sales.ipynb", snapshot_cells())
    assert snap_compare(notebook_app(path), terminal_size=SIZE, press=["question_mark"])
