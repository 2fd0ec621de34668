"""A kernel process nbtui starts on this machine from a kernelspec, on private ipc channels."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import signal
import stat
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.kernelspec import NoSuchKernel as _MissingKernelSpec
from jupyter_client.manager import AsyncKernelManager

from nbtui.core import ipykernel_reach, paths
from nbtui.core.kernel_dir import KernelDir
from nbtui.core.kernels.backend import Connect
from nbtui.core.kernels.errors import KernelError, KernelExited, NoSuchKernel
from nbtui.core.kernels.zmq_client import ZmqKernelClient

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE = 2.0
"""Seconds a kernel gets to exit after a shutdown request (half), then after SIGTERM (half),
before it is killed."""

IPC_PATH_LIMIT = 103
"""The longest ipc endpoint path every platform accepts (a unix-socket path: macOS 103 bytes,
Linux 107)."""

CONNECTION_FILE = "kernel.json"
"""The connection file's name in the kernel's private directory."""

PIPE_ENDPOINT = "k-pipe"
"""The name, in the kernel's private directory, of ipykernel's ipc endpoint for the output of
processes the kernel forks (see :mod:`nbtui.core.ipykernel_reach`); the longest endpoint path."""

NO_IPC_WARNING = ("This kernel does not support private ipc channels; its channels listen on "
                  "127.0.0.1 TCP ports that other local users can reach.")
LONG_PATH_WARNING = ("The runtime directory's path is too long for private ipc channels, so the "
                     "kernel's channels listen on 127.0.0.1 TCP ports that other local users can "
                     "reach; set NBTUI_RUNTIME_DIR to a shorter path.")
PIPE_TCP_WARNING = ("This ipykernel's pipe for output of forked processes listens on a 127.0.0.1 "
                    "TCP port that other local users can reach (the kernel log says why).")


def find_kernelspec(kernel_name: str) -> KernelSpec:
    """The installed kernelspec with this name.

    Raises:
        NoSuchKernel: none is installed under that name; the message lists those that are.
    """
    specs = KernelSpecManager()
    try:
        return specs.get_kernel_spec(kernel_name)
    except _MissingKernelSpec:
        names = sorted(specs.find_kernel_specs())
        installed = ", ".join(names) if names else "none"
        raise NoSuchKernel(f"No kernel named {kernel_name!r} is installed (installed kernels: "
                           f"{installed}); choose one of those.") from None


class _KernelManager(AsyncKernelManager):
    """An AsyncKernelManager that launches an ipykernel kernelspec with its pipe for output of
    forked processes on the ipc endpoint `pipe_endpoint` (None: the kernel as its spec says).

    `pipe_moved` says whether the last launch command was rewritten for that.
    """

    def __init__(self, *, pipe_endpoint: Path | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipe_endpoint = pipe_endpoint
        self.pipe_moved = False

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """The kernelspec's command, launched through :mod:`nbtui.core.ipykernel_reach` when it
        runs ipykernel."""
        cmd = super().format_kernel_cmd(extra_arguments)
        self.pipe_moved = False
        if self.pipe_endpoint is None:
            return cmd
        # A previous kernel's endpoint is removed: its presence after this launch shows that
        # this kernel bound it.
        with contextlib.suppress(FileNotFoundError):
            self.pipe_endpoint.unlink()
        moved = ipykernel_reach.launch_command(cmd, str(self.pipe_endpoint))
        self.pipe_moved = moved is not None
        return moved or cmd

    def pipe_warning(self) -> str:
        """:data:`PIPE_TCP_WARNING` when the launched ipykernel kept its TCP pipe, else ""."""
        if not self.pipe_moved or self.pipe_endpoint is None:
            return ""
        try:
            bound = stat.S_ISSOCK(self.pipe_endpoint.lstat().st_mode)
        except OSError:
            bound = False
        return "" if bound else PIPE_TCP_WARNING


def kill_process_group(process: Any, pgid: int | None) -> None:
    """SIGKILL a kernel's process group (else the process alone); gone ones are fine."""
    if pgid:
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)
            return
    if process is not None:
        with contextlib.suppress(OSError):
            process.kill()


