"""Changing the notebook's kernel: a new process of the chosen kernelspec, metadata as Jupyter
writes it, and an unknown kernelspec refused without touching the running one."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from nbtui.core.kernel import NoSuchKernel
from nbtui.core.session import NotebookSession
from tests.conftest import poll

DEADLINE = 60


@pytest.fixture
def second_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The name of a second installed kernelspec: this interpreter's ipykernel under another
    name and display name."""
    spec = tmp_path / "jupyter" / "kernels" / "second"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Second Python",
        "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "second"


async def test_change_kernel_starts_the_new_kernelspec_and_writes_its_metadata(
        tmp_path: Path, second_python: str) -> None:
    """After a change the kernel runs the new spec (old variables gone), and the notebook's
    kernelspec and language_info name it, as an unsaved edit."""
    session = NotebookSession(tmp_path / "n.ipynb")
    session.save()
    await session.start()
    try:
        await session.kernel.wait_ready(DEADLINE)
        await session.kernel.run_code("old = 1", "user").wait(DEADLINE)
        old_pid = session.kernel.kernel_pid
        async with asyncio.timeout(DEADLINE):
            await session.change_kernel(second_python)
        assert session.kernel.state == "idle" and session.kernel.kernel_pid != old_pid
        assert session.document.metadata["kernelspec"] == {
            "name": "second", "display_name": "Second Python", "language": "python"}
        assert session.document.metadata["language_info"]["name"] == "python"
        assert "version" in session.document.metadata["language_info"]
        assert session.document.dirty
        run = session.kernel.run_code("print('old' in globals())", "user")
        await run.wait(DEADLINE)
        assert run.outputs[0]["text"] == "False\n"
        session.save()
        written = json.loads((tmp_path / "n.ipynb").read_text())
        assert written["metadata"]["kernelspec"]["name"] == "second"
    finally:
        await session.close(save=False)


async def test_an_unknown_kernelspec_is_refused_and_the_kernel_keeps_running(
        tmp_path: Path) -> None:
    """Asking for a kernelspec that is not installed raises NoSuchKernel naming it, and the
    running kernel, its variables and the metadata are untouched."""
    session = NotebookSession(tmp_path / "n.ipynb")
    session.save()
    await session.start()
    try:
        await session.kernel.wait_ready(DEADLINE)
        await session.kernel.run_code("kept = 1", "user").wait(DEADLINE)
        await poll(lambda: "kernelspec" in session.document.metadata)
        before = json.dumps(session.document.metadata, sort_keys=True)
        with pytest.raises(NoSuchKernel, match="no-such-kernel"):
            await session.change_kernel("no-such-kernel")
        assert json.dumps(session.document.metadata, sort_keys=True) == before
        run = session.kernel.run_code("print(kept)", "user")
        await run.wait(DEADLINE)
        assert run.outputs[0]["text"] == "1\n"
    finally:
        await session.close(save=False)
