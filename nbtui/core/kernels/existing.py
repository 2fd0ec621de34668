"""A kernel already running on this machine, attached through its connection file, as
`jupyter console --existing` does. nbtui did not start it, so it neither restarts nor stops it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient

from nbtui.core.kernels.backend import Connect
from nbtui.core.kernels.errors import KernelError, NoSuchKernel
from nbtui.core.kernels.local import find_kernelspec
from nbtui.core.kernels.zmq_client import ZmqKernelClient

logger = logging.getLogger(__name__)

HEARTBEAT_TIMEOUT = 1.5
"""Seconds the kernel's heartbeat may take to echo a ping before the kernel counts as dead."""

INTERRUPT_REPLY_TIMEOUT = 3.0
"""Seconds to wait for the kernel's reply to an interrupt request."""

RESTART_REFUSED = ("This kernel was attached with --existing and nbtui did not start it, so "
                   "nbtui cannot restart or replace it; restart it where it was started.")

TCP_WARNING = ("This kernel was started outside nbtui and its channels listen on TCP ports that "
               "other local users can reach.")


class ExistingKernel:
    """A running kernel that nbtui connects to but does not own.

    Restarting and changing it are refused (:data:`RESTART_REFUSED`); interrupting sends an
    `interrupt_request` on its control channel (which ipykernel and most kernels answer whatever
    their interrupt mode); its liveness is its heartbeat; on exit nbtui only disconnects.

    Args:
        connection_file: the kernel's connection file (as `jupyter --runtime-dir` lists them).
        kernel_name: the kernelspec name to assume when the file does not name one.
    """

    restart_refused = RESTART_REFUSED

    def __init__(self, connection_file: str | Path, kernel_name: str = "python3") -> None:
        self.connection_file = Path(connection_file).expanduser().absolute()
        self.kernel_name = kernel_name
        self.display_name = kernel_name
        self.language: str | None = None
        self.transport = "tcp"
        self.transport_warning = ""
        self._info: dict[str, Any] = {}
        self._monitor: AsyncKernelClient | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._beating = True
        self._answered = False

    @property
    def pid(self) -> int | None:
        """Not known: a connection file does not say which process the kernel is."""
        return None

    @property
    def where(self) -> str:
        """The connection file, which names the kernel."""
        return f"its connection file is {self.connection_file}"

    def connection_info(self) -> dict[str, Any]:
        """The connection file's contents.

        Raises:
            KernelError: the file has not been read yet.
        """
        if not self._info:
            raise KernelError("The kernel has not been attached yet.")
        return dict(self._info)

    async def kernelspec(self, kernel_name: str) -> tuple[str, str | None]:
        """Refused: an existing kernel cannot be replaced from nbtui.

        Raises:
            KernelError: always.
        """
        raise KernelError(RESTART_REFUSED)

    def for_kernel(self, kernel_name: str) -> ExistingKernel:
        """Refused, as :meth:`kernelspec` is."""
        raise KernelError(RESTART_REFUSED)

    def _read(self) -> dict[str, Any]:
        try:
            info = json.loads(self.connection_file.read_text())
        except FileNotFoundError:
            raise KernelError(f"There is no connection file at {self.connection_file}; give "
                              "the path of a running kernel's kernel-*.json.") from None
        except (OSError, ValueError) as exc:
            raise KernelError(f"{self.connection_file} cannot be read as a kernel connection "
                              f"file ({exc}).") from None
        if not isinstance(info, dict) or "shell_port" not in info or "key" not in info:
            raise KernelError(f"{self.connection_file} is not a kernel connection file (it "
                              "lacks shell_port or key).")
        return info

    def _client(self) -> AsyncKernelClient:
        client = AsyncKernelClient(context=zmq.asyncio.Context())
        client.load_connection_info(self._info)
        return client

    async def start(self, connect: Connect) -> None:
        """Read the connection file and connect to the kernel.

        Raises:
            KernelError: the file is missing or not a connection file, or the kernel does not
                answer (it is not running).
        """
        self._info = self._read()
        self.kernel_name = str(self._info.get("kernel_name") or self.kernel_name)
        with contextlib.suppress(NoSuchKernel):
            spec = find_kernelspec(self.kernel_name)
            self.display_name, self.language = spec.display_name, spec.language
        self.transport = str(self._info.get("transport") or "tcp")
        self.transport_warning = TCP_WARNING if self.transport == "tcp" else ""
        self._monitor = self._client()
        self._beating = True
        self._answered = False
        self._heartbeat = asyncio.get_running_loop().create_task(self._watch_heartbeat())
        try:
            await connect(ZmqKernelClient(self._client(), own_context=True))
        except BaseException:
            await self.stop()
            raise
        # It answered on its channels: from now on a silent heartbeat means it died, even if
        # it dies before its heartbeat echoed once.
        self._answered = True

    async def restart(self, connect: Connect) -> None:
        """Refused: nbtui did not start this kernel.

        Raises:
            KernelError: always, with :data:`RESTART_REFUSED`.
        """
        raise KernelError(RESTART_REFUSED)

    async def interrupt(self) -> None:
        """Send an interrupt_request on the control channel and wait for its reply.

        Raises:
            KernelError: the kernel did not answer (it interrupts only by signal, and nbtui
                does not know its process).
        """
        monitor = self._monitor
        if monitor is None:
            return
        msg = monitor.session.msg("interrupt_request", {})
        monitor.control_channel.send(msg)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + INTERRUPT_REPLY_TIMEOUT
        while (remaining := deadline - loop.time()) > 0:
            try:
                reply = await monitor.get_control_msg(timeout=remaining)
            except Exception:  # jupyter-client raises queue.Empty on timeout
                break
            if (reply.get("parent_header") or {}).get("msg_id") == msg["header"]["msg_id"]:
                if (reply.get("content") or {}).get("status") == "ok":
                    return
                break
        raise KernelError("The kernel did not accept the interrupt request (it may only take "
                          "a signal, and nbtui does not know its process); interrupt it where "
                          "it was started.")

    async def _watch_heartbeat(self) -> None:
        assert self._monitor is not None
        context = self._monitor.context
        info = self._info
        transport, ip, port = info.get("transport") or "tcp", info.get("ip"), info["hb_port"]
        # jupyter-client's own form of a channel's address (tcp://IP:PORT, ipc://PATH-PORT).
        url = f"tcp://{ip}:{port}" if transport == "tcp" else f"{transport}://{ip}-{port}"
        while True:
            socket = context.socket(zmq.REQ)
            socket.linger = 0
            socket.connect(url)
            try:
                while True:
                    await socket.send(b"ping")
                    try:
                        async with asyncio.timeout(HEARTBEAT_TIMEOUT):
                            await socket.recv()
                    except TimeoutError:
                        # Silence counts only once the kernel has answered: it may be starting.
                        self._beating = not self._answered
                        break
                    self._answered = self._beating = True
                    await asyncio.sleep(1.0)
            finally:
                socket.close()

    async def is_alive(self) -> bool:
        """Whether the kernel echoed its last heartbeat in time."""
        return self._monitor is not None and self._beating

    def death_message(self) -> str:
        """The kernel stopped answering its heartbeat."""
        return (f"The kernel of {self.connection_file} stopped answering (it probably exited); "
                "start it again and reattach.")

    async def stop(self) -> None:
        """Disconnect; the kernel keeps running."""
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
        monitor, self._monitor = self._monitor, None
        if monitor is not None:
            with contextlib.suppress(Exception):
                monitor.stop_channels()  # only those it started: the control channel
                monitor.context.destroy(linger=0)
