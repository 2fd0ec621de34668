"""Third-party MCP clients, as users run them, against a real session.

The clients are pinned in tests/clients (package.json and its lock file; `.ci/run` installs
them with `npm ci`): the MCP Inspector's CLI and the TypeScript SDK's stdio client. Both are
started with the trimmed environment real clients give `nbtui attach` (HOME, PATH, SHELL, TERM,
USER, LOGNAME, LANG), and the session is started without NBTUI_RUNTIME_DIR, so `attach` has to
find it the way it does on a user's machine. Over SSH, a real sshd on a loopback port serves
an MCP client whose server command is `ssh … nbtui attach`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import NBTUI
from tests.test_cli import serving, wait_until
from tests.test_discovery import trimmed_environment
from tests.test_seed_workflow import check_seed_notebook, seed_workflow

CLIENTS = Path(__file__).resolve().parent / "clients"
INSPECTOR = CLIENTS / "node_modules" / ".bin" / "mcp-inspector"
SDK_CLIENT = CLIENTS / "sdk_client.mjs"
SSHD = Path("/usr/sbin/sshd")
SSH_ALIAS = "nbtui-test-box"
"""The host name the tests' ssh client configuration gives the loopback sshd."""


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with the pinned clients installed beside the tests."""
    path = shutil.which("node")
    assert path, "node is missing: `.ci/run` installs it (Debian's nodejs and npm)"
    assert INSPECTOR.exists(), "the pinned clients are missing: run `npm ci --prefix tests/clients`"
    return path


@contextmanager
def user_session(notebook: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """`nbtui serve NOTEBOOK` in the user's own runtime directory (no NBTUI_RUNTIME_DIR)."""
    env = {key: value for key, value in os.environ.items() if key != "NBTUI_RUNTIME_DIR"}
    with serving(notebook, env=env) as served:
        yield served


def inspector(node: str, notebook: Path, *args: str) -> dict:
    """One `mcp-inspector --cli` call through `nbtui attach NOTEBOOK`; its JSON answer."""
    proc = subprocess.run([node, str(INSPECTOR), "--cli", NBTUI, "attach", str(notebook), *args],
                          capture_output=True, text=True, timeout=120, cwd=CLIENTS,
                          env=trimmed_environment())
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return json.loads(proc.stdout)


def tool_call(node: str, notebook: Path, tool: str, **arguments: object) -> dict:
    """Call a tool through the Inspector; returns the tool's result."""
    args = ["--method", "tools/call", "--tool-name", tool]
    for key, value in arguments.items():
        text = value if isinstance(value, str) else json.dumps(value)
        args += ["--tool-arg", f"{key}={text}"]
    return inspector(node, notebook, *args)


def structured(result: dict) -> dict:
    """A tool result's structured content (or its JSON text)."""
    return result.get("structuredContent") or json.loads(result["content"][0]["text"])


def test_inspector_cli_lists_and_calls_every_tool_and_reads_the_resource(tmp_path, node):
    """The MCP Inspector CLI, started with a trimmed environment, lists the tools, calls every
    one of them, and lists and reads the notebook resource."""
    notebook = tmp_path / "inspected.ipynb"
    with user_session(notebook):
        tools = {t["name"] for t in inspector(node, notebook, "--method", "tools/list")["tools"]}
        called = set()

        def call(tool: str, **arguments: object) -> dict:
            called.add(tool)
            result = tool_call(node, notebook, tool, **arguments)
            assert not result.get("isError"), result
            return structured(result)

        cell = call("insert_cell", source="x = 41\nx + 1", run=True)["cells"][0]
        assert cell["outputs"][0]["text"] == "42"
        # (The Inspector sends "41" as the number 41: text arguments here are not all digits.)
        call("edit_cell", cell_id=cell["id"], old_text="x = 41", new_text="x = 1")
        note = call("insert_cell", source="# notes", cell_type="markdown")["cell"]
        call("move_cell", cell_id=note["id"], index=0)
        assert call("run_cells", cell_ids=[cell["id"]])["cells"][0]["outputs"][0]["text"] == "2"
        call("wait", cell_ids=[cell["id"]])
        assert call("read_cells", cell_ids=[cell["id"]])["cells"][0]["source"] == "x = 1\nx + 1"
        assert call("read_output", cell_id=cell["id"], output_index=0)["text"] == "2"
        assert call("run_code", code="x * 10")["outputs"][0]["text"] == "10"
        assert "x" in {v["name"] for v in call("list_variables")["variables"]}
        assert call("changes_since", revision=0)["changes"]
        assert call("get_notebook")["path"] == str(notebook)
        call("interrupt_kernel")
        call("save_notebook")
        call("restart_kernel")
        call("delete_cells", cell_ids=[note["id"]])
        refused = tool_call(node, notebook, "install_packages", packages=["not a requirement!!"])
        called.add("install_packages")
        assert refused["isError"] and "is not a requirement string" in \
            refused["content"][0]["text"]
        assert called == tools

        resources = inspector(node, notebook, "--method", "resources/list")["resources"]
        uri = resources[0]["uri"]
        read = inspector(node, notebook, "--method", "resources/read", "--uri", uri)
        assert "cells" in json.loads(read["contents"][0]["text"])


