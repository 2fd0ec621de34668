"""MCP over a unix socket: newline-delimited JSON-RPC, one server session per connection.

The framing is MCP's stdio framing, so `nbtui attach` is a plain byte pipe between an agent's
stdio and the socket. The server side checks the peer's credentials (Linux `SO_PEERCRED`) on
top of the socket's 0600 mode: only the user who owns the session can talk to it.

A client that does not read its replies is not read from either once they pile up past
UNREAD_PAUSE_BYTES (every write waits for that), so it cannot grow the session's memory; it is
disconnected once it has read nothing of them for STALL_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import anyio
import mcp_types as types
from mcp.shared.message import SessionMessage

from nbtui.agent.mcp_private import create_context_streams
from nbtui.agent.sessions import free_socket_path, peer_credentials

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""A JSON-RPC message longer than this is dropped with an error instead of being buffered."""

READ_CHUNK = 256 * 1024

UNREAD_PAUSE_BYTES = 1024 * 1024
"""While more of a client's replies than this wait unread, nothing more is read from it."""

STALL_SECONDS = 60.0
"""A client that reads none of its waiting replies for this long is disconnected."""

MAX_ID_CHARS = 200
"""A request id longer than this is refused: every reply echoes its id, so a huge id would make
a huge reply."""

PARSE_ERROR = -32700
INVALID_REQUEST = -32600

LONG_ID = f"Invalid request: its id is longer than {MAX_ID_CHARS} characters."


def _diagnose(line: bytes) -> tuple[int, str, object]:
    """The JSON-RPC error for a line that is not a valid message: (code, message, id)."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        return PARSE_ERROR, f"Parse error: the message is not valid JSON ({exc}).", None
    request_id = data.get("id") if isinstance(data, dict) else None
    if (not isinstance(request_id, str | int) or isinstance(request_id, bool)
            or _too_long(request_id)):
        request_id = None
    return (INVALID_REQUEST, "Invalid request: not a JSON-RPC 2.0 message "
            "(it needs jsonrpc \"2.0\" and a method or a result).", request_id)


def _too_long(request_id: object) -> bool:
    return isinstance(request_id, str) and len(request_id) > MAX_ID_CHARS


class MessageTooLarge(ValueError):
    """A line on the socket was longer than MAX_MESSAGE_BYTES."""


@dataclass(eq=False)
class AgentConnection:
    """One client connected to the socket."""

    id: int
    pid: int | None
    uid: int | None
    name: str | None = None
    """The client's `clientInfo.name`, once it has said hello."""
    version: str | None = None

    @property
    def display_name(self) -> str:
        """The name changes are attributed to."""
        return self.name or f"agent-{self.id}"


current_connection: contextvars.ContextVar[AgentConnection | None] = contextvars.ContextVar(
    "nbtui_current_connection", default=None
)
"""The connection a request arrived on (set for the handlers of that connection's requests)."""


async def _read_lines(reader: asyncio.StreamReader) -> AsyncIterator[bytes | MessageTooLarge]:
    """Yield complete lines; a line over the size limit yields MessageTooLarge and is skipped."""
    buffer = bytearray()
    skipping = False
    while True:
        chunk = await reader.read(READ_CHUNK)
        if not chunk:
            if buffer.strip() and not skipping:
                yield bytes(buffer)
            return
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            if newline < 0:
                if not skipping:
                    buffer += chunk[start:]
                    if len(buffer) > MAX_MESSAGE_BYTES:
                        buffer.clear()
                        skipping = True
                        yield MessageTooLarge(
                            f"A message was longer than {MAX_MESSAGE_BYTES // (1024 * 1024)} MiB "
                            "and was dropped."
                        )
                break
            if skipping:
                skipping = False
            else:
                buffer += chunk[start:newline]
                if buffer.strip():
                    yield bytes(buffer)
            buffer.clear()
            start = newline + 1


