"""Widgets with a real kernel, read by an agent through the real socket: tqdm.auto's bar ends as
its finished text, a widget changed after its run redraws its cell, and the saved notebook keeps
the view with an up-to-date text."""

from __future__ import annotations

import asyncio

import nbformat

from nbtui.core.document import USER
from nbtui.core.widgets import WIDGET_VIEW_MIME
from tests.conftest import agent, call, poll

TQDM_30 = ("import time\n"
           "from tqdm.auto import tqdm\n"
           "for i in tqdm(range(30)):\n"
           "    time.sleep(0.01)")


def joined(outputs: list[dict]) -> str:
    return "\n".join(output["text"] for output in outputs)


async def test_agent_reads_the_finished_tqdm_bar_from_run_code(served):
    """run_code of a tqdm.auto loop over 30 items returns the bar's final text (100%, 30/30),
    not the frozen `0%| | 0/30` the kernel first sent."""
    async with agent(served.socket) as client:
        data = await call(client, "run_code", code=TQDM_30)
    text = joined(data["outputs"])
    assert data["status"] == "ok"
    assert "100%" in text and "30/30" in text and "▕" in text
    assert "0/30" not in text.replace("30/30", "")


async def test_a_cells_bar_is_read_and_saved_with_its_view_and_live_text(served, tmp_path):
    """A cell's tqdm bar reads as finished through read_cells, and the saved notebook is valid
    with the widget view kept beside a text/plain holding the finished bar."""
    cell = served.document.insert_cell(TQDM_30, author=USER)
    async with agent(served.socket) as client:
        ran = await call(client, "run_cells", cell_ids=[cell.id])
        read = await call(client, "read_cells", cell_ids=[cell.id])
        await call(client, "save_notebook")
    for view in (ran["cells"][0], read["cells"][0]):
        assert "100%" in joined(view["outputs"]) and "30/30" in joined(view["outputs"])
    saved = nbformat.read(served.session.path, as_version=4)
    nbformat.validate(saved)
    [output] = next(c for c in saved.cells if c.id == cell.id).outputs
    assert output.data[WIDGET_VIEW_MIME]["model_id"]
    assert "100%" in output.data["text/plain"] and "30/30" in output.data["text/plain"]


async def test_a_widget_changed_after_its_run_redraws_its_cell(served):
    """A progress bar shown by one cell is redrawn in that cell when another run changes it,
    and when a thread changes it after every run has finished."""
    cell = served.document.insert_cell(
        "import ipywidgets, threading, time\n"
        "bar = ipywidgets.IntProgress(value=0, max=10, description='Files:')\n"
        "display(bar)\n"
        "go = threading.Event()\n"
        "def finish():\n"
        "    go.wait()\n"
        "    time.sleep(0.2)  # past the end of the run that set go\n"
        "    bar.value = 10\n"
        "threading.Thread(target=finish).start()",
        author=USER)

    def shown() -> str:
        return "".join(o.get("data", {}).get("text/plain", "")
                       for o in served.document.get(cell.id).outputs)

    async with agent(served.socket) as client:
        await call(client, "run_cells", cell_ids=[cell.id])
        assert shown() == "Files: ▕" + " " * 20 + "▏ 0%"
        await call(client, "run_code", code="bar.value = 5")
        await poll(lambda: "▏ 50%" in shown(), message="the bar at 50%")
        await call(client, "run_code", code="go.set()")
        await poll(lambda: "▏ 100%" in shown(), message="the bar at 100% after the runs")
        read = await call(client, "read_cells", cell_ids=[cell.id])
    assert "Files: ▕" + "█" * 20 + "▏ 100%" in joined(read["cells"][0]["outputs"])


async def test_agent_reads_a_running_bars_current_text(served, tmp_path):
    """While a cell's tqdm bar is part way, the agent reads its current count (17/30) through
    read_cells, and the finished count once the run ends."""
    flag = tmp_path / "go-on"
    cell = served.document.insert_cell(
        "import os, time\n"
        "from tqdm.auto import tqdm\n"
        "bar = tqdm(total=30)\n"
        "bar.update(17)\n"
        "bar.refresh()\n"
        f"while not os.path.exists({str(flag)!r}):\n"
        "    time.sleep(0.01)\n"
        "bar.update(13)\n"
        "bar.close()", author=USER)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    async with agent(served.socket) as client:
        await call(client, "run_cells", cell_ids=[cell.id], timeout=0.1)
        while True:
            read = (await call(client, "read_cells", cell_ids=[cell.id]))["cells"][0]
            if "17/30" in joined(read["outputs"]):
                break
            assert loop.time() < deadline, f"no 17/30 in {read['outputs']}"
            await asyncio.sleep(0.02)
        assert read["status"] == "running" and "57%" in joined(read["outputs"])
        flag.touch()
        waited = await call(client, "wait", cell_ids=[cell.id], timeout=30)
    assert "100%" in joined(waited["cells"][0]["outputs"])
    assert "30/30" in joined(waited["cells"][0]["outputs"])
