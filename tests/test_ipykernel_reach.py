"""ipykernel's pipe for output of forked processes is an ipc endpoint in the kernel's private
directory, not a TCP port: every piece of ipykernel's private API nbtui relies on is checked
against the installed ipykernel, forked output still reaches the cell, and an ipykernel the
patch was not checked against keeps its TCP pipe with a warning."""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import inspect
import json
import stat
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import zmq
from ipykernel import iostream, kernelapp
from packaging.requirements import Requirement

from nbtui.core import ipykernel_reach
from nbtui.core.document import Document
from nbtui.core.ipykernel_reach import CHECKED_VERSIONS, launch_command, patch_iopub_pipe
from nbtui.core.kernel import PIPE_ENDPOINT, PIPE_TCP_WARNING, KernelSession
from tests.conftest import agent, call, serve_notebook
from tests.test_kernel_private import listening_tcp_ports, printed, process_tree, run

ROOT = Path(__file__).resolve().parents[1]
REACH = str(Path(ipykernel_reach.__file__).resolve())
DEADLINE = 30.0

FORKING_CELL = """\
import multiprocessing, os

def shout(word):
    print(word, os.getpid() != parent)

parent = os.getpid()
child = multiprocessing.get_context("fork").Process(target=shout, args=("multiprocessing",))
child.start()
child.join()
pid = os.fork()
if pid == 0:
    print("os.fork", os.getpid() != parent)
    os._exit(0)
os.waitpid(pid, 0)
"""


def stdout_lines(outputs: list[dict]) -> list[str]:
    """The lines printed to stdout, from nbformat outputs or the agent's views of them."""
    return "".join(o["text"] for o in outputs if o["output_type"] == "stream"
                   and o.get("name", o.get("mime")) == "stdout").splitlines()


# -- the command ------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [[], ["-Xfrozen_modules=off"], ["-X", "frozen_modules=off"],
                                     ["-I", "-W", "ignore"]])
@pytest.mark.parametrize("module", ["ipykernel_launcher", "ipykernel"])
def test_an_ipykernel_command_is_launched_through_the_reach_with_its_options_kept(
        options: list[str], module: str) -> None:
    """`python [options] -m ipykernel_launcher ARGS` becomes `python [options] REACH ENDPOINT
    ARGS`."""
    cmd = ["/py/bin/python", *options, "-m", module, "-f", "/d/kernel.json", "--debug"]
    assert launch_command(cmd, "/d/k-pipe") == [
        "/py/bin/python", *options, REACH, "/d/k-pipe", "-f", "/d/kernel.json", "--debug"]


@pytest.mark.parametrize("cmd", [
    ["/py/bin/python", "/home/me/wrapper.py", "-f", "/d/kernel.json"],
    ["/py/bin/python", "-m", "my_kernel", "-f", "/d/kernel.json"],
    ["/py/bin/python", "-c", "import ipykernel", "-m", "ipykernel_launcher"],
    ["/py/bin/python", "-mipykernel_launcher", "-f", "/d/kernel.json"],
    ["/py/bin/python", "-m"],
])
def test_a_command_that_does_not_run_an_ipykernel_launcher_is_left_alone(cmd: list[str]) -> None:
    """Wrappers, other kernels and other modules are not rewritten (None)."""
    assert launch_command(cmd, "/d/k-pipe") is None


# -- each reach into ipykernel, against the installed version ---------------------------------


