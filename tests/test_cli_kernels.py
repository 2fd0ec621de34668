"""`nbtui serve --existing` and `--server` as a user types them: the options reach the session,
and their mistakes are one line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest_asyncio
from jupyter_client.manager import AsyncKernelManager

from tests.conftest import NBTUI
from tests.test_cli import assert_one_line_error, run_nbtui, serving
from tests.test_existing_kernel import running_kernel  # noqa: F401 - a fixture

HELLO = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "cli-test", "version": "0"}}}


@pytest_asyncio.fixture
async def kernel_with_variable(running_kernel: AsyncKernelManager  # noqa: F811
                               ) -> AsyncKernelManager:
    """The running kernel, holding a variable set from outside nbtui."""
    kc = running_kernel.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=60)
    await kc.execute_interactive("made_outside = 41", timeout=60)
    kc.stop_channels()
    return running_kernel


def call_tool(socket_path: str, tool: str, arguments: dict) -> dict:
    """One tool call through `nbtui attach SOCKET`; its structured result."""
    messages = [HELLO, {"jsonrpc": "2.0", "method": "notifications/initialized"},
                {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                 "params": {"name": tool, "arguments": arguments}}]
    proc = subprocess.Popen([NBTUI, "attach", socket_path], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
        proc.stdin.flush()
        for line in proc.stdout:
            reply = json.loads(line)
            if reply.get("id") == 2:
                return reply["result"]["structuredContent"]
        raise AssertionError(proc.stderr.read())
    finally:
        proc.kill()
        proc.communicate()


async def test_serve_existing_runs_on_the_running_kernel_and_leaves_it_running(
        tmp_path, kernel_with_variable):
    """`nbtui serve NB --existing FILE` runs an agent's code in that kernel (its variables are
    there), and the kernel is still alive after the session stopped."""
    with serving(tmp_path / "nb.ipynb", "--existing",
                 kernel_with_variable.connection_file) as (
            proc, socket_path):
        result = call_tool(socket_path, "run_code", {"code": "made_outside + 1"})
        assert result["outputs"][0]["text"] == "42"
    assert await kernel_with_variable.is_alive()


def test_kernel_option_mistakes_are_one_line(tmp_path):
    """A token in the --server URL, --server and --existing together, and a missing
    connection file are each refused with one line, before anything starts."""
    notebook = str(tmp_path / "nb.ipynb")
    proc = run_nbtui("serve", notebook, "--server", "http://127.0.0.1:1/?token=x7q9tokenvalue")
    assert_one_line_error(proc, "JUPYTER_TOKEN")
    assert "x7q9tokenvalue" not in proc.stderr
    both = run_nbtui("serve", notebook, "--server", "http://127.0.0.1:1",
                     "--existing", str(tmp_path / "k.json"))
    assert_one_line_error(both)
    missing = run_nbtui("serve", notebook, "--existing", str(tmp_path / "none.json"))
    assert_one_line_error(missing, "none.json is not a file")
    assert not Path(notebook).exists()
