"""`nbtui attach`: an agent's stdio, piped byte for byte to a session's socket.

The socket speaks MCP's stdio framing, so the bridge needs no MCP of its own: it starts fast
and adds almost nothing to a round trip.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from contextlib import suppress

from nbtui.agent.sessions import SessionError, check_server, resolve_target

CHUNK = 256 * 1024

RETRY_SECONDS = 0.1
"""How often `--wait` tries to connect again while the session is not there yet."""


def connect_to_session(target: str | None, wait_seconds: float) -> socket.socket:
    """Find the session's socket and connect, retrying for up to `wait_seconds` while the
    session is not there yet (or is still starting to listen). Nothing is sent before the
    server is known to run as this user.

    Raises:
        SessionError: no session could be reached in time, or the server is another user's.
        paths.UnsafeDirectory: the runtime directory is not private to this user.
    """
    deadline = time.monotonic() + max(0.0, wait_seconds)
    while True:
        try:
            socket_path = resolve_target(target)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(socket_path)
            except OSError:
                sock.close()
                raise
            break
        except OSError as exc:
            error = SessionError(f"Cannot connect to the nbtui session at {socket_path}: "
                                 f"{exc.strerror or exc}.")
        except SessionError as exc:
            error = exc
        if time.monotonic() >= deadline:
            raise error
        time.sleep(RETRY_SECONDS)
    try:
        check_server(sock, socket_path)
    except SessionError:
        sock.close()
        raise
    return sock


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def bridge(sock: socket.socket, stdin_fd: int = 0, stdout_fd: int = 1) -> str:
    """Pipe stdin to the socket and the socket to stdout until either side ends.

    Each direction is a thread doing blocking reads and writes: a byte read is passed on at
    once, with no event loop to wake in between (an agent's every call crosses twice).

    Returns:
        Why it ended: "client" (stdin closed) or "session" (the session went away).
    """
    ended: queue.Queue[str] = queue.Queue()

    def upstream() -> None:
        while True:
            try:
                data = os.read(stdin_fd, CHUNK)
            except OSError:
                data = b""
            if not data:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_WR)
                ended.put("client")
                return
            try:
                sock.sendall(data)
            except OSError:
                ended.put("session")
                return

    def downstream() -> None:
        while True:
            try:
                data = sock.recv(CHUNK)
            except OSError:
                data = b""
            if not data:
                ended.put("session")
                return
            try:
                _write_all(stdout_fd, data)
            except OSError:
                ended.put("client")  # nobody reads our stdout any more
                return

    # Daemon threads: a blocking read of a terminal or pipe cannot be cancelled and must not
    # keep the process alive once either side is gone.
    threading.Thread(target=upstream, daemon=True, name="attach-up").start()
    down = threading.Thread(target=downstream, daemon=True, name="attach-down")
    down.start()
    try:
        first = ended.get()
        if first == "client":
            # The client is done sending but may still read: the session answers what it
            # asked and then closes, and a client that stopped reading ends the wait too.
            down.join()
        return first
    finally:
        sock.close()
