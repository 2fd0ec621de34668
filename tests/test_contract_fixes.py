"""Contract fixes of the agent tools (issue 10), through the real socket with the official
client: policy applied before anything changes, run ids, scratch runs in changes_since,
install_packages results, read_cells' image budget and images sent once, structured errors
in every cell view, and the messages that said the wrong thing."""

from __future__ import annotations

import stat
import subprocess
import sys

import pytest

from nbtui.agent.packages import PackageError, installer_for
from nbtui.core.document import USER
from nbtui.core.policy import AgentPolicy
from tests.conftest import agent, call, call_error, serve_notebook
from tests.test_agent_tools import tiny_wheel
from tests.test_reply_budgets import png_output


async def test_declined_edit_with_run_changes_nothing(tmp_path):
    """edit_cell(run=true) that the human declines leaves the cell's source as it was."""
    asked = []

    async def decline(author: str, tool: str, code: str) -> bool:
        asked.append((tool, code))
        return False

    async with serve_notebook(tmp_path / "nb.ipynb", policy=AgentPolicy(approver=decline),
                              start_kernel=False) as served:
        cell = served.document.insert_cell("keep = 1", author=USER)
        revision = cell.revision
        async with agent(served.socket) as client:
            text = await call_error(client, "edit_cell", cell_id=cell.id, old_text="1",
                                    new_text="2", run=True)
    assert "declined" in text
    assert asked == [("edit_cell", "keep = 2")]  # the human saw the code that would run
    assert cell.source == "keep = 1" and cell.revision == revision


async def test_edit_access_refuses_edit_with_run_before_editing(tmp_path):
    """With access "edit", edit_cell(run=true) is refused and the source stays."""
    async with serve_notebook(tmp_path / "nb.ipynb", policy=AgentPolicy(access="edit"),
                              start_kernel=False) as served:
        cell = served.document.insert_cell("keep = 1", author=USER)
        async with agent(served.socket) as client:
            text = await call_error(client, "edit_cell", cell_id=cell.id, source="x = 2",
                                    run=True)
    assert "not allowed" in text and cell.source == "keep = 1"


async def test_activity_log_counts_lines_from_the_diff(served):
    """A one-line change is logged as one line added and one removed."""
    cell = served.document.insert_cell("a = 1\nb = 2", author=USER)
    async with agent(served.socket) as client:
        await call(client, "edit_cell", cell_id=cell.id, old_text="b = 2", new_text="b = 3")
    entry = [e for e in served.session.activity.entries if e.tool == "edit_cell"][-1]
    assert entry.summary == "1 line(s) added, 1 removed"


async def test_run_code_past_its_timeout_is_waited_for_by_run_id_after_reconnecting(served):
    """run_code that outlives its timeout returns a run id (and no "output so far" when there
    is none); wait(cell_ids=[run id]) from a new connection returns its whole result."""
    async with agent(served.socket) as client:
        first = await call(client, "run_code",
                           code="import time; time.sleep(1.5); print('finally done')",
                           timeout=0)
        run_id = first["run_id"]
    assert first["status"] in ("queued", "running") and run_id.startswith("run:")
    assert f'wait(cell_ids=["{run_id}"])' in first["hint"]
    assert "output so far" not in first["hint"]
    async with agent(served.socket) as client:
        later = await call(client, "wait", cell_ids=[run_id], timeout=60)
    [run] = later["scratch_runs"]
    assert run["run_id"] == run_id and run["status"] == "ok"
    assert run["outputs"][0]["text"] == "finally done\n"


async def test_unknown_run_id_is_refused(served):
    """wait with a run id nobody returned says where run ids come from."""
    async with agent(served.socket) as client:
        text = await call_error(client, "wait", cell_ids=["run:000000000000"])
    assert "run_code" in text


