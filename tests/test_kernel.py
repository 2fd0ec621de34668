"""The kernel session: output handling against recorded messages, then a real ipykernel."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
import pytest_asyncio

from nbtui.core.document import Document
from nbtui.core.kernel import (
    KERNEL_DIED,
    DisplayIndex,
    Execution,
    KernelError,
    KernelEvent,
    KernelSession,
    NoSuchKernel,
    OutputCollector,
)

DATA = Path(__file__).parent / "data" / "kernel"
DEADLINE = 20.0
"""Seconds any single wait on the real kernel may take before the test fails."""


def recorded(name: str) -> list[dict[str, Any]]:
    """The IOPub messages of one recorded run (see tests/data/kernel/README.md)."""
    return json.loads((DATA / f"{name}.json").read_text())["messages"]


def msg(msg_type: str, **content: Any) -> dict[str, Any]:
    """An IOPub message as jupyter-client delivers it (only the fields the collector reads)."""
    return {"header": {"msg_type": msg_type}, "parent_header": {"msg_id": "p"},
            "content": content}


def stream(text: str, name: str = "stdout") -> dict[str, Any]:
    return msg("stream", name=name, text=text)


def display(text: str, display_id: str | None = None) -> dict[str, Any]:
    transient = {"display_id": display_id} if display_id else {}
    return msg("display_data", data={"text/plain": text}, metadata={}, transient=transient)


def assert_valid(output: dict[str, Any]) -> None:
    """Fail unless `output` is a valid nbformat 4.5 output."""
    nbformat.validate(output, ref=output["output_type"], version=4, version_minor=5)


def collect(messages: list[dict[str, Any]], collector: OutputCollector | None = None
            ) -> OutputCollector:
    collector = collector or OutputCollector()
    for m in messages:
        collector.apply(m)
    return collector


# -- OutputCollector against recorded and built message sequences -------------------------------


def test_recorded_streams_and_result_become_nbformat_outputs() -> None:
    """Streams of different names stay apart, and the result keeps its execution count."""
    outputs = collect(recorded("streams_and_result")).outputs
    assert outputs == [
        {"output_type": "stream", "name": "stdout", "text": "a\nb\n"},
        {"output_type": "stream", "name": "stderr", "text": "err\n"},
        {"output_type": "stream", "name": "stdout", "text": "c\n"},
        {"output_type": "execute_result", "execution_count": 1,
         "data": {"text/plain": "42"}, "metadata": {}},
    ]
    for output in outputs:
        assert_valid(output)


def test_consecutive_chunks_of_one_stream_merge() -> None:
    """Chunks of the same stream merge into one output, even across line boundaries."""
    outputs = collect([stream("a"), stream("b\nc"), stream("d\n")]).outputs
    assert outputs == [{"output_type": "stream", "name": "stdout", "text": "ab\ncd\n"}]


def test_recorded_progress_bar_keeps_only_its_final_state() -> None:
    """A \\r progress bar collapses to its latest state while running and its last at the end."""
    messages = [m for m in recorded("progress_bar") if m["header"]["msg_type"] == "stream"]
    collector = collect(messages[:3])
    assert collector.outputs[0]["text"] == " 50%"
    collect(messages[3:], collector)
    assert collector.outputs == [
        {"output_type": "stream", "name": "stdout", "text": " done\nnext line\n"}]


@pytest.mark.parametrize(
    ("chunks", "text"),
    [
        (["10%\r", "20%\r", "30%"], "30%"),
        (["10%\r", "20%\r"], "20%"),
        (["line\r", "\nnext"], "line\nnext"),
        (["a\r\nb\r\r\nc"], "a\nb\nc"),
        (["keep\nold\r", "new\n"], "keep\nnew\n"),
        (["x\n1", "2\r3", "4\r", "5\n6"], "x\n5\n6"),
    ],
    ids=["cr-ends-chunk", "cr-pending-at-end", "crlf-split", "crlf-in-chunk",
         "cr-erases-line", "mixed"],
)
def test_carriage_returns_collapse_across_chunk_boundaries(chunks: list[str], text: str) -> None:
    """A \\r erases its line, except as half of a \\r\\n split over two chunks."""
    outputs = collect([stream(c) for c in chunks]).outputs
    assert outputs == [{"output_type": "stream", "name": "stdout", "text": text}]


def test_recorded_clear_output_wait_clears_just_before_the_next_output() -> None:
    """clear_output(wait=True) keeps the old outputs until the next one arrives."""
    messages = recorded("display_update_clear")
    first_clear = next(i for i, m in enumerate(messages)
                       if m["header"]["msg_type"] == "clear_output")
    collector = collect(messages[:first_clear + 1])
    assert [o["data"]["text/plain"] for o in collector.outputs] == ["'two'"]
    collect(messages[first_clear + 1:], collector)
    assert collector.outputs == [{"output_type": "stream", "name": "stdout",
                                  "text": "frame 1\n"}]


def test_clear_output_without_wait_clears_at_once_in_place() -> None:
    """clear_output(wait=False) empties the same list object that the document holds."""
    outputs: list[dict[str, Any]] = []
    collector = collect([stream("old\n"), display("x")], OutputCollector(outputs))
    changed = collector.apply(msg("clear_output", wait=False))
    assert changed == [collector]
    assert outputs == [] and collector.outputs is outputs


def test_update_display_data_reaches_outputs_of_another_execution() -> None:
    """A display id updates the output in whichever run made it, and never reaches the file."""
    displays = DisplayIndex()
    first = collect([display("one", "d1"), display("other", "d2")],
                    OutputCollector(displays=displays))
    second = OutputCollector(displays=displays)
    changed = second.apply(msg("update_display_data", data={"text/plain": "two"}, metadata={},
                               transient={"display_id": "d1"}))
    assert changed == [first]
    assert [o["data"]["text/plain"] for o in first.outputs] == ["two", "other"]
    assert second.outputs == []
    assert all("transient" not in o for o in first.outputs)

    changed = second.apply(display("three", "d1"))
    assert changed == [second, first]
    assert first.outputs[0]["data"] == {"text/plain": "three"}

    first.clear()
    second.clear()
    assert second.apply(msg("update_display_data", data={"text/plain": "four"}, metadata={},
                            transient={"display_id": "d1"})) == []


def test_recorded_error_becomes_an_error_output() -> None:
    """An error message becomes an nbformat error output with its coloured traceback."""
    outputs = collect(recorded("error")).outputs
    assert len(outputs) == 1
    error = outputs[0]
    assert (error["output_type"], error["ename"], error["evalue"]) == (
        "error", "ZeroDivisionError", "division by zero")
    assert any("\x1b[" in line for line in error["traceback"])
    assert_valid(error)


def test_a_flooding_stream_keeps_head_and_tail_and_says_what_it_dropped() -> None:
    """An overlong stream keeps its first and last lines and a one-line drop marker."""
    lines = [f"line {i}\n" for i in range(5000)]
    collector = collect([stream("".join(lines[i:i + 7])) for i in range(0, 5000, 7)],
                        OutputCollector(stream_head=1000, stream_tail=2000))
    [output] = collector.outputs
    text = output["text"]
    assert len(text) < 1000 + 2000 * 1.25 + 100
    assert text.startswith("line 0\nline 1\n")
    assert text.endswith("line 4998\nline 4999\n")
    head, marker, tail = text.partition("characters of output dropped here]\n")
    head, _, count = head.rpartition("[nbtui: ")
    full = "".join(lines)
    assert full.startswith(head) and full.endswith(tail)
    assert int(count.replace(",", "")) == len(full) - len(head) - len(tail)


def test_a_huge_single_line_is_capped_too() -> None:
    """A stream that never ends its line (dots in a loop) is bounded as well."""
    collector = collect([stream("." * 1000) for _ in range(100)],
                        OutputCollector(stream_head=1000, stream_tail=2000))
    assert len(collector.outputs[0]["text"]) < 3000


def test_too_many_outputs_drop_the_oldest_behind_a_marker() -> None:
    """Beyond the output cap the oldest outputs go, a marker says how many, display ids too."""
    displays = DisplayIndex()
    collector = collect([display(f"d{i}", f"id{i}") for i in range(20)],
                        OutputCollector(displays=displays, max_outputs=5))
    marker, *kept = collector.outputs
    assert marker["text"] == "[nbtui: 16 earlier outputs dropped to bound memory]\n"
    assert [o["data"]["text/plain"] for o in kept] == ["d16", "d17", "d18", "d19"]
    assert set(collector.display_ids) == {"id16", "id17", "id18", "id19"}
    assert displays.update("id3", {"text/plain": "late"}, {}) == []


def test_non_string_mime_values_are_made_valid() -> None:
    """A kernel's odd MIME values are stored in a shape nbformat accepts."""
    collector = collect([msg("display_data", data={"text/plain": 5, "application/json": {"a": 1}},
                             metadata={})])
    output = collector.outputs[0]
    assert output["data"] == {"text/plain": "5", "application/json": {"a": 1}}
    assert_valid(output)


