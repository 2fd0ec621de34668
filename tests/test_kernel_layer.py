"""The kernel layer's parts on their own: the router, the queue and the document runner (pure
logic, no kernel), and the rule that the kernel code does not import the document."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import nbformat
import pytest

from nbtui.core.document import Document
from nbtui.core.kernels.execution import Execution
from nbtui.core.kernels.queue import ExecutionQueue
from nbtui.core.kernels.router import Router
from nbtui.core.kernels.runner import DocumentRunner

CORE = Path(__file__).parent.parent / "nbtui" / "core"


def runtime_imports(path: Path) -> set[str]:
    """The modules a file imports when it runs (imports under TYPE_CHECKING left out)."""
    tree = ast.parse(path.read_text())
    skipped = {id(node) for guard in ast.walk(tree) if isinstance(guard, ast.If)
               and ast.unparse(guard.test) == "TYPE_CHECKING"
               for node in ast.walk(guard)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_kernel_code_does_not_import_the_document() -> None:
    """kernel.py and every module of nbtui/core/kernels reach the notebook only through the
    runner's duck-typed calls, never by importing nbtui.core.document."""
    files = [CORE / "kernel.py", *sorted((CORE / "kernels").glob("*.py"))]
    assert len(files) > 5
    importers = [f.name for f in files if "nbtui.core.document" in runtime_imports(f)]
    assert importers == []


def reply(msg_id: str, msg_type: str = "execute_reply") -> dict:
    """A shell reply to `msg_id`, as a kernel sends it (the fields the router reads)."""
    return {"header": {"msg_type": msg_type}, "parent_header": {"msg_id": msg_id},
            "content": {"status": "ok"}}


async def test_the_router_matches_replies_by_message_id_and_settles_after_idle() -> None:
    """A reply goes to the request whose id it carries (not the latest one); a request is
    settled once both its reply and its idle status arrived; replies to unknown ids are
    dropped."""
    router = Router()
    first = router.send(lambda: "m1")
    second = router.send(lambda: "m2")
    router.on_reply(reply("m1"))
    router.on_reply(reply("unknown"))
    assert first.reply.done() and not second.reply.done()
    assert not first.settled.is_set()
    router.on_idle(first)
    assert first.settled.is_set() and not second.settled.is_set()
    assert router.request_of(reply("m2")) is second


async def test_the_router_fails_every_waiting_request_when_the_connection_goes() -> None:
    """Requests still waiting when the kernel goes away get an error instead of hanging."""
    router = Router()
    waiting = router.send(lambda: "m1")
    router.fail_all()
    with pytest.raises(Exception, match="stopped before it answered"):
        await waiting.reply
    assert router.pending == {}


async def test_the_queue_hands_out_executions_in_order_only_when_ready() -> None:
    """The queue gives its first execution only once the kernel is ready, first in first out,
    and can be emptied at once."""
    queue = ExecutionQueue()
    ready = False
    first, second, third = (Execution(c, "user", None) for c in ("1", "2", "3"))
    queue.push(first)
    queue.push(second)
    taker = asyncio.ensure_future(queue.next(lambda: ready))
    await asyncio.sleep(0)
    assert not taker.done()
    ready = True
    queue.wake()
    assert await asyncio.wait_for(taker, 5) is first
    queue.push(third)
    assert queue.take_all() == [second, third] and queue.waiting == []


def test_the_runner_writes_a_cell_runs_progress_into_the_document() -> None:
    """Queued, running with its count, outputs and finished reach the cell; a run's outputs
    stop reaching the cell once the cell shows a later run's."""
    document = Document(nbformat.v4.new_notebook())
    cell = document.insert_cell("print(1)", author="user")
    cleared: list[str] = []
    runner = DocumentRunner(document, cleared.append)
    assert runner.cell(cell.id) == ("code", "print(1)")
    run = Execution("print(1)", "agent", cell.id)
    runner.queued(run)
    assert document.get(cell.id).status == "queued"
    run.started_at = 1.0
    runner.started(run)
    run.execution_count = 3
    runner.counted(run)
    assert document.get(cell.id).status == "running"
    assert document.get(cell.id).execution_count == 3
    run.outputs.append({"output_type": "stream", "name": "stdout", "text": "1\n"})
    runner.outputs(run)
    assert document.get(cell.id).outputs[0]["text"] == "1\n"
    run.status = "ok"
    run.done.set()
    runner.finished(run, "", None)
    assert document.get(cell.id).status == "ok"
    later = Execution("print(2)", "user", cell.id)
    runner.started(later)
    run.outputs.append({"output_type": "stream", "name": "stdout", "text": "late\n"})
    runner.outputs(run)
    assert document.get(cell.id).outputs is later.outputs
    later.outputs.append({"output_type": "stream", "name": "stdout", "text": "2\n"})
    runner.outputs(later)
    document.clear_outputs([cell.id])
    assert cleared == [cell.id]
