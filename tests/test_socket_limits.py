"""What a client can make the session's socket do: a client that never reads its replies is
stopped (memory stays bounded, other agents carry on) and dropped once stalled; junk, resets
and shutdown with agents attached make one log line each, no traceback; a burst of connects
is accepted. Real `nbtui serve` subprocesses and real sockets."""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import socket
from pathlib import Path

import pytest

from nbtui.agent import transport
from tests.conftest import agent, call, poll, serve_notebook
from tests.test_cli import serving, wait_until

MB = 1024 * 1024

HELLO = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "raw", "version": "0"}}}).encode() + b"\n"

JUNK = b"x\n" * 32768
"""Short lines that are not JSON: each one gets an error reply about 75 times its size."""


def rss_bytes(pid: int) -> int:
    """The resident memory of process `pid`."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def writable(sock: socket.socket) -> bool:
    return bool(select.select([], [sock], [], 0)[1])


def readable(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


async def test_client_that_never_reads_is_stopped_and_memory_stays_bounded(tmp_path):
    """A client writing 24 MiB of junk lines and never reading its error replies is no longer
    read from (or is dropped): the server's memory stays bounded and another agent's
    get_notebook still works."""
    with serving(tmp_path / "nb.ipynb") as (proc, socket_path):
        async with agent(socket_path, name="polite") as polite:
            await call(polite, "get_notebook")
            before = rss_bytes(proc.pid)
            junk = socket.socket(socket.AF_UNIX)
            junk.connect(socket_path)
            junk.setblocking(False)
            sent, outcome = 0, "sent everything"
            while sent < 24 * MB:
                assert rss_bytes(proc.pid) - before < 200 * MB, f"grew after {sent} bytes"
                try:
                    sent += junk.send(JUNK)
                    continue
                except BlockingIOError:
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    outcome = "dropped"
                    break
                # The server is busy or has stopped reading: a whole round trip for another
                # agent tells which.
                await call(polite, "get_notebook")
                if not writable(junk):
                    outcome = "blocked"
                    break
            assert outcome in ("blocked", "dropped"), f"{sent} bytes all read"
            assert rss_bytes(proc.pid) - before < 200 * MB
            await call(polite, "get_notebook")
            junk.close()


async def test_client_that_reads_nothing_for_the_stall_time_is_dropped(tmp_path, monkeypatch,
                                                                     caplog):
    """A client that reads none of its pending replies for STALL_SECONDS is disconnected,
    with one WARNING line and no traceback."""
    monkeypatch.setattr(transport, "STALL_SECONDS", 0.5)
    caplog.set_level(logging.INFO)
    async with serve_notebook(tmp_path / "nb.ipynb", start_kernel=False) as served:
        junk = socket.socket(socket.AF_UNIX)
        junk.connect(served.socket)
        junk.setblocking(False)

        def dropped() -> bool:
            try:
                junk.send(JUNK)
            except BlockingIOError:
                return False
            except (BrokenPipeError, ConnectionResetError):
                return True
            return False

        def logged() -> list[logging.LogRecord]:
            return [r for r in caplog.records if r.name == transport.__name__]

        await poll(dropped, message="the silent client to be disconnected")
        junk.close()
        records = await poll(logged, message="the disconnection to be logged")
        assert [(r.levelno, r.exc_info) for r in records] == [(logging.WARNING, None)]
        assert "read none of its replies" in records[0].getMessage()
        async with agent(served.socket) as client:
            await call(client, "get_notebook")


def log_lines(state: Path, pid: int) -> list[str]:
    """The lines of the nbtui log of process `pid` so far."""
    path = state / "logs" / f"nbtui-{pid}.log"
    return path.read_text().splitlines() if path.exists() else []


def about_connections(lines: list[str]) -> list[str]:
    """The log lines written by the socket's code or by asyncio's."""
    return [line for line in lines if " asyncio" in line or " nbtui.agent" in line]


def stop_and_collect(proc) -> str:  # noqa: ANN001 - a Popen with text pipes
    """SIGTERM the serve process, wait for it, and return what it wrote on stderr."""
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    return proc.stderr.read()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state directory of the test's own, so the serve process's log can be read."""
    directory = tmp_path / "state"
    monkeypatch.setenv("NBTUI_STATE_DIR", str(directory))
    return directory


def test_sigterm_with_an_attached_agent_prints_no_traceback(tmp_path, state):
    """SIGTERM of `nbtui serve` while an agent is attached exits cleanly, with no traceback on
    stderr or in the log."""
    with serving(tmp_path / "nb.ipynb") as (proc, socket_path):
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(socket_path)
            client.sendall(HELLO)
            assert b'"result"' in client.makefile("rb").readline()
            stderr = stop_and_collect(proc)
    assert "Traceback" not in stderr and len(stderr.splitlines()) <= 1, stderr
    lines = log_lines(state, proc.pid)
    assert not [line for line in lines if "Traceback" in line or " ERROR " in line], lines


def test_junk_then_disconnect_is_one_log_line(tmp_path, state):
    """A client that sends 5000 junk lines and disconnects before the server reads them adds
    one log line (INFO), not one per reply."""
    with serving(tmp_path / "nb.ipynb") as (proc, socket_path):
        # Stopped, the server reads the junk only after the client has gone, so every
        # reply is written to a closed connection.
        proc.send_signal(signal.SIGSTOP)
        try:
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(socket_path)
                client.sendall(b"x\n" * 5000)
        finally:
            proc.send_signal(signal.SIGCONT)
        wait_until(lambda: about_connections(log_lines(state, proc.pid)),
                   message="the connection to be logged")
        stderr = stop_and_collect(proc)
    lines = about_connections(log_lines(state, proc.pid))
    assert len(lines) == 1, lines[:5]
    assert " INFO " in lines[0] and "5000 invalid" in lines[0]
    assert "Traceback" not in stderr and len(stderr.splitlines()) <= 1, stderr


def test_reset_connection_is_one_info_line(tmp_path, state):
    """A client that closes with replies unread (the server's next read is reset) is logged
    in one INFO line, not as an ERROR with a traceback."""
    with serving(tmp_path / "nb.ipynb") as (proc, socket_path):
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(socket_path)
            client.sendall(HELLO)
            select.select([client], [], [], 60)
            assert readable(client)
        wait_until(lambda: "reset" in "\n".join(log_lines(state, proc.pid)).lower(),
                   message="the reset to be logged")
        stop_and_collect(proc)
    lines = log_lines(state, proc.pid)
    assert not [line for line in lines if "Traceback" in line or " ERROR " in line], lines
    resets = [line for line in lines if "reset" in line.lower()]
    assert len(resets) == 1 and " INFO " in resets[0], lines


def test_a_burst_of_connects_is_accepted(tmp_path):
    """200 clients connecting at once while the server is busy are all queued, none refused."""
    with serving(tmp_path / "nb.ipynb") as (proc, socket_path):
        clients, refused = [], 0
        proc.send_signal(signal.SIGSTOP)
        try:
            for _ in range(200):
                client = socket.socket(socket.AF_UNIX)
                client.setblocking(False)
                clients.append(client)
                try:
                    client.connect(socket_path)
                except (BlockingIOError, ConnectionRefusedError):
                    refused += 1
        finally:
            proc.send_signal(signal.SIGCONT)
            for client in clients:
                client.close()
        assert refused == 0
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(socket_path)
            client.sendall(HELLO)
            assert b'"result"' in client.makefile("rb").readline()
    assert os.path.exists(tmp_path / "nb.ipynb")