# -- against a real ipykernel -------------------------------------------------------------------


def new_document(*sources: str) -> Document:
    return Document(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(s) for s in sources]))


async def until(condition: Callable[[], bool], *, document: Document | None = None,
                session: KernelSession | None = None, timeout: float = DEADLINE) -> None:
    """Wait until `condition()` holds, re-checking on every document and kernel event."""
    changed = asyncio.Event()
    unsubscribe = []
    if document is not None:
        unsubscribe.append(document.subscribe(lambda _e: changed.set()))
    if session is not None:
        unsubscribe.append(session.subscribe(lambda _e: changed.set()))
    try:
        async with asyncio.timeout(timeout):
            while True:
                changed.clear()
                if condition():
                    return
                await changed.wait()
    finally:
        for undo in unsubscribe:
            undo()


async def finished(*executions: Execution) -> None:
    for execution in executions:
        assert await execution.wait(DEADLINE), f"{execution.code!r} did not finish"


def text_of(outputs: list[dict[str, Any]]) -> str:
    return "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest_asyncio.fixture(scope="module")
async def session(tmp_path_factory: pytest.TempPathFactory):
    """One kernel shared by the tests that do not kill it."""
    where = tmp_path_factory.mktemp("kernel")
    ks = KernelSession(new_document(), "python3", cwd=where, log_path=where / "kernel.log")
    await ks.start()
    yield ks
    await ks.shutdown()


