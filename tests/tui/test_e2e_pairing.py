"""End to end: `nbtui --approve` in a real terminal (tmux), an agent through `nbtui attach`."""

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
from mcp import Client, StdioServerParameters
from tui_helpers import write_notebook

from nbtui.agent.sessions import default_socket_path

NBTUI = str(Path(sys.executable).with_name("nbtui"))
TIMEOUT = 40

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


def tmux(*args: str) -> str:
    """Run a tmux command; returns its stdout.

    The environment is passed explicitly: a library in the test process can set COLUMNS and
    LINES at the C level (readline does), and nbtui in the pane would then size itself 80x24
    instead of the pane's 120x40.
    """
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False,
                          env=dict(os.environ)).stdout


def children(pid: str) -> list[str]:
    """The pids of a process's children."""
    return subprocess.run(["pgrep", "-P", pid], capture_output=True, text=True).stdout.split()


async def screen_shows(name: str, *needles: str, timeout: float = TIMEOUT) -> str:
    """Wait until the tmux pane shows every needle; returns the screen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        screen = tmux("capture-pane", "-p", "-t", name)
        if all(needle in screen for needle in needles):
            return screen
        if loop.time() > deadline:
            raise AssertionError(f"{needles} not on screen:\n{screen}")
        await asyncio.sleep(0.05)


async def test_approve_mode_in_a_real_terminal_with_an_agent_through_attach(tmp_path):
    """nbtui --approve in tmux: an agent's run_code (through `nbtui attach`) shows the prompt,
    y lets it run and the agent gets the result; ctrl+q then saves, and no kernel outlives it."""
    path = write_notebook(tmp_path / "pair.ipynb", [("code", "base = 40")])
    name = f"nbtui-pair-{uuid.uuid4().hex[:8]}"
    env = [arg for key in ("NBTUI_RUNTIME_DIR", "NBTUI_STATE_DIR") if key in os.environ
           for arg in ("-e", f"{key}={os.environ[key]}")]
    exit_file = tmp_path / "exit_status"
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "40", *env,
         f"cd {tmp_path} && {NBTUI} --approve {path.name}; echo $? > {exit_file}")
    try:
        await screen_shows(name, "base = 40", "python3: idle", "run ✓approve")
        shell = tmux("display-message", "-p", "-t", name, "#{pane_pid}").strip()
        (pid,) = children(shell)
        kernels = children(pid)
        assert kernels, "the kernel should be a child of nbtui"

        socket_path = default_socket_path(path.absolute())
        params = StdioServerParameters(command=NBTUI, args=["attach", "--wait", "10",
                                                            socket_path], env=dict(os.environ))
        info = types.Implementation(name="claude", version="1.0")
        async with Client(params, client_info=info, mode="legacy") as client:
            run = asyncio.create_task(client.call_tool("run_code", {"code": "6 * 7"}))
            await screen_shows(name, "claude asks to run this code", "6 * 7",
                               "y allows, n or esc declines")
            assert not run.done()
            tmux("send-keys", "-t", name, "y")
            result = await asyncio.wait_for(run, TIMEOUT)
            assert not result.is_error, result.content[0].text
            assert result.structured_content["outputs"][0]["text"].strip() == "42"
            await screen_shows(name, "agents: claude")
            assert "claude asks" not in tmux("capture-pane", "-p", "-t", name)

            inserted = await client.call_tool("insert_cell", {"source": "from_the_agent = 1"})
            assert not inserted.is_error
            await screen_shows(name, "from_the_agent = 1")

        tmux("send-keys", "-t", name, "C-q")
        await screen_shows(name, "unsaved changes")
        tmux("send-keys", "-t", name, "s")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while not exit_file.exists() or not exit_file.read_text().strip():
            assert loop.time() < deadline, "nbtui did not exit"
            await asyncio.sleep(0.05)
        assert exit_file.read_text().strip() == "0"
        for kernel in kernels:
            assert not Path(f"/proc/{kernel}").exists(), "a kernel outlived nbtui"
        assert "from_the_agent = 1" in path.read_text()
    finally:
        tmux("kill-session", "-t", name)