@asynccontextmanager
async def socket_streams(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    on_message: Callable[[types.JSONRPCMessage], None] | None = None,
    label: str = "the connection",
    answer_after_eof: bool = False,
) -> AsyncIterator[tuple[object, object]]:
    """MCP read/write streams over a connected socket's asyncio streams.

    Every write waits while the peer has more than UNREAD_PAUSE_BYTES unread, and nothing more
    is read from it meanwhile. What went wrong with the peer (invalid messages, a reset, being
    disconnected for not reading) is logged in one line when the streams close.

    Args:
        reader: the socket's reader.
        writer: the socket's writer.
        on_message: called with each incoming message before it is handed on (used to learn
            the client's name from `initialize`).
        label: names the peer in the log.
        answer_after_eof: keep the incoming stream open after the peer has finished sending
            until each of its requests is answered (a server's side: a client that sends a
            run and closes its end, `echo ... | nbtui attach`, still gets the result).

    Yields:
        (read_stream, write_stream) as the MCP SDK's sessions expect them.
    """
    read_send, read_recv = create_context_streams[SessionMessage | Exception](16)
    write_send, write_recv = create_context_streams[SessionMessage](16)
    transport = writer.transport
    transport.set_write_buffer_limits(high=UNREAD_PAUSE_BYTES)
    invalid_messages = 0
    troubles: list[str] = []
    dropped = False
    unanswered: set[object] = set()
    all_answered = asyncio.Event()
    all_answered.set()

    async def wait_for_peer() -> None:
        nonlocal dropped
        unread = transport.get_write_buffer_size()
        while not dropped:
            with anyio.move_on_after(STALL_SECONDS) as waiting:
                try:
                    await writer.drain()
                except ConnectionError:
                    return  # The peer is gone; the reading side ends with it.
            if not waiting.cancelled_caught:
                return
            if transport.get_write_buffer_size() >= unread:
                dropped = True
                troubles.append(f"disconnected because it read none of its replies for "
                                f"{STALL_SECONDS:.0f} s")
                transport.abort()
            unread = transport.get_write_buffer_size()

    async def send(data: bytes) -> None:
        # Writing to a lost connection would only make asyncio log a warning per write.
        if not transport.is_closing():
            writer.write(data)
            await wait_for_peer()

    async def reply_error(code: int, message: str, request_id: object = None) -> None:
        # Written directly: the SDK drops unparseable input silently, which leaves a client
        # that sent it waiting forever.
        nonlocal invalid_messages
        invalid_messages += 1
        error = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
        await send(json.dumps(error).encode() + b"\n")

    def expect_answer(message: types.JSONRPCMessage) -> None:
        if isinstance(message, types.JSONRPCRequest):
            unanswered.add(message.id)
            all_answered.clear()
        elif (isinstance(message, types.JSONRPCNotification)
              and message.method == "notifications/cancelled"):
            # A cancelled request gets no answer.
            unanswered.discard((message.params or {}).get("requestId"))
            if not unanswered:
                all_answered.set()

    async def pump_in() -> None:
        async with read_send:
            try:
                async for line in _read_lines(reader):
                    if isinstance(line, Exception):
                        await reply_error(INVALID_REQUEST, str(line))
                        continue
                    try:
                        message = types.jsonrpc_message_adapter.validate_json(line,
                                                                              by_name=False)
                    except Exception:  # noqa: BLE001 - malformed input is data, not a crash
                        await reply_error(*_diagnose(line))
                        continue
                    if _too_long(getattr(message, "id", None)):
                        await reply_error(INVALID_REQUEST, LONG_ID)
                        continue
                    if on_message is not None:
                        on_message(message)
                    if answer_after_eof:
                        expect_answer(message)
                    await wait_for_peer()
                    await read_send.send(SessionMessage(message))
            except ConnectionError:
                troubles.append("reset the connection")
                return
            # Each request is bounded by its own timeout; a peer that left entirely makes the
            # answers' writes fail, which counts them as answered all the same.
            await all_answered.wait()

    async def pump_out() -> None:
        async with write_recv:
            async for session_message in write_recv:
                message = session_message.message
                data = message.model_dump_json(by_alias=True, exclude_unset=True)
                await send(data.encode() + b"\n")
                if (unanswered and isinstance(message, types.JSONRPCResponse | types.JSONRPCError)
                        and message.id in unanswered):
                    unanswered.discard(message.id)
                    if not unanswered:
                        all_answered.set()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(pump_in)
            tg.start_soon(pump_out)
            try:
                yield read_recv, write_send
            finally:
                tg.cancel_scope.cancel()
    finally:
        if invalid_messages:
            troubles.insert(0, f"sent {invalid_messages} invalid message(s), each answered "
                               "with an error")
        if troubles:
            log.log(logging.WARNING if dropped else logging.INFO, "%s: %s", label,
                    "; ".join(troubles))