async def test_a_cell_run_writes_outputs_and_execution_count_into_the_document(
        session: KernelSession) -> None:
    """A cell's stream and result land in its document cell, with its count and a feed entry."""
    doc = session.document
    cell = doc.insert_cell("print('hello')\n40 + 2")
    before = doc.revision
    execution = session.run_cell(cell.id, "user")
    assert doc.get(cell.id).status == "queued"
    await finished(execution)
    assert execution.status == "ok" and execution.error is None
    assert isinstance(execution.execution_count, int)
    cell = doc.get(cell.id)
    assert cell.outputs is execution.outputs
    assert cell.outputs == [
        {"output_type": "stream", "name": "stdout", "text": "hello\n"},
        {"output_type": "execute_result", "execution_count": execution.execution_count,
         "data": {"text/plain": "42"}, "metadata": {}},
    ]
    assert (cell.status, cell.execution_count) == ("ok", execution.execution_count)
    [change] = doc.changes_since(before)
    assert (change.kind, change.author, change.details["summary"]) == ("run", "user", "ok")
    assert session.state == "idle"


async def test_a_cell_queued_again_shows_the_waiting_runs_author(
        session: KernelSession) -> None:
    """When a cell finishes while another run of it waits, its queued status is attributed to
    the author of the waiting run."""
    doc = session.document
    cell = doc.insert_cell("import time; time.sleep(0.2)")
    events = []
    unsubscribe = doc.subscribe(events.append)
    first = session.run_cell(cell.id, "alpha")
    second = session.run_cell(cell.id, "beta")
    await finished(first)
    unsubscribe()
    queued_again = [e for e in events if e.kind == "status" and e.details["status"] == "queued"]
    assert queued_again and queued_again[-1].author == "beta"
    await finished(second)


async def test_running_a_markdown_cell_is_done_at_once_without_the_kernel(
        session: KernelSession) -> None:
    """A markdown cell 'runs' as Jupyter renders it: finished ok, no outputs, no queue."""
    cell = session.document.insert_cell("# Title", "markdown")
    execution = session.run_cell(cell.id, "user")
    assert execution.done.is_set()
    assert (execution.status, execution.outputs, session.queue) == ("ok", [], [])


