"""Input requests with a real ipykernel: input(), getpass, the debugger, interrupt and restart
while a run waits, and sessions with no human to answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
import pytest_asyncio

from nbtui.core.document import Document
from nbtui.core.kernel import (
    NO_ONE_TO_ANSWER,
    Execution,
    InputRequest,
    KernelError,
    KernelEvent,
    KernelSession,
)

DEADLINE = 20.0
"""Seconds any single wait on the real kernel may take before the test fails."""


def new_document() -> Document:
    return Document(nbformat.v4.new_notebook())


def text_of(outputs: list[dict[str, Any]]) -> str:
    return "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")


async def until(session: KernelSession, condition: Callable[[], object]) -> None:
    """Wait until `condition()` holds, re-checking on every kernel event."""
    changed = asyncio.Event()
    unsubscribe = session.subscribe(lambda _e: changed.set())
    try:
        async with asyncio.timeout(DEADLINE):
            while not condition():
                changed.clear()
                await changed.wait()
    finally:
        unsubscribe()


async def asked(session: KernelSession, execution: Execution) -> InputRequest:
    """Wait until `execution` waits for input; returns what it asks."""
    await until(session, lambda: execution.input_request is not None or execution.done.is_set())
    assert execution.input_request is not None, f"{execution.code!r} ended without asking"
    return execution.input_request


async def finished(execution: Execution) -> None:
    assert await execution.wait(DEADLINE), f"{execution.code!r} did not finish"


async def start_session(where: Path, *, input_enabled: bool) -> KernelSession:
    session = KernelSession(new_document(), "python3", cwd=where, log_path=where / "kernel.log")
    session.input_enabled = input_enabled
    await session.start()
    return session


@pytest_asyncio.fixture(scope="module")
async def session(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KernelSession]:
    """One kernel whose input requests a human answers (as in the TUI)."""
    ks = await start_session(tmp_path_factory.mktemp("kernel"), input_enabled=True)
    yield ks
    await ks.shutdown()


@pytest_asyncio.fixture(scope="module")
async def headless(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KernelSession]:
    """One kernel with no human to answer (as under `nbtui serve`)."""
    ks = await start_session(tmp_path_factory.mktemp("headless"), input_enabled=False)
    yield ks
    await ks.shutdown()


async def test_input_waits_for_the_answer_which_reaches_the_code_and_the_output(
        session: KernelSession) -> None:
    """A cell's input() waits (running, the queue behind it too) until answered; the prompt and
    the answer show in the cell's output, as Jupyter shows them."""
    doc = session.document
    cell = doc.insert_cell("name = input('Name: ')\nprint('hi', name)")
    behind = doc.insert_cell("print('behind')")
    events: list[KernelEvent] = []
    unsubscribe = session.subscribe(
        lambda e: events.append(e) if e.kind.startswith("input") else None)
    try:
        running = session.run_cell(cell.id, "user")
        waiting = session.run_cell(behind.id, "user")
        assert await asked(session, running) == InputRequest("Name: ", password=False)
        assert [(e.kind, e.execution) for e in events] == [("input_request", running)]
        assert running.status == "running" and doc.get(cell.id).status == "running"
        assert waiting.status == "queued" and session.state == "busy"
        session.answer_input("Bob")
        await finished(running)
        await finished(waiting)
    finally:
        unsubscribe()
    assert running.status == "ok" and running.input_request is None
    assert [e.kind for e in events] == ["input_request", "input_done"]
    assert text_of(doc.get(cell.id).outputs) == "Name: Bob\nhi Bob\n"
    assert text_of(waiting.outputs) == "behind\n"


async def test_getpass_is_a_password_request_whose_answer_is_never_shown(
        session: KernelSession) -> None:
    """getpass asks with password set; the output shows its prompt but nothing of the answer."""
    run = session.run_code("import getpass\nsecret = getpass.getpass('Token: ')\n"
                           "print(len(secret))", "user")
    assert await asked(session, run) == InputRequest("Token: ", password=True)
    session.answer_input("hunter22")
    await finished(run)
    assert run.status == "ok"
    assert text_of(run.outputs) == "Token: \n8\n"
    assert "hunter22" not in repr(run.outputs)


async def test_breakpoint_prompts_for_debugger_commands_until_continue(
        session: KernelSession) -> None:
    """breakpoint() stops in the debugger: each command is an input request, `c` continues."""
    run = session.run_code("y = 41\nbreakpoint()\nprint('after', y + 1)", "user")
    request = await asked(session, run)
    assert request.password is False and "db>" in request.prompt
    session.answer_input("p y")
    await until(session, lambda: "41\n" in text_of(run.outputs)
                and run.input_request is not None)
    session.answer_input("c")
    await finished(run)
    assert run.status == "ok"
    text = text_of(run.outputs)
    assert f"{request.prompt}p y\n41\n" in text and text.endswith("after 42\n")


