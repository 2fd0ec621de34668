"""One test for each reach into the MCP SDK's private API (nbtui/agent/mcp_private.py): when
an upgrade of the SDK moves one of them, the test that names it fails."""

from __future__ import annotations

import anyio
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import MCPServer

from nbtui.agent import mcp_private
from tests.tui.test_textual_private import imports_in_nbtui, is_private


async def test_context_streams_carry_messages_from_sender_to_receiver():
    """create_context_streams makes a (send, receive) pair with a buffer, as the SDK's
    transports hand its sessions."""
    send, receive = mcp_private.create_context_streams[str](1)
    async with send, receive:
        await send.send("hello")
        with anyio.fail_after(5):
            assert await receive.receive() == "hello"


def test_lowlevel_server_is_the_server_mcpserver_runs_on():
    """lowlevel_server gives MCPServer's low-level Server, with the middleware list and the
    request handlers nbtui adds to."""
    server = MCPServer("probe")
    lowlevel = mcp_private.lowlevel_server(server)
    assert isinstance(lowlevel, Server)
    assert isinstance(lowlevel.middleware, list)
    assert callable(lowlevel.add_request_handler)


def test_registered_tool_is_the_tool_with_its_schemas():
    """registered_tool finds a tool by name with its parameters and output schema, and gives
    None for a name nobody registered."""
    server = MCPServer("probe")

    def double(n: int) -> int:
        """Twice n."""
        return 2 * n

    server.add_tool(double, name="double", structured_output=True)
    tool = mcp_private.registered_tool(server, "double")
    assert tool.parameters["properties"]["n"]["type"] == "integer"
    assert tool.fn_metadata.output_schema is not None
    assert mcp_private.registered_tool(server, "missing") is None


def test_no_other_module_imports_a_private_module_of_the_sdk():
    """Only mcp_private imports the MCP SDK's private modules and names."""
    offenders = [(path, name) for path, name in imports_in_nbtui("mcp_private.py")
                 if is_private(name, ("mcp", "mcp_types"))]
    assert offenders == []