async def test_cells_from_two_authors_run_first_in_first_out(session: KernelSession) -> None:
    """Three cells queued by the user and an agent run in the order they were queued."""
    doc = session.document
    setup = session.run_code("order = []", "user")
    cells = [doc.insert_cell(f"order.append({n})") for n in (1, 2, 3)]
    events: list[KernelEvent] = []
    unsubscribe = session.subscribe(events.append)
    runs = [session.run_cell(cells[0].id, "user"), session.run_cell(cells[1].id, "claude"),
            session.run_cell(cells[2].id, "user")]
    assert [doc.get(c.id).status for c in cells] == ["queued"] * 3
    await finished(setup, *runs)
    unsubscribe()
    check = session.run_code("print(order)", "claude")
    await finished(check)
    assert text_of(check.outputs) == "[1, 2, 3]\n"
    counts = [r.execution_count for r in runs]
    assert counts == sorted(counts) and len(set(counts)) == 3
    started = [e.execution for e in events if e.kind == "started" and e.execution.cell_id]
    assert started == runs
    assert [doc.changes_since(0)[-i].author for i in (3, 2, 1)] == ["user", "claude", "user"]


async def test_a_scratch_run_leaves_the_document_unchanged(session: KernelSession) -> None:
    """run_code outputs stay in the Execution; the document does not change at all."""
    doc = session.document
    version, revision = doc.version, doc.revision
    execution = session.run_code("print('scratch')\n'result'", "claude")
    await finished(execution)
    assert execution.status == "ok" and execution.cell_id is None
    assert text_of(execution.outputs) == "scratch\n"
    assert execution.outputs[-1]["data"] == {"text/plain": "'result'"}
    assert (doc.version, doc.revision) == (version, revision)


async def test_a_cell_runs_the_source_it_had_when_queued(session: KernelSession) -> None:
    """Editing a queued cell does not change what runs: the source is taken at enqueue time."""
    doc = session.document
    cell = doc.insert_cell("print('as queued')")
    execution = session.run_cell(cell.id, "user")
    doc.edit_cell(cell.id, "print('edited later')")
    await finished(execution)
    assert text_of(execution.outputs) == "as queued\n"


async def test_a_cell_deleted_while_queued_still_runs_without_crashing(
        session: KernelSession) -> None:
    """Deleting a queued cell leaves its run to finish on its own, outside the document."""
    doc = session.document
    cell = doc.insert_cell("print('orphan')")
    execution = session.run_cell(cell.id, "claude")
    doc.delete_cells([cell.id])
    await finished(execution)
    assert execution.status == "ok" and text_of(execution.outputs) == "orphan\n"
    assert not doc.has(cell.id) and session.state == "idle"


async def test_outputs_stream_into_the_cell_before_the_run_finishes(
        session: KernelSession, tmp_path: Path) -> None:
    """The first print reaches the document while the cell is still running."""
    doc = session.document
    go = tmp_path / "go"
    cell = doc.insert_cell(
        "import os, time\nprint('first', flush=True)\n"
        f"while not os.path.exists({str(go)!r}):\n    time.sleep(0.01)\nprint('second')")
    execution = session.run_cell(cell.id, "user")
    await until(lambda: text_of(doc.get(cell.id).outputs) == "first\n", document=doc)
    assert not execution.done.is_set() and doc.get(cell.id).status == "running"
    assert await execution.wait(0.05) is False
    assert execution.status == "running"
    go.touch()
    await finished(execution)
    assert text_of(doc.get(cell.id).outputs) == "first\nsecond\n"


async def test_clearing_a_running_cell_keeps_only_what_it_prints_afterwards(
        session: KernelSession, tmp_path: Path) -> None:
    """Outputs cleared mid-run stay cleared; later output still streams into the cell."""
    doc = session.document
    go = tmp_path / "go"
    cell = doc.insert_cell(
        "import os, time\nprint('before', flush=True)\n"
        f"while not os.path.exists({str(go)!r}):\n    time.sleep(0.01)\nprint('after')")
    execution = session.run_cell(cell.id, "user")
    await until(lambda: text_of(doc.get(cell.id).outputs) == "before\n", document=doc)
    doc.clear_outputs([cell.id])
    go.touch()
    await finished(execution)
    assert text_of(doc.get(cell.id).outputs) == "after\n"
    assert doc.get(cell.id).outputs is execution.outputs


