"""After a hang-up or SIGTERM, nbtui exits whatever its terminal does.

A terminal that is gone (an SSH connection dropped, a tmux server killed) or that nobody reads
any more blocks Textual's writes, and with them Textual's shutdown. These tests run `nbtui` on a
pseudo-terminal that the test reads at first and then keeps full and never reads again, with a
cell printing without end so that the screen keeps changing; after SIGHUP or SIGTERM, nbtui must
still exit, with the notebook saved, no process of the session left and the notebook's lock,
record and socket gone.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

import pytest
from tui_helpers import write_notebook

from nbtui.agent.sessions import default_socket_path
from tests.conftest import NBTUI, agent, call, poll
from tests.test_cli import alive, serving
from tests.test_serve_exit import (
    DEADLINE,
    MARKER,
    StalledTerminal,
    descendants,
    log_of,
    runtime_files,
    wait_for_exit,
)

FLOOD = "i = 0\nwhile True:\n    i += 1\n    print(i, end='\\r', flush=True)"


async def poll_async(condition, timeout: float, message: str) -> None:  # noqa: ANN001
    """Like conftest.poll, for a condition that must be awaited."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM])
async def test_exits_after_a_signal_while_the_terminal_blocks_every_write(tmp_path, signum):
    """With its terminal blocking every write and a cell flooding the screen, nbtui still exits
    after SIGHUP or SIGTERM: the notebook saved, no process of the session left, and the lock,
    record and socket gone so that `nbtui serve` opens the notebook again."""
    notebook = write_notebook(tmp_path / "stalled.ipynb", [("markdown", "# before")])
    env = {**os.environ, "TERM": "xterm-256color"}
    terminal = StalledTerminal()
    proc = subprocess.Popen([NBTUI, str(notebook)], cwd=tmp_path, env=env, stdin=terminal.slave,
                            stdout=terminal.slave, stderr=terminal.slave, start_new_session=True)
    try:
        socket_path = default_socket_path(notebook)
        await poll(lambda: os.path.exists(socket_path), DEADLINE, message="the agent socket")
        async with agent(socket_path) as client:
            await call(client, "insert_cell", source=MARKER)
            flood = await call(client, "insert_cell", source=FLOOD, run=True, timeout=0)
            flood_id = flood["cells"][0]["id"]

            async def printing() -> bool:
                result = await client.call_tool("read_output",
                                                {"cell_id": flood_id, "output_index": 0})
                return not result.is_error

            await poll_async(printing, DEADLINE, "the flooding cell's output")
        processes = descendants(proc.pid)
        assert processes, "the kernel should run below nbtui"
        await terminal.stall()
        proc.send_signal(signum)
        assert await wait_for_exit(proc) == 0, log_of(proc.pid)
        await poll(lambda: not any(alive(pid) for pid in processes), DEADLINE,
                   message="every process of the session to end")
        assert MARKER in notebook.read_text()
        assert runtime_files(notebook) == set()
        with serving(notebook) as (second, second_socket):
            assert second_socket == socket_path
        assert second.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        terminal.close()
