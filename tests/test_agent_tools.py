"""Every tool of the agent contract, called through the real unix socket with the mcp client,
against a real ipykernel."""

from __future__ import annotations

import asyncio
import base64
import zipfile
from pathlib import Path

import nbformat

from nbtui.core.document import USER
from tests.conftest import agent, call, poll, serve_notebook


async def test_tool_list_is_the_whole_contract(served):
    """tools/list offers every tool the agent contract names."""
    async with agent(served.socket) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert names >= {
        "get_notebook", "read_cells", "read_output", "insert_cell", "edit_cell", "delete_cells",
        "move_cell", "run_cells", "wait", "run_code", "interrupt_kernel", "restart_kernel",
        "install_packages", "list_variables", "changes_since", "save_notebook",
    }


async def test_get_notebook_overview(served):
    """get_notebook shows path, kernel, revision, focus, agents and a preview per cell."""
    served.document.insert_cell("a = 1\nb = 2\nc = 3\nd = 4", author=USER)
    async with agent(served.socket, name="overview-agent") as client:
        data = await call(client, "get_notebook", preview_lines=2)
    assert data["path"] == str(served.session.path)
    assert data["kernel"]["name"] == "python3"
    assert data["kernel"]["state"] in ("idle", "busy")
    assert "overview-agent" in data["agents"]
    assert data["focus"]["mode"] == "command"
    last = data["cells"][-1]
    assert last["preview"] == "a = 1\nb = 2" and last["preview_truncated"]
    assert data["cell_count"] == len(served.document)


async def test_insert_then_read_by_id(served):
    """insert_cell returns the new cell's id and index; read_cells by id returns its source."""
    async with agent(served.socket) as client:
        inserted = (await call(client, "insert_cell", source="x = 41", index=0))["cell"]
        assert inserted["index"] == 0 and inserted["revision"] > 0
        views = (await call(client, "read_cells", cell_ids=[inserted["id"]]))["cells"]
    assert views[0]["source"] == "x = 41"
    assert served.document.cells[0].last_author == "claude"


async def test_insert_with_run_executes_and_returns_outputs(served):
    """insert_cell(run=true) runs the new cell and returns its output and execution count."""
    async with agent(served.socket) as client:
        data = await call(client, "insert_cell", source="print('hi there')", run=True)
    (cell,) = data["cells"]
    assert cell["status"] == "ok" and cell["execution_count"] is not None
    assert cell["outputs"][0]["text"] == "hi there\n"


async def test_edit_whole_source_and_by_passage(served):
    """edit_cell replaces a whole source or one passage, and returns a unified diff."""
    cell = served.document.insert_cell("total = 1 + 1\nprint(total)", author=USER)
    async with agent(served.socket) as client:
        data = await call(client, "edit_cell", cell_id=cell.id, old_text="1 + 1", new_text="2 + 2")
        assert "-total = 1 + 1" in data["diff"] and "+total = 2 + 2" in data["diff"]
        data = await call(client, "edit_cell", cell_id=cell.id, source="# md", cell_type="markdown",
                          if_revision=data["cell"]["revision"])
    assert data["cell"]["cell_type"] == "markdown"
    assert cell.source == "# md" and cell.last_author == "claude"


async def test_edit_with_run(served):
    """edit_cell(run=true) runs the edited cell; a whole new source is not echoed back as a
    diff (the agent just sent it), an old_text edit's diff is."""
    cell = served.document.insert_cell("1", author=USER)
    async with agent(served.socket) as client:
        data = await call(client, "edit_cell", cell_id=cell.id, source="6 * 7", run=True)
        passage = await call(client, "edit_cell", cell_id=cell.id, old_text="7",
                             new_text="8", run=True)
    assert data["cells"][0]["outputs"][0]["text"] == "42"
    assert "diff" not in data and "source" not in data["cells"][0]
    assert passage["cells"][0]["outputs"][0]["text"] == "48"
    assert "+6 * 8" in passage["diff"]