async def test_an_error_cell_ends_in_error_with_its_traceback(session: KernelSession) -> None:
    """A raising cell ends 'error', says which error, and shows the traceback."""
    doc = session.document
    before = doc.revision
    cell = doc.insert_cell("1 / 0")
    execution = session.run_cell(cell.id, "claude")
    await finished(execution)
    assert execution.status == "error"
    assert execution.error is not None
    assert execution.error["ename"] == "ZeroDivisionError"
    assert execution.error["traceback"]
    assert doc.get(cell.id).outputs[-1]["output_type"] == "error"
    assert doc.get(cell.id).status == "error"
    run = [c for c in doc.changes_since(before) if c.kind == "run"][-1]
    assert (run.author, run.details["summary"]) == ("claude", "error ZeroDivisionError")


async def test_interrupt_stops_the_running_cell_and_drops_the_queue(
        session: KernelSession) -> None:
    """Interrupting a busy loop ends it with KeyboardInterrupt and dequeues the cell behind it."""
    doc = session.document
    spin = doc.insert_cell("print('spinning', flush=True)\nwhile True:\n    pass")
    behind = doc.insert_cell("print('never')")
    running = session.run_cell(spin.id, "user")
    waiting = session.run_cell(behind.id, "claude")
    await until(lambda: text_of(running.outputs) == "spinning\n", session=session)
    result = await session.interrupt()
    assert result["stopped"] == [spin.id] and result["dequeued"] == [behind.id]
    await finished(running, waiting)
    assert running.status == "error" and running.error["ename"] == "KeyboardInterrupt"
    assert waiting.status == "aborted" and waiting.outputs == []
    assert doc.get(behind.id).status == "idle"
    assert session.state == "idle" and session.queue == []


async def test_interrupt_right_after_the_request_is_sent_still_stops_the_cell(
        session: KernelSession) -> None:
    """An interrupt sent before the kernel began executing the cell is not lost."""
    doc = session.document
    spin = doc.insert_cell("import time\nwhile True:\n    time.sleep(0.01)")
    sent = asyncio.Event()
    unsubscribe = session.subscribe(
        lambda e: sent.set() if e.kind == "started" and e.execution.cell_id == spin.id else None)
    running = session.run_cell(spin.id, "user")
    async with asyncio.timeout(DEADLINE):
        await sent.wait()
    unsubscribe()
    result = await session.interrupt()
    assert result["stopped"] == [spin.id]
    await finished(running)
    assert running.status == "error" and running.error["ename"] == "KeyboardInterrupt"


async def test_complete_and_inspect_answer_from_the_kernel(session: KernelSession) -> None:
    """Completion finds a kernel variable; inspection describes a function."""
    await finished(session.run_code("alpha_value = 1", "user"))
    reply = await session.complete("x = alpha_v", 11)
    assert "alpha_value" in reply["matches"]
    assert (reply["cursor_start"], reply["cursor_end"]) == (4, 11)
    assert "len" in await session.inspect("len", 3)


async def test_a_display_updates_from_another_cell(session: KernelSession) -> None:
    """update_display_data from one cell changes the output of the cell that displayed it."""
    doc = session.document
    shown = doc.insert_cell("from IPython.display import display\n"
                            "handle = display('one', display_id='shared-display')")
    updater = doc.insert_cell("handle.update('two')")
    await finished(session.run_cell(shown.id, "user"))
    await finished(session.run_cell(updater.id, "user"))
    await until(lambda: doc.get(shown.id).outputs[0]["data"] == {"text/plain": "'two'"},
                document=doc)
    assert doc.get(updater.id).outputs == []
    assert "transient" not in json.dumps(nbformat.writes(doc.to_notebook()))


async def test_a_failing_listener_does_not_break_the_kernel(session: KernelSession) -> None:
    """A listener that raises is logged and the run still completes."""
    def broken(_event: KernelEvent) -> None:
        raise RuntimeError("listener bug")

    unsubscribe = session.subscribe(broken)
    try:
        execution = session.run_code("print('still fine')", "user")
        await finished(execution)
    finally:
        unsubscribe()
    assert execution.status == "ok" and text_of(execution.outputs) == "still fine\n"


async def test_kernel_stdout_and_stderr_go_to_the_log_file(
        session: KernelSession, capfd: pytest.CaptureFixture[str]) -> None:
    """What the kernel process writes to its own fds lands in the log, never on the terminal."""
    execution = session.run_code(
        "import os\nos.write(1, b'fd1-marker\\n')\nos.write(2, b'fd2-marker\\n')", "user")
    await finished(execution)
    session._log_file.flush()
    log = session.log_path.read_text()
    assert "fd1-marker" in log and "fd2-marker" in log
    captured = capfd.readouterr()
    assert "marker" not in captured.out + captured.err


