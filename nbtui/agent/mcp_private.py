"""Every place nbtui reaches into the MCP SDK's private API, in one module.

The SDK is pinned exactly (pyproject.toml) because of what is here; tests/
test_mcp_private.py has a test for each name.

- :func:`create_context_streams`: the memory streams the SDK's own transports hand its
  sessions (the unix socket transport makes the same);
- :func:`lowlevel_server`: MCPServer's low-level server, to run it on a connection, add
  middleware and request handlers (resource subscriptions);
- :func:`registered_tool`: a tool as MCPServer registered it, to compact its schemas.
"""

from __future__ import annotations

from typing import Any

from mcp.server.lowlevel import Server
from mcp.server.mcpserver import MCPServer
from mcp.shared._context_streams import create_context_streams

__all__ = ["create_context_streams", "lowlevel_server", "registered_tool"]


def lowlevel_server(server: MCPServer) -> Server[Any]:
    """The low-level server an MCPServer runs on."""
    return server._lowlevel_server


def registered_tool(server: MCPServer, name: str) -> Any | None:
    """The tool registered under `name` (its schemas, metadata and function), or None."""
    return server._tool_manager.get_tool(name)
