"""Every reply stays within its stated budget, whatever the notebook or the arguments hold, and
says what it left out and which call reads it. Measured on the JSON that crosses the real
socket, against a real ipykernel."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from contextlib import asynccontextmanager

import mcp_types as types
import pytest

from nbtui.agent import server
from nbtui.core.document import USER
from nbtui.core.render import DEFAULT_MAX_CHARS
from tests.conftest import agent, call

TEN_MB = 10_000_000

SLACK = 1500
"""What a reply may carry beyond its budget: the notebook's header fields, a note on what was
left out, JSON quoting. Fixed: it does not grow with the notebook or the arguments."""


def reply_size(result: types.CallToolResult) -> int:
    """Bytes of the result as it crosses the socket."""
    return len(result.model_dump_json(by_alias=True, exclude_none=True).encode())


def assert_within(result: types.CallToolResult, budget: int) -> str:
    """The text and the structured content each stay within the budget plus SLACK (the reply
    carries the content twice); returns the text."""
    text = result.content[0].text
    structured = json.dumps(result.structured_content or {}, ensure_ascii=False)
    assert len(text) <= budget + SLACK, len(text)
    assert len(structured) <= budget + SLACK, len(structured)
    images = sum(len(c.data) for c in result.content if c.type == "image")
    assert reply_size(result) <= 2 * (budget + SLACK) + images + 1000, reply_size(result)
    return text


async def tool(client, name: str, **arguments) -> types.CallToolResult:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content[0].text[:300]
    return result


@asynccontextmanager
async def raw_session(socket_path: str):
    """A bare JSON-RPC connection that has said hello (for what the mcp client cannot send)."""
    reader, writer = await asyncio.open_unix_connection(socket_path, limit=64 * 1024 * 1024)
    hello = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}}
    writer.write(json.dumps(hello).encode() + b"\n")
    await writer.drain()
    await asyncio.wait_for(reader.readline(), 30)
    writer.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')

    async def ask(line: bytes) -> bytes:
        writer.write(line + b"\n")
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), 60)

    try:
        yield ask
    finally:
        writer.close()


def png_output(size: int) -> dict:
    """A display output holding a PNG-signed image of about `size` bytes."""
    raw = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (size // 256)
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(raw).decode(), "text/plain": "<Figure>"}}


def stream(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


@pytest.fixture
async def clean(served):
    """Cells a test adds are removed afterwards, so the shared notebook stays small."""
    before = {c.id for c in served.document.cells}
    yield served
    added = [c.id for c in served.document.cells if c.id not in before]
    if added:
        served.document.delete_cells(added)


# -- item 5: errors --------------------------------------------------------------------------


async def test_errors_quote_a_ten_megabyte_argument_in_a_short_excerpt(clean):
    """A 10 MB argument is quoted back in a short excerpt that gives its length, by tool
    errors, by the SDK's own errors and by a revision conflict."""
    big = "x" * TEN_MB
    cell = clean.document.insert_cell("y" * TEN_MB, author=USER)
    async with agent(clean.socket) as client:
        for name, args in [("read_cells", {"cell_ids": [big]}),
                           ("insert_cell", {"source": "", "cell_type": big}),
                           ("install_packages", {"packages": ["-" + big]}),
                           ("edit_cell", {"cell_id": cell.id, "source": big, "if_revision": 0}),
                           (big, {})]:
            result = await client.call_tool(name, args)
            assert result.is_error
            assert reply_size(result) < 10_000, reply_size(result)
            text = result.content[0].text
            if name == "insert_cell":  # refused by the schema's enum, which names the values
                assert "'code', 'markdown' or 'raw'" in text and big[:100] not in text
                continue
            assert re.search(r"\(10,000,00\d characters\)", text) or "read_cells" in text, text
    assert cell.source == "y" * TEN_MB
    async with raw_session(clean.socket) as ask:
        unknown = json.dumps({"jsonrpc": "2.0", "id": 5, "method": big, "params": {}})
        reply = await ask(unknown.encode())
        resource = json.dumps({"jsonrpc": "2.0", "id": 6, "method": "resources/read",
                               "params": {"uri": "nbtui://" + big}})
        second = await ask(resource.encode())
        # Every reply echoes its request's id, so a huge id is refused rather than echoed.
        long_id = json.dumps({"jsonrpc": "2.0", "id": big, "method": "tools/list"})
        third = await ask(long_id.encode())
        broken = json.dumps({"jsonrpc": "2.0", "id": big, "metho": "tools/list"})
        fourth = await ask(broken.encode())
    for line in (reply, second, third, fourth):
        assert len(line) < 1000, line[:300]
        assert json.loads(line)["error"]["code"] < 0
    assert json.loads(third)["id"] is None and json.loads(fourth)["id"] is None


# -- item 5: the overview --------------------------------------------------------------------