ConnectionHandler = Callable[[AgentConnection, asyncio.StreamReader, asyncio.StreamWriter],
                             Awaitable[None]]


class SocketServer:
    """Accepts connections on a unix socket that only its owner can use.

    Args:
        path: where to bind; only a stale socket of this user's may be there already (it is
            replaced).
        handler: serves one connection until it closes.
    """

    def __init__(self, path: str, handler: ConnectionHandler) -> None:
        self.path = path
        self._handler = handler
        self._server: asyncio.base_events.Server | None = None
        self._next_id = 0
        self._connections: dict[asyncio.Task, asyncio.StreamWriter] = {}
        self._bound: tuple[int, int] | None = None
        """(device, inode) of the socket file this server made, so close removes only it."""

    async def start(self) -> None:
        """Bind the socket with mode 0600 (set before anyone can connect) and start accepting.

        Raises:
            SessionError: something other than a stale socket of this user's is at the path.
            OSError: the socket cannot be bound.
        """
        free_socket_path(self.path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            sock.bind(self.path)
        except OSError:
            sock.close()
            raise
        finally:
            os.umask(old_umask)
        info = os.stat(self.path)
        self._bound = (info.st_dev, info.st_ino)
        os.chmod(self.path, 0o600)
        sock.setblocking(False)
        # A backlog that holds a burst of agents connecting at once (the OS caps it).
        self._server = await asyncio.start_unix_server(self._accept, sock=sock,
                                                       backlog=socket.SOMAXCONN)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        pid, uid = peer_credentials(sock) if sock is not None else (None, None)
        if uid is not None and uid != os.getuid():
            log.warning("refused a connection from uid %s (pid %s)", uid, pid)
            writer.write(b'{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":'
                         b'"This nbtui session belongs to another user."}}\n')
            with suppress(Exception):
                await writer.drain()
            writer.close()
            return
        self._next_id += 1
        connection = AgentConnection(self._next_id, pid, uid)
        task = asyncio.current_task()
        if task is not None:
            self._connections[task] = writer
        try:
            await self._handler(connection, reader, writer)
        except asyncio.CancelledError:
            # Only close() cancels these tasks. Ending cancelled would make Python 3.11's
            # stream callback (task.exception() on a cancelled task) log a traceback.
            pass
        except BaseException:  # noqa: BLE001 - one broken client must not take the session down
            log.exception("agent connection %s ended with an error", connection.id)
        finally:
            if task is not None:
                self._connections.pop(task, None)
            writer.close()
            # Closing waits for the last replies to be read; a peer that never reads them is cut.
            try:
                async with asyncio.timeout(STALL_SECONDS):
                    with suppress(Exception):
                        await writer.wait_closed()
            except TimeoutError:
                writer.transport.abort()

    async def close(self) -> None:
        """Stop accepting, end every connection (dropping replies not yet read) and remove the
        socket file."""
        if self._server is not None:
            self._server.close()
        for task, writer in list(self._connections.items()):
            writer.transport.abort()
            task.cancel()
        for task in list(self._connections):
            with suppress(BaseException):
                await task
        if self._server is not None:
            with suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        with suppress(OSError):
            info = os.lstat(self.path)
            if (info.st_dev, info.st_ino) == self._bound:
                os.unlink(self.path)


@asynccontextmanager
async def connect(path: str) -> AsyncIterator[tuple[object, object]]:
    """Client side: MCP streams to the session listening on `path` (for `mcp.Client` and tests).

    Usable as a transport: ``Client(connect(path), client_info=...)``.
    """
    reader, writer = await asyncio.open_unix_connection(path, limit=MAX_MESSAGE_BYTES)
    try:
        async with socket_streams(reader, writer) as streams:
            yield streams
    finally:
        writer.close()
        with suppress(Exception):
            await writer.wait_closed()
