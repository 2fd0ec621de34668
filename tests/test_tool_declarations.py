"""Activity logging declared with each tool (issue 10): every tool says what a call adds to
the activity log the human sees, the registration writes it (no tool body does), and the
entries a call adds are the same as before, through the real socket with the official client."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap

from nbtui.agent.server import AgentTools
from nbtui.agent.tools import declared_tools
from nbtui.core.document import USER
from nbtui.core.policy import AgentPolicy
from tests.conftest import agent, call, call_error, serve_notebook
from tests.test_agent_tools import tiny_wheel

READ_ONLY_TOOLS = {"get_notebook", "read_output", "wait", "changes_since"}
"""The tools whose calls add nothing to the activity log."""


def entries_after(served, count: int) -> list[tuple]:
    """The activity-log entries added after the first `count`, as (tool, cell, summary, code)."""
    return [(e.tool, e.cell_id, e.summary, e.code)
            for e in list(served.session.activity.entries)[count:]]


def test_every_tool_declares_its_activity_logging():
    """Each declared tool has a log declaration; only the read-only tools log nothing."""
    specs = {name: spec for name, _, spec in declared_tools(AgentTools.__new__(AgentTools))}
    assert len(specs) == 16
    assert all(hasattr(spec, "log") for spec in specs.values())
    assert {name for name, spec in specs.items() if spec.log is None} == READ_ONLY_TOOLS


def test_no_tool_body_writes_the_activity_log():
    """No method of the tools class touches the activity log: the registration does."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(AgentTools)))
    touched = [node.attr for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and node.attr in ("activity", "log")]
    called = [node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call)
              and isinstance(node.func, ast.Name) and node.func.id == "Activity"]
    assert touched == [] and called == []


async def test_calls_add_the_same_activity_entries(served):
    """Editing, running, reading and saving through the socket add the entries the human
    has always seen: tool, cell, summary, and a scratch run's code."""
    before = len(served.session.activity.entries)
    async with agent(served.socket) as client:
        inserted = await call(client, "insert_cell", source="x = 40", run=True)
        cell_id = inserted["cells"][0]["id"]
        index = inserted["cells"][0]["index"]
        await call(client, "edit_cell", cell_id=cell_id, old_text="40", new_text="41")
        await call(client, "run_cells", cell_ids=[cell_id])
        await call(client, "run_code", code="print(x + 1)")
        await call(client, "read_cells", cell_ids=[cell_id])
        await call(client, "move_cell", cell_id=cell_id, index=0)
        await call(client, "list_variables", limit=1)
        await call(client, "get_notebook")
        await call(client, "delete_cells", cell_ids=[cell_id, cell_id])
    assert entries_after(served, before) == [
        ("insert_cell", cell_id, f"code at index {index}", None),
        ("run_cells", cell_id, "1 queued", None),
        ("run_cells", cell_id, f"{cell_id} ok", None),
        ("edit_cell", cell_id, "1 line(s) added, 1 removed", None),
        ("run_cells", cell_id, "1 queued", None),
        ("run_cells", cell_id, f"{cell_id} ok", None),
        ("run_code", None, "ok: 42", "print(x + 1)"),
        ("read_cells", None, "1 cells", None),
        ("move_cell", cell_id, "to index 0", None),
        ("list_variables", None, "1 variables", None),
        ("delete_cells", cell_id, "1 deleted", None),
    ]


async def test_a_declined_or_refused_call_adds_no_entry(tmp_path):
    """A call the human declines, or that fails before changing anything, logs nothing."""

    async def decline(author: str, tool: str, code: str) -> bool:
        return False

    async with serve_notebook(tmp_path / "nb.ipynb", policy=AgentPolicy(approver=decline),
                              start_kernel=False) as served:
        cell = served.document.insert_cell("keep = 1", author=USER)
        async with agent(served.socket) as client:
            await call_error(client, "edit_cell", cell_id=cell.id, source="x", run=True)
            await call_error(client, "edit_cell", cell_id=cell.id, old_text="absent",
                             new_text="x")
            await call(client, "edit_cell", cell_id=cell.id, source="keep = 2")
        assert entries_after(served, 0) == [("edit_cell", cell.id, "1 line(s) added, 1 removed",
                                             None)]