async def test_delete_returns_sources_and_move_returns_index(served):
    """delete_cells returns what was deleted; move_cell returns the new index."""
    a = served.document.insert_cell("keep = 1", index=0, author=USER)
    b = served.document.insert_cell("gone = 2", index=1, author=USER)
    async with agent(served.socket) as client:
        moved = await call(client, "move_cell", cell_id=a.id, after_cell_id=b.id)
        assert moved["index"] == served.document.index_of(a.id) == 1
        deleted = await call(client, "delete_cells", cell_ids=[b.id])
    assert deleted["deleted"] == [{"id": b.id, "cell_type": "code", "source": "gone = 2"}]
    assert not served.document.has(b.id)


async def test_run_cells_in_order_with_error_as_data(served):
    """run_cells runs cells in the order given; a raising cell is a successful call with
    status error and the exception's name."""
    doc = served.document
    first = doc.insert_cell("order = ['first']", author=USER)
    second = doc.insert_cell("order.append('second'); order", author=USER)
    boom = doc.insert_cell("1 / 0", author=USER)
    async with agent(served.socket) as client:
        data = await call(client, "run_cells", cell_ids=[first.id, second.id, boom.id])
    views = {v["id"]: v for v in data["cells"]}
    assert data["finished"]
    assert views[second.id]["outputs"][0]["text"] == "['first', 'second']"
    assert views[boom.id]["status"] == "error"
    assert "ZeroDivisionError" in views[boom.id]["outputs"][0]["text"]
    assert "\x1b[" not in views[boom.id]["outputs"][0]["text"]


async def test_run_cells_timeout_does_not_interrupt_and_wait_finishes(served):
    """A run_cells timeout returns the cell still running with its output so far; wait then
    returns it finished (the timeout never interrupts)."""
    cell = served.document.insert_cell(
        "import time\nprint('started', flush=True)\ntime.sleep(1.5)\nprint('done')", author=USER)
    async with agent(served.socket) as client:
        data = await call(client, "run_cells", cell_ids=[cell.id], timeout=0.3)
        assert not data["finished"] and "wait" in data["hint"]
        assert data["cells"][0]["status"] in ("queued", "running")
        waited = await call(client, "wait", cell_ids=[cell.id], timeout=30)
    assert waited["finished"]
    assert waited["cells"][0]["status"] == "ok"
    assert "done" in waited["cells"][0]["outputs"][0]["text"]


async def test_progress_notifications_while_waiting(served):
    """A run that takes a while sends progress notifications to a client that asked for them,
    their progress growing with each, saying which cell runs and its code."""
    cell = served.document.insert_cell("import time; time.sleep(2.5)", author=USER)
    updates = []

    async def on_progress(progress, total, message):
        updates.append((progress, total, message))

    async with agent(served.socket) as client:
        result = await client.call_tool("run_cells", {"cell_ids": [cell.id]},
                                        progress_callback=on_progress)
    assert not result.is_error
    assert len(updates) >= 2
    progress = [p for p, _, _ in updates]
    assert progress == sorted(set(progress)), progress  # grows with every notification
    assert f"running cell {cell.id}" in updates[0][2] and "time.sleep(2.5)" in updates[0][2]


async def test_long_run_does_not_block_other_agents(served):
    """While one agent waits on a long run, another agent's reads answer at once."""
    cell = served.document.insert_cell("import time; time.sleep(3)", author=USER)
    async with agent(served.socket, name="runner") as runner, \
            agent(served.socket, name="reader") as reader:
        long_call = asyncio.create_task(runner.call_tool("run_cells", {"cell_ids": [cell.id]}))
        await poll(lambda: cell.status == "running", message="the long cell to start")
        overview = await asyncio.wait_for(call(reader, "get_notebook"), 2)
        assert not long_call.done()
        assert any(c["id"] == cell.id and c["status"] == "running" for c in overview["cells"])
        result = await long_call
    assert not result.is_error


async def test_run_code_is_scratch_and_logged(served):
    """run_code shares the kernel's variables, adds no cell, and appears in the activity log
    with its code."""
    before = len(served.document)
    async with agent(served.socket) as client:
        await call(client, "run_code", code="scratch_value = 20")
        data = await call(client, "run_code", code="print(scratch_value + 1)")
    assert data["status"] == "ok" and data["outputs"][0]["text"] == "21\n"
    assert len(served.document) == before
    entry = served.session.activity.entries[-1]
    assert entry.tool == "run_code" and entry.author == "claude"
    assert entry.code == "print(scratch_value + 1)"


