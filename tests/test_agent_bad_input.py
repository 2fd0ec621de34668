"""Bad input from agents gets one clear error, and the session carries on for everyone."""

from __future__ import annotations

import asyncio
import json

import pytest

from nbtui.core.document import USER
from tests.conftest import agent, call, call_error, poll


async def still_works(served) -> None:
    """The session answers a fresh agent and runs code after the bad input."""
    async with agent(served.socket, name="checker") as client:
        data = await call(client, "run_code", code="40 + 2")
    assert data["outputs"][0]["text"] == "42"


def one_sentence(text: str) -> None:
    assert "Traceback" not in text and "\n" not in text.strip(), text
    assert len(text) < 400, text


async def test_unknown_cell_id(served):
    """An unknown cell id is refused with a sentence that says how to find the right ids."""
    async with agent(served.socket) as client:
        for tool, args in [("read_cells", {"cell_ids": ["nope"]}),
                           ("edit_cell", {"cell_id": "nope", "source": "x"}),
                           ("delete_cells", {"cell_ids": ["nope"]}),
                           ("move_cell", {"cell_id": "nope", "index": 0}),
                           ("run_cells", {"cell_ids": ["nope"]}),
                           ("read_output", {"cell_id": "nope", "output_index": 0})]:
            text = await call_error(client, tool, **args)
            assert "No cell has id 'nope'" in text and "get_notebook" in text
            one_sentence(text)
    await still_works(served)


async def test_stale_if_revision_conflict_shows_current_source(served):
    """A stale if_revision fails with a conflict that includes the current source; nothing
    changes."""
    cell = served.document.insert_cell("original", author=USER)
    seen = cell.revision
    served.document.edit_cell(cell.id, "changed by the user", author=USER)
    async with agent(served.socket) as client:
        text = await call_error(client, "edit_cell", cell_id=cell.id, source="agent version",
                                if_revision=seen)
    assert "changed since revision" in text and "changed by the user" in text
    assert cell.source == "changed by the user"
    await still_works(served)


async def test_old_text_absent_or_ambiguous(served):
    """old_text that is missing, or found twice without replace_all, is refused."""
    cell = served.document.insert_cell("a = 1\na = 1\n", author=USER)
    async with agent(served.socket) as client:
        missing = await call_error(client, "edit_cell", cell_id=cell.id, old_text="b = 2",
                                   new_text="b = 3")
        twice = await call_error(client, "edit_cell", cell_id=cell.id, old_text="a = 1",
                                 new_text="a = 2")
        await call(client, "edit_cell", cell_id=cell.id, old_text="a = 1", new_text="a = 2",
                   replace_all=True)
    assert "not found" in missing
    assert "occurs 2 times" in twice and "replace_all" in twice
    one_sentence(missing)
    assert cell.source == "a = 2\na = 2\n"


async def test_invalid_cell_type(served):
    """An unknown cell_type is refused naming the valid ones (the schema's enum)."""
    async with agent(served.socket) as client:
        text = await call_error(client, "insert_cell", source="x", cell_type="python")
    assert "'code', 'markdown' or 'raw'" in text
    one_sentence(text)


async def test_wrong_argument_types_read_as_one_sentence(served):
    """Arguments of the wrong type get one readable sentence, not a validation report."""
    async with agent(served.socket) as client:
        text = await call_error(client, "read_output", cell_id="x", output_index="first")
    assert text.startswith("Invalid arguments for read_output: output_index")
    one_sentence(text)


async def test_package_string_that_is_not_a_requirement(served):
    """install_packages refuses options and things that are not requirement strings."""
    async with agent(served.socket) as client:
        for bad in (["--index-url=http://evil.example/simple", "x"], ["not a requirement!!"],
                    ["-r requirements.txt"]):
            text = await call_error(client, "install_packages", packages=bad)
            assert "not a requirement string" in text
            one_sentence(text)
    await still_works(served)


async def test_ten_megabyte_source(served):
    """A 10 MB source is stored and read back cut to the budget; the session stays responsive."""
    huge = "# " + "x" * (10 * 1024 * 1024)
    async with agent(served.socket) as client:
        data = await call(client, "insert_cell", source=huge, cell_type="raw")
        overview = await call(client, "get_notebook", start=data["cell"]["index"], limit=1)
    assert served.document.get(data["cell"]["id"]).source == huge
    preview = overview["cells"][0]
    assert preview["preview_truncated"] and len(preview["preview"]) <= 1001
    served.document.delete_cells([data["cell"]["id"]])
    await still_works(served)


async def test_garbage_bytes_and_malformed_json_rpc_on_the_raw_socket(served):
    """Garbage and malformed JSON-RPC get JSON-RPC errors on the same connection, which then
    still works."""
    reader, writer = await asyncio.open_unix_connection(served.socket)
    try:
        writer.write(b"\x00\xff\xfe garbage\n")
        writer.write(b'{"jsonrpc": "2.0", "id": 7, "metho": "tools/list"}\n')
        writer.write(b"[1, 2\n")
        await writer.drain()
        replies = [json.loads(await asyncio.wait_for(reader.readline(), 10)) for _ in range(3)]
        assert [r["error"]["code"] for r in replies] == [-32700, -32600, -32700]
        assert replies[1]["id"] == 7
        hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}}
        writer.write(json.dumps(hello).encode() + b"\n")
        await writer.drain()
        reply = json.loads(await asyncio.wait_for(reader.readline(), 10))
        assert reply["id"] == 1 and reply["result"]["serverInfo"]["name"] == "nbtui"
    finally:
        writer.close()
    await still_works(served)


async def test_client_disconnecting_mid_run_cells(served):
    """A client that disconnects in the middle of run_cells leaves the run going and the
    session working."""
    cell = served.document.insert_cell("import time; time.sleep(1); left_behind = 'ran'",
                                       author=USER)
    async with agent(served.socket, name="leaver") as client:
        task = asyncio.create_task(client.call_tool("run_cells", {"cell_ids": [cell.id]}))
        await poll(lambda: cell.status == "running", message="the cell to start")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await poll(lambda: cell.status == "ok", message="the abandoned run to finish")
    async with agent(served.socket, name="checker") as client:
        data = await call(client, "run_code", code="left_behind")
    assert data["outputs"][0]["text"] == "'ran'"
    await poll(lambda: "leaver" not in served.session.agent_names(),
               message="the leaver to be detached")
