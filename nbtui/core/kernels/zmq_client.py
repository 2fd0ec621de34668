"""A :class:`~.backend.KernelClient` over a kernel's ZMQ channels (local and existing kernels)."""

from __future__ import annotations

import logging

import zmq
from jupyter_client.asynchronous import AsyncKernelClient

logger = logging.getLogger(__name__)


class ZmqKernelClient:
    """jupyter-client's AsyncKernelClient with only the channels nbtui reads.

    Heartbeat and control channels are not started (jupyter-client's heartbeat is a thread that
    polls); stdin starts with :meth:`start_stdin`.

    Args:
        client: a client whose connection info is loaded.
        own_context: close the client's ZMQ context with it (it is not shared with a manager).
    """

    def __init__(self, client: AsyncKernelClient, *, own_context: bool) -> None:
        self.client = client
        self._own_context = own_context
        client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=False)
        self.execute = client.execute
        self.complete = client.complete
        self.inspect = client.inspect
        self.kernel_info = client.kernel_info
        self.input = client.input
        self.get_shell_msg = client.get_shell_msg
        self.get_iopub_msg = client.get_iopub_msg
        self.get_stdin_msg = client.get_stdin_msg

    def iopub_waiting(self) -> bool:
        """Whether IOPub has messages not read yet."""
        socket = self.client.iopub_channel.socket
        return bool(socket is not None and socket.get(zmq.EVENTS) & zmq.POLLIN)

    def start_stdin(self) -> None:
        """Connect the stdin channel and accept input requests."""
        self.client.stdin_channel.start()
        self.client.allow_stdin = True

    def close(self) -> None:
        """Close the channels this client started (the kernel keeps running)."""
        kc = self.client
        # Not kc.stop_channels(): it would first create the heartbeat and control sockets
        # (and stdin) this client never started, just to find them not running.
        try:
            kc.shell_channel.stop()
            kc.iopub_channel.stop()
            if kc.allow_stdin:
                kc.stdin_channel.stop()
            if self._own_context:
                kc.context.destroy(linger=0)
        except Exception:
            logger.exception("Closing the kernel client's channels failed")