async def test_run_code_error_is_data(served):
    """run_code of raising code succeeds as a call, with status error, ename and evalue."""
    async with agent(served.socket) as client:
        data = await call(client, "run_code", code="{}['missing']")
    assert data["status"] == "error"
    assert data["error"]["ename"] == "KeyError" and "missing" in data["error"]["evalue"]


async def test_long_output_is_cut_and_paged_with_read_output(served):
    """A long output is cut with a marker naming read_output; read_output pages through it."""
    cell = served.document.insert_cell("for i in range(5000): print(f'line {i}')", author=USER)
    async with agent(served.socket) as client:
        data = await call(client, "run_cells", cell_ids=[cell.id])
        out = data["cells"][0]["outputs"][0]
        assert out["truncated"] and "read_output" in out["text"]
        assert "line 0\n" in out["text"] and "line 4999" in out["text"]
        page = await call(client, "read_output", cell_id=cell.id, output_index=0,
                          offset=0, limit=100)
        assert page["total"] > 40000 and page["text"].startswith("line 0\nline 1\n")
        assert len(page["text"]) == 100


async def test_images_come_back_as_image_content(served):
    """A matplotlib figure comes back as MCP image content, not as base64 text."""
    cell = served.document.insert_cell(
        "import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()", author=USER)
    async with agent(served.socket) as client:
        result = await client.call_tool("run_cells", {"cell_ids": [cell.id]})
    images = [c for c in result.content if c.type == "image"]
    assert images and images[0].mime_type == "image/png"
    assert base64.b64decode(images[0].data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "iVBOR" not in result.content[0].text


async def test_list_variables_summarises_without_dumping(served):
    """list_variables gives type and shape/columns for a DataFrame, not its data."""
    async with agent(served.socket) as client:
        await call(client, "run_code", code=(
            "import pandas as pd\n"
            "frame = pd.DataFrame({'height': range(1000), 'weight': range(1000)})\n"
            "numbers = [1, 2, 3]"))
        data = await call(client, "list_variables")
    by_name = {v["name"]: v for v in data["variables"]}
    frame_type = by_name["frame"]["type"]
    assert frame_type.startswith("pandas.") and frame_type.endswith("DataFrame")
    assert "shape 1000x2" in by_name["frame"]["summary"]
    assert "height" in by_name["frame"]["summary"]
    assert by_name["numbers"]["summary"] == "len 3"
    assert "pd" not in by_name


async def test_changes_since_attributes_user_and_agent(served):
    """changes_since lists what the user and the agent did since a revision, with authors."""
    start = served.document.revision
    human = served.document.insert_cell("human_cell = 1", author=USER)
    async with agent(served.socket, name="catchup") as client:
        await call(client, "edit_cell", cell_id=human.id, source="human_cell = 2")
        data = await call(client, "changes_since", revision=start)
    # Scratch runs of earlier tests at this revision are listed too (as run_code).
    kinds = [(c["kind"], c["author"]) for c in data["changes"] if c["kind"] != "run_code"]
    assert kinds == [("insert", "user"), ("edit", "catchup")]
    edit = next(c for c in data["changes"] if c["kind"] == "edit")
    assert "+human_cell = 2" in edit["diff"]
    assert data["revision"] == served.document.revision


async def test_interrupt_stops_the_running_cell_and_drops_the_queue(served):
    """interrupt_kernel stops a running cell and dequeues the cells behind it, naming both by
    their cell ids."""
    doc = served.document
    spin = doc.insert_cell("import time\nwhile True: time.sleep(0.01)", author=USER)
    behind = doc.insert_cell("never = 1", author=USER)
    async with agent(served.socket) as client:
        await call(client, "run_cells", cell_ids=[spin.id, behind.id], timeout=0)
        await poll(lambda: spin.status == "running", message="the spinning cell to start")
        data = await call(client, "interrupt_kernel")
        await call(client, "wait", timeout=30)
    assert spin.status == "error"
    assert behind.status == "idle" and behind.execution_count is None
    assert data["state"] in ("idle", "busy")
    assert data["stopped"] == [spin.id] and data["dequeued"] == [behind.id]


async def test_save_notebook_writes_a_valid_file(served):
    """save_notebook writes the notebook, valid and with the agent's cells, and says how much."""
    async with agent(served.socket) as client:
        await call(client, "insert_cell", source="saved_marker = True")
        data = await call(client, "save_notebook")
    path = Path(data["path"])
    assert data["bytes"] == path.stat().st_size
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert any(c.source == "saved_marker = True" for c in nb.cells)
    assert not served.document.dirty


def tiny_wheel(directory: Path) -> Path:
    """A minimal pure-Python wheel, so install_packages is tested without the network."""
    wheel = directory / "nbtui_tiny_pkg-0.1-py3-none-any.whl"
    files = {
        "nbtui_tiny_pkg/__init__.py": "VALUE = 'tiny'\n",
        "nbtui_tiny_pkg-0.1.dist-info/METADATA":
            "Metadata-Version: 2.1\nName: nbtui-tiny-pkg\nVersion: 0.1\n",
        "nbtui_tiny_pkg-0.1.dist-info/WHEEL":
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{name},,\n" for name in files) + "nbtui_tiny_pkg-0.1.dist-info/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        zf.writestr("nbtui_tiny_pkg-0.1.dist-info/RECORD", record)
    return wheel


async def test_install_packages_into_the_kernel_environment(served, tmp_path):
    """install_packages installs a requirement into the kernel's interpreter, importable at once."""
    wheel = tiny_wheel(tmp_path)
    async with agent(served.socket) as client:
        data = await call(client, "install_packages",
                          packages=[f"nbtui-tiny-pkg @ {wheel.as_uri()}"])
        assert data["status"] == "ok", data["output"]
        assert any("nbtui-tiny-pkg" in name for name in data["installed"])
        used = await call(client, "run_code", code="import nbtui_tiny_pkg; nbtui_tiny_pkg.VALUE")
    assert used["outputs"][0]["text"] == "'tiny'"
    assert any(e.tool == "install_packages" for e in served.session.activity.entries)
    proc = await asyncio.create_subprocess_exec(
        data["python"], "-m", "pip", "uninstall", "-y", "nbtui-tiny-pkg",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    await proc.wait()


async def test_restart_kernel_forgets_variables(served):
    """restart_kernel loses the kernel's variables but keeps the notebook."""
    cells_before = len(served.document)
    async with agent(served.socket) as client:
        await call(client, "run_code", code="survivor = 1")
        data = await call(client, "restart_kernel")
        assert data["kernel"]["state"] == "idle"
        after = await call(client, "run_code", code="survivor")
    assert after["status"] == "error" and after["error"]["ename"] == "NameError"
    assert len(served.document) == cells_before


async def test_modern_protocol_client_is_named_too(served):
    """A client using the newer per-request protocol is still attributed by its clientInfo name."""
    async with agent(served.socket, name="modern-agent", mode="auto") as client:
        data = await call(client, "insert_cell", source="modern = 1")
    assert served.document.get(data["cell"]["id"]).last_author == "modern-agent"


async def test_run_all_runs_code_cells_top_to_bottom(tmp_path):
    """run_cells(all=true) runs every code cell in notebook order and skips markdown."""
    async with serve_notebook(tmp_path / "all.ipynb") as served:
        doc = served.document
        doc.insert_cell("trail = ['a']", author=USER)
        doc.insert_cell("# a heading", cell_type="markdown", author=USER)
        doc.insert_cell("trail.append('b'); trail", author=USER)
        async with agent(served.socket) as client:
            data = await call(client, "run_cells", all=True)
        code_views = [v for v in data["cells"] if v["cell_type"] == "code"]
        assert [v["status"] for v in code_views] == ["ok", "ok"]
        assert code_views[-1]["outputs"][0]["text"] == "['a', 'b']"


async def test_read_cells_by_index_range(served):
    """read_cells with start/end returns exactly that slice of cells, in order."""
    doc = served.document
    base = len(doc)
    for i in range(3):
        doc.insert_cell(f"slice_{i} = {i}", author=USER)
    async with agent(served.socket) as client:
        views = (await call(client, "read_cells", start=base + 1, end=base + 3))["cells"]
    assert [v["source"] for v in views] == ["slice_1 = 1", "slice_2 = 2"]
    assert [v["index"] for v in views] == [base + 1, base + 2]
