"""Write the SVG screenshots of nbtui's main views, taken from the real app.

    python screenshots/make_screenshots.py          # writes screenshots/*.svg

The notebook is examples/demo.ipynb with its outputs, computed here by running the demo's code
in this process with pandas and matplotlib (`pip install -e '.[demo]'`), so no kernel is
needed. An agent named claude is attached and at work: its actions are in the activity log, at
fixed times shown in UTC, and the cell it added carries its name. The socket path is fixed and
images are drawn for 10x20-pixel character cells, so the same code gives the same pictures.

- notebook.svg: the notebook with a table and a plot, drawn with text symbols (what tmux, SSH
  and most terminals show);
- plot-symbols.svg and plot-halfblock.svg: the plot full screen (`I`) as symbols and as half
  blocks, side by side the difference the symbols make;
- activity.svg: the activity log open beside the agent's new cell (the README shows it);
- cells.svg: three cells selected at once, with line numbers on;
- find.svg: the find bar with a match highlighted;
- help.svg: the key list;
- pairing.svg: a cell the agent edited, a cell it queued and its request to run code waiting
  for a yes (docs/pairing.md shows it).
"""

from __future__ import annotations

import ast
import asyncio
import base64
import contextlib
import io
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nbformat

from nbtui.core.session import Activity, NotebookSession
from nbtui.tui.app import NotebookApp
from nbtui.tui.widgets import images

HERE = Path(__file__).resolve().parent
DEMO = HERE.parent / "examples" / "demo.ipynb"
SIZE = (120, 42)
SOCKET = "/run/user/1000/nbtui/demo-5e1f0b7a.sock"
STARTED = 1_767_261_600.0
"""2026-01-01 10:00:00 UTC: when the agent starts working."""

AGENT = "claude"
AGENT_CELL_ID = "9f3b61c2"
AGENT_CELL = '''\
monthly = sales.groupby([sales["day"].dt.to_period("M"), "region"])["revenue"].sum().unstack()
growth = (monthly.iloc[-1] / monthly.iloc[0] - 1).sort_values(ascending=False)
growth.round(3)
'''
APPROVAL_CODE = '''\
from scipy import stats
stats.linregress(range(len(weekly)), weekly.values)
'''