async def test_timeout_hint_mentions_output_so_far_only_when_there_is_some(served):
    """A run that printed before its timeout says its output so far is above; interrupting it
    names its run id."""
    code = "print('started', flush=True)\nimport time\nwhile True: time.sleep(0.05)"
    async with agent(served.socket) as client:
        first = await call(client, "run_code", code=code, timeout=5)
        stopped = await call(client, "interrupt_kernel")
        await call(client, "wait", timeout=30)
    assert first["outputs"] and "output so far" in first["hint"]
    assert stopped["stopped"] == [first["run_id"]]


async def test_scratch_runs_appear_in_changes_since(served):
    """changes_since lists an agent's run_code runs with their run id, author and status."""
    revision = served.document.revision
    async with agent(served.socket, name="scratcher") as client:
        run = await call(client, "run_code", code="scratch_value = 41 + 1")
    async with agent(served.socket, name="reader") as reader:
        data = await call(reader, "changes_since", revision=revision)
    runs = [c for c in data["changes"] if c.get("run_id") == run["run_id"]]
    assert runs and runs[0]["kind"] == "run_code" and runs[0]["author"] == "scratcher"
    assert runs[0]["status"] == "ok" and runs[0]["code"] == "scratch_value = 41 + 1"


async def test_install_packages_success_is_one_line_with_versions(served, tmp_path):
    """Installing a local wheel by its path says in one line what was installed, with its
    version, not pip's log."""
    wheel = tiny_wheel(tmp_path)
    async with agent(served.socket) as client:
        result = await client.call_tool("install_packages", {"packages": [str(wheel)]})
    data = result.structured_content
    try:
        assert not result.is_error, result.content[0].text
        assert data["installed"] == ["nbtui-tiny-pkg==0.1"] and data["installer"] == "pip"
        assert result.content[0].text == "Installed nbtui-tiny-pkg==0.1 with pip."
    finally:
        subprocess.run([data["python"] if data else sys.executable, "-m", "pip", "uninstall",
                        "-y", "nbtui-tiny-pkg"], capture_output=True, check=False)


async def test_install_packages_failure_is_an_error_with_pips_tail(served, tmp_path):
    """A failed install is an error result: one sentence and the end of pip's output."""
    empty = tmp_path / "not_a_project"
    empty.mkdir()
    async with agent(served.socket) as client:
        text = await call_error(client, "install_packages", packages=[str(empty)])
    first, _, tail = text.partition("\n")
    assert first.startswith("pip could not install") and str(empty) in first
    assert "not_a_project" in tail  # pip's own words about the folder


async def test_install_packages_refuses_options(served):
    """An option such as --index-url is refused before anything runs."""
    async with agent(served.socket) as client:
        text = await call_error(client, "install_packages",
                                packages=["--index-url=http://example.invalid", "numpy"])
    assert "options are not accepted" in text


async def test_no_pip_environment_uses_uv_or_says_why_not(tmp_path, monkeypatch):
    """An interpreter without pip is installed into with uv when uv is on PATH, and without
    uv the error says there is neither."""
    venv = tmp_path / "nopip"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(PackageError, match="has no pip, and uv is not installed"):
        await installer_for(python)
    uv = empty / "uv"
    uv.write_text("#!/bin/sh\nexit 0\n")
    uv.chmod(uv.stat().st_mode | stat.S_IXUSR)
    installer, command = await installer_for(python)
    assert installer == "uv" and command == [str(uv), "pip", "install", "--python", python]


async def test_read_cells_counts_images_against_max_chars_and_names_them(served):
    """read_cells within its default budget leaves out an image bigger than the budget and
    names the read_output call that sends it."""
    doc = served.document
    cell = doc.insert_cell("plot()", author=USER)
    doc.set_outputs(cell.id, [png_output(20_000)])
    async with agent(served.socket) as client:
        result = await client.call_tool("read_cells", {"cell_ids": [cell.id]})
    assert [c.type for c in result.content] == ["text"]
    note = result.structured_content["images_left_out"]
    assert f'read_output(cell_id="{cell.id}", output_index=0)' in note


