"""Another local user cannot plant a runtime directory, session record or socket that nbtui
trusts, and `--socket PATH` replaces nothing but a stale socket of the user's: the real `nbtui`
command in subprocesses, the other user played by uid 65534 with the system Python."""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from nbtui.agent.sessions import notebook_key
from tests.conftest import NBTUI, OTHER_UID, as_other_user
from tests.test_cli import assert_one_line_error, run_nbtui, serving

HELLO = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "victim", "version": "0"}}}) + "\n"

FAKE_SERVER = r"""
import fcntl, json, os, socket, sys
directory, key, notebook = sys.argv[1:4]
base = os.path.join(directory, key)
lock = os.open(base + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(lock, fcntl.LOCK_EX)
server = socket.socket(socket.AF_UNIX)
server.bind(base + ".sock")
os.chmod(base + ".sock", 0o777)
server.listen()
with open(base + ".json", "w") as f:
    json.dump({"pid": os.getpid(), "notebook": notebook, "socket": base + ".sock",
               "started": 0, "agents": []}, f)
print("ready", flush=True)
while True:
    conn, _ = server.accept()
    received = 0
    for line in conn.makefile("rb"):
        received += len(line)
        conn.sendall(b'{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18",'
                     b'"capabilities":{},"serverInfo":{"name":"nbtui","version":"0"}}}\n')
    conn.close()
    print("received", received, flush=True)
"""