async def test_overview_of_a_ten_megabyte_line_stays_within_its_budget(clean):
    """One 10 MB line gives a preview cut per cell; many long cells give a page within the
    overview's budget whose next_start reads on."""
    doc = clean.document
    huge = doc.insert_cell("# " + "x" * TEN_MB, author=USER)
    for _ in range(300):
        doc.insert_cell("\n".join("z" * 300 for _ in range(40)), author=USER)
    start = doc.index_of(huge.id)
    async with agent(clean.socket) as client:
        one = await tool(client, "get_notebook", start=start, limit=1)
        page = await tool(client, "get_notebook", start=start, limit=1000, preview_lines=1000)
        data = page.structured_content
        following = await call(client, "get_notebook", start=data["next_start"], limit=1)
    assert_within(one, server.OVERVIEW_MAX_CHARS)
    first = one.structured_content["cells"][0]
    assert first["preview_truncated"] and len(first["preview"]) <= server.PREVIEW_MAX_CHARS + 1
    assert "read_cells" in one.content[0].text
    text = assert_within(page, server.OVERVIEW_MAX_CHARS)
    assert start < data["next_start"] < len(doc)
    assert f"get_notebook(start={data['next_start']})" in text
    assert following["cells"][0]["index"] == data["next_start"]


# -- item 5: read_cells ----------------------------------------------------------------------


async def test_read_cells_over_five_thousand_cells_stays_within_max_chars(clean):
    """read_cells() over 5000 cells with outputs stays within max_chars, and names the call
    that reads the cells it left out, which carries on where it stopped."""
    doc = clean.document
    first = len(doc)
    for i in range(5000):
        cell = doc.insert_cell(f"print({i})\n" + "# note\n" * 20, author=USER)
        doc.set_outputs(cell.id, [stream(f"{i}\n" * 100)])
    async with agent(clean.socket) as client:
        for budget in (DEFAULT_MAX_CHARS, 30_000):
            result = await tool(client, "read_cells", start=first, max_chars=budget)
            text = assert_within(result, budget)
            data = result.structured_content
            shown = len(data["cells"])
            assert 0 < shown < 5000
            assert f"read_cells(start={first + shown})" in text
            assert f"{5000 - shown} more cell(s) left out" in data["cells_left_out"]
        rest = await call(client, "read_cells", start=first + shown)
        by_ids = await tool(client, "read_cells", cell_ids=[c.id for c in doc.cells[first:]])
    assert rest["cells"][0]["index"] == first + shown
    assert_within(by_ids, DEFAULT_MAX_CHARS)
    assert 'read_cells(cell_ids=["' in by_ids.structured_content["cells_left_out"]


async def test_a_cell_bigger_than_the_budget_is_cut_and_says_how_to_read_it(clean):
    """A 10 MB source read with the default budget comes back cut, naming the read_cells call
    that shows all of it."""
    cell = clean.document.insert_cell("s = '" + "q" * TEN_MB + "'", author=USER)
    clean.document.set_outputs(cell.id, [stream("out\n" * 1_000_000)] * 3)
    async with agent(clean.socket) as client:
        result = await tool(client, "read_cells", cell_ids=[cell.id])
    text = assert_within(result, DEFAULT_MAX_CHARS)
    view = result.structured_content["cells"][0]
    assert view["source_truncated"]
    match = re.search(r'read_cells\(cell_ids=\["(\w+)"\], include_outputs=false, '
                      r'max_chars=(\d+)\) shows all of it', text)
    assert match and match.group(1) == cell.id and int(match.group(2)) > TEN_MB
    assert view["outputs"] and "read_output" in text


async def test_images_past_the_image_budget_are_left_out_and_read_one_by_one(clean):
    """Images count against read_cells' max_chars: those beyond it are left out and named,
    and read_output brings each."""
    doc = clean.document
    cells = []
    for _ in range(12):
        cell = doc.insert_cell("plot()", author=USER)
        doc.set_outputs(cell.id, [png_output(600_000)])
        cells.append(cell)
    async with agent(clean.socket) as client:
        result = await tool(client, "read_cells", cell_ids=[c.id for c in cells],
                            max_chars=100_000)
        last = await tool(client, "read_output", cell_id=cells[-1].id, output_index=0)
    images = [c for c in result.content if c.type == "image"]
    assert len(images) < 12
    assert sum(len(i.data) for i in images) <= 100_000
    assert_within(result, 100_000)
    note = result.structured_content["images_left_out"]
    assert f'read_output(cell_id="{cells[-1].id}", output_index=0)' in note
    assert [c.type for c in last.content] == ["text", "image"]


# -- item 5: the other tools -----------------------------------------------------------------


async def test_changes_since_over_a_big_range_pages_by_revision(clean):
    """changes_since over hundreds of large edits stays within its budget and says which
    revision to ask from next; asking from there carries on."""
    doc = clean.document
    cell = doc.insert_cell("start", author=USER)
    start = doc.revision
    for i in range(300):
        doc.edit_cell(cell.id, f"{i}\n" + "w" * 5000, author="claude")
    async with agent(clean.socket) as client:
        result = await tool(client, "changes_since", revision=start)
        data = result.structured_content
        following = await call(client, "changes_since", revision=data["next_revision"])
    text = assert_within(result, DEFAULT_MAX_CHARS)
    assert f"changes_since(revision={data['next_revision']})" in text
    assert following["changes"][0]["revision"] == data["next_revision"] + 1


