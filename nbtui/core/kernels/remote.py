"""A kernel run by a Jupyter server: Jupyter Server, Kernel Gateway or Enterprise Gateway.

The kernelspecs come from `/api/kernelspecs`, the kernel is started, interrupted, restarted and
stopped through `/api/kernels`, and its messages travel over one websocket,
`/api/kernels/{id}/channels` (Jupyter's JSON protocol, a `channel` key per message). The token
is read from the environment (`NBTUI_SERVER_TOKEN`, else `JUPYTER_TOKEN`) and sent in the
`Authorization` header, never in a URL. Everything uses tornado, which jupyter-client brings.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import socket
import ssl
import struct
from typing import Any
from urllib.parse import quote, urlsplit

from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from nbtui.core.kernels.backend import Connect
from nbtui.core.kernels.errors import KernelError, NoSuchKernel

logger = logging.getLogger(__name__)

TOKEN_VARIABLES = ("NBTUI_SERVER_TOKEN", "JUPYTER_TOKEN")
"""Where the server's token is read from, first found first."""

REQUEST_TIMEOUT = 60.0
"""Seconds a REST request may take (a kernel start on a cluster can be slow)."""

KERNEL_START_TIMEOUT = 600.0
"""Seconds the server may take to start or restart a kernel (Enterprise Gateway launches
kernels in Kubernetes pods or YARN containers, which can take minutes)."""

CONNECT_TIMEOUT = 10.0
"""Seconds to open a connection to the server (TLS handshake included)."""

PING_INTERVAL = 0.5
"""Seconds between two pings of the kernel on its control channel (it answers them while it
runs code, from its own thread)."""

DEAD_AFTER = 1.5
"""Seconds a ping may stay unanswered, or a dropped websocket fail to reconnect, before the
kernel counts as dead: with the session's check twice a second, a death shows within 2 s."""

RECONNECT_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
"""Waits between reconnection attempts of a dropped websocket (the last one repeats)."""

MAX_MESSAGE_BYTES = 256 * 1024 * 1024
"""The largest websocket message accepted (a kernel's image or data outputs can be large)."""

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def server_token() -> str:
    """The server's token from the environment ("" when none is set)."""
    for name in TOKEN_VARIABLES:
        token = os.environ.get(name, "")
        if token:
            return token
    return ""