def test_pyproject_pins_the_installed_ipykernel_within_the_checked_versions() -> None:
    """pyproject pins ipykernel exactly (nbtui reaches into its private API), that version is
    installed, and it lies within CHECKED_VERSIONS, so the default kernel is always patched."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    [pin] = [Requirement(d) for d in dependencies if Requirement(d).name == "ipykernel"]
    [spec] = list(pin.specifier)
    assert spec.operator == "=="
    installed = importlib.metadata.version("ipykernel")
    assert spec.version == installed
    major, minor = (int(part) for part in installed.split(".")[:2])
    assert CHECKED_VERSIONS[0] <= (major, minor) <= CHECKED_VERSIONS[1]


def test_the_pipe_setup_methods_take_only_self() -> None:
    """`IOPubThread._setup_pipe_in()` and `_setup_pipe_out()` exist and take no argument."""
    for name in ("_setup_pipe_in", "_setup_pipe_out"):
        assert list(inspect.signature(getattr(iostream.IOPubThread, name)).parameters) == [
            "self"]


def test_the_pipe_handler_takes_the_message() -> None:
    """`IOPubThread._handle_pipe_msg(msg)` exists: the replacement registers it on the pipe."""
    assert list(inspect.signature(iostream.IOPubThread._handle_pipe_msg).parameters) == [
        "self", "msg"]


def test_the_kernel_app_creates_its_iopub_thread_with_a_pipe_and_starts_like_the_launcher() -> (
        None):
    """`IPKernelApp.init_iopub` makes `IOPubThread(..., pipe=True, ...)` (so the pipe exists
    and the replacement takes effect) and `launch_new_instance` is how the launcher starts it."""
    assert "pipe=True" in inspect.getsource(kernelapp.IPKernelApp.init_iopub)
    assert callable(kernelapp.launch_new_instance)
    launcher = Path(importlib.util.find_spec("ipykernel_launcher").origin).read_text()
    assert "app.launch_new_instance()" in launcher


def test_the_patched_pipe_carries_a_forked_process_message_over_the_ipc_endpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the installed ipykernel patched, an IOPubThread binds the endpoint (no TCP port),
    forwards a message sent with the pipe's token through `_setup_pipe_out()` and drops one
    without it; this exercises every attribute the replacements use."""
    for name in ("_setup_pipe_in", "_setup_pipe_out"):
        monkeypatch.setattr(iostream.IOPubThread, name, getattr(iostream.IOPubThread, name))
    endpoint = tmp_path / "k-pipe"
    assert patch_iopub_pipe(str(endpoint)) == ""
    ctx = zmq.Context()
    published = ctx.socket(zmq.PULL)
    published.bind("inproc://published")
    iopub = ctx.socket(zmq.PUSH)
    iopub.connect("inproc://published")
    # The IOPub thread is not started: its event loop runs here, in the test's thread.
    thread = iostream.IOPubThread(iopub, pipe=True)

    async def published_message() -> list[bytes]:
        while not published.poll(0):
            await asyncio.sleep(0.01)
        return published.recv_multipart()

    try:
        assert stat.S_ISSOCK(endpoint.stat().st_mode) and not hasattr(thread, "_pipe_port")
        out_ctx, pipe_out = thread._setup_pipe_out()
        assert pipe_out.get_string(zmq.LAST_ENDPOINT) == f"ipc://{endpoint}"
        pipe_out.send_multipart([b"x" * 16, b"forged"])
        pipe_out.send_multipart([thread._pipe_uuid, b"from a child"])
        pipe_out.close()
        out_ctx.term()
        assert thread.io_loop.run_sync(published_message, timeout=DEADLINE) == [b"from a child"]
    finally:
        thread.io_loop.close(all_fds=True)
        ctx.destroy(linger=0)


def test_an_endpoint_that_cannot_be_bound_falls_back_to_ipykernels_tcp_pipe(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture) -> None:
    """When the ipc endpoint cannot be bound (its directory is gone), the patched thread uses
    ipykernel's own TCP pipe, in and out, and says so on stderr."""
    for name in ("_setup_pipe_in", "_setup_pipe_out"):
        monkeypatch.setattr(iostream.IOPubThread, name, getattr(iostream.IOPubThread, name))
    assert patch_iopub_pipe(str(tmp_path / "gone" / "k-pipe")) == ""
    ctx = zmq.Context()
    thread = iostream.IOPubThread(ctx.socket(zmq.PUSH), pipe=True)
    try:
        assert "nbtui: could not bind ipc://" in capfd.readouterr().err
        out_ctx, pipe_out = thread._setup_pipe_out()
        assert pipe_out.get_string(zmq.LAST_ENDPOINT) == f"tcp://127.0.0.1:{thread._pipe_port}"
        pipe_out.close()
        out_ctx.term()
    finally:
        thread.io_loop.close(all_fds=True)
        ctx.destroy(linger=0)


