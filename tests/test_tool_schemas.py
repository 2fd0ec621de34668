"""The tool layer's schemas, as a client reads them through the socket: every parameter
described, enums where a value is one of a few, an output schema per tool that its results
validate against, and a tools/list small enough to read before every conversation."""

from __future__ import annotations

import json

import jsonschema

from nbtui.core.document import USER
from tests.conftest import agent

TOOLS_LIST_MAX_BYTES = 12 * 1024


def listing(tools) -> str:
    """tools/list's tools as compact JSON, as they cross the socket."""
    return json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True)
                       for t in tools], separators=(",", ":"))


async def test_every_parameter_is_described_and_every_tool_has_a_title_and_output_schema(
        served):
    """Each tool has a title and an output schema, and each of its parameters a description."""
    async with agent(served.socket) as client:
        tools = (await client.list_tools()).tools
    assert len(tools) == 16
    for tool in tools:
        assert tool.title, tool.name
        assert tool.output_schema and tool.output_schema["type"] == "object", tool.name
        for name, schema in tool.input_schema.get("properties", {}).items():
            assert schema.get("description"), f"{tool.name}.{name} has no description"


async def test_cell_type_is_an_enum(served):
    """insert_cell's and edit_cell's cell_type list the three cell types as an enum."""
    async with agent(served.socket) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert tools["insert_cell"].input_schema["properties"]["cell_type"]["enum"] == [
        "code", "markdown", "raw"]
    options = tools["edit_cell"].input_schema["properties"]["cell_type"]["anyOf"]
    assert {"enum": ["code", "markdown", "raw"], "type": "string"} in options


async def test_tools_list_is_at_most_twelve_kilobytes(served):
    """The whole tools/list (names, descriptions, input and output schemas) is at most 12 KB."""
    async with agent(served.socket) as client:
        tools = (await client.list_tools()).tools
    size = len(listing(tools).encode())
    assert size <= TOOLS_LIST_MAX_BYTES, size


async def test_structured_content_of_every_tool_validates_against_its_output_schema(
        served, tmp_path):
    """A call of each tool (and the run, error and image variants) returns structured content
    valid against the tool's output schema."""
    doc = served.document
    cell = doc.insert_cell("1 + 1", author=USER)
    async with agent(served.socket) as client:
        schemas = {t.name: t.output_schema for t in (await client.list_tools()).tools}
        calls = [
            ("get_notebook", {}),
            ("insert_cell", {"source": "x_schema = 1"}),
            ("insert_cell", {"source": "{}['missing']", "run": True}),
            ("edit_cell", {"cell_id": cell.id, "old_text": "1 + 1", "new_text": "2 + 2"}),
            ("edit_cell", {"cell_id": cell.id, "source": "3 + 3", "run": True}),
            ("run_cells", {"cell_ids": [cell.id]}),
            ("read_cells", {"cell_ids": [cell.id]}),
            ("read_output", {"cell_id": cell.id, "output_index": 0}),
            ("wait", {}),
            ("run_code", {"code": "print('hi')"}),
            ("run_code", {"code": "1 / 0"}),
            ("list_variables", {}),
            ("changes_since", {"revision": 0}),
            ("move_cell", {"cell_id": cell.id, "index": 0}),
            ("save_notebook", {}),
            ("interrupt_kernel", {}),
        ]
        results = [(name, await client.call_tool(name, args)) for name, args in calls]
        moved = await client.call_tool("delete_cells", {"cell_ids": [cell.id]})
        results.append(("delete_cells", moved))
        results.append(("restart_kernel", await client.call_tool("restart_kernel", {})))
    covered = set()
    for name, result in results:
        assert not result.is_error, f"{name}: {result.content[0].text}"
        jsonschema.validate(result.structured_content, schemas[name])
        covered.add(name)
    assert covered == set(schemas) - {"install_packages"}  # tested in test_contract_fixes


async def test_access_mode_is_an_enum_in_the_overview_schema(served):
    """get_notebook's output schema lists the three access modes as an enum."""
    async with agent(served.socket) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    schema = tools["get_notebook"].output_schema
    access = schema["$defs"][schema["properties"]["access"]["$ref"].rsplit("/", 1)[1]]
    assert access["properties"]["mode"]["enum"] == ["read", "edit", "run"]