def run_cell(source: str, namespace: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """Run a cell's code here, as a kernel would, and return its nbformat outputs.

    Prints become a stdout stream, matplotlib figures PNG display data, and the value of a last
    expression an execute_result with its HTML and plain-text forms.
    """
    import matplotlib.pyplot as plt

    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plt.show() on the Agg backend says it cannot show
        exec(compile(tree, "<cell>", "exec"), namespace)
        value = (eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
                 if last is not None else None)
    outputs: list[dict[str, Any]] = []
    if printed.getvalue():
        outputs.append({"output_type": "stream", "name": "stdout", "text": printed.getvalue()})
    for number in plt.get_fignums():
        figure = plt.figure(number)
        png = io.BytesIO()
        figure.savefig(png, format="png", dpi=80, metadata={"Software": None})
        width, height = (round(v * 80) for v in figure.get_size_inches())
        outputs.append({"output_type": "display_data", "metadata": {}, "data": {
            "image/png": base64.b64encode(png.getvalue()).decode(),
            "text/plain": f"<Figure size {width}x{height} with 1 Axes>"}})
    plt.close("all")
    if value is not None:
        data = {"text/plain": repr(value)}
        html = getattr(value, "_repr_html_", None)
        if html is not None:
            data["text/html"] = html()
        outputs.append({"output_type": "execute_result", "execution_count": count,
                        "metadata": {}, "data": data})
    return outputs


def demo_notebook(path: Path) -> None:
    """The demo notebook, run top to bottom, plus the cell the agent added, run too."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"lines.linewidth": 3, "lines.markersize": 8})
    nb = nbformat.read(DEMO, as_version=4)
    agent_cell = nbformat.v4.new_code_cell(AGENT_CELL.rstrip("\n"))
    agent_cell.id = AGENT_CELL_ID
    nb.cells.insert(4, agent_cell)
    namespace: dict[str, Any] = {}
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        cell.outputs = [nbformat.from_dict(o) for o in run_cell(cell.source, namespace, count)]
    nbformat.write(nb, path)


AGENT_ACTIVITY = [
    Activity(STARTED + 3, AGENT, "get_notebook", None, "6 cells"),
    Activity(STARTED + 6, AGENT, "list_variables", None, "7 variables"),
    Activity(STARTED + 11, AGENT, "run_code", None,
             "ok: <class 'pandas.core.frame.DataFrame'>", code="sales.info()"),
    Activity(STARTED + 19, AGENT, "run_code", None, "ok: region  count  mean ...",
             code='sales.groupby("region")["units"].describe()'),
    Activity(STARTED + 31, AGENT, "insert_cell", AGENT_CELL_ID, "code at index 4"),
    Activity(STARTED + 32, AGENT, "run_cells", AGENT_CELL_ID, "1 queued"),
    Activity(STARTED + 33, AGENT, "run_cells", AGENT_CELL_ID, f"{AGENT_CELL_ID} ok"),
]


def demo_app(path: Path, *, activity: bool = True, kernel_state: str = "idle") -> NotebookApp:
    """The app on the demo as if its session had started, with the agent attached."""
    session = NotebookSession(path, autosave_seconds=0)
    session.socket_path = SOCKET
    session.kernel.state = kernel_state  # type: ignore[assignment]
    session.agent_attached(1, AGENT)
    for entry in AGENT_ACTIVITY if activity else []:
        session.activity.add(entry)
    return NotebookApp(session)


async def until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Let the app run until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("the app never got there")
        await asyncio.sleep(0.02)


async def screenshot(app: NotebookApp, target: Path,
                     act: Callable[[NotebookApp, Any], Awaitable[None]]) -> None:
    """Run `app`, let `act` bring it to the view to show, and write the SVG."""
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await act(app, pilot)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        target.write_text(app.export_screenshot(title="nbtui demo.ipynb"))
    print(f"wrote {target.relative_to(HERE.parent)}")


async def show_notebook(app: NotebookApp, pilot: Any) -> None:
    """The table and the plot: select the plot cell."""
    await pilot.press("j", "j", "j")


async def show_activity(app: NotebookApp, pilot: Any) -> None:
    """The agent has just run the cell it added; the log is open beside it."""
    document = app.session.document
    cell = document.get(AGENT_CELL_ID)
    document.finish_run(AGENT_CELL_ID, "ok", author=AGENT, execution_count=cell.execution_count)
    await pilot.press("j", "j", "j", "j", "ctrl+l")


async def show_plot(app: NotebookApp, pilot: Any) -> None:
    """The plot cell's picture full screen."""
    await pilot.press("j", "j", "j", "I")
    await until(lambda: app.screen is not app.screen_stack[0])


async def show_zoomed_plot(app: NotebookApp, pilot: Any) -> None:
    """The plot full screen, zoomed 3x on its middle (+ three times)."""
    await show_plot(app, pilot)
    await pilot.press("plus", "plus", "plus")


async def show_cells(app: NotebookApp, pilot: Any) -> None:
    """Three cells selected at once (J J), every cell's line numbers on (L)."""
    await pilot.press("j", "J", "J", "L")


async def show_find(app: NotebookApp, pilot: Any) -> None:
    """Searching for "growth": the second match is the current one."""
    await pilot.press("slash")
    await pilot.press(*"growth")
    await pilot.press("enter")


async def show_help(app: NotebookApp, pilot: Any) -> None:
    """The key list."""
    await pilot.press("question_mark")


async def show_pairing(app: NotebookApp, pilot: Any) -> None:
    """An edited cell, a queued cell, and a request to run code waiting for an answer."""
    document = app.session.document
    document.edit_cell(AGENT_CELL_ID, AGENT_CELL.replace("growth.round(3)",
                                                         "growth.round(3).to_frame(\"growth\")"),
                       author=AGENT)
    document.set_status(document.cells[2].id, "running", author="user")
    document.set_status(document.cells[3].id, "queued", author=AGENT)
    # The human hid the plot (o) and moved on to the agent's cell.
    await pilot.press("j", "j", "j", "o", "j")
    asking = asyncio.get_running_loop().create_task(
        app.ask_approval(AGENT, "run_code", APPROVAL_CODE))
    await until(lambda: app.screen is not app.screen_stack[0])
    await pilot.pause(0.6)  # the prompt takes answers (and says so) after 0.4 s
    assert not asking.done()


async def main() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    images.set_cell_size(10, 20)
    images.set_image_mode("symbols")  # what tmux, SSH and most terminals show
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("NBTUI_RUNTIME_DIR", str(Path(tmp) / "run"))
        os.environ.setdefault("NBTUI_STATE_DIR", str(Path(tmp) / "state"))
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")  # no user settings
        path = Path(tmp) / "demo.ipynb"
        demo_notebook(path)
        await screenshot(demo_app(path, activity=False), HERE / "notebook.svg", show_notebook)
        await screenshot(demo_app(path, activity=False), HERE / "plot-symbols.svg", show_plot)
        await screenshot(demo_app(path, activity=False), HERE / "plot-zoomed.svg",
                         show_zoomed_plot)
        images.set_image_mode("halfblock")
        await screenshot(demo_app(path, activity=False), HERE / "plot-halfblock.svg",
                         show_plot)
        images.set_image_mode("symbols")
        await screenshot(demo_app(path), HERE / "activity.svg", show_activity)
        await screenshot(demo_app(path, activity=False), HERE / "cells.svg", show_cells)
        await screenshot(demo_app(path, activity=False), HERE / "find.svg", show_find)
        await screenshot(demo_app(path), HERE / "help.svg", show_help)
        await screenshot(demo_app(path, kernel_state="busy"), HERE / "pairing.svg",
                         show_pairing)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