async def test_run_code_with_many_and_huge_outputs_stays_within_its_budget(clean):
    """A scratch run with 5000 displays, and one raising a 10 MB message, stay within the
    budget and say what was left out."""
    async with agent(clean.socket) as client:
        many = await tool(client, "run_code",
                          code="for i in range(5000): display(i)", timeout=120)
        raising = await tool(client, "run_code", code=f"raise ValueError('e' * {TEN_MB})")
    text = assert_within(many, DEFAULT_MAX_CHARS)
    assert "left out" in text and "print less" in text
    assert_within(raising, DEFAULT_MAX_CHARS)
    assert raising.structured_content["error"]["ename"] == "ValueError"


async def test_list_variables_with_long_names_stays_within_its_budget(clean):
    """Hundreds of variables with long names and wide frames are listed within the budget,
    saying that more were left out."""
    async with agent(clean.socket) as client:
        await call(client, "run_code", code=(
            "for _i in range(400): globals()['v' * 300 + str(_i)] = 'x' * 100_000"))
        result = await tool(client, "list_variables", limit=100_000)
        await call(client, "run_code", code=(
            "for _n in [n for n in globals() if n.startswith('vvv')]: del globals()[_n]"))
    text = assert_within(result, DEFAULT_MAX_CHARS)
    assert "left out" in text and 0 < len(result.structured_content["variables"]) < 400


async def test_run_cells_all_and_delete_cells_stay_within_their_budget(clean):
    """run_cells(all) over hundreds of cells, deleting them, and interrupting a long queue
    stay within the budget and name what they left out."""
    doc = clean.document
    cells = [doc.insert_cell("print('r' * 2000)\n# " + "c" * 3000, author=USER)
             for _ in range(200)]
    async with agent(clean.socket) as client:
        ran = await tool(client, "run_cells", all=True, timeout=120)
        queued = [doc.insert_cell("import time; time.sleep(30)", author=USER).id
                  for _ in range(60)]
        await tool(client, "run_cells", cell_ids=queued, timeout=0)
        interrupted = await tool(client, "interrupt_kernel")
        deleted = await tool(client, "delete_cells", cell_ids=[c.id for c in cells] + queued)
    text = assert_within(ran, DEFAULT_MAX_CHARS)
    assert 'read_cells(cell_ids=["' in text and "left out" in text
    assert_within(interrupted, DEFAULT_MAX_CHARS)
    assert interrupted.structured_content["dequeued_count"] >= 58
    text = assert_within(deleted, DEFAULT_MAX_CHARS)
    assert "changes_since(revision=" in text


async def test_editing_and_inserting_megabytes_reply_within_the_budget(clean):
    """insert_cell and edit_cell with a 5 MB source answer within the budget, the diff cut."""
    async with agent(clean.socket) as client:
        inserted = await tool(client, "insert_cell", source="a" * 5_000_000)
        cell_id = inserted.structured_content["cell"]["id"]
        edited = await tool(client, "edit_cell", cell_id=cell_id,
                            source="\n".join(["b" * 50] * 100_000))
    assert_within(inserted, DEFAULT_MAX_CHARS)
    assert_within(edited, DEFAULT_MAX_CHARS)
    assert clean.document.get(cell_id).source.startswith("b" * 50 + "\n")


# -- item 12: timeouts -----------------------------------------------------------------------


async def test_nan_infinite_and_negative_timeouts_are_refused_in_one_sentence(clean):
    """NaN, infinity and a negative timeout are refused by every tool that waits, with one
    sentence, and nothing is inserted or changed."""
    cell = clean.document.insert_cell("1 + 1", author=USER)
    cells_before = len(clean.document)
    calls = [("wait", {}), ("run_code", {"code": "1"}), ("run_cells", {"cell_ids": [cell.id]}),
             ("insert_cell", {"source": "2", "run": True}),
             ("edit_cell", {"cell_id": cell.id, "source": "3", "run": True})]
    async with raw_session(clean.socket) as ask:
        for literal in ("NaN", "Infinity", "-Infinity", "1e999", "-1"):
            for number, (name, arguments) in enumerate(calls):
                request = {"jsonrpc": "2.0", "id": number + 1, "method": "tools/call",
                           "params": {"name": name, "arguments": {**arguments, "timeout": "T"}}}
                line = json.dumps(request).replace('"T"', literal)
                reply = json.loads(await ask(line.encode()))
                result = reply["result"]
                text = result["content"][0]["text"]
                assert result["isError"], (name, literal, text)
                assert text.startswith("timeout must be a finite number of seconds"), text
                assert "\n" not in text and len(text) < 200
    assert len(clean.document) == cells_before and cell.source == "1 + 1"