class LocalKernel:
    """A kernel process started from a local kernelspec, owned by nbtui.

    It talks over `ipc` endpoints in a private directory of its own (see
    :mod:`nbtui.core.kernel_dir`), so no other user can reach its channels; an ipykernel's pipe
    for output of forked processes is an ipc endpoint there too (:mod:`nbtui.core.ipykernel_reach`),
    so nothing of the kernel listens on TCP. A kernel that exits when given ipc channels is
    started again on 127.0.0.1 TCP, and `transport_warning` says so, as it does when an
    ipykernel keeps its TCP pipe. The kernel's own stdout and stderr go to `log_path`.

    Args:
        kernel_name: the kernelspec name, e.g. "python3".
        cwd: the kernel's working directory.
        log_path: where the kernel's own stdout and stderr go (appended to).
        runtime_dir: the directory the kernel's private directory is made in (default: nbtui's
            private runtime directory).
    """

    def __init__(self, kernel_name: str, *, cwd: Path, log_path: Path,
                 runtime_dir: Path | None = None) -> None:
        self.kernel_name = kernel_name
        self.display_name = kernel_name
        self.language: str | None = None
        self.transport = "ipc"
        self.transport_warning = ""
        self.cwd = Path(cwd)
        self.log_path = Path(log_path)
        self.runtime_dir = runtime_dir
        self.km: _KernelManager | None = None
        self.log_file: Any = None
        self.kernel_dir: KernelDir | None = None

    @property
    def pid(self) -> int | None:
        """The process id of the kernel, while there is one."""
        provisioner = self.km.provisioner if self.km is not None else None
        return getattr(provisioner, "pid", None) if provisioner is not None else None

    @property
    def where(self) -> str:
        """The kernel's log, where its failures are explained."""
        return f"see its log at {self.log_path}"

    def connection_info(self) -> dict[str, Any]:
        """The kernel's connection info (endpoints, key, transport).

        Raises:
            KernelError: the kernel has not been started.
        """
        if self.km is None:
            raise KernelError("The kernel has not started yet.")
        return self.km.get_connection_info()

    async def kernelspec(self, kernel_name: str) -> tuple[str, str | None]:
        """The display name and language of an installed kernelspec.

        Raises:
            NoSuchKernel: it is not installed.
        """
        spec = find_kernelspec(kernel_name)
        return spec.display_name or kernel_name, spec.language or None

    def for_kernel(self, kernel_name: str) -> LocalKernel:
        """A new local backend for another kernelspec, with the same directories and log."""
        return LocalKernel(kernel_name, cwd=self.cwd, log_path=self.log_path,
                           runtime_dir=self.runtime_dir)

    async def start(self, connect: Connect) -> None:
        """Launch the kernel and connect to it.

        Raises:
            NoSuchKernel: the kernelspec is not installed.
            KernelError: the kernel could not be launched or did not answer in time.
        """
        self.display_name, self.language = await self.kernelspec(self.kernel_name)
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self.log_file = open(self.log_path, "a", encoding="utf-8")
            parent = self.runtime_dir or paths.private_dir(paths.runtime_dir())
            self.kernel_dir = KernelDir(parent, stderr=self.log_file)
            atexit.register(self._kill_at_exit)
            await self._launch(connect)
        except BaseException as exc:
            await self.stop()
            if not isinstance(exc, Exception) or isinstance(exc, KernelError):
                raise
            raise KernelError(f"The {self.display_name} kernel could not be started ({exc}); "
                              f"{self.where}.") from exc

    async def _launch(self, connect: Connect) -> None:
        assert self.kernel_dir is not None
        directory = self.kernel_dir.path
        if len(str(directory / PIPE_ENDPOINT).encode()) > IPC_PATH_LIMIT:
            await self._launch_with("tcp", LONG_PATH_WARNING, connect)
            return
        try:
            await self._launch_with("ipc", "", connect)
        except KernelExited:
            logger.warning("The %s kernel exited when given ipc channels; starting it again "
                           "on 127.0.0.1 TCP", self.kernel_name)
            await self._stop_kernel()
            await self._launch_with("tcp", NO_IPC_WARNING, connect)

    async def _launch_with(self, transport: str, warning: str, connect: Connect) -> None:
        assert self.kernel_dir is not None
        directory = self.kernel_dir.path
        private = transport == "ipc"
        self.km = _KernelManager(
            pipe_endpoint=directory / PIPE_ENDPOINT if private else None,
            kernel_name=self.kernel_name, log=logger, shutdown_wait_time=SHUTDOWN_GRACE,
            transport=transport, ip=str(directory / "k") if private else "127.0.0.1",
            connection_file=str(directory / CONNECTION_FILE))
        await self.km.start_kernel(cwd=str(self.cwd), stdout=self.log_file,
                                   stderr=self.log_file)
        self._watch_kernel()
        await connect(self._client())
        self.transport, self.transport_warning = transport, warning or self.km.pipe_warning()

    def _client(self) -> ZmqKernelClient:
        assert self.km is not None
        return ZmqKernelClient(self.km.client(), own_context=False)

    async def restart(self, connect: Connect) -> None:
        """Restart the kernel process (same directory, same key) and connect again.

        Raises:
            KernelError: the new kernel could not start (the old one is gone).
        """
        if self.km is None:
            await self.start(connect)
            return
        old_pgid = self._kernel_pgid()
        try:
            await self.km.restart_kernel()
            self._watch_kernel()
            if old_pgid != self._kernel_pgid():
                kill_process_group(None, old_pgid)
            await connect(self._client())
            if self.transport == "ipc":
                self.transport_warning = self.km.pipe_warning()
        except Exception as exc:
            await self.stop()
            raise KernelError(f"The kernel could not be restarted ({exc}); {self.where}.") from exc

    async def interrupt(self) -> None:
        """Interrupt the kernel as its kernelspec says (a signal or a message).

        Raises:
            KernelError: the interrupt could not be sent.
        """
        if self.km is None:
            return
        try:
            await self.km.interrupt_kernel()
        except Exception as exc:
            raise KernelError(f"The kernel could not be interrupted ({exc}); restart it "
                              "instead.") from exc

    async def is_alive(self) -> bool:
        """Whether the kernel process still runs."""
        return self.km is not None and await self.km.is_alive()

    def death_message(self) -> str:
        """How the kernel process ended (its exit code or signal), and where its log is."""
        process = getattr(self.km.provisioner, "process", None) if self.km else None
        code = process.returncode if process is not None else None
        if code is not None and code < 0:
            try:
                how = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        elif code is not None:
            how = f"exited with code {code}"
        else:
            how = "exited"
        return (f"The kernel {how} unexpectedly; restart the kernel to continue (its log is "
                f"{self.log_path}).")

    async def stop(self) -> None:
        """Shut the kernel down, kill what is left of its processes, remove its directory."""
        await self._stop_kernel()
        kernel_dir, self.kernel_dir = self.kernel_dir, None
        if kernel_dir is not None:
            await kernel_dir.remove()
        atexit.unregister(self._kill_at_exit)
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None

    def _kernel_pgid(self) -> int | None:
        return getattr(self.km.provisioner, "pgid", None) if self.km is not None else None

    def _watch_kernel(self) -> None:
        if self.kernel_dir is not None:
            self.kernel_dir.watch(self._kernel_pgid())

    async def _stop_kernel(self) -> None:
        # Shut the kernel down, then kill what is left of its process group: processes the
        # kernel started and did not end itself.
        km, self.km = self.km, None
        if km is None:
            return
        provisioner = km.provisioner
        process = getattr(provisioner, "process", None)
        pgid = getattr(provisioner, "pgid", None)
        try:
            if km.has_kernel:
                async with asyncio.timeout(SHUTDOWN_GRACE + 3):
                    await km.shutdown_kernel()
            else:
                await km.cleanup_resources()
        except Exception:
            logger.warning("The kernel did not shut down cleanly; killing it", exc_info=True)
            with contextlib.suppress(Exception):
                await km.cleanup_resources()
        kill_process_group(process, pgid)
        if process is not None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + SHUTDOWN_GRACE
            while process.poll() is None and loop.time() < deadline:
                await asyncio.sleep(0.02)
        if self.kernel_dir is not None:
            self.kernel_dir.watch(None)

    def _kill_at_exit(self) -> None:
        # The last resort when the app exits without shutdown(): no kernel outlives nbtui.
        provisioner = self.km.provisioner if self.km is not None else None
        process = getattr(provisioner, "process", None)
        if process is not None and process.poll() is None:
            kill_process_group(process, getattr(provisioner, "pgid", None))
