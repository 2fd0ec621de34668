"""End to end: the real `nbtui` in a real terminal (tmux), with real agents over the socket.

Each test runs its own tmux server (a private socket, no user configuration) whose one pane
runs `nbtui` directly, so the pane's process is nbtui itself and its exit status stays readable
once it ends (remain-on-exit). The screen is read with `capture-pane`, polled until a deadline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import mcp_types as types
import nbformat
import pytest
from mcp import Client, StdioServerParameters
from tui_helpers import write_notebook

from nbtui.agent.sessions import default_socket_path
from nbtui.agent.transport import connect
from tests.conftest import poll
from tests.test_cli import alive

NBTUI = str(Path(sys.executable).with_name("nbtui"))
TIMEOUT = 40
SIZE = (120, 40)

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


def children(pid: int) -> list[int]:
    """The pids of a process's children."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(child) for child in found.split()]


class TmuxPane:
    """One program in a pane of a private tmux server.

    Args:
        tmp_path: where the server's configuration goes.
        size: the pane's columns and lines.
    """

    def __init__(self, tmp_path: Path, size: tuple[int, int] = SIZE) -> None:
        self.server = f"nbtui-test-{uuid.uuid4().hex[:8]}"
        self.size = size
        self.config = tmp_path / "tmux.conf"
        self.config.write_text("set -g remain-on-exit on\nset -g status off\n")
        self.env = {**os.environ, "TERM": os.environ.get("TERM") or "xterm-256color"}
        if self.env["TERM"] == "dumb":
            self.env["TERM"] = "xterm-256color"

    def tmux(self, *args: str) -> str:
        """Run a tmux command against this server; returns its stdout."""
        return subprocess.run(["tmux", "-L", self.server, "-f", str(self.config), *args],
                              capture_output=True, text=True, check=False, env=self.env).stdout

    def start(self, cwd: Path, *command: str) -> None:
        """Run `command` in the pane, with the test's nbtui directories.

        A one-line `sh` wrapper writes the exit status to a file: under load, tmux 3.3 can mark
        the pane dead on end-of-file before it reaps the process, and then never records the
        status.
        """
        env = [arg for key in ("NBTUI_RUNTIME_DIR", "NBTUI_STATE_DIR") if key in os.environ
               for arg in ("-e", f"{key}={os.environ[key]}")]
        self.status_file = self.config.with_name("exit-status")
        wrapper = ["sh", "-c", '"$@"; echo $? > "$0"', str(self.status_file), *command]
        self.tmux("new-session", "-d", "-s", "main", "-x", str(self.size[0]),
                  "-y", str(self.size[1]),
                  "-c", str(cwd), *env, "-e", "TERM=tmux-256color", *wrapper)

    def screen(self) -> str:
        """What the pane shows now."""
        return self.tmux("capture-pane", "-p", "-t", "main")

    async def shows(self, *needles: str, timeout: float = TIMEOUT) -> str:
        """Wait until the screen shows every needle; returns the screen."""
        screen = ""

        def showing() -> bool:
            nonlocal screen
            screen = self.screen()
            return all(needle in screen for needle in needles)

        try:
            await poll(showing, timeout, message=f"{needles} on screen")
        except AssertionError:
            raise AssertionError(f"{needles} not on screen:\n{screen}") from None
        return screen

    def press(self, *keys: str) -> None:
        """Send keys by tmux name (C-e, Enter, a)."""
        self.tmux("send-keys", "-t", "main", *keys)

    def type(self, text: str) -> None:
        """Type text literally."""
        self.tmux("send-keys", "-t", "main", "-l", text)

    def program_pid(self) -> int:
        """The pid of the program the pane runs (the child of the status-recording shell)."""
        (pid,) = children(int(self.value("pane_pid")))
        return pid

    def value(self, name: str) -> str:
        """A pane format variable, e.g. pane_pid or pane_dead."""
        return self.tmux("display-message", "-p", "-t", "main", f"#{{{name}}}").strip()

    async def exit_status(self) -> int:
        """Wait for the program to end; returns its exit status."""

        def recorded() -> str:
            return self.status_file.exists() and self.status_file.read_text().strip()

        try:
            status = await poll(recorded, TIMEOUT, message="the program to exit")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; screen:\n{self.screen()}") from None
        return int(status)

    def close(self) -> None:
        """Stop the server and everything in it, and remove its socket."""
        socket = self.tmux("display-message", "-p", "#{socket_path}").strip()
        self.tmux("kill-server")
        if socket:
            Path(socket).unlink(missing_ok=True)


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[TmuxPane]:
    """A private tmux server, killed after the test."""
    terminal = TmuxPane(tmp_path)
    yield terminal
    terminal.close()