async def test_debug_after_an_error_prompts_and_quits(session: KernelSession) -> None:
    """%debug after an exception opens the post-mortem debugger at the failing line; `q` ends it."""
    failed = session.run_code("def broken():\n    local_value = 7\n    1 / 0\nbroken()", "user")
    await finished(failed)
    assert failed.status == "error"
    debug = session.run_code("%debug", "user")
    request = await asked(session, debug)
    session.answer_input("p local_value")
    await until(session, lambda: "7\n" in text_of(debug.outputs)
                and debug.input_request is not None)
    session.answer_input("q")
    await finished(debug)
    text = text_of(debug.outputs)
    assert debug.status == "ok" and "broken" in text and text.endswith("p local_value\n7\n"
                                                                     f"{request.prompt}q\n")


async def test_answering_when_no_run_waits_is_refused_in_one_sentence(
        session: KernelSession) -> None:
    """answer_input with nothing waiting raises a clear KernelError."""
    with pytest.raises(KernelError, match="No run is waiting for input"):
        session.answer_input("stray")


async def test_interrupt_while_waiting_drops_the_prompt_and_the_queue_goes_on(
        session: KernelSession) -> None:
    """An interrupt ends the wait with KeyboardInterrupt, the request is gone at once, and the
    kernel runs the next code."""
    run = session.run_code("input('never answered: ')", "user")
    await asked(session, run)
    result = await session.interrupt()
    assert result["stopped"] == [run.id]
    assert run.input_request is None
    await finished(run)
    assert run.status == "error" and run.error["ename"] == "KeyboardInterrupt"
    after = session.run_code("print('next')", "user")
    await finished(after)
    assert text_of(after.outputs) == "next\n"
    with pytest.raises(KernelError):
        session.answer_input("late")


async def test_restart_while_waiting_aborts_the_run_and_drops_the_prompt(
        tmp_path: Path) -> None:
    """A restart while a cell waits for input ends it aborted, with input_done, without hanging."""
    ks = await start_session(tmp_path, input_enabled=True)
    try:
        cell = ks.document.insert_cell("input('Name: ')")
        run = ks.run_cell(cell.id, "user")
        await asked(ks, run)
        kinds: list[str] = []
        unsubscribe = ks.subscribe(lambda e: kinds.append(e.kind))
        async with asyncio.timeout(DEADLINE * 2):
            await ks.restart()
        unsubscribe()
        assert run.status == "aborted" and run.input_request is None
        assert "input_done" in kinds and ks.state == "idle"
        assert ks.document.get(cell.id).status == "idle"
    finally:
        await ks.shutdown()


async def test_shutdown_while_waiting_returns(tmp_path: Path) -> None:
    """Shutting down while a run waits for input returns, the run ended aborted."""
    ks = await start_session(tmp_path, input_enabled=True)
    run = ks.run_code("input('x? ')", "user")
    await asked(ks, run)
    async with asyncio.timeout(DEADLINE):
        await ks.shutdown()
    assert run.status == "aborted" and run.input_request is None and ks.state == "stopped"


async def test_with_no_one_to_answer_input_gets_end_of_file_and_says_why(
        headless: KernelSession) -> None:
    """Without a human (no TUI), input() raises EOFError at once, after one sentence saying
    why; getpass and the debugger end the same way instead of waiting forever."""
    events: list[str] = []
    unsubscribe = headless.subscribe(lambda e: events.append(e.kind))
    try:
        run = headless.run_code("input('Name: ')", "claude")
        password = headless.run_code("import getpass; getpass.getpass('Token: ')", "claude")
        debugger = headless.run_code("breakpoint()\nprint('after')", "claude")
        for execution in (run, password, debugger):
            await finished(execution)
    finally:
        unsubscribe()
    assert run.status == "error" and run.error["ename"] == "EOFError"
    assert password.status == "error" and password.error["ename"] == "EOFError"
    assert debugger.status == "error" and debugger.error["ename"] == "BdbQuit"
    for execution in (run, password, debugger):
        note = [o for o in execution.outputs if o.get("name") == "stderr"]
        assert note and note[0]["text"] == NO_ONE_TO_ANSWER
    assert "input_request" not in events


async def test_the_human_leaving_answers_a_pending_request_with_end_of_file(
        session: KernelSession) -> None:
    """Turning input_enabled off (the TUI closing) answers a waiting run so that it ends."""
    run = session.run_code("input('Name: ')", "user")
    await asked(session, run)
    session.input_enabled = False
    try:
        await finished(run)
    finally:
        session.input_enabled = True
    assert run.status == "error" and run.error["ename"] == "EOFError"
    assert NO_ONE_TO_ANSWER in text_of(run.outputs)
