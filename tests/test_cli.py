"""The real `nbtui` command in subprocesses: serve, attach, list, mcp-config, and the errors a
user can cause."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import tomllib
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
import yaml

from nbtui.cli import CLIENTS
from tests.conftest import NBTUI, as_other_user


def run_nbtui(*args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([NBTUI, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kwargs)


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def children_of(pid: int) -> list[int]:
    """Pids whose parent is `pid` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(condition, timeout: float = 30, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.05)


@contextmanager
def serving(notebook: Path, *extra: str, env: dict[str, str] | None = None):
    """`nbtui serve NOTEBOOK` as a subprocess; yields (process, socket path)."""
    proc = subprocess.Popen([NBTUI, "serve", str(notebook), *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env)
    try:
        line = proc.stdout.readline().strip()
        if not line:
            # stdout ended: serve is exiting; its stderr says why once it has.
            proc.wait(30)
            raise AssertionError(f"serve printed no socket path (exit {proc.returncode}): "
                                 f"{proc.stderr.read()}")
        yield proc, line
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_serve_socket_is_private_and_listed(tmp_path):
    """serve prints its socket first; the socket is 0600 in a 0700 directory and `nbtui list`
    shows the session."""
    notebook = tmp_path / "listed.ipynb"
    with serving(notebook) as (proc, socket_path):
        mode = stat.S_IMODE(os.stat(socket_path).st_mode)
        dir_mode = stat.S_IMODE(os.stat(Path(socket_path).parent).st_mode)
        assert (mode, dir_mode) == (0o600, 0o700)
        listed = json.loads(run_nbtui("list", "--json").stdout)
        assert [(r["pid"], r["notebook"], r["socket"]) for r in listed] == [
            (proc.pid, str(notebook), socket_path)]
        assert str(notebook) in run_nbtui("list").stdout
    assert run_nbtui("list", "--json").stdout.strip() == "[]"
    assert not os.path.exists(socket_path)


def test_sigterm_saves_and_leaves_no_kernel(tmp_path):
    """SIGTERM saves the notebook, stops the kernel process and removes the socket."""
    notebook = tmp_path / "term.ipynb"
    with serving(notebook) as (proc, socket_path):
        kernels = wait_until(lambda: children_of(proc.pid), message="the kernel process")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert not any(alive(pid) for pid in kernels)
    assert not os.path.exists(socket_path)
    nb = nbformat.read(notebook, as_version=4)
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP])
def test_sigint_and_sighup_also_stop_cleanly(tmp_path, signum):
    """SIGINT and SIGHUP (a dropped SSH connection) also save and stop the kernel."""
    notebook = tmp_path / "hup.ipynb"
    with serving(notebook) as (proc, _):
        kernels = wait_until(lambda: children_of(proc.pid), message="the kernel process")
        proc.send_signal(signum)
        assert proc.wait(30) == 0
    assert not any(alive(pid) for pid in kernels)
    assert notebook.exists()


def test_second_serve_of_the_same_notebook_is_refused(tmp_path):
    """Opening a notebook that another session has open says where and exits non-zero."""
    notebook = tmp_path / "twice.ipynb"
    with serving(notebook) as (proc, socket_path):
        second = run_nbtui("serve", str(notebook))
    assert_one_line_error(second, "already open", str(proc.pid), socket_path)


def test_invalid_notebook_is_refused_and_untouched(tmp_path):
    """An invalid .ipynb is refused with one line naming the file; the file is untouched."""
    notebook = tmp_path / "broken.ipynb"
    notebook.write_text('{"cells": [}')
    before = notebook.read_bytes()
    proc = run_nbtui("serve", str(notebook))
    assert_one_line_error(proc, "broken.ipynb", "not valid JSON")
    assert notebook.read_bytes() == before


def test_missing_kernel_is_a_clear_error(tmp_path):
    """An unknown --kernel ends with one line that lists the installed kernels."""
    proc = run_nbtui("serve", str(tmp_path / "k.ipynb"), "--kernel", "no-such-kernel")
    assert_one_line_error(proc, "no-such-kernel", "python3")
    assert not (tmp_path / "k.ipynb").exists()


def test_attach_without_a_session_is_a_clear_error():
    """attach with nothing running says how to start a session."""
    proc = run_nbtui("attach")
    assert_one_line_error(proc, "No nbtui session is running")


def test_attach_waits_for_the_session(tmp_path):
    """attach --wait connects to a session that starts after it."""
    notebook = tmp_path / "later.ipynb"
    attach = subprocess.Popen([NBTUI, "attach", "--wait", "60", str(notebook)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        with serving(notebook):
            hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "waiter", "version": "0"}}}
            attach.stdin.write(json.dumps(hello).encode() + b"\n")
            attach.stdin.flush()
            reply = json.loads(attach.stdout.readline())
            assert reply["result"]["serverInfo"]["name"] == "nbtui"
    finally:
        attach.kill()
        attach.wait()
        for stream in (attach.stdin, attach.stdout, attach.stderr):
            stream.close()


