"""`--existing CONNECTION_FILE`: a session attached to a kernel that a test started with
jupyter-client, as `jupyter console --existing` attaches."""

from __future__ import annotations

import json
import os
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from jupyter_client.manager import AsyncKernelManager

from nbtui.core.kernel import Execution, KernelError
from nbtui.core.kernels.existing import RESTART_REFUSED
from nbtui.core.session import NotebookSession
from tests.conftest import poll

DEADLINE = 30.0
"""Seconds any single wait on the kernel may take before the test fails."""


@pytest_asyncio.fixture
async def running_kernel(tmp_path: Path) -> AsyncIterator[AsyncKernelManager]:
    """A python3 kernel started by jupyter-client (not by nbtui), with its connection file."""
    km = AsyncKernelManager(kernel_name="python3",
                            connection_file=str(tmp_path / "kernel-test.json"))
    log = open(tmp_path / "kernel.log", "w")
    await km.start_kernel(stdout=log, stderr=log)
    try:
        yield km
    finally:
        await km.shutdown_kernel(now=True)
        log.close()


async def run(session: NotebookSession, code: str) -> Execution:
    """Run `code` on the session's kernel and wait until it finished."""
    execution = session.kernel.run_code(code, "user")
    assert await execution.wait(DEADLINE), f"{code!r} did not finish"
    return execution


def printed(execution: Execution) -> str:
    """What a run printed on stdout."""
    return "".join(o.get("text", "") for o in execution.outputs
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


async def attached(notebook: Path, connection_file: str) -> NotebookSession:
    """A session on `notebook` attached to the kernel of `connection_file`, ready."""
    session = NotebookSession(notebook, autosave_seconds=0,
                              existing_connection_file=connection_file)
    await session.start()
    await session.kernel.wait_ready(DEADLINE)
    return session


async def test_cells_run_on_the_existing_kernel_and_it_outlives_the_session(
        running_kernel: AsyncKernelManager, tmp_path: Path) -> None:
    """Cells run on the attached kernel (sharing its variables with whoever else uses it), and
    closing the session leaves the kernel running."""
    kc = running_kernel.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=DEADLINE)
    await kc.execute_interactive("shared = 'set by the other client'", timeout=DEADLINE)
    kc.stop_channels()
    session = await attached(tmp_path / "nb.ipynb", running_kernel.connection_file)
    try:
        assert session.kernel.kernel_name == "python3" and session.kernel.kernel_pid is None
        cell = session.document.insert_cell("print(shared)", author="user")
        execution = session.kernel.run_cell(cell.id, "user")
        assert await execution.wait(DEADLINE) and execution.status == "ok"
        assert session.document.get(cell.id).outputs[0]["text"] == "set by the other client\n"
        assert "existing" not in session.kernel.display_name
    finally:
        await session.close(save=False)
    assert session.kernel.state == "stopped" and await running_kernel.is_alive()


async def test_restart_and_change_kernel_are_refused_with_a_sentence(
        running_kernel: AsyncKernelManager, tmp_path: Path) -> None:
    """Restarting (or changing) an attached kernel is refused, saying why; the kernel and its
    variables are untouched."""
    session = await attached(tmp_path / "nb.ipynb", running_kernel.connection_file)
    try:
        await run(session, "kept = 7")
        with pytest.raises(KernelError) as refused:
            await session.kernel.restart()
        assert str(refused.value) == RESTART_REFUSED and "did not start it" in RESTART_REFUSED
        with pytest.raises(KernelError, match="did not start it"):
            await session.change_kernel("python3")
        assert session.kernel.state == "idle"
        assert printed(await run(session, "print(kept)")) == "7\n"
    finally:
        await session.close(save=False)


async def test_interrupt_stops_a_run_on_the_existing_kernel(
        running_kernel: AsyncKernelManager, tmp_path: Path) -> None:
    """Interrupt reaches a kernel nbtui did not start (an interrupt request on its control
    channel): the run ends with KeyboardInterrupt and the kernel keeps its variables."""
    session = await attached(tmp_path / "nb.ipynb", running_kernel.connection_file)
    try:
        await run(session, "before = 1")
        looping = session.kernel.run_code(
            "import time\nprint('looping', flush=True)\nwhile True: time.sleep(0.01)", "user")
        await poll(lambda: "looping" in printed(looping), DEADLINE, "the loop to start")
        await session.kernel.interrupt()
        assert await looping.wait(DEADLINE)
        assert looping.status == "error" and looping.error["ename"] == "KeyboardInterrupt"
        assert printed(await run(session, "print(before)")) == "1\n"
    finally:
        await session.close(save=False)


async def test_an_existing_kernel_that_dies_is_reported(
        running_kernel: AsyncKernelManager, tmp_path: Path) -> None:
    """The attached kernel killed from outside shows as dead, with a sentence."""
    session = await attached(tmp_path / "nb.ipynb", running_kernel.connection_file)
    try:
        os.kill(running_kernel.provisioner.pid, signal.SIGKILL)
        await poll(lambda: session.kernel.state == "dead", DEADLINE, "the kernel to be dead")
        assert "stopped answering" in session.kernel.state_message
    finally:
        await session.close(save=False)


async def test_a_kernel_whose_heartbeat_never_answers_after_it_answered_is_dead(
        running_kernel: AsyncKernelManager, tmp_path: Path) -> None:
    """A kernel that answered on its channels counts as dead once its heartbeat is silent, even
    if the heartbeat never echoed once (it died right after the session attached): here the
    heartbeat port of the connection file leads nowhere."""
    info = json.loads(Path(running_kernel.connection_file).read_text())
    with socket.socket() as free:
        free.bind((info["ip"], 0))
        info["hb_port"] = free.getsockname()[1]
    silent = tmp_path / "silent-heartbeat.json"
    silent.write_text(json.dumps(info))
    session = await attached(tmp_path / "nb.ipynb", str(silent))
    try:
        await poll(lambda: session.kernel.state == "dead", DEADLINE, "the kernel to be dead")
        assert "stopped answering" in session.kernel.state_message
    finally:
        await session.close(save=False)


async def test_a_missing_or_bad_connection_file_gets_one_sentence(tmp_path: Path) -> None:
    """A connection file that is not there, or is not one, makes the kernel dead with one
    sentence; the notebook stays editable."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"hello": 1}))
    for path, expected in ((tmp_path / "none.json", "There is no connection file at"),
                           (bad, "is not a kernel connection file")):
        session = NotebookSession(tmp_path / "nb.ipynb", autosave_seconds=0,
                                  existing_connection_file=path)
        try:
            await session.start()
            with pytest.raises(KernelError, match=expected):
                await session.kernel.wait_ready(DEADLINE)
            assert session.kernel.state == "dead"
            session.document.insert_cell("still editable", author="user")
        finally:
            await session.close(save=False)


def test_server_and_existing_together_are_refused(tmp_path: Path) -> None:
    """A session is given one place for its kernel: both a server and a connection file is one
    sentence."""
    with pytest.raises(KernelError, match="not both"):
        NotebookSession(tmp_path / "nb.ipynb", server_url="http://127.0.0.1:1",
                        existing_connection_file=tmp_path / "k.json")
