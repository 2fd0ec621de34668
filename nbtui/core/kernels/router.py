"""Replies and outputs routed by the message id of the request that caused them.

Every request nbtui sends is tracked under its message id until it is settled; the kernel's
shell replies, IOPub messages and input requests carry that id as `parent_header.msg_id`, and
that alone says where they belong (never "the current cell").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nbtui.core.kernels.errors import KernelError
from nbtui.core.kernels.execution import Execution
from nbtui.core.kernels.outputs import OutputCollector


@dataclass(eq=False)
class Request:
    """A request sent on the shell channel, waiting for its reply (and its idle status)."""

    msg_id: str
    reply: asyncio.Future[dict[str, Any]]
    execution: Execution | None = None
    collector: OutputCollector | None = None
    idle: bool = False
    replied_at: float = 0.0
    began: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the kernel started executing the request (execute_input), or it settled."""
    interrupted: bool = False
    """An interrupt was sent while this request ran."""
    idle_at: float = 0.0
    """When the kernel said it was idle after this request (loop time), 0 until then."""
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when both the reply and the idle status arrived, or the run was ended otherwise."""

    def check_settled(self) -> None:
        """Settle once both the reply and the idle status have arrived."""
        if self.idle and self.reply.done():
            self.settle()

    def settle(self) -> None:
        """End the wait for this request, whatever arrived."""
        self.began.set()
        self.settled.set()


class Router:
    """The requests waiting for the kernel, by message id."""

    def __init__(self) -> None:
        self.pending: dict[str, Request] = {}

    def send(self, send: Callable[[], str]) -> Request:
        """Send a request (`send` returns its message id) and track it."""
        msg_id = send()
        req = Request(msg_id, asyncio.get_running_loop().create_future())
        self.pending[msg_id] = req
        return req

    def request_of(self, msg: dict[str, Any]) -> Request | None:
        """The tracked request a kernel message answers, if any."""
        return self.pending.get((msg.get("parent_header") or {}).get("msg_id"))

    def forget(self, req: Request) -> None:
        """Stop tracking a request (answered, given up on, or ended)."""
        self.pending.pop(req.msg_id, None)

    def on_reply(self, msg: dict[str, Any]) -> None:
        """A shell reply: it answers its request."""
        req = self.request_of(msg)
        if req is None or req.reply.done():
            return
        req.reply.set_result(msg)
        req.replied_at = asyncio.get_running_loop().time()
        req.check_settled()

    def on_idle(self, req: Request) -> None:
        """The kernel is idle after `req`: its outputs are all out."""
        req.idle = True
        req.idle_at = asyncio.get_running_loop().time()
        req.check_settled()

    def fail_all(self) -> None:
        """The connection is gone: every request still waiting gets an error."""
        for req in self.pending.values():
            if not req.reply.done():
                req.reply.set_exception(KernelError("The kernel stopped before it answered."))
        self.pending.clear()