def test_an_unchecked_ipykernel_version_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a version outside CHECKED_VERSIONS nothing is patched and the reason names it."""
    import ipykernel

    monkeypatch.setattr(ipykernel, "version_info", (99, 0, 0))
    monkeypatch.setattr(ipykernel, "__version__", "99.0.0")
    before = dict(vars(iostream.IOPubThread))
    reason = patch_iopub_pipe("/nowhere/k-pipe")
    assert "ipykernel 99.0.0 was not checked" in reason and "TCP" in reason
    assert dict(vars(iostream.IOPubThread)) == before


def test_an_ipykernel_without_a_replaced_method_is_left_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """When a method the patch replaces is missing, nothing is patched and the reason names
    the method."""
    monkeypatch.delattr(iostream.IOPubThread, "_setup_pipe_out")
    before = dict(vars(iostream.IOPubThread))
    reason = patch_iopub_pipe("/nowhere/k-pipe")
    assert "_setup_pipe_out" in reason and "TCP" in reason
    assert dict(vars(iostream.IOPubThread)) == before


# -- real kernels -----------------------------------------------------------------------------


async def test_output_of_forked_processes_reaches_the_cell_with_no_tcp_listener(
        tmp_path: Path) -> None:
    """In a served notebook, a cell whose multiprocessing (fork) child and os.fork child print
    gets both lines in its outputs, while no process of the kernel listens on TCP."""
    async with serve_notebook(tmp_path / "forks.ipynb") as served:
        kernel = served.session.kernel
        assert (kernel.transport, kernel.transport_warning) == ("ipc", "")
        async with agent(served.socket) as client:
            data = await call(client, "insert_cell", source=FORKING_CELL, run=True)
        [cell] = data["cells"]
        assert cell["status"] == "ok"
        expected = ["multiprocessing True", "os.fork True"]
        assert stdout_lines(cell["outputs"]) == expected
        assert stdout_lines(served.document.get(cell["id"]).outputs) == expected
        assert kernel.kernel_pid is not None
        assert listening_tcp_ports(process_tree(kernel.kernel_pid)) == set()


async def test_the_kernel_starts_as_ipykernel_launcher_would(tmp_path: Path) -> None:
    """Launched through the reach, the kernel's argv[0] is ipykernel_launcher's file, nbtui's
    own directory is not on its sys.path, and the working directory is (as IPython puts it)."""
    ks = KernelSession(Document(nbformat.v4.new_notebook()), "python3", cwd=tmp_path,
                       log_path=tmp_path / "kernel.log", runtime_dir=tmp_path)
    await ks.start()
    try:
        seen = json.loads(printed(await run(ks, "import json, sys\n"
                                                "print(json.dumps([sys.argv[0], sys.path]))")))
        argv0, path = seen
        assert argv0 == importlib.util.find_spec("ipykernel_launcher").origin
        assert str(Path(REACH).parent) not in path and "" in path
    finally:
        await ks.shutdown()


@pytest.fixture
def unchecked_ipykernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The name of a kernelspec running the ordinary launcher command with an ipykernel that
    reports a version the patch was not checked against."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import ipykernel\nipykernel.version_info = (99, 0, 0)\n"
        "ipykernel.__version__ = '99.0.0'\n")
    spec = tmp_path / "jupyter" / "kernels" / "future"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Future ipykernel",
        "language": "python",
        "env": {"PYTHONPATH": str(site)},
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "future"


async def test_an_unchecked_ipykernel_keeps_its_tcp_pipe_and_the_session_says_so(
        tmp_path: Path, unchecked_ipykernel: str) -> None:
    """The kernel still runs on ipc with forked output working, but its pipe listens on one
    TCP port: `transport_warning` says so and the kernel log says why."""
    log = tmp_path / "kernel.log"
    ks = KernelSession(Document(nbformat.v4.new_notebook()), unchecked_ipykernel,
                       cwd=tmp_path, log_path=log, runtime_dir=tmp_path)
    await ks.start()
    try:
        assert ks.transport == "ipc" and ks.transport_warning == PIPE_TCP_WARNING
        assert ks.kernel_dir is not None and not (ks.kernel_dir / PIPE_ENDPOINT).exists()
        assert "nbtui: ipykernel 99.0.0 was not checked" in log.read_text()
        execution = ks.run_code(FORKING_CELL, "user")
        assert await execution.wait(DEADLINE) and execution.status == "ok"
        assert stdout_lines(execution.outputs) == ["multiprocessing True", "os.fork True"]
        assert ks.kernel_pid is not None
        assert len(listening_tcp_ports(process_tree(ks.kernel_pid))) == 1
    finally:
        await ks.shutdown()