async def test_restart_loses_variables_and_can_clear_outputs(session: KernelSession) -> None:
    """After a restart the kernel has forgotten everything; outputs are cleared on request."""
    doc = session.document
    cell = doc.insert_cell("restart_var = 1\nrestart_var")
    await finished(session.run_cell(cell.id, "user"))
    assert doc.get(cell.id).outputs
    old_pid = session.kernel_pid
    await session.restart(clear_outputs=True)
    assert session.state == "idle" and session.kernel_pid != old_pid
    assert doc.get(cell.id).outputs == [] and doc.get(cell.id).execution_count is None
    check = session.run_code("restart_var", "user")
    await finished(check)
    assert check.status == "error" and check.error["ename"] == "NameError"


async def test_a_kernel_killed_from_outside_is_reported_dead_and_can_restart(
        tmp_path: Path) -> None:
    """Killing the kernel process ends the running cell with KernelDied, aborts the queue."""
    doc = new_document("import time\nprint('working', flush=True)\ntime.sleep(60)", "1 + 1")
    first, second = (c.id for c in doc.cells)
    ks = KernelSession(doc, "python3", cwd=tmp_path, log_path=tmp_path / "kernel.log")
    states: list[KernelEvent] = []
    ks.subscribe(lambda e: states.append(e) if e.kind == "state" else None)
    await ks.start()
    try:
        running = ks.run_cell(first, "user")
        queued = ks.run_cell(second, "claude")
        await until(lambda: text_of(running.outputs) == "working\n", session=ks)
        os.kill(ks.kernel_pid, signal.SIGKILL)
        await finished(running, queued)
        assert ks.state == "dead"
        assert running.status == "error"
        assert running.error["ename"] == "KernelDied" and running.error["evalue"] == KERNEL_DIED
        assert doc.get(first).outputs[-1]["ename"] == "KernelDied"
        assert doc.get(first).status == "error"
        assert queued.status == "aborted" and doc.get(second).status == "idle"
        assert "SIGKILL" in states[-1].message and states[-1].state == "dead"
        with pytest.raises(KernelError, match="restart the kernel"):
            ks.run_cell(first, "user")

        await ks.restart()
        again = ks.run_code("1 + 1", "user")
        await finished(again)
        assert again.status == "ok" and again.outputs[0]["data"] == {"text/plain": "2"}
    finally:
        await ks.shutdown()


async def test_code_queued_while_starting_runs_and_shutdown_leaves_no_process(
        tmp_path: Path) -> None:
    """A background start accepts work at once; shutdown kills the kernel and is idempotent."""
    doc = new_document("print('ran after start')")
    ks = KernelSession(doc, "python3", cwd=tmp_path, log_path=tmp_path / "kernel.log")
    ks.start_in_background()
    execution = ks.run_cell(doc.cells[0].id, "user")
    assert ks.state == "starting" and execution.status == "queued"
    await ks.wait_ready(DEADLINE)
    await finished(execution)
    assert text_of(execution.outputs) == "ran after start\n"
    cwd = ks.run_code("import os\nprint(os.getcwd())", "user")
    await finished(cwd)
    assert Path(text_of(cwd.outputs).strip()) == tmp_path

    pid = ks.kernel_pid
    assert pid is not None and process_exists(pid)
    await ks.shutdown()
    assert ks.state == "stopped" and ks.kernel_pid is None
    assert not process_exists(pid)
    await ks.shutdown()
    with pytest.raises(KernelError, match="restart the kernel"):
        ks.run_code("1", "user")


async def test_shutdown_while_a_cell_runs_returns_and_leaves_no_process(
        tmp_path: Path) -> None:
    """Quitting with a cell still running aborts it, returns promptly and kills the kernel."""
    doc = new_document("import time\nprint('busy', flush=True)\nwhile True:\n    time.sleep(0.01)")
    ks = KernelSession(doc, "python3", cwd=tmp_path, log_path=tmp_path / "kernel.log")
    await ks.start()
    running = ks.run_cell(doc.cells[0].id, "user")
    await until(lambda: text_of(running.outputs) == "busy\n", session=ks)
    pid = ks.kernel_pid
    async with asyncio.timeout(DEADLINE):
        await ks.shutdown()
    assert running.status == "aborted" and doc.get(doc.cells[0].id).status == "idle"
    assert ks.state == "stopped" and not process_exists(pid)


