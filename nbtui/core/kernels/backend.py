"""What the kernel session needs from a kernel, whatever kind it is and wherever it runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol


class KernelClient(Protocol):
    """The channels to one running kernel: requests go out, messages come back per channel.

    Every request method returns the message id of the request it sent, which is what the
    kernel's replies and outputs carry as their `parent_header.msg_id`.
    """

    def execute(self, code: str, silent: bool = False, store_history: bool = True,
                allow_stdin: bool | None = None, stop_on_error: bool = True) -> str:
        """Send an execute_request."""
        ...

    def complete(self, code: str, cursor_pos: int | None = None) -> str:
        """Send a complete_request."""
        ...

    def inspect(self, code: str, cursor_pos: int | None = None, detail_level: int = 0) -> str:
        """Send an inspect_request."""
        ...

    def kernel_info(self) -> str:
        """Send a kernel_info_request on the shell channel."""
        ...

    def input(self, string: str) -> None:
        """Answer the kernel's pending input_request."""
        ...

    async def get_shell_msg(self) -> dict[str, Any]:
        """The next reply on the shell channel."""
        ...

    async def get_iopub_msg(self) -> dict[str, Any]:
        """The next message on IOPub."""
        ...

    async def get_stdin_msg(self) -> dict[str, Any]:
        """The next message on the stdin channel (input requests)."""
        ...

    def iopub_waiting(self) -> bool:
        """Whether IOPub messages have arrived that were not read yet."""
        ...

    def start_stdin(self) -> None:
        """Start receiving input requests (once the kernel answers, so none is dropped)."""
        ...

    def close(self) -> None:
        """Close the channels; the kernel keeps running."""
        ...


Connect = Callable[[KernelClient], Awaitable[None]]
"""The session's side of connecting: it reads the client's channels and waits until the kernel
answers; it raises (KernelExited when the kernel ended) after cleaning up what it started."""


class KernelBackend(Protocol):
    """One kind of kernel: how it is started, connected to, interrupted, restarted and stopped.

    A backend serves one kernel at a time; the session calls :meth:`start` once, then
    :meth:`restart` any number of times, and :meth:`stop` at the end.
    """

    kernel_name: str
    display_name: str
    language: str | None
    transport: str
    """How the channels travel: "ipc", "tcp", "ws" or "wss"."""
    transport_warning: str
    """One sentence when the channels are not private to the user, else ""."""

    @property
    def pid(self) -> int | None:
        """The kernel's process id, where nbtui knows it (a local process)."""
        ...

    @property
    def where(self) -> str:
        """Where to look when the kernel fails, for messages (its log, or its server)."""
        ...

    def connection_info(self) -> dict[str, Any]:
        """How another client can connect to this kernel."""
        ...

    async def kernelspec(self, kernel_name: str) -> tuple[str, str | None]:
        """The display name and language of a kernelspec this backend can start.

        Raises:
            NoSuchKernel: there is no such kernelspec (the message lists those there are).
            KernelError: this kind of kernel cannot be changed, or the specs cannot be read.
        """
        ...

    def for_kernel(self, kernel_name: str) -> KernelBackend:
        """A new, unstarted backend of the same kind for another kernelspec."""
        ...

    async def start(self, connect: Connect) -> None:
        """Start (or find) the kernel and connect to it through `connect`.

        Raises:
            NoSuchKernel: the kernelspec does not exist.
            KernelError: one sentence saying why the kernel could not be started or reached;
                whatever was started is stopped again.
        """
        ...

    async def restart(self, connect: Connect) -> None:
        """Restart the kernel (the session has closed the old client) and connect again.

        Raises:
            KernelError: the kernel cannot be restarted (the sentence says why).
        """
        ...

    async def interrupt(self) -> None:
        """Interrupt what the kernel is running.

        Raises:
            KernelError: the interrupt could not be delivered.
        """
        ...

    async def is_alive(self) -> bool:
        """Whether the kernel still runs (cheap: the session asks twice a second)."""
        ...

    def death_message(self) -> str:
        """One sentence saying how the kernel ended, once :meth:`is_alive` said False."""
        ...

    async def stop(self) -> None:
        """Stop the kernel for good (a kernel nbtui did not start is only left); idempotent."""
        ...