def start_as_other_user(*args: str, **kwargs) -> subprocess.Popen:
    """The system Python run as uid 65534 (the test fails, not skips, when it cannot be)."""
    return subprocess.Popen(as_other_user(*args), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def run_as_other_user(code: str, *args: str) -> None:
    proc = start_as_other_user("-c", code, *args)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


@pytest.fixture
def public_tmp() -> Iterator[Path]:
    """A fresh world-writable sticky directory, as /tmp is, to serve as the temp directory."""
    path = Path(tempfile.mkdtemp(prefix="nbtui-pub-", dir="/tmp"))
    path.chmod(0o1777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def runtime(public_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """nbtui commands run with their runtime directory in the world-writable `public_tmp`, as
    /tmp/nbtui-UID is on a machine without /run/user; returns that directory."""
    path = public_tmp / f"nbtui-{os.getuid()}"
    monkeypatch.setenv("NBTUI_RUNTIME_DIR", str(path))
    return path


def snapshot(directory: Path) -> dict[str, tuple[int, int, int, bytes]]:
    """Every entry under `directory` (links not followed): mode, owner, size and contents."""
    found = {}
    for path in [directory, *directory.rglob("*")]:
        info = os.lstat(path)
        data = path.read_bytes() if stat.S_ISREG(info.st_mode) else b""
        found[str(path)] = (info.st_mode, info.st_uid, info.st_size, data)
    return found


def attach(*target: str) -> subprocess.CompletedProcess:
    """`nbtui attach` with an agent's first message waiting on its stdin."""
    return subprocess.run([NBTUI, "attach", *target], input=HELLO, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("owner", ["another user", "the user"])
def test_symlinked_runtime_directory_is_refused(tmp_path, public_tmp, runtime, owner):
    """A runtime directory planted as a symlink to a directory (another user's, or one of the
    user's that the planter knows) makes list, attach and serve refuse with one sentence;
    nothing is chmodded or written through the link."""
    target = public_tmp / "target"
    if owner == "the user":
        target.mkdir(mode=0o755)
    plant = "import os, sys; os.symlink(sys.argv[1], sys.argv[2])"
    if owner == "another user":
        plant = "import os, sys; os.mkdir(sys.argv[1]); os.chmod(sys.argv[1], 0o777); " + plant
    run_as_other_user(plant, str(target), str(runtime))
    before = snapshot(target)
    notebook = tmp_path / "nb.ipynb"

    for proc in (run_nbtui("list"), attach(), attach(str(notebook)),
                 run_nbtui("serve", str(notebook))):
        assert_one_line_error(proc, str(runtime), "is a symbolic link", "NBTUI_RUNTIME_DIR")
    assert snapshot(target) == before
    assert os.readlink(runtime) == str(target)


def next_line(proc: subprocess.Popen, timeout: float) -> str:
    """The next line `proc` prints, waiting at most `timeout` seconds for it."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"no line from pid {proc.pid} within {timeout}s"
    return proc.stdout.readline()


@contextmanager
def planted_session(runtime: Path, notebook: Path) -> Iterator[subprocess.Popen]:
    """Another user's fake session in `runtime`: a live lock, a record naming `notebook`, and
    a listening socket whose server answers anything and reports the bytes it received."""
    server = start_as_other_user("-c", FAKE_SERVER, str(runtime), notebook_key(notebook),
                           str(notebook))
    try:
        assert server.stdout.readline().strip() == "ready", server.stderr.read()
        yield server
    finally:
        server.kill()
        server.communicate()


def test_another_users_runtime_directory_with_a_planted_session_is_refused(
        tmp_path, public_tmp, runtime):
    """A runtime directory pre-created by another user, holding a record, lock and live
    socket, makes serve, list and attach refuse with one sentence; nothing in it changes and
    the planted server never gets a connection from attach."""
    run_as_other_user("import os, sys; os.mkdir(sys.argv[1]); os.chmod(sys.argv[1], 0o755)",
                      str(runtime))
    notebook = tmp_path / "nb.ipynb"
    with planted_session(runtime, notebook) as server:
        before = snapshot(runtime)
        for proc in (run_nbtui("list", "--json"), attach(), attach(str(notebook)),
                     run_nbtui("serve", str(notebook))):
            assert_one_line_error(proc, str(runtime), f"belongs to another user (uid {OTHER_UID})",
                                  "NBTUI_RUNTIME_DIR")
        assert snapshot(runtime) == before
        # Named directly, the socket is connected to, but its server's uid is checked first.
        direct = attach(str(runtime / f"{notebook_key(notebook)}.sock"))
        assert_one_line_error(direct, "belongs to another user", f"uid {OTHER_UID}")
        assert direct.stdout == ""
        assert next_line(server, 30).split() == ["received", "0"]


def test_runtime_directory_open_to_others_is_refused(tmp_path, public_tmp, runtime):
    """The user's own runtime directory with group or other access is refused (not silently
    tightened), with the command that fixes it."""
    runtime.mkdir()
    runtime.chmod(0o755)
    for proc in (run_nbtui("list"), attach(), run_nbtui("serve", str(tmp_path / "nb.ipynb"))):
        assert_one_line_error(proc, "is open to other users (mode 0755)",
                              f"chmod 700 {runtime}")
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o755


def test_missing_runtime_directory_is_created_private(tmp_path, public_tmp, runtime):
    """With no runtime directory yet, serve creates it as a 0700 directory of the user's."""
    with serving(tmp_path / "nb.ipynb") as (_, socket_path):
        assert Path(socket_path).parent == runtime
        info = os.lstat(runtime)
        assert stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
        assert stat.S_IMODE(info.st_mode) == 0o700


def listening_socket(path: Path) -> socket.socket:
    """A socket listening at `path` that accepts nothing: connections made to it wait."""
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.listen()
    sock.setblocking(False)
    return sock


def connections_made(sock: socket.socket) -> int:
    """How many connections were made to a `listening_socket` (accepting them)."""
    count = 0
    while True:
        try:
            sock.accept()[0].close()
        except BlockingIOError:
            return count
        count += 1


def test_another_users_files_in_the_own_runtime_directory_are_ignored(tmp_path, monkeypatch):
    """Records, locks and sockets of another user inside the user's own runtime directory are
    not listed, not attached to, and not removed while cleaning up."""
    if os.getuid() != 0:
        pytest.fail("this test needs root (to give files to another user)")
    runtime = tmp_path / "rt"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("NBTUI_RUNTIME_DIR", str(runtime))
    live_nb, dead_nb = tmp_path / "live.ipynb", tmp_path / "dead.ipynb"
    listeners: list[socket.socket] = []
    held: list[int] = []
    try:
        for notebook, alive in ((live_nb, True), (dead_nb, False)):
            base = runtime / notebook_key(notebook)
            listeners.append(listening_socket(base.with_suffix(".sock")))
            base.with_suffix(".json").write_text(json.dumps({
                "pid": os.getpid(), "notebook": str(notebook),
                "socket": str(base.with_suffix(".sock")), "started": 0, "agents": []}))
            base.with_suffix(".lock").touch()
            if alive:
                fd = os.open(base.with_suffix(".lock"), os.O_RDWR)
                fcntl.flock(fd, fcntl.LOCK_EX)
                held.append(fd)
            for suffix in (".sock", ".json", ".lock"):
                os.chown(base.with_suffix(suffix), OTHER_UID, OTHER_UID)
        before = snapshot(runtime)

        listed = run_nbtui("list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout) == []
        assert_one_line_error(attach(), "No nbtui session is running")
        assert_one_line_error(attach(str(live_nb)), "No running nbtui session")
        assert snapshot(runtime) == before
        assert [connections_made(listener) for listener in listeners] == [0, 0]
    finally:
        for listener in listeners:
            listener.close()
        for fd in held:
            os.close(fd)


def stale_socket(path: Path) -> None:
    """A socket file of this user's at `path` that nobody listens on."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))


@pytest.mark.parametrize("kind", ["the notebook", "a file", "a directory", "a symlink",
                                  "another user's socket", "a live socket"])
def test_socket_option_refuses_to_replace_anything_but_a_stale_socket(tmp_path, public_tmp,
                                                                       kind):
    """`serve --socket PATH` refuses, with one sentence, a PATH holding anything other than
    a stale socket of the user's, and leaves it untouched."""
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                                    "nbformat_minor": 5}))
    target = {"the notebook": notebook}.get(kind, public_tmp / "target")
    listener = None
    if kind == "a file":
        target.write_text("precious")
    elif kind == "a directory":
        target.mkdir()
        (target / "inside").write_text("precious")
    elif kind == "a symlink":
        target.symlink_to(notebook)
    elif kind == "another user's socket":
        run_as_other_user("import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])",
                          str(target))
    elif kind == "a live socket":
        listener = listening_socket(target)
    before = snapshot(target.parent)
    try:
        proc = run_nbtui("serve", str(notebook), "--socket", str(target))
        assert_one_line_error(proc, str(target), "--socket")
        assert snapshot(target.parent) == before
        if listener is not None:  # still listening
            with socket.socket(socket.AF_UNIX) as sock:
                sock.connect(str(target))
    finally:
        if listener is not None:
            listener.close()


def test_socket_option_replaces_a_stale_socket_of_the_users(tmp_path):
    """A stale socket of the user's at `--socket PATH` (left by a killed session) is
    replaced, and the session serves there."""
    target = tmp_path / "s.sock"
    stale_socket(target)
    with serving(tmp_path / "nb.ipynb", "--socket", str(target)) as (_, socket_path):
        assert socket_path == str(target)
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(socket_path)