@pytest.fixture
def silent_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The name of a kernelspec whose process starts but never answers."""
    spec = tmp_path / "jupyter" / "kernels" / "silent"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", "import time; time.sleep(120)", "{connection_file}"],
        "display_name": "Silent",
        "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "silent"


async def poll_until(condition: Callable[[], bool], timeout: float = DEADLINE) -> None:
    """Poll `condition` until it holds (for states that no event announces)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_kernel_that_never_answers_times_out_and_is_killed(
        tmp_path: Path, silent_kernel: str) -> None:
    """A kernel silent past the startup timeout is reported dead and its process is gone."""
    ks = KernelSession(new_document(), silent_kernel, cwd=tmp_path,
                       log_path=tmp_path / "kernel.log", startup_timeout=1)
    task = ks.start_in_background()
    await poll_until(lambda: ks.kernel_pid is not None)
    pid = ks.kernel_pid
    await task
    assert ks.state == "dead" and "did not answer within 1 s" in ks.state_message
    with pytest.raises(KernelError, match="did not answer within 1 s"):
        await ks.wait_ready(1)
    assert not process_exists(pid)
    await ks.shutdown()


async def test_shutdown_during_a_background_start_leaves_no_process(
        tmp_path: Path, silent_kernel: str) -> None:
    """Quitting while the kernel is still booting neither hangs nor leaves the kernel behind."""
    ks = KernelSession(new_document(), silent_kernel, cwd=tmp_path,
                       log_path=tmp_path / "kernel.log")
    ks.start_in_background()
    queued = ks.run_code("1", "user")
    await poll_until(lambda: ks.kernel_pid is not None)
    pid = ks.kernel_pid
    await ks.shutdown()
    assert ks.state == "stopped" and queued.status == "aborted"
    assert not process_exists(pid)


async def test_a_missing_kernelspec_names_it_and_lists_the_installed_ones(
        tmp_path: Path) -> None:
    """Asking for an uninstalled kernel fails with NoSuchKernel, naming what is installed."""
    ks = KernelSession(new_document(), "no-such-kernel", cwd=tmp_path,
                       log_path=tmp_path / "kernel.log")
    with pytest.raises(NoSuchKernel) as caught:
        await ks.start()
    message = str(caught.value)
    assert "'no-such-kernel'" in message and "python3" in message
    assert ks.state == "dead"
    with pytest.raises(KernelError, match="No kernel named"):
        await ks.wait_ready(1)
    await ks.shutdown()


async def test_an_interrupt_the_kernel_swallows_before_the_code_runs_ends_the_run(
        tmp_path: Path) -> None:
    """An interrupt that lands after the kernel took the request but before the code runs (here
    during a slow input transformer) is caught by ipykernel, which then never replies; the run
    still ends, as interrupted, and the queue goes on."""
    ks = KernelSession(new_document(), "python3", cwd=tmp_path, log_path=tmp_path / "k.log")
    await ks.start()
    try:
        await finished(ks.run_code(
            "import time\n"
            "def _slow(lines):\n"
            "    time.sleep(1.5)\n"
            "    return lines\n"
            "get_ipython().input_transformers_cleanup.append(_slow)", "user"))
        doc = ks.document
        cell = doc.insert_cell("'never reached'")
        began = asyncio.Event()
        unsubscribe = ks.subscribe(
            lambda e: began.set() if e.kind == "started" and e.execution.cell_id == cell.id
            else None)
        running = ks.run_cell(cell.id, "user")
        async with asyncio.timeout(DEADLINE):
            await began.wait()
        unsubscribe()
        result = await ks.interrupt()
        assert result["stopped"] == [cell.id]
        await finished(running)
        assert running.status == "error" and running.error["ename"] == "KeyboardInterrupt"
        assert "KeyboardInterrupt caught in kernel" in (tmp_path / "k.log").read_text()
        await finished(ks.run_code("get_ipython().input_transformers_cleanup.pop()", "user"))
        after = ks.run_code("1 + 1", "user")
        await finished(after)
        assert after.status == "ok"
    finally:
        await ks.shutdown()