def test_another_users_connection_is_refused(tmp_path):
    """Even with the socket's mode opened up, a connection from another uid is refused."""
    # pytest's own temp directories are private to root, so the socket goes where the other
    # user can reach it; only the peer-credential check is left to refuse them.
    public = Path(tempfile.mkdtemp(prefix="nbtui-peer-", dir="/tmp"))
    try:
        public.chmod(0o777)
        socket_path = str(public / "s.sock")
        with serving(tmp_path / "peer.ipynb", "--socket", socket_path):
            os.chmod(socket_path, 0o666)
            probe = ("import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
                     "print(s.makefile().readline())")
            proc = subprocess.run(as_other_user("-c", probe, socket_path),
                                  capture_output=True, text=True, timeout=30)
    finally:
        shutil.rmtree(public, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr
    assert "belongs to another user" in proc.stdout


@pytest.mark.parametrize("client", list(CLIENTS))
def test_mcp_config_snippets(client, tmp_path):
    """mcp-config prints, for each client, a snippet in the form its documentation gives that
    runs `nbtui attach` by its full path, with the notebook's absolute path."""
    out = run_nbtui("mcp-config", "--client", client, "--notebook", "my nb.ipynb",
                    cwd=tmp_path).stdout
    notebook = str(tmp_path / "my nb.ipynb")
    if client == "claude":
        argv = shlex.split(out)
        assert argv[:6] == ["claude", "mcp", "add", "--scope", "user", "nbtui"]
        command, args = argv[7], argv[8:]
    elif client == "codex":
        server = tomllib.loads(out)["mcp_servers"]["nbtui"]
        assert server["tool_timeout_sec"] >= 300 and server["startup_timeout_sec"] > 10
        command, args = server["command"], server["args"]
    elif client == "goose":
        existing = "extensions:\n  developer:\n    type: builtin\n    enabled: true\n"
        merged = yaml.safe_load(existing + out)["extensions"]
        assert set(merged) == {"developer", "nbtui"} and merged["nbtui"]["type"] == "stdio"
        command, args = merged["nbtui"]["cmd"], merged["nbtui"]["args"]
    elif client == "vscode":
        server = json.loads(out)["servers"]["nbtui"]
        assert server["type"] == "stdio"
        command, args = server["command"], server["args"]
    else:
        server = json.loads(out)["mcpServers"]["nbtui"]
        if client == "gemini":
            assert server["timeout"] >= 300_000
        command, args = server["command"], server["args"]
    assert os.path.isabs(command) and command.endswith("nbtui")
    assert args == ["attach", "--wait", "10", notebook]


def test_mcp_config_over_ssh_quotes_for_the_remote_shell(tmp_path):
    """mcp-config --ssh HOST makes the client run `ssh -T HOST '<remote nbtui> attach …'`, the
    remote command one line the remote shell splits back into the same arguments (spaces and
    quotes in paths included), with a leading ~/ left for the remote shell to expand."""
    notebook = "work/it's my nb.ipynb"
    server = json.loads(run_nbtui("mcp-config", "--ssh", "box", "--remote-nbtui",
                                  "~/my env/bin/nbtui", "--notebook", notebook).stdout)
    server = server["mcpServers"]["nbtui"]
    assert server["command"] == "ssh" and server["args"][:2] == ["-T", "box"]
    (remote,) = server["args"][2:]
    home = tmp_path / "home"
    fake = home / "my env" / "bin" / "nbtui"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n")
    fake.chmod(0o755)
    shell = subprocess.run(["sh", "-c", remote], capture_output=True, text=True,
                           env={"HOME": str(home), "PATH": "/usr/bin:/bin"})
    assert shell.stdout.splitlines() == ["attach", "--wait", "10", notebook], shell.stderr
    default = json.loads(run_nbtui("mcp-config", "--ssh", "box").stdout)["mcpServers"]["nbtui"]
    assert default["args"] == ["-T", "box", "nbtui attach --wait 10"]


def test_runtime_warnings_go_to_the_log_not_the_terminal(tmp_path, monkeypatch,
                                                         restored_logging):
    """Once logging is set up, a library's warning lands in the log file, not on stderr."""
    import logging
    import warnings

    from nbtui.cli import setup_logging

    monkeypatch.setenv("NBTUI_STATE_DIR", str(tmp_path))
    log_file = setup_logging(to_stderr=False)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("a library complains", UserWarning, stacklevel=1)
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "a library complains" in log_file.read_text()
