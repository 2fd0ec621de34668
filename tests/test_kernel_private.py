"""Kernel traffic stays private and nothing of a kernel outlives its session: ipc channels in a
0700 directory (checked as another user), the TCP fallback that says so, and the reaper that
cleans up after `kill -9`."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nbformat
import pytest
from textual.app import App, ComposeResult

from nbtui.core.document import Document
from nbtui.core.kernel import (
    IPC_PATH_LIMIT,
    LONG_PATH_WARNING,
    NO_IPC_WARNING,
    PIPE_ENDPOINT,
    Execution,
    KernelSession,
)
from nbtui.core.kernel_dir import DEAD_DIR_MIN_AGE, LOCK_NAME, KernelDir
from nbtui.tui.widgets.status_bar import StatusBar
from tests.conftest import agent, as_other_user, call, poll
from tests.test_cli import alive, children_of, serving, wait_until

DEADLINE = 30.0


def as_nobody(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run `code` with the system Python as uid/gid 65534 (only root can switch users)."""
    return subprocess.run(as_other_user("-c", code, *args), capture_output=True, text=True,
                          timeout=30)


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children_of(current)
    return found


def listening_tcp_ports(pids: list[int]) -> set[int]:
    """The TCP ports on which any of `pids` listens (its socket inodes found in /proc/net)."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def run(ks: KernelSession, code: str) -> Execution:
    """Run scratch code to the end; fail unless it succeeded."""
    execution = ks.run_code(code, "user")
    assert await execution.wait(DEADLINE), f"{code!r} did not finish"
    assert execution.status == "ok", execution.error
    return execution


def printed(execution: Execution) -> str:
    return "".join(o.get("text", "") for o in execution.outputs if o["output_type"] == "stream")


@pytest.fixture(scope="module")
def public_parent() -> Iterator[Path]:
    """A directory every user may enter (not list): the kernel directory alone must keep
    others out of the kernel's files."""
    parent = Path(tempfile.mkdtemp(prefix="nbtui-pub-", dir="/tmp"))
    parent.chmod(0o711)
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="module")
async def kernel(public_parent: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> AsyncIterator[KernelSession]:
    """A real ipykernel whose private directory is made in `public_parent`."""
    tmp = tmp_path_factory.mktemp("private-kernel")
    ks = KernelSession(Document(nbformat.v4.new_notebook()), "python3", cwd=tmp,
                       log_path=tmp / "kernel.log", runtime_dir=public_parent)
    await ks.start()
    yield ks
    await ks.shutdown()


def endpoint_paths(kernel: KernelSession) -> list[str]:
    """The kernel's five channel endpoints and its pipe for output of forked processes."""
    info = kernel.connection_info()
    assert kernel.kernel_dir is not None
    return [*(f"{info['ip']}-{info[name]}" for name in
              ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")),
            str(kernel.kernel_dir / PIPE_ENDPOINT)]


async def test_kernel_channels_are_ipc_endpoints_in_a_private_directory(
        kernel: KernelSession, public_parent: Path) -> None:
    """The connection file says ipc and lives, with the five endpoints and ipykernel's pipe for
    output of forked processes, in a 0700 directory of the runtime directory; no process of the
    kernel listens on TCP at all."""
    directory = kernel.kernel_dir
    assert directory is not None and directory.parent == public_parent
    # jupyter-client adds the sticky bit (against temp cleaners); the rest is 0700.
    assert directory.stat().st_mode & 0o777 == 0o700
    info = kernel.connection_info()
    connection_file = directory / "kernel.json"
    assert json.loads(connection_file.read_text())["key"] == info["key"].decode()
    assert stat.S_IMODE(connection_file.stat().st_mode) == 0o600
    assert info["transport"] == "ipc" and info["ip"] == str(directory / "k")
    assert (kernel.transport, kernel.transport_warning) == ("ipc", "")
    endpoints = endpoint_paths(kernel)
    assert all(stat.S_ISSOCK(os.stat(e).st_mode) for e in endpoints)
    assert endpoints[-1] == str(directory / "k-pipe")

    pipe = await run(kernel, "import zmq\nt = get_ipython().kernel.iopub_thread\n"
                             "print(t._pipe_in.socket.get_string(zmq.LAST_ENDPOINT))")
    assert printed(pipe) == f"ipc://{directory / 'k-pipe'}\n"
    assert kernel.kernel_pid is not None
    tree = process_tree(kernel.kernel_pid)
    assert listening_tcp_ports(tree) == set()


async def test_another_user_can_neither_connect_to_the_kernel_nor_read_its_key(
        kernel: KernelSession) -> None:
    """As uid 65534, connecting to each ipc endpoint (the pipe for output of forked processes
    included) and reading the connection file fail with a permission error, although the
    directory around the kernel's is open to them."""
    endpoints = endpoint_paths(kernel)
    probe = (
        "import json, socket, sys\n"
        "errors = {}\n"
        "for path in sys.argv[1:-1]:\n"
        "    s = socket.socket(socket.AF_UNIX)\n"
        "    try:\n"
        "        s.connect(path); errors[path] = 'connected'\n"
        "    except OSError as exc:\n"
        "        errors[path] = type(exc).__name__\n"
        "try:\n"
        "    open(sys.argv[-1]).read(); errors['key'] = 'read'\n"
        "except OSError as exc:\n"
        "    errors['key'] = type(exc).__name__\n"
        "print(json.dumps(errors))\n")
    assert kernel.kernel_dir is not None
    proc = as_nobody(probe, *endpoints, str(kernel.kernel_dir / "kernel.json"))
    assert proc.returncode == 0, proc.stderr
    errors = json.loads(proc.stdout)
    assert errors == {**{e: "PermissionError" for e in endpoints}, "key": "PermissionError"}


async def test_a_restarted_kernel_gets_its_ipc_endpoints_again(kernel: KernelSession) -> None:
    """After a restart (same connection file and key) the endpoints exist again, the new
    kernel answers over them, and the kernel directory is the same."""
    directory, key, old_pid = kernel.kernel_dir, kernel.connection_info()["key"], kernel.kernel_pid
    await kernel.restart()
    assert kernel.kernel_pid != old_pid and kernel.kernel_dir == directory
    assert kernel.connection_info()["key"] == key and kernel.transport == "ipc"
    assert directory is not None
    assert sorted(p.name for p in directory.iterdir() if p.is_socket()) == [
        *(f"k-{n}" for n in range(1, 6)), "k-pipe"]
    assert kernel.transport_warning == ""
    assert printed(await run(kernel, "print(1 + 1)")) == "2\n"


async def test_shutdown_ends_the_kernels_leftover_processes_and_removes_its_directory(
        tmp_path: Path) -> None:
    """A process the kernel started and left behind (not its child any more) is killed at
    shutdown, and the kernel's directory and its reaper are gone."""
    ks = KernelSession(Document(nbformat.v4.new_notebook()), "python3", cwd=tmp_path,
                       log_path=tmp_path / "kernel.log", runtime_dir=tmp_path)
    await ks.start()
    try:
        started = await run(ks, "import subprocess\nprint(subprocess.run(['sh', '-c', "
                                "'sleep 600 >/dev/null 2>&1 & echo $!'], capture_output=True, "
                                "text=True).stdout)")
        orphan = int(printed(started))
        directory, reaper = ks.kernel_dir, ks._kernel_dir._reaper
        assert alive(orphan) and directory is not None and directory.is_dir()
    finally:
        await ks.shutdown()
    await poll(lambda: not alive(orphan), DEADLINE, "the orphaned sleep to end")
    assert not directory.exists() and reaper.poll() is not None


@pytest.fixture
def tcp_only_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The name of a kernelspec that exits when its connection file says ipc (and otherwise
    runs ipykernel)."""
    wrapper = tmp_path / "tcp_only.py"
    wrapper.write_text(
        "import json, os, sys\n"
        "if json.load(open(sys.argv[1]))['transport'] == 'ipc':\n"
        "    sys.exit('this kernel speaks tcp only')\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'ipykernel_launcher', '-f', "
        "sys.argv[1]])\n")
    spec = tmp_path / "jupyter" / "kernels" / "tcponly"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(wrapper), "{connection_file}"],
        "display_name": "TCP only",
        "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "tcponly"


class StatusBarApp(App[None]):
    """Just the status bar, to see what it shows."""

    def compose(self) -> ComposeResult:
        yield StatusBar()


async def test_a_kernel_that_refuses_ipc_runs_on_tcp_and_the_status_bar_says_so(
        tmp_path: Path, tcp_only_kernel: str) -> None:
    """A kernel that exits when given ipc is started again on TCP: it runs code, its
    connection file stays in the private directory, and the warning sentence is shown."""
    ks = KernelSession(Document(nbformat.v4.new_notebook()), tcp_only_kernel, cwd=tmp_path,
                       log_path=tmp_path / "kernel.log", runtime_dir=tmp_path)
    await ks.start()
    try:
        assert printed(await run(ks, "print(1 + 1)")) == "2\n"
        assert ks.transport == "tcp" and ks.transport_warning == NO_IPC_WARNING
        info = ks.connection_info()
        assert info["transport"] == "tcp" and info["ip"] == "127.0.0.1"
        assert ks.kernel_dir is not None and (ks.kernel_dir / "kernel.json").is_file()
        assert "tcp only" in (tmp_path / "kernel.log").read_text()
        async with StatusBarApp().run_test() as pilot:
            bar = pilot.app.query_one(StatusBar)
            bar.kernel_name, bar.kernel_state = tcp_only_kernel, ks.state
            bar.transport_warning = ks.transport_warning
            await pilot.pause()
            assert f"tcponly: idle │ ⚠ {NO_IPC_WARNING}" in str(bar.render())
            bar.transport_warning = ""
            await pilot.pause()
            assert "⚠" not in str(bar.render())
    finally:
        await ks.shutdown()


async def test_a_runtime_directory_too_deep_for_ipc_paths_runs_the_kernel_on_tcp_and_says_so(
        tmp_path: Path) -> None:
    """When the endpoints' paths would pass the unix-socket limit, the kernel runs on TCP and
    the warning says how to get private channels back."""
    deep = tmp_path / ("d" * max(1, IPC_PATH_LIMIT - len(str(tmp_path))))
    deep.mkdir(mode=0o700)
    ks = KernelSession(Document(nbformat.v4.new_notebook()), "python3", cwd=tmp_path,
                       log_path=tmp_path / "kernel.log", runtime_dir=deep)
    await ks.start()
    try:
        assert printed(await run(ks, "print(1 + 1)")) == "2\n"
        assert ks.transport == "tcp" and ks.connection_info()["transport"] == "tcp"
        assert ks.transport_warning == LONG_PATH_WARNING
        assert "NBTUI_RUNTIME_DIR" in LONG_PATH_WARNING
    finally:
        await ks.shutdown()


@pytest.fixture
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh runtime directory for nbtui processes started by the test (short: sockets)."""
    directory = Path(tempfile.mkdtemp(prefix="nbtui-rt-"))
    monkeypatch.setenv("NBTUI_RUNTIME_DIR", str(directory))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def kernel_dirs(runtime: Path) -> list[Path]:
    return sorted(runtime.glob("kernel-*"))


async def test_kill_9_of_nbtui_leaves_no_process_and_no_kernel_directory(
        tmp_path: Path, runtime_dir: Path) -> None:
    """After `kill -9` of `nbtui serve`, the kernel, a process the kernel started and the
    reaper (which never writes to the terminal) all end, and the kernel's directory (with its
    connection file) is removed."""
    with serving(tmp_path / "killed.ipynb") as (proc, socket_path):
        async with agent(socket_path) as client:
            data = await call(client, "run_code", code=(
                "import os, subprocess\np = subprocess.Popen(['sleep', '600'])\n"
                "print(os.getpid(), p.pid)"))
        kernel_pid, sleep_pid = map(int, data["outputs"][0]["text"].split())
        helpers = children_of(proc.pid)
        [reaper] = [pid for pid in helpers if pid != kernel_pid]
        fds = [os.readlink(f"/proc/{reaper}/fd/{fd}") for fd in (0, 1, 2)]
        assert fds[0].startswith("pipe:") and fds[1] == "/dev/null" and fds[2].endswith(".log")
        [directory] = kernel_dirs(runtime_dir)
        assert (directory / "kernel.json").is_file()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    wait_until(lambda: not any(alive(pid) for pid in [*helpers, sleep_pid]), DEADLINE,
               "the kernel, the sleep and the reaper to end")
    wait_until(lambda: not directory.exists(), DEADLINE, "the kernel directory to go")


async def test_the_next_start_removes_a_dead_sessions_kernel_directory(
        tmp_path: Path) -> None:
    """A kernel directory left by a session that died with its reaper is removed when the
    next kernel starts; a live session's directory and a brand-new one are kept."""
    runtime = tmp_path / "rt"
    runtime.mkdir(mode=0o700)
    dead_session = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom pathlib import Path\n"
         "from nbtui.core.kernel_dir import KernelDir\n"
         "d = KernelDir(Path(sys.argv[1]), stderr=sys.stderr)\n"
         "print(d.path, d._reaper.pid, flush=True)\ntime.sleep(600)", str(runtime)],
        stdout=subprocess.PIPE, text=True)
    with dead_session:
        dead_dir, reaper_pid = dead_session.stdout.readline().split()
        os.kill(int(reaper_pid), signal.SIGKILL)
        wait_until(lambda: not alive(int(reaper_pid)), DEADLINE, "the reaper to die")
        dead_session.kill()
    (Path(dead_dir) / "kernel.json").write_text("{}")
    live = KernelDir(runtime, stderr=sys.stderr)
    young = runtime / "kernel-young"
    young.mkdir()
    old = os.stat(dead_dir).st_mtime - 2 * DEAD_DIR_MIN_AGE
    for directory in (dead_dir, live.path):
        os.utime(directory, (old, old))
    try:
        ks = KernelSession(Document(nbformat.v4.new_notebook()), "python3", cwd=tmp_path,
                           log_path=tmp_path / "kernel.log", runtime_dir=runtime)
        await ks.start()
        await ks.shutdown()
        assert not Path(dead_dir).exists()
        assert live.path.is_dir() and young.is_dir()
        with open(live.path / LOCK_NAME) as lock, pytest.raises(BlockingIOError):
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        await live.remove()


async def test_agents_and_the_app_are_told_when_the_kernel_fell_back_to_tcp(
        tmp_path: Path, tcp_only_kernel: str) -> None:
    """With a kernel that refuses ipc, get_notebook carries the warning (data and text) and the
    real app's status bar shows it once the kernel is up."""
    from tests.conftest import agent, call, serve_notebook
    from tests.tui.tui_helpers import running_app, screen_text, wait_until

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": tcp_only_kernel, "display_name": "TCP only"}
    path = tmp_path / "fallback.ipynb"
    nbformat.write(nb, path)
    async with serve_notebook(path) as served, agent(served.socket) as client:
        result = await client.call_tool("get_notebook", {})
        assert result.structured_content["kernel"]["warning"] == NO_IPC_WARNING
        assert f"Warning: {NO_IPC_WARNING}" in result.content[0].text
        assert "2" in json.dumps(await call(client, "run_code", code="1 + 1"))
    async with running_app(path, kernel=True) as (app, pilot):
        await wait_until(pilot, lambda: app.session.kernel.state == "idle", timeout=60,
                         what="the kernel on TCP")
        await wait_until(pilot, lambda: "⚠" in screen_text(app), what="the warning")
