"""End to end: `nbtui --approve` in a real terminal (tmux), an agent through `nbtui attach`."""

from __future__ import annotations

import asyncio
import os

import mcp_types as types
from mcp import Client, StdioServerParameters
from test_e2e_tmux import NBTUI, TIMEOUT, children, log_of, pane  # noqa: F401 - pane is a fixture
from tui_helpers import write_notebook

from nbtui.agent.sessions import default_socket_path
from tests.conftest import poll
from tests.test_cli import alive


async def test_approve_mode_in_a_real_terminal_with_an_agent_through_attach(tmp_path, pane):  # noqa: F811
    """nbtui --approve in tmux: an agent's run_code (through `nbtui attach`) shows the prompt,
    y lets it run and the agent gets the result; ctrl+q then saves, and no kernel outlives it."""
    path = write_notebook(tmp_path / "pair.ipynb", [("code", "base = 40")])
    pane.start(tmp_path, NBTUI, "--approve", path.name)
    await pane.shows("base = 40", "python3: idle", "run ✓approve")
    pid = pane.program_pid()
    kernels = children(pid)
    assert kernels, "the kernel should be a child of nbtui"

    socket_path = default_socket_path(path.absolute())
    params = StdioServerParameters(command=NBTUI, args=["attach", "--wait", "10", socket_path],
                                   env=dict(os.environ))
    info = types.Implementation(name="claude", version="1.0")
    async with Client(params, client_info=info, mode="legacy") as client:
        run = asyncio.create_task(client.call_tool("run_code", {"code": "6 * 7"}))
        await pane.shows("claude asks to run this code", "6 * 7", "y allows, n or esc declines")
        assert not run.done()
        pane.press("y")
        result = await asyncio.wait_for(run, TIMEOUT)
        assert not result.is_error, result.content[0].text
        assert result.structured_content["outputs"][0]["text"].strip() == "42"
        await pane.shows("agents: claude")
        assert "claude asks" not in pane.screen()

        inserted = await client.call_tool("insert_cell", {"source": "from_the_agent = 1"})
        assert not inserted.is_error
        await pane.shows("from_the_agent = 1")

    pane.press("C-q")
    await pane.shows("unsaved changes")
    pane.press("s")
    assert await pane.exit_status() == 0, log_of(pid)
    await poll(lambda: not any(alive(k) for k in kernels), 10, message="the kernel to be gone")
    assert "from_the_agent = 1" in path.read_text()