async def test_a_failed_install_logs_what_it_tried_and_that_it_failed(served, tmp_path):
    """install_packages logs "installing ..." as it starts and "failed: ..." when pip fails."""
    broken = tmp_path / "nbtui_broken_pkg-0.1-py3-none-any.whl"
    broken.write_bytes(b"not a zip file")
    before = len(served.session.activity.entries)
    async with agent(served.socket) as client:
        await call_error(client, "install_packages", packages=[str(broken)])
    [started, failed] = entries_after(served, before)
    assert started[:2] == ("install_packages", None) and started[2].startswith("installing ")
    assert failed == ("install_packages", None, "failed: " + started[2][len("installing "):],
                      None)


def result_model(tool: str) -> type:
    """The result model a tool declares as its output schema."""
    [method] = [m for name, m, _ in declared_tools(AgentTools.__new__(AgentTools))
                if name == tool]
    return inspect.signature(method, eval_str=True).return_annotation.__metadata__[0]


async def rendered_call(client, tool: str, **arguments) -> dict:
    """Call a tool that must succeed and check that its text content is its result model's
    rendering of its structured content; returns the structured content."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    model = result_model(tool).model_validate(result.structured_content)
    assert result.content[0].text == model.render(), tool
    return result.structured_content


async def test_each_result_text_is_its_models_rendering(served, tmp_path):
    """Every tool's text content is what its result model renders from the structured
    content it sent, images sent before and edits with run included."""
    plot = ("import base64, IPython.display as d\n"
            "d.display(d.Image(base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAf"
            "FcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==')))")
    async with agent(served.socket) as client:
        revision = (await rendered_call(client, "get_notebook"))["revision"]
        first = await rendered_call(client, "insert_cell", source="y = 1")
        cell_id = first["cell"]["id"]
        await rendered_call(client, "insert_cell", source="# notes", cell_type="markdown")
        await rendered_call(client, "edit_cell", cell_id=cell_id, old_text="1", new_text="2")
        await rendered_call(client, "edit_cell", cell_id=cell_id, old_text="2", new_text="3",
                            run=True)
        await rendered_call(client, "edit_cell", cell_id=cell_id, source=plot, run=True)
        await rendered_call(client, "read_cells", cell_ids=[cell_id])  # the image again
        await rendered_call(client, "read_cells", start=0, max_chars=100)
        await rendered_call(client, "read_output", cell_id=cell_id, output_index=0)
        await rendered_call(client, "run_cells", cell_ids=[cell_id])
        run = await rendered_call(client, "run_code",
                                  code="import time; print('so far', flush=True); "
                                       "time.sleep(1)", timeout=0)
        await rendered_call(client, "wait", cell_ids=[run["run_id"]], timeout=60)
        await rendered_call(client, "wait", timeout=60)
        await rendered_call(client, "run_code", code="{}['missing']")
        await rendered_call(client, "list_variables", limit=1)
        await rendered_call(client, "changes_since", revision=revision)
        await rendered_call(client, "changes_since", revision=10**6)
        await rendered_call(client, "move_cell", cell_id=cell_id, index=0)
        await rendered_call(client, "interrupt_kernel")
        await rendered_call(client, "save_notebook")
        await rendered_call(client, "delete_cells", cell_ids=[cell_id])
        try:
            installed = await rendered_call(client, "install_packages",
                                            packages=[str(tiny_wheel(tmp_path))])
        finally:
            subprocess.run([sys.executable, "-m", "pip", "uninstall", "-y", "nbtui-tiny-pkg"],
                           capture_output=True, check=False)
        assert installed["installed"] == ["nbtui-tiny-pkg==0.1"]
        await rendered_call(client, "restart_kernel")
