"""`nbtui attach`: an agent's stdio, piped byte for byte to a session's socket.

The socket speaks MCP's stdio framing, so the bridge needs no MCP of its own: it starts fast
and adds almost nothing to a round trip.
"""

from __future__ import annotations

import asyncio
import os
import threading
from contextlib import suppress

from nbtui.agent.sessions import SessionError, check_server, resolve_target

CHUNK = 256 * 1024


async def connect_to_session(target: str | None, wait_seconds: float
                             ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Find the session's socket and connect, retrying for up to `wait_seconds` while the
    session is not there yet (or is still starting to listen). Nothing is sent before the
    server is known to run as this user.

    Raises:
        SessionError: no session could be reached in time, or the server is another user's.
        paths.UnsafeDirectory: the runtime directory is not private to this user.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0.0, wait_seconds)
    while True:
        try:
            socket_path = resolve_target(target)
            reader, writer = await asyncio.open_unix_connection(socket_path)
            break
        except OSError as exc:
            error = SessionError(f"Cannot connect to the nbtui session at {socket_path}: "
                                 f"{exc.strerror or exc}.")
        except SessionError as exc:
            error = exc
        if loop.time() >= deadline:
            raise error
        await asyncio.sleep(0.1)
    try:
        check_server(writer.get_extra_info("socket"), socket_path)
    except SessionError:
        writer.transport.abort()
        raise
    return reader, writer


def _stdin_reader(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes],
                  fd: int) -> None:
    # A daemon thread, because a blocking read of a terminal or pipe cannot be cancelled and
    # must not keep the process alive once the session is gone.
    while True:
        try:
            data = os.read(fd, CHUNK)
        except OSError:
            data = b""
        loop.call_soon_threadsafe(queue.put_nowait, data)
        if not data:
            return


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


async def bridge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 stdin_fd: int = 0, stdout_fd: int = 1) -> str:
    """Pipe stdin to the socket and the socket to stdout until either side ends.

    Returns:
        Why it ended: "client" (stdin closed) or "session" (the session went away).
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    threading.Thread(target=_stdin_reader, args=(loop, queue, stdin_fd), daemon=True).start()

    async def upstream() -> str:
        while True:
            data = await queue.get()
            if not data:
                with suppress(OSError):
                    writer.write_eof()
                return "client"
            writer.write(data)
            await writer.drain()

    async def downstream() -> str:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                return "session"
            await asyncio.to_thread(_write_all, stdout_fd, data)

    up = asyncio.create_task(upstream())
    down = asyncio.create_task(downstream())
    try:
        done, _ = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        if up in done and not down.done():
            # The client is done sending; let the answers already on their way arrive.
            with suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(down), 10)
            return "client"
        return "session"
    finally:
        for task in (up, down):
            task.cancel()
        writer.close()