def check_server_url(url: str) -> str:
    """The server's base URL without a trailing slash.

    Raises:
        KernelError: it is not an http(s) URL, or it carries a token (which belongs in the
            environment, where other users cannot read it).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise KernelError(f"{url!r} is not a Jupyter server URL; give one like "
                          "http://127.0.0.1:8888 or https://host/prefix.")
    if "token=" in parts.query or parts.password:
        raise KernelError("The server URL carries a secret; put the token in JUPYTER_TOKEN "
                          "(or NBTUI_SERVER_TOKEN) instead, where other users cannot read it.")
    return url.rstrip("/").split("?", 1)[0]


class RemoteKernel:
    """A kernel a Jupyter server starts and runs, driven over its REST and websocket API.

    Args:
        server_url: the server's base URL (http or https, with its base path if any).
        kernel_name: the server's kernelspec to start.
        token: the server's token (default: from the environment, see :func:`server_token`).
    """

    def __init__(self, server_url: str, kernel_name: str, *, token: str | None = None) -> None:
        self.server_url = check_server_url(server_url)
        self.kernel_name = kernel_name
        self.display_name = kernel_name
        self.language: str | None = None
        secure = self.server_url.startswith("https")
        self.transport = "wss" if secure else "ws"
        host = urlsplit(self.server_url).hostname or ""
        self.transport_warning = "" if secure or host in _LOOPBACK else (
            f"The kernel's messages and the token travel unencrypted to {host}; use an https "
            "URL.")
        self.token = server_token() if token is None else token
        # Made now, so SSL_CERT_FILE / SSL_CERT_DIR are read when the session starts (tornado's
        # own default context is made once, when it is imported).
        self._tls = ssl.create_default_context() if secure else None
        self.kernel_id: str | None = None
        self._client: RemoteKernelClient | None = None
        self._dead_message = ""

    @property
    def pid(self) -> int | None:
        """Not known: the kernel runs on the server's side."""
        return None

    @property
    def where(self) -> str:
        """The server, whose log explains a kernel's failure."""
        return f"see the log of the Jupyter server at {self.server_url}"

    def connection_info(self) -> dict[str, Any]:
        """The server and the kernel's id there (no secret)."""
        if self.kernel_id is None:
            raise KernelError("The kernel has not started yet.")
        return {"transport": self.transport, "server_url": self.server_url,
                "kernel_id": self.kernel_id}

    # -- REST ----------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"} if self.token else {}

    async def _api(self, method: str, path: str, body: Any = None,
                   timeout: float = REQUEST_TIMEOUT) -> Any:
        request = HTTPRequest(
            self.server_url + path, method=method, headers=self._headers(),
            body=None if body is None and method != "POST" else json.dumps(body or {}),
            request_timeout=timeout, connect_timeout=CONNECT_TIMEOUT,
            ssl_options=self._tls)
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as exc:
            if exc.code in (401, 403):
                given = ("refused nbtui's token" if self.token else
                         "requires a token and none was set")
                raise KernelError(f"The Jupyter server at {self.server_url} {given} (HTTP "
                                  f"{exc.code}); set JUPYTER_TOKEN or NBTUI_SERVER_TOKEN to its "
                                  "token.") from None
            if exc.code == 599:
                raise self._unreachable(exc) from None
            raise _HTTPStatus(exc.code, f"The Jupyter server at {self.server_url} answered "
                                        f"{method} {path} with HTTP {exc.code} "
                                        f"({exc.message}).") from None
        except ssl.SSLError as exc:
            raise self._tls_failed(exc) from None
        except OSError as exc:
            raise self._unreachable(exc) from None
        return json.loads(response.body) if response.body else None

    def _unreachable(self, exc: BaseException) -> KernelError:
        if "TLS" in str(exc) or "SSL" in str(exc):
            return KernelError(f"The TLS connection to {self.server_url} failed ({exc}); check "
                               "that the server speaks https, and its certificate.")
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return KernelError(f"nbtui could not reach the Jupyter server at {self.server_url} "
                           f"({reason}); check the URL and that the server is running.")

    def _tls_failed(self, exc: ssl.SSLError) -> KernelError:
        reason = getattr(exc, "verify_message", None) or exc.reason or str(exc)
        return KernelError(f"The TLS connection to {self.server_url} failed ({reason}); check "
                           "the server's certificate, or trust its CA with SSL_CERT_FILE.")

    async def kernelspec(self, kernel_name: str) -> tuple[str, str | None]:
        """The display name and language of one of the server's kernelspecs.

        Raises:
            NoSuchKernel: the server has no kernelspec of that name (the sentence lists its own).
            KernelError: the server cannot be reached or refused the token.
        """
        specs = (await self._api("GET", "/api/kernelspecs") or {}).get("kernelspecs") or {}
        found = specs.get(kernel_name)
        if not isinstance(found, dict):
            names = ", ".join(sorted(specs)) or "none"
            raise NoSuchKernel(f"The Jupyter server at {self.server_url} has no kernel named "
                               f"{kernel_name!r} (its kernels: {names}); choose one of those.")
        spec = found.get("spec") or {}
        return spec.get("display_name") or kernel_name, spec.get("language") or None

    def for_kernel(self, kernel_name: str) -> RemoteKernel:
        """A new backend for another of the server's kernelspecs."""
        return RemoteKernel(self.server_url, kernel_name, token=self.token)

    # -- life cycle ----------------------------------------------------------------------

    async def start(self, connect: Connect) -> None:
        """Start a kernel on the server and connect to its channels.

        Raises:
            NoSuchKernel: the server has no such kernelspec.
            KernelError: one sentence: unreachable server, refused token, TLS failure, or a
                kernel that did not start.
        """
        self.display_name, self.language = await self.kernelspec(self.kernel_name)
        self.kernel_id = await self._start_kernel()
        try:
            await self._connect(connect)
        except BaseException:
            await self.stop()
            raise

    async def _start_kernel(self) -> str:
        # KERNEL_* variables go along, as Jupyter's own gateway client sends them: Enterprise
        # Gateway reads KERNEL_USERNAME, KERNEL_NAMESPACE and the like from them.
        env = {k: v for k, v in os.environ.items() if k.startswith("KERNEL_")}
        model = await self._api("POST", "/api/kernels", {"name": self.kernel_name, "env": env},
                                timeout=KERNEL_START_TIMEOUT)
        return str(model["id"])

    async def _connect(self, connect: Connect) -> None:
        assert self.kernel_id is not None
        self._dead_message = ""
        client = RemoteKernelClient(self)
        await client.open()
        self._client = client
        await connect(client)

    async def restart(self, connect: Connect) -> None:
        """Restart the kernel through the server and connect to it again.

        Raises:
            KernelError: the server could not restart it (the sentence says why).
        """
        if self.kernel_id is None:
            await self.start(connect)
            return
        try:
            await self._api("POST", f"/api/kernels/{quote(self.kernel_id)}/restart",
                            timeout=KERNEL_START_TIMEOUT)
        except _HTTPStatus as exc:
            if exc.status != 404:
                raise
            # The server no longer has the kernel (it died for good): start a new one.
            self.kernel_id = await self._start_kernel()
        await self._connect(connect)

    async def interrupt(self) -> None:
        """Interrupt the kernel through the server.

        Raises:
            KernelError: the server did not take the request.
        """
        if self.kernel_id is not None:
            await self._api("POST", f"/api/kernels/{quote(self.kernel_id)}/interrupt")

    async def is_alive(self) -> bool:
        """Whether the kernel answers its pings and its websocket is up (or coming back)."""
        if self._client is not None and not self._dead_message:
            self._dead_message = self._client.dead_message()
        return self.kernel_id is not None and not self._dead_message

    def death_message(self) -> str:
        """What was seen of the kernel's end."""
        return self._dead_message or "The remote kernel is gone; restart the kernel to continue."

    async def stop(self) -> None:
        """Close the websocket and shut the kernel down on the server (if it still answers)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()
        kernel_id, self.kernel_id = self.kernel_id, None
        if kernel_id is not None:
            try:
                async with asyncio.timeout(5):
                    await self._api("DELETE", f"/api/kernels/{quote(kernel_id)}")
            except (KernelError, TimeoutError) as exc:
                logger.warning("Could not shut the remote kernel %s down: %s", kernel_id, exc)


class _HTTPStatus(KernelError):
    """The server answered with an unexpected HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _decode(frame: str | bytes) -> dict[str, Any]:
    if isinstance(frame, str):
        return json.loads(frame)
    # Jupyter's binary frame for messages with buffers: a count, offsets, the JSON, buffers.
    count = struct.unpack("!i", frame[:4])[0]
    offsets = [*struct.unpack("!" + "I" * count, frame[4:4 * (count + 1)]), len(frame)]
    msg = json.loads(frame[offsets[0]:offsets[1]].decode())
    msg["buffers"] = [frame[a:b] for a, b in zip(offsets[1:-1], offsets[2:], strict=True)]
    return msg