def log_of(pid: int) -> str:
    """nbtui's log file, for failure messages."""
    log = Path(os.environ.get("NBTUI_STATE_DIR", "/nonexistent"), "logs", f"nbtui-{pid}.log")
    return log.read_text() if log.exists() else "(no log)"


async def test_real_terminal_run_agent_edit_and_quit_leaves_no_kernel(tmp_path, pane):
    """nbtui in tmux: runs a cell, shows an agent's insert with its name, quits with ctrl+q
    (saving), and no kernel outlives it; nothing is left written to the terminal."""
    path = write_notebook(tmp_path / "e2e.ipynb", [("code", "print('hello ' + 'e2e')")])
    pane.start(tmp_path, NBTUI, path.name)
    await pane.shows("print('hello ' + 'e2e')", "python3: idle", "socket:")
    pid = pane.program_pid()
    kernels = children(pid)
    assert kernels, "the kernel should be a child of nbtui"

    pane.press("C-e")
    await pane.shows("[1] print(", "hello e2e")

    client = Client(connect(default_socket_path(path.absolute())),
                    client_info=types.Implementation(name="claude", version="1.0"),
                    mode="legacy")
    async with client:
        result = await client.call_tool("insert_cell", {"source": "from_the_agent = 1"})
        assert not result.is_error
        screen = await pane.shows("from_the_agent = 1", "agents: claude")
        line = next(line for line in screen.splitlines() if "from_the_agent" in line)
        assert "claude" in line

    pane.press("C-q")
    await pane.shows("unsaved changes")
    pane.press("s")
    assert await pane.exit_status() == 0, log_of(pid)
    await poll(lambda: not any(alive(k) for k in kernels), 10, message="the kernel to be gone")
    saved = path.read_text()
    assert "from_the_agent = 1" in saved and "hello e2e" in saved
    left = [line for line in pane.screen().splitlines()
            if line.strip() and not line.startswith("Pane is dead")]
    assert left == [], "\n".join(left)


async def test_agent_through_attach_and_human_run_save_and_quit(tmp_path, pane):
    """An agent through `nbtui attach` inserts and runs a cell, and its cell and output appear;
    the human's a, typing and ctrl+e run a cell of their own; ctrl+s saves both cells with
    their outputs; ctrl+q exits with status 0 and no kernel process remains."""
    path = write_notebook(tmp_path / "pair.ipynb", [("markdown", "# Working together")])
    pane.start(tmp_path, NBTUI, path.name)
    await pane.shows("Working together", "python3: idle", "socket:")
    pid = pane.program_pid()
    kernels = children(pid)
    assert kernels, "the kernel should be a child of nbtui"

    agent_source = "print('agent says', 6 * 7)"
    attach = StdioServerParameters(command=NBTUI, args=["attach", "--wait", "30", str(path)],
                                   env=dict(os.environ))
    info = types.Implementation(name="claude", version="1.0")
    async with Client(attach, client_info=info, mode="legacy") as client:
        result = await client.call_tool("insert_cell", {"source": agent_source, "run": True})
        assert not result.is_error, result.content[0].text
        (cell,) = result.structured_content["cells"]
        assert cell["status"] == "ok" and "agent says 42" in cell["outputs"][0]["text"]
        screen = await pane.shows(agent_source, "agent says 42", "agents: claude")
        line = next(line for line in screen.splitlines() if agent_source in line)
        assert "[1]" in line and "claude" in line

    pane.press("a")
    await pane.shows("[ ]")
    pane.press("Enter")
    await pane.shows("EDIT")
    human_source = "print('human says', 'hi')"
    pane.type(human_source)
    await pane.shows(human_source)
    pane.press("C-e")
    screen = await pane.shows("human says hi", "COMMAND")
    assert any(human_source in line and "[2]" in line for line in screen.splitlines()), screen

    pane.press("C-s")
    await pane.shows("Saved pair.ipynb")
    saved = nbformat.read(path, as_version=4)
    sources = [c.source for c in saved.cells]
    assert sources == [human_source, "# Working together", agent_source]
    human, _, agent = saved.cells
    assert human.outputs[0]["text"] == "human says hi\n" and human.execution_count == 2
    assert agent.outputs[0]["text"] == "agent says 42\n" and agent.execution_count == 1

    pane.press("C-q")
    assert await pane.exit_status() == 0, log_of(pid)
    await poll(lambda: not any(alive(k) for k in kernels), 10, message="the kernel to be gone")
