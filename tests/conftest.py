"""Shared fixtures: private runtime/state directories, a served session with a real kernel,
and MCP clients that connect through the real unix socket."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import mcp_types as types
import pytest
from mcp import Client

from nbtui.agent.endpoint import AgentEndpoint
from nbtui.agent.sessions import SessionLock
from nbtui.agent.transport import connect
from nbtui.core.policy import AgentPolicy
from nbtui.core.session import NotebookSession

NBTUI = str(Path(sys.executable).with_name("nbtui"))
"""The installed `nbtui` command of the environment running the tests."""

OTHER_UID = 65534
"""Another local user (nobody), for tests of what other users of the machine can reach."""

SYSTEM_PYTHON = "/usr/bin/python3"
"""A Python the other user can run: the test environment's own lives under /root (0700)."""

# pytest imports readline before this file, and readline exports COLUMNS=80 and LINES=24 into
# the C environment (not os.environ); pytest-xdist's workers inherit them into os.environ. A
# program a test starts (nbtui in a tmux pane, a terminal under Xvfb) would then size itself
# 80x24 whatever its terminal is.
for variable in ("COLUMNS", "LINES"):
    os.environ.pop(variable, None)
    os.unsetenv(variable)

# Pictures are drawn in the colours the terminal has; the snapshots are made in 24-bit colour,
# whatever terminal (TERM=xterm without COLORTERM in CI: 16 colours) runs the tests. Tests of
# other colour depths set them on the console they draw with.
os.environ["COLORTERM"] = "truecolor"


def as_other_user(*args: str) -> list[str]:
    """The command that runs the system Python with `args` as uid/gid OTHER_UID.

    Fails the test (never skips it) when the suite cannot act as another user: that needs root.
    """
    if os.getuid() != 0 or not os.path.exists(SYSTEM_PYTHON):
        pytest.fail(f"this test needs root (to act as another user) and {SYSTEM_PYTHON}")
    return ["setpriv", f"--reuid={OTHER_UID}", f"--regid={OTHER_UID}", "--clear-groups",
            SYSTEM_PYTHON, *args]


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Put the root logger back as it was after a test that runs `setup_logging`."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        yield
    finally:
        logging.captureWarnings(False)
        for handler in root.handlers:
            if handler not in saved:
                handler.close()
        root.handlers[:] = saved
        root.setLevel(level)


@pytest.fixture(scope="session", autouse=True)
def private_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every test's sessions, sockets, logs and recovery files live in temporary directories."""
    env = {
        "NBTUI_RUNTIME_DIR": str(tmp_path_factory.mktemp("rt")),
        "NBTUI_STATE_DIR": str(tmp_path_factory.mktemp("state")),
    }
    os.environ.update(env)
    return env


async def poll(condition: Callable[[], object], timeout: float = 30.0,
               message: str = "condition") -> object:
    """Wait until `condition()` is truthy, checking often, failing after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(0.02)


@dataclass
class Served:
    """A running session with its agent endpoint, in the test's event loop."""

    session: NotebookSession
    endpoint: AgentEndpoint
    lock: SessionLock

    @property
    def socket(self) -> str:
        return self.endpoint.socket_path

    @property
    def document(self):
        return self.session.document


@asynccontextmanager
async def serve_notebook(path: Path, policy: AgentPolicy | None = None,
                         start_kernel: bool = True) -> AsyncIterator[Served]:
    """Open `path` as a session serving MCP on its socket (kernel started and ready)."""
    session = NotebookSession(path, autosave_seconds=0, policy=policy)
    endpoint = AgentEndpoint(session)
    lock = SessionLock(session.path, endpoint.socket_path)
    await endpoint.start(lock)
    if start_kernel:
        await session.start()
        await session.kernel.wait_ready(60)
    try:
        yield Served(session, endpoint, lock)
    finally:
        await endpoint.close()
        await session.close(save=False)
        lock.release()


@asynccontextmanager
async def agent(socket_path: str, name: str = "claude", mode: str = "legacy",
                **kwargs) -> AsyncIterator[Client]:
    """An MCP client named `name`, connected through the session's unix socket."""
    client = Client(connect(socket_path), client_info=types.Implementation(name=name,
                                                                           version="1.0"),
                    mode=mode, **kwargs)
    async with client:
        yield client


async def call(client: Client, tool: str, **arguments) -> dict:
    """Call a tool that must succeed; returns its structured content."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, f"{tool} failed: {result.content[0].text}"
    return result.structured_content


async def call_error(client: Client, tool: str, **arguments) -> str:
    """Call a tool that must fail; returns its one-sentence error text."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} unexpectedly succeeded: {result.content[0].text[:300]}"
    return result.content[0].text


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    """One session with a real ipykernel, shared by a module's tests."""
    path = tmp_path_factory.mktemp("nb") / "shared.ipynb"
    async with serve_notebook(path) as s:
        yield s