class RemoteKernelClient:
    """The channels of a server's kernel over one websocket, as a :class:`~.backend.KernelClient`.

    A dropped websocket is reopened with backoff under the same session id, so the server
    replays what it buffered meanwhile; requests sent while it is down wait and go out once it
    is back. The kernel is pinged on its control channel; what ends it (no answer, a kernel the
    server no longer has, a server that stopped, the server's own report) is kept in
    :meth:`dead_message`.
    """

    def __init__(self, kernel: RemoteKernel) -> None:
        self._kernel = kernel
        self._session = Session(username="nbtui")
        self._queues: dict[str, asyncio.Queue[dict[str, Any]]] = {
            name: asyncio.Queue() for name in ("shell", "iopub", "stdin")}
        self._conn: WebSocketClientConnection | None = None
        self._outbox: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._dead = ""
        self._ping_sent: dict[str, float] = {}
        self._answered = False
        """Whether the kernel answered (a reply or a ping): until then it may be starting."""

    def _url(self) -> str:
        kernel = self._kernel
        assert kernel.kernel_id is not None
        base = "ws" + kernel.server_url[len("http"):]
        return (f"{base}/api/kernels/{quote(kernel.kernel_id)}/channels"
                f"?session_id={self._session.session}")

    async def _open_socket(self) -> WebSocketClientConnection:
        request = HTTPRequest(self._url(), headers=self._kernel._headers(),
                              connect_timeout=CONNECT_TIMEOUT, request_timeout=REQUEST_TIMEOUT,
                              ssl_options=self._kernel._tls)
        try:
            conn = await websocket_connect(request, max_message_size=MAX_MESSAGE_BYTES)
        except HTTPClientError as exc:
            if exc.code in (401, 403, 404):
                raise _HTTPStatus(exc.code, self._refused(exc.code)) from None
            raise self._kernel._unreachable(exc) from None
        except ssl.SSLError as exc:
            raise self._kernel._tls_failed(exc) from None
        except OSError as exc:
            raise self._kernel._unreachable(exc) from None
        # Replies are small frames: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms.
        conn.stream.set_nodelay(True)
        return conn

    def _refused(self, code: int) -> str:
        url = self._kernel.server_url
        if code == 404:
            return f"The Jupyter server at {url} no longer has this kernel; restart the kernel."
        return (f"The Jupyter server at {url} refused the kernel's websocket (HTTP {code}); set "
                "JUPYTER_TOKEN or NBTUI_SERVER_TOKEN to its token.")

    async def open(self) -> None:
        """Open the websocket and start reading and pinging.

        Raises:
            KernelError: the websocket could not be opened (one sentence).
        """
        self._conn = await self._open_socket()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._read()), loop.create_task(self._ping())]

    def close(self) -> None:
        """Close the websocket; the kernel keeps running on the server."""
        self._closed = True
        for task in self._tasks:
            task.cancel()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def dead_message(self) -> str:
        """One sentence once the kernel is known to be gone, else ""."""
        if not self._dead and self._answered and self._conn is not None and self._ping_sent:
            loop = asyncio.get_running_loop()
            if loop.time() - min(self._ping_sent.values()) > DEAD_AFTER:
                self._dead = (f"The remote kernel stopped answering for {DEAD_AFTER:g} s (it "
                              "probably died); restart the kernel to continue.")
        return self._dead

    # -- receiving ----------------------------------------------------------------------

    async def _read(self) -> None:
        while not self._closed:
            conn = self._conn
            frame = await conn.read_message() if conn is not None else None
            if frame is None:
                if conn is not None:
                    conn.close()  # closed by the other side; this releases tornado's side
                if self._closed or not await self._reconnect():
                    return
                continue
            try:
                msg = _decode(frame)
            except (ValueError, struct.error, UnicodeDecodeError):
                logger.warning("A websocket frame from the server is not a Jupyter message")
                continue
            self._quick_ack()
            channel = msg.pop("channel", None)
            if channel == "control":
                self._ping_sent.pop((msg.get("parent_header") or {}).get("msg_id"), None)
                self._answered = True
                continue
            if channel == "shell":
                self._answered = True
            if channel == "iopub" and not (msg.get("parent_header") or {}):
                self._server_status(msg)
            queue = self._queues.get(channel or "")
            if queue is not None:
                queue.put_nowait(msg)

    def _quick_ack(self) -> None:
        # Linux clears TCP_QUICKACK after a while; re-arming it after each read makes the
        # client acknowledge the server's small frames at once instead of after 40 ms.
        quickack = getattr(socket, "TCP_QUICKACK", None)
        sock = self._conn.stream.socket if self._conn is not None else None
        if quickack is not None and sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)

    def _server_status(self, msg: dict[str, Any]) -> None:
        if msg["header"].get("msg_type") != "status":
            return
        state = (msg.get("content") or {}).get("execution_state")
        if state in ("dead", "restarting", "autorestarting") and not self._dead:
            self._dead = (f"The remote kernel died (the server reports it {state}); restart "
                          "the kernel to continue.")

    async def _reconnect(self) -> bool:
        self._conn = None
        self._ping_sent.clear()
        loop = asyncio.get_running_loop()
        lost_at = loop.time()
        for attempt in itertools.count():
            await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
            if self._closed:
                return False
            try:
                self._conn = await self._open_socket()
            except _HTTPStatus as exc:
                self._dead = str(exc)
                return False
            except KernelError as exc:
                logger.info("Reconnecting to the kernel's websocket failed: %s", exc)
                if loop.time() - lost_at > DEAD_AFTER:
                    # Given up: a restart asks the server again.
                    self._dead = (f"The connection to the Jupyter server at "
                                  f"{self._kernel.server_url} was lost and it does not answer "
                                  f"({exc}); restart the kernel once it is back.")
                    return False
                continue
            logger.info("Reconnected to the kernel's websocket")
            outbox, self._outbox = self._outbox, []
            for text in outbox:
                self._write(text)
            return True
        return False

    async def _ping(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(PING_INTERVAL)
            if self._conn is not None and not self._dead:
                msg_id = self._send("control", "kernel_info_request", {})
                self._ping_sent.setdefault(msg_id, loop.time())

    # -- sending ------------------------------------------------------------------------

    def _send(self, channel: str, msg_type: str, content: dict[str, Any]) -> str:
        msg = self._session.msg(msg_type, content)
        msg["channel"] = channel
        self._write(json.dumps(msg, default=json_default))
        return msg["header"]["msg_id"]

    def _write(self, text: str) -> None:
        conn = self._conn
        if conn is None:
            self._outbox.append(text)
            return
        try:
            conn.write_message(text)
        except Exception:  # closed under us: the reader reconnects and sends it then
            self._outbox.append(text)

    def execute(self, code: str, silent: bool = False, store_history: bool = True,
                allow_stdin: bool | None = None, stop_on_error: bool = True) -> str:
        """Send an execute_request."""
        return self._send("shell", "execute_request", {
            "code": code, "silent": silent, "store_history": store_history,
            "user_expressions": {}, "allow_stdin": bool(allow_stdin),
            "stop_on_error": stop_on_error})

    def complete(self, code: str, cursor_pos: int | None = None) -> str:
        """Send a complete_request."""
        return self._send("shell", "complete_request", {
            "code": code, "cursor_pos": len(code) if cursor_pos is None else cursor_pos})

    def inspect(self, code: str, cursor_pos: int | None = None, detail_level: int = 0) -> str:
        """Send an inspect_request."""
        return self._send("shell", "inspect_request", {
            "code": code, "cursor_pos": len(code) if cursor_pos is None else cursor_pos,
            "detail_level": detail_level})

    def kernel_info(self) -> str:
        """Send a kernel_info_request on the shell channel."""
        return self._send("shell", "kernel_info_request", {})

    def input(self, string: str) -> None:
        """Answer the kernel's pending input request."""
        self._send("stdin", "input_reply", {"value": string})

    async def get_shell_msg(self) -> dict[str, Any]:
        """The next shell reply."""
        return await self._queues["shell"].get()

    async def get_iopub_msg(self) -> dict[str, Any]:
        """The next IOPub message."""
        return await self._queues["iopub"].get()

    async def get_stdin_msg(self) -> dict[str, Any]:
        """The next stdin message."""
        return await self._queues["stdin"].get()

    def iopub_waiting(self) -> bool:
        """Whether IOPub messages arrived that were not read yet."""
        return not self._queues["iopub"].empty()

    def start_stdin(self) -> None:
        """Nothing to do: the websocket carries stdin from the start."""