def test_typescript_sdk_client_uses_every_tool_progress_images_and_cancel(tmp_path, node):
    """A client on the TypeScript SDK (stdio transport, its default trimmed environment),
    configured with the default snippet `mcp-config` prints (no notebook named) while two
    notebooks are open, reaches the one under its working directory, calls every tool,
    receives a plot as image content, gets progress during a long run, cancels a call, and
    keeps working afterwards."""
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    notebook = project / "sdk.ipynb"
    server = json.loads(subprocess.run([NBTUI, "mcp-config"], capture_output=True, text=True,
                                       check=True).stdout)["mcpServers"]["nbtui"]
    with user_session(elsewhere / "other.ipynb"), user_session(notebook):
        proc = subprocess.run([node, str(SDK_CLIENT), server["command"], *server["args"]],
                              capture_output=True, text=True, timeout=300, cwd=project,
                              env=trimmed_environment())
    seen = json.loads(proc.stdout)
    assert seen["ok"], seen.get("failure", "") + seen.get("server_stderr", "") + proc.stderr
    assert seen["server"]["name"] == "nbtui" and seen["path"] == str(notebook)
    assert set(seen["calls"]) == set(seen["tools"])
    assert set(seen["errors"]) == {"install_packages"}, seen["errors"]
    assert seen["resources"] == ["nbtui://notebook"] and seen["resource_has_cells"]
    assert seen["image_types"] == ["image/png"]
    progress = [p["progress"] for p in seen["progress"]]
    assert progress and progress == sorted(set(progress)), seen["progress"]
    assert "the test cancels" in seen["cancelled"]
    assert "still here" in seen["after_cancel"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[list[str]]:
    """A real sshd on a loopback port that lets this user in with a throwaway key; yields the
    ssh command (with its options) that reaches it, up to and including the host."""
    assert SSHD.exists(), "sshd is missing: `.ci/run` installs Debian's openssh-server"
    keys = tmp_path / "ssh"
    keys.mkdir(mode=0o700)
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)],
                       check=True)
    (keys / "authorized_keys").write_text((keys / "client.pub").read_text())
    port = free_port()
    config = keys / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host'}\n"
        f"AuthorizedKeysFile {keys / 'authorized_keys'}\nPidFile {keys / 'sshd.pid'}\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\nPermitRootLogin yes\n"
        "KbdInteractiveAuthentication no\n")
    Path("/run/sshd").mkdir(exist_ok=True)
    daemon = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def listening() -> bool:
            assert daemon.poll() is None, daemon.stderr.read().decode()
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        wait_until(listening, message="sshd to listen")
        client_config = keys / "ssh_config"
        client_config.write_text(
            f"Host {SSH_ALIAS}\n  HostName 127.0.0.1\n  Port {port}\n"
            f"  User {os.environ.get('USER', 'root')}\n  IdentityFile {keys / 'client'}\n"
            "  BatchMode yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
            "  LogLevel ERROR\n")
        yield ["ssh", "-F", str(client_config), "-T", SSH_ALIAS]
    finally:
        daemon.terminate()
        daemon.communicate(timeout=30)


async def test_seed_workflow_over_ssh_and_a_dropped_connection(tmp_path, sshd):
    """An MCP client configured with the snippet `mcp-config --ssh HOST` prints (a notebook
    path with spaces) does the seed workflow; then an ssh client killed in the middle of a run
    leaves the session, the kernel and another agent working, and a new attach works."""
    notebook = tmp_path / "my work" / "remote nb.ipynb"
    notebook.parent.mkdir()
    snippet = subprocess.run([NBTUI, "mcp-config", "--ssh", SSH_ALIAS, "--remote-nbtui", NBTUI,
                              "--notebook", str(notebook)], capture_output=True, text=True,
                             check=True).stdout
    server = json.loads(snippet)["mcpServers"]["nbtui"]
    assert server["command"] == "ssh"
    # The snippet as printed, with the test's ssh configuration (where the host lives).
    over_ssh = StdioServerParameters(command="ssh", args=[*sshd[1:3], *server["args"]],
                                     env=trimmed_environment())
    with user_session(notebook) as (proc, socket_path):
        await seed_workflow(over_ssh, agent_name="ssh-agent")

        other = StdioServerParameters(command=NBTUI, args=["attach", socket_path],
                                      env=trimmed_environment())
        async with Client(other, mode="legacy") as client:
            dropped = subprocess.Popen(["ssh", *over_ssh.args],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, env=trimmed_environment())
            messages = [
                {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "dropped", "version": "0"}}},
                {"jsonrpc": "2.0", "method": "notifications/initialized"},
                {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
                    "name": "run_code",
                    "arguments": {"code": "import time\ntime.sleep(3)\n'slept'"}}},
            ]
            dropped.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
            dropped.stdin.flush()
            assert json.loads(dropped.stdout.readline())["id"] == 1

            async def kernel_state() -> str:
                result = await client.call_tool("get_notebook", {})
                return result.structured_content["kernel"]["state"]

            deadline = time.monotonic() + 30
            while await kernel_state() != "busy":
                assert time.monotonic() < deadline, "the dropped agent's run never started"
            dropped.send_signal(signal.SIGKILL)
            dropped.communicate(timeout=30)

            result = await client.call_tool("run_code", {"code": "1 + 1"})
            assert result.structured_content["outputs"][0]["text"] == "2"
        async with Client(over_ssh, mode="legacy") as client:
            result = await client.call_tool("run_code", {"code": "len(df)"})
            assert result.structured_content["outputs"][0]["text"] == "300"
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    check_seed_notebook(notebook)
