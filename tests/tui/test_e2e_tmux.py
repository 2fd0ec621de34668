"""End to end: the real `nbtui` in a real terminal (tmux), with a real agent over the socket."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import mcp_types as types
import pytest
from mcp import Client
from tui_helpers import write_notebook

from nbtui.agent.sessions import default_socket_path
from nbtui.agent.transport import connect

NBTUI = str(Path(sys.executable).with_name("nbtui"))
TIMEOUT = 40

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def children(pid: str) -> list[str]:
    return subprocess.run(["pgrep", "-P", pid], capture_output=True, text=True).stdout.split()


async def screen_shows(name: str, *needles: str, timeout: float = TIMEOUT) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        screen = tmux("capture-pane", "-p", "-t", name)
        if all(needle in screen for needle in needles):
            return screen
        if loop.time() > deadline:
            raise AssertionError(f"{needles} not on screen:\n{screen}")
        await asyncio.sleep(0.05)


async def test_real_terminal_run_agent_edit_and_quit_leaves_no_kernel(tmp_path):
    """nbtui in tmux: runs a cell, shows an agent's insert with its name, quits with ctrl+q
    (saving), and no kernel outlives it; nothing is left written to the terminal."""
    path = write_notebook(tmp_path / "e2e.ipynb", [("code", "print('hello ' + 'e2e')")])
    name = f"nbtui-test-{uuid.uuid4().hex[:8]}"
    env = [arg for key in ("NBTUI_RUNTIME_DIR", "NBTUI_STATE_DIR") if key in os.environ
           for arg in ("-e", f"{key}={os.environ[key]}")]
    exit_file = tmp_path / "exit_status"
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "40", *env,
         f"cd {tmp_path} && {NBTUI} {path.name}; echo $? > {exit_file}")
    try:
        await screen_shows(name, "print('hello ' + 'e2e')", "python3: idle", "socket:")
        shell = tmux("display-message", "-p", "-t", name, "#{pane_pid}").strip()
        (pid,) = children(shell)
        kernels = children(pid)
        assert kernels, "the kernel should be a child of nbtui"

        tmux("send-keys", "-t", name, "C-e")
        await screen_shows(name, "[1] print(", "hello e2e")

        socket_path = default_socket_path(path.absolute())
        client = Client(connect(socket_path),
                        client_info=types.Implementation(name="claude", version="1.0"),
                        mode="legacy")
        async with client:
            result = await client.call_tool("insert_cell", {"source": "from_the_agent = 1"})
            assert not result.is_error
            screen = await screen_shows(name, "from_the_agent = 1", "agents: claude")
            line = next(line for line in screen.splitlines() if "from_the_agent" in line)
            assert "claude" in line

        tmux("send-keys", "-t", name, "C-q")
        await screen_shows(name, "unsaved changes")
        tmux("send-keys", "-t", name, "s")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while not exit_file.exists() or not exit_file.read_text().strip():
            assert loop.time() < deadline, "nbtui did not exit"
            await asyncio.sleep(0.05)
        log = Path(os.environ.get("NBTUI_STATE_DIR", "/nonexistent"), "logs", f"nbtui-{pid}.log")
        assert exit_file.read_text().strip() == "0", log.read_text() if log.exists() else ""
        for kernel in kernels:
            assert not Path(f"/proc/{kernel}").exists(), "a kernel outlived nbtui"
        saved = path.read_text()
        assert "from_the_agent = 1" in saved and "hello e2e" in saved
        after = tmux("capture-pane", "-p", "-t", name)
        assert after.strip() == "", after
    finally:
        tmux("kill-session", "-t", name)
