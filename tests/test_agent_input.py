"""An agent's run that asks for input: the result says it waits for the human instead of
hanging, and a later wait brings the result; with no human, the run ends at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.conftest import Served, agent, call, poll, serve_notebook

LONG = 600
"""A timeout no test should reach: a run that waits for input must return long before."""


@pytest_asyncio.fixture(scope="module")
async def with_human(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    """A served session whose input requests a human answers (the TUI's role is played by
    answering through the kernel session, as the input line does)."""
    async with serve_notebook(tmp_path_factory.mktemp("nb") / "input.ipynb") as served:
        served.session.kernel.input_enabled = True
        yield served


async def test_run_cells_returns_at_once_waiting_for_input_and_wait_brings_the_result(
        with_human: Served) -> None:
    """A cell's input() makes run_cells return (not time out) with status running and
    waiting_for_input; after the human answers, wait has the outputs."""
    kernel = with_human.session.kernel
    cell = with_human.document.insert_cell("answer = input('x? ')\nprint('got', answer)")
    async with agent(with_human.socket) as client:
        data = await call(client, "run_cells", cell_ids=[cell.id], timeout=LONG)
        assert data["finished"] is False
        assert data["cells"][0]["status"] == "running"
        assert data["waiting_for_input"] == {"prompt": "x? ", "password": False,
                                             "cell_id": cell.id}
        assert "the human answers it in the TUI" in data["hint"]
        kernel.answer_input("42")
        done = await call(client, "wait", cell_ids=[cell.id], timeout=LONG)
    assert done["finished"] is True and "waiting_for_input" not in done
    [view] = done["cells"]
    assert view["status"] == "ok"
    assert view["outputs"][0]["text"] == "x? 42\ngot 42\n"


async def test_run_code_waits_for_a_password_the_agent_cannot_see_or_answer(
        with_human: Served) -> None:
    """run_code of getpass returns at once saying it waits for a password; no tool answers
    input; wait, started before the human answers, keeps waiting and brings the outputs
    without the password."""
    kernel = with_human.session.kernel
    async with agent(with_human.socket) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert not any("input" in name or "answer" in name for name in tools)
        data = await call(client, "run_code", timeout=LONG,
                          code="import getpass\nsecret = getpass.getpass('Token: ')\n"
                               "print('length', len(secret))")
        assert data["status"] == "running"
        assert data["waiting_for_input"] == {"prompt": "Token: ", "password": True}
        listeners = len(kernel._listeners)
        task = asyncio.ensure_future(client.call_tool("wait", {"timeout": LONG}))
        # The wait is under way once it listens for kernel events; then the human answers.
        await poll(lambda: len(kernel._listeners) > listeners, message="the wait to begin")
        kernel.answer_input("hunter22")
        result = await task
    assert not result.is_error
    done = result.structured_content
    assert done["finished"] is True and done["cells"] == []
    [run] = done["scratch_runs"]
    assert run["status"] == "ok"
    assert run["outputs"][0]["text"] == "Token: \nlength 8\n"
    assert "hunter22" not in result.content[0].text and "hunter22" not in str(done)


async def test_a_debugger_prompt_ends_the_wait_of_run_code(with_human: Served) -> None:
    """breakpoint() in run_code returns at once with the debugger's prompt as the input asked."""
    kernel = with_human.session.kernel
    async with agent(with_human.socket) as client:
        data = await call(client, "run_code", code="breakpoint()\nprint('after')",
                          timeout=LONG)
        assert data["status"] == "running" and "db>" in data["waiting_for_input"]["prompt"]
        kernel.answer_input("c")
        done = await call(client, "wait", timeout=LONG)
    [run] = done["scratch_runs"]
    assert run["status"] == "ok" and run["outputs"][0]["text"].endswith("after\n")


async def test_without_a_human_an_agents_input_ends_at_once_with_one_sentence(
        tmp_path: Path) -> None:
    """In a session with no TUI (nbtui serve), run_code of input() finishes with EOFError and
    the note that no one can answer, instead of waiting."""
    async with serve_notebook(tmp_path / "headless.ipynb") as served:
        assert served.session.kernel.input_enabled is False
        async with agent(served.socket) as client:
            data = await call(client, "run_code", code="input('x? ')", timeout=LONG)
    assert data["status"] == "error" and data["error"]["ename"] == "EOFError"
    assert "waiting_for_input" not in data
    assert "no one can answer it (no TUI)" in data["outputs"][0]["text"]
