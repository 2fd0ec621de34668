"""`nbtui serve` exits after SIGTERM or SIGHUP within a bounded time, even if a step of its
shutdown blocks for good.

The step that blocks here is a real one: serve logs warnings and errors to its stderr, and that
stderr is a terminal nobody reads any more (an SSH connection that stalled), so the error line
of a save that fails (the notebook changed on disk) blocks the event loop. The helpers here
(a terminal that stalls, the session's processes and files) serve the TUI's test too.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import threading
from pathlib import Path

import nbformat
import pytest

from nbtui.agent.sessions import default_socket_path, notebook_key
from nbtui.core import paths
from nbtui.core.storage import recovery_dir
from tests.conftest import NBTUI, agent, call, poll
from tests.test_cli import alive, serving

MARKER = "saved_after_the_hang_up = 1"
DEADLINE = 60
"""Seconds a test waits for nbtui to exit: far above the exit watchdog's bound."""


def descendants(pid: int) -> list[int]:
    """The pids of every process below `pid`."""
    found: list[int] = []
    parents = [pid]
    while parents:
        out = subprocess.run(["pgrep", "-P", ",".join(map(str, parents))], capture_output=True,
                             text=True).stdout
        parents = [int(child) for child in out.split()]
        found += parents
    return found


def runtime_files(notebook: Path) -> set[Path]:
    """The session's lock, record and socket, those that exist."""
    candidates = {*paths.runtime_dir().glob(f"{notebook_key(notebook)}.*"),
                  Path(default_socket_path(notebook))}
    return {p for p in candidates if p.exists()}


def log_of(pid: int) -> str:
    """nbtui's log file, for failure messages."""
    log = paths.state_dir() / "logs" / f"nbtui-{pid}.log"
    return log.read_text() if log.exists() else "(no log)"


async def wait_for_exit(proc: subprocess.Popen) -> int:
    """Wait (up to DEADLINE) for `proc` to exit; returns its status."""
    try:
        await poll(lambda: proc.poll() is not None, DEADLINE, message="nbtui to exit")
    except AssertionError:
        raise AssertionError(f"nbtui did not exit; its log:\n{log_of(proc.pid)}") from None
    return proc.returncode


class StalledTerminal:
    """A pseudo-terminal that is read until `stall()`, then kept full and never read again.

    Once stalled, every write to it blocks, as a write to a terminal whose other end has stopped
    reading does (sshd with a dead connection, a tmux server that is stuck or going away).
    """

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self._stop_read, self._stop_write = os.pipe()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        self._filler: threading.Thread | None = None

    def _drain(self) -> None:
        while True:
            ready, _, _ = select.select([self.master, self._stop_read], [], [])
            if self._stop_read in ready:
                return
            os.read(self.master, 65536)

    def _fill(self) -> None:
        # A write that never completes holds the terminal's write lock for good: every other
        # writer waits for the lock, not just for room in the terminal's buffer.
        fd = os.open(os.ttyname(self.slave), os.O_WRONLY | os.O_NOCTTY)
        try:
            while True:
                os.write(fd, b"." * (1 << 20))
        except OSError:  # the terminal was closed at the end of the test
            pass
        finally:
            os.close(fd)

    async def stall(self) -> None:
        """Stop reading, and keep the terminal full: from now on every write to it blocks."""
        os.write(self._stop_write, b"x")
        self._reader.join()
        filler = self._filler = threading.Thread(target=self._fill, daemon=True)
        filler.start()
        stat = Path(f"/proc/self/task/{filler.native_id}/stat")
        await poll(lambda: stat.read_text().rsplit(")", 1)[1].split()[0] == "S", 10,
                   message="the terminal to be full")

    def close(self) -> None:
        """Close both ends (which ends the write blocked on the full terminal)."""
        if self._reader.is_alive():
            os.write(self._stop_write, b"x")
            self._reader.join()
        os.close(self.master)
        if self._filler is not None:
            self._filler.join()
        for fd in (self.slave, self._stop_read, self._stop_write):
            os.close(fd)


@pytest.fixture
def terminal():
    """A pseudo-terminal, closed after the test."""
    term = StalledTerminal()
    yield term
    term.close()


def write_notebook(path: Path, source: str) -> Path:
    """Write a notebook with one markdown cell."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(source))
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
async def test_serve_exits_although_its_shutdown_blocks(tmp_path, terminal, signum):
    """serve, its stderr a terminal nobody reads and its notebook changed on disk, exits after
    SIGTERM or SIGHUP although the error line of its failed save blocks: status 1, the edit in a
    recovery copy, the file on disk untouched, no process of the session left, and the lock,
    record and socket gone so that the notebook opens again."""
    notebook = write_notebook(tmp_path / "blocked.ipynb", "# before")
    proc = subprocess.Popen([NBTUI, "serve", str(notebook)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=terminal.slave, text=True)
    try:
        socket_path = proc.stdout.readline().strip()
        assert socket_path, log_of(proc.pid)
        async with agent(socket_path) as client:
            await call(client, "insert_cell", source=MARKER, run=True)
        on_disk = write_notebook(notebook, "# changed elsewhere").read_bytes()
        processes = descendants(proc.pid)
        assert processes, "the kernel should run below serve"
        await terminal.stall()
        proc.send_signal(signum)
        assert await wait_for_exit(proc) == 1, log_of(proc.pid)
        await poll(lambda: not any(alive(pid) for pid in processes), DEADLINE,
                   message="every process of the session to end")
        assert notebook.read_bytes() == on_disk
        copies = recovery_dir().glob(f"{notebook.stem}-*.ipynb")
        assert any(MARKER in copy.read_text() for copy in copies)
        assert runtime_files(notebook) == set()
        with serving(notebook) as (second, second_socket):
            assert second_socket == socket_path
        assert second.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
