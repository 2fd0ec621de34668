"""`nbtui serve --existing` and `--server` as a user types them: the options reach the session,
and their mistakes are one line."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from jupyter_client.manager import AsyncKernelManager

from tests.conftest import NBTUI
from tests.test_cli import assert_one_line_error, run_nbtui, serving

HELLO = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "cli-test", "version": "0"}}}


@pytest_asyncio.fixture
async def running_kernel(tmp_path: Path) -> AsyncIterator[AsyncKernelManager]:
    """A python3 kernel started by jupyter-client (not by nbtui), holding a variable."""
    km = AsyncKernelManager(kernel_name="python3",
                            connection_file=str(tmp_path / "kernel-cli.json"))
    log = open(tmp_path / "kernel.log", "w")
    await km.start_kernel(stdout=log, stderr=log)
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=60)
    await kc.execute_interactive("made_outside = 41", timeout=60)
    kc.stop_channels()
    try:
        yield km
    finally:
        await km.shutdown_kernel(now=True)
        log.close()


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
        tmp_path, running_kernel):
    """`nbtui serve NB --existing FILE` runs an agent's code in that kernel (its variables are
    there), and the kernel is still alive after the session stopped."""
    with serving(tmp_path / "nb.ipynb", "--existing", running_kernel.connection_file) as (
            proc, socket_path):
        result = call_tool(socket_path, "run_code", {"code": "made_outside + 1"})
        assert result["outputs"][0]["text"] == "42"
    assert await running_kernel.is_alive()


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