async def test_images_are_sent_once_per_connection(served):
    """An image read twice on one connection is sent once (the second reply names the call
    that sends it again); read_output and a new connection send it again."""
    doc = served.document
    cell = doc.insert_cell("plot()", author=USER)
    doc.set_outputs(cell.id, [png_output(2_000)])
    read = {"cell_ids": [cell.id], "max_chars": 20_000}
    async with agent(served.socket) as client:
        first = await client.call_tool("read_cells", read)
        second = await client.call_tool("read_cells", read)
        again = await client.call_tool("read_output", {"cell_id": cell.id, "output_index": 0})
    async with agent(served.socket) as client:
        fresh = await client.call_tool("read_cells", read)
    kinds = [[c.type for c in r.content] for r in (first, second, again, fresh)]
    assert kinds == [["text", "image"], ["text"], ["text", "image"], ["text", "image"]]
    assert (f'read_output(cell_id="{cell.id}", output_index=0)'
            in second.structured_content["images_sent_before"])


async def test_every_cell_view_has_structured_errors(served):
    """insert_cell(run=true) of a raising cell gives its error output ename, evalue and a
    traceback, as run_code does."""
    async with agent(served.socket) as client:
        data = await call(client, "insert_cell", source="{}['nope']", run=True)
    [output] = data["cells"][0]["outputs"]
    assert output["ename"] == "KeyError" and output["evalue"] == "'nope'"
    assert "Cell In[" in output["traceback"] and "{}['nope']" in output["traceback"]


async def test_tracebacks_keep_notebook_frames_and_one_line_of_each_library_frame(served):
    """An error raised inside a library keeps the notebook's frame whole and each library
    frame as its location and running line, without the rule, header or repeated message."""
    async with agent(served.socket) as client:
        data = await call(client, "run_code",
                          code="import json\njson.loads('{not json')")
    traceback = data["outputs"][0]["traceback"]
    assert "Cell In[" in traceback and "json.loads('{not json')" in traceback
    assert "json/decoder.py" in traceback and "-----" not in traceback
    assert "Traceback (most recent call last)" not in traceback
    assert not traceback.rstrip().endswith(data["outputs"][0]["text"])
    assert data["error"]["traceback"] == traceback


async def test_get_notebook_without_a_human_says_so(served):
    """With no one at the terminal, get_notebook says so instead of "cell None"."""
    async with agent(served.socket) as client:
        result = await client.call_tool("get_notebook", {})
    text = result.content[0].text
    assert "no one is at the notebook's terminal" in text and "None" not in text


async def test_results_do_not_echo_the_source_the_agent_sent(served):
    """insert_cell's and edit_cell's results leave out the source the agent just sent."""
    source = "echo_check = 'a distinctive string'"
    async with agent(served.socket) as client:
        inserted = await client.call_tool("insert_cell", {"source": source})
        edited = await client.call_tool("edit_cell", {
            "cell_id": inserted.structured_content["cell"]["id"], "source": source + "  # 2"})
    for result in (inserted, edited):
        assert "distinctive" not in result.content[0].text
        assert "source" not in (result.structured_content.get("cell") or {})



async def test_edit_with_run_approved_while_the_human_changed_the_cell_is_a_conflict(tmp_path):
    """If the human edits the cell while deciding on an agent's edit_cell(run=true), the
    approved edit fails as a conflict and the human's text stays (nothing else runs)."""
    async def edit_then_approve(author: str, tool: str, code: str) -> bool:
        served.document.edit_cell(cell.id, "human = 'typed meanwhile'", author=USER)
        return True

    async with serve_notebook(tmp_path / "nb.ipynb",
                              policy=AgentPolicy(approver=edit_then_approve),
                              start_kernel=False) as served:
        cell = served.document.insert_cell("keep = 1", author=USER)
        async with agent(served.socket) as client:
            text = await call_error(client, "edit_cell", cell_id=cell.id, source="agent = 2",
                                    run=True)
    assert "human = 'typed meanwhile'" in text
    assert cell.source == "human = 'typed meanwhile'" and cell.execution_count is None
