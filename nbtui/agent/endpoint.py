"""The agent endpoint of a session: the MCP server on the session's unix socket."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import mcp_types as types

from nbtui.agent.mcp_private import lowlevel_server
from nbtui.agent.server import AgentTools, ResourceUpdates, build_server
from nbtui.agent.sessions import SessionLock, default_socket_path
from nbtui.agent.transport import AgentConnection, SocketServer, current_connection, socket_streams
from nbtui.core.session import NotebookSession

log = logging.getLogger(__name__)


def _client_name(message: Any) -> str | None:
    """The clientInfo name an incoming message carries (initialize, or a modern request's
    `_meta`), if any."""
    root = getattr(message, "root", message)
    params = getattr(root, "params", None)
    if not isinstance(params, dict):
        return None
    info = params.get("clientInfo") if getattr(root, "method", None) == "initialize" else None
    if info is None:
        meta = params.get("_meta")
        info = meta.get(types.CLIENT_INFO_META_KEY) if isinstance(meta, dict) else None
    if isinstance(info, dict) and isinstance(info.get("name"), str) and info["name"].strip():
        return info["name"].strip()[:64]
    return None


class AgentEndpoint:
    """Serves the session's MCP tools on a unix socket and keeps the session record current.

    Args:
        session: the notebook session.
        socket_path: where to listen (default: derived from the notebook's path).
    """

    def __init__(self, session: NotebookSession, socket_path: str | None = None) -> None:
        self.session = session
        self.socket_path = socket_path or default_socket_path(session.path)
        self.tools = AgentTools(session)
        self.server = build_server(self.tools)
        self.updates = ResourceUpdates(self.server, session.document)
        self._socket = SocketServer(self.socket_path, self._serve_connection)
        self.lock: SessionLock | None = None

    async def start(self, lock: SessionLock) -> None:
        """Listen on the socket and publish it in the session record."""
        self.lock = lock
        await self._socket.start()
        self.session.socket_path = self.socket_path
        self.session.on_agents_changed(lambda: lock.write(self.session.agent_names()))

    async def close(self) -> None:
        """Stop serving; connected agents are disconnected."""
        self.updates.close()
        await self._socket.close()

    async def _serve_connection(self, connection: AgentConnection, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        def on_message(message: Any) -> None:
            name = _client_name(message)
            if name and name != connection.name:
                connection.name = name
                self.session.agent_attached(connection.id, name)

        current_connection.set(connection)
        lowlevel = lowlevel_server(self.server)
        try:
            async with socket_streams(reader, writer, on_message=on_message,
                                      label=f"agent connection {connection.id}",
                                      answer_after_eof=True) as (rd, wr):
                await lowlevel.run(rd, wr, lowlevel.create_initialization_options())
        finally:
            self.session.agent_detached(connection.id)
