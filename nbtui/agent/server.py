"""The MCP server: the agent contract's tools, each a thin call into the session's core.

Tools return a structured JSON object plus a compact text rendering of it (and images as image
content). A tool that cannot do what was asked returns an error result with one sentence saying
what is wrong and what to do instead; a cell that raises is a successful call whose result says
`status: "error"`.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import mcp_types as types
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.subscriptions import ResourceUpdated
from pydantic import ValidationError

from nbtui import __version__
from nbtui.agent.packages import PackageError, install_into_kernel, parse_requirements
from nbtui.agent.transport import current_connection
from nbtui.agent.variables import VariablesError, list_kernel_variables
from nbtui.core import policy as access
from nbtui.core import render
from nbtui.core.document import Cell, DocumentError, RevisionConflict
from nbtui.core.kernel import Execution, KernelError
from nbtui.core.session import Activity, NotebookSession
from nbtui.core.storage import NotebookFileError

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
You are attached to a live Jupyter notebook that a human has open in nbtui, with one running
kernel shared by both of you. Address cells by their `id` (indices change while the human
works). Explore data by running code (`run_code("df.info()")`) rather than reading raw data.
Variables persist in the kernel. The human sees every change you make as you make it; a cell
they are editing cannot be changed (insert a new one instead). Catch up on what the human did
with `changes_since(revision)`.
"""

MAX_TIMEOUT = 3600.0
MAX_IMAGES_PER_RESULT = 8
PROGRESS_EVERY = 1.0


class ToolFailure(Exception):
    """Raised inside a tool body to answer with an error result (one sentence)."""


# -- results ---------------------------------------------------------------------------


def tool_result(data: dict[str, Any], text: str,
                images: Iterable[tuple[str, bytes]] = ()) -> types.CallToolResult:
    """A successful tool result: structured content, its text rendering, and image content."""
    content: list[Any] = [types.TextContent(type="text", text=text)]
    for mime, raw in list(images)[:MAX_IMAGES_PER_RESULT]:
        content.append(types.ImageContent(type="image", data=base64.b64encode(raw).decode(),
                                          mime_type=mime))
    return types.CallToolResult(content=content, structured_content=data)


def error_result(message: str) -> types.CallToolResult:
    """A failed tool call: one sentence the model can act on."""
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)],
                                is_error=True)


# -- cell views ------------------------------------------------------------------------


def cell_view(cell: Cell, index: int, *, include_outputs: bool = True,
              max_chars: int = render.DEFAULT_MAX_CHARS,
              ) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """A cell as agents see it, and the images of its outputs."""
    view: dict[str, Any] = {
        "id": cell.id,
        "index": index,
        "cell_type": cell.cell_type,
        "source": cell.source,
        "revision": cell.revision,
        "execution_count": cell.execution_count,
        "status": cell.status,
    }
    images: list[tuple[str, bytes]] = []
    if include_outputs and cell.cell_type == "code":
        view["outputs"] = render.output_views(cell.outputs, max_chars, cell_id=cell.id)
        for output in cell.outputs:
            images.extend(render.output_images(output))
    elif cell.cell_type == "code":
        view["output_summary"] = render.output_summary(cell.outputs)
    return view, images


def outputs_text(outputs: list[dict[str, Any]]) -> str:
    """Output views as text."""
    parts = []
    for out in outputs:
        label = out.get("mime") or out.get("output_type")
        parts.append(f"[output {out['output_index']}: {label}]\n{out.get('text', '').rstrip()}")
    return "\n".join(parts)


def cell_text(view: dict[str, Any]) -> str:
    """A cell view as compact text."""
    count = view.get("execution_count")
    prompt = f" [{count}]" if count is not None else ""
    head = (f"# cell {view['id']} (index {view['index']}, {view['cell_type']}, "
            f"revision {view['revision']}, {view['status']}{prompt})")
    parts = [head, view["source"]]
    if view.get("outputs"):
        parts.append(outputs_text(view["outputs"]))
    elif view.get("output_summary"):
        parts.append(f"[outputs: {view['output_summary']}]")
    return "\n".join(parts)


class AgentTools:
    """The tools' logic, bound to one session.

    Args:
        session: the notebook session the tools act on; its `policy` says what agents may do.
    """

    def __init__(self, session: NotebookSession) -> None:
        self.session = session
        self.document = session.document
        self.kernel = session.kernel

    @property
    def policy(self) -> access.AgentPolicy:
        """The session's current rules for agents (the human may change them at any time)."""
        return self.session.policy

    # -- helpers -------------------------------------------------------------------------

    def log(self, author: str, tool: str, cell_id: str | None = None, summary: str = "",
            code: str | None = None) -> None:
        """Add an entry to the activity log the human sees."""
        self.session.activity.add(Activity(time.time(), author, tool, cell_id, summary, code))

    def views(self, cells: list[Cell], *, include_outputs: bool = True,
              max_chars: int = render.DEFAULT_MAX_CHARS,
              ) -> tuple[list[dict[str, Any]], list[tuple[str, bytes]]]:
        """Views of several cells with the output budget shared fairly between them."""
        sizes = [sum(len(render.output_text(o)[0]) for o in c.outputs) for c in cells]
        budgets = render.fair_shares(sizes, max_chars)
        views, images = [], []
        for cell, share in zip(cells, budgets, strict=True):
            view, imgs = cell_view(cell, self.document.index_of(cell.id),
                                   include_outputs=include_outputs, max_chars=max(share, 200))
            views.append(view)
            images.extend(imgs)
        return views, images

    def pending(self, cell_ids: list[str] | None = None) -> list[Execution]:
        """Executions still queued or running (for the given cells, or all)."""
        running = [self.kernel.current] if self.kernel.current else []
        executions = running + list(self.kernel.queue)
        if cell_ids is None:
            return executions
        wanted = set(cell_ids)
        return [e for e in executions if e.cell_id in wanted]

    async def wait_for(self, executions: list[Execution], timeout: float,
                       ctx: Context | None) -> bool:
        """Wait until the executions finish or `timeout` passes (never interrupts them),
        sending progress notifications meanwhile. Returns whether all finished."""
        timeout = self._check_timeout(timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        total = len(executions)
        while True:
            unfinished = [e for e in executions if not e.done.is_set()]
            if not unfinished:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            waiters = [asyncio.ensure_future(e.done.wait()) for e in unfinished]
            try:
                await asyncio.wait(waiters, timeout=min(PROGRESS_EVERY, remaining),
                                   return_when=asyncio.ALL_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            if ctx is not None and any(not e.done.is_set() for e in executions):
                finished = sum(e.done.is_set() for e in executions)
                running = next((e for e in executions if e.status == "running"), None)
                where = f"; running {running.cell_id or 'scratch code'}" if running else ""
                try:
                    await ctx.report_progress(finished, total,
                                              f"{finished} of {total} finished{where}")
                except Exception:  # noqa: BLE001 - a client that left must not stop the wait
                    ctx = None

    @staticmethod
    def _check_timeout(timeout: Any) -> float:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise ToolFailure("timeout is a number of seconds, 0 or more.")
        return min(float(timeout), MAX_TIMEOUT)

    def run_report(self, cells: list[Cell], finished: bool, max_chars: int
                   ) -> types.CallToolResult:
        """The result of run_cells / wait: each cell's view, plus a hint when not finished."""
        views, images = self.views(cells, max_chars=max_chars)
        data: dict[str, Any] = {"cells": views, "finished": finished,
                                "kernel": self.kernel_state()}
        text = "\n\n".join(cell_text(v) for v in views)
        if not finished:
            data["hint"] = ("Some cells are still queued or running; call wait(cell_ids=...) "
                            "to keep waiting, or interrupt_kernel to stop them.")
            text += "\n\n" + data["hint"]
        return tool_result(data, text, images)

    def kernel_state(self) -> dict[str, Any]:
        """The kernel's name and state."""
        return {"name": self.session.kernel_name, "state": self.kernel.state}

    def queue_cells(self, cell_ids: list[str], author: str) -> list[Execution]:
        """Queue code cells in the given order (checking every id first)."""
        cells = [self.document.get(cid) for cid in cell_ids]
        if self.kernel.state in ("dead", "stopped"):
            raise ToolFailure("The kernel is dead; call restart_kernel, then run the cells again.")
        return [self.kernel.run_cell(c.id, author) for c in cells if c.cell_type == "code"]

    # -- tools ---------------------------------------------------------------------------

    async def get_notebook(self, author: str, start: int = 0, limit: int = 50,
                           preview_lines: int = 3) -> types.CallToolResult:
        """Overview of the notebook, paged."""
        if start < 0 or limit < 1 or preview_lines < 0:
            raise ToolFailure("start and preview_lines must be 0 or more, limit 1 or more.")
        doc = self.document
        cells = []
        lines = []
        for index, cell in enumerate(doc.cells[start:start + limit], start=start):
            preview = "\n".join(cell.source.splitlines()[:preview_lines])
            more = len(cell.source.splitlines()) > preview_lines
            summary = render.output_summary(cell.outputs)
            cells.append({"id": cell.id, "index": index, "cell_type": cell.cell_type,
                          "revision": cell.revision, "execution_count": cell.execution_count,
                          "status": cell.status, "preview": preview, "preview_truncated": more,
                          "output_summary": summary})
            count = f" [{cell.execution_count}]" if cell.execution_count is not None else ""
            lines.append(f"{index:>3} {cell.id} {cell.cell_type} r{cell.revision} "
                         f"{cell.status}{count}" + (f" -> {summary}" if summary else ""))
            if preview:
                lines.extend("      " + line for line in preview.splitlines())
                if more:
                    lines.append("      ...")
        data = {
            "path": str(self.session.path),
            "kernel": self.kernel_state(),
            "revision": doc.revision,
            "dirty": doc.dirty,
            "cell_count": len(doc),
            "start": start,
            "focus": {"cell_id": doc.focus.cell_id, "mode": doc.focus.mode},
            "agents": self.session.agent_names(),
            "access": self.policy.describe(),
            "cells": cells,
        }
        if start + limit < len(doc):
            data["next_start"] = start + limit
        header = (f"{self.session.path.name}: {len(doc)} cells, revision {doc.revision}"
                  f"{' (unsaved changes)' if doc.dirty else ''}; kernel "
                  f"{self.session.kernel_name} {self.kernel.state}; the user is on cell "
                  f"{doc.focus.cell_id} ({doc.focus.mode} mode); agents: "
                  f"{', '.join(self.session.agent_names()) or 'none'}")
        tail = (f"\n(cells {start}-{start + len(cells) - 1} of {len(doc)}; "
                f"get_notebook(start={start + limit}) for more)"
                if "next_start" in data else "")
        return tool_result(data, header + "\n" + "\n".join(lines) + tail)

    async def read_cells(self, author: str, cell_ids: list[str] | None = None,
                         start: int | None = None, end: int | None = None,
                         include_outputs: bool = True,
                         max_chars: int = render.DEFAULT_MAX_CHARS) -> types.CallToolResult:
        """Full source and outputs of the chosen cells."""
        if cell_ids is not None and (start is not None or end is not None):
            raise ToolFailure("Give either cell_ids or a start/end index range, not both.")
        if max_chars < 100:
            raise ToolFailure("max_chars must be at least 100.")
        doc = self.document
        if cell_ids is not None:
            cells = [doc.get(cid) for cid in cell_ids]
        else:
            lo = 0 if start is None else start
            hi = len(doc) if end is None else end
            if lo < 0 or hi < lo:
                raise ToolFailure(f"The index range {lo}..{hi} is not valid; "
                                  f"the notebook has {len(doc)} cells.")
            cells = doc.cells[lo:hi]
        views, images = self.views(cells, include_outputs=include_outputs, max_chars=max_chars)
        self.log(author, "read_cells", None, f"{len(views)} cells")
        text = "\n\n".join(cell_text(v) for v in views) or "(no cells)"
        return tool_result({"cells": views, "revision": doc.revision}, text, images)

    async def read_output(self, author: str, cell_id: str, output_index: int, offset: int = 0,
                          limit: int = render.DEFAULT_MAX_CHARS) -> types.CallToolResult:
        """Page through one long output."""
        cell = self.document.get(cell_id)
        if not 0 <= output_index < len(cell.outputs):
            raise ToolFailure(f"Cell {cell_id} has {len(cell.outputs)} outputs; output_index "
                              f"must be 0 to {len(cell.outputs) - 1}." if cell.outputs
                              else f"Cell {cell_id} has no outputs.")
        if limit < 1:
            raise ToolFailure("limit must be 1 or more.")
        text, _mime = render.output_text(cell.outputs[output_index])
        page = render.page_text(text, offset, limit)
        end = page["offset"] + len(page["text"])
        note = (f"\n[characters {page['offset']}-{end} of {page['total']}"
                + (f"; read_output(offset={end}) for more]" if end < page["total"] else "]"))
        return tool_result(page, page["text"] + note)

    async def insert_cell(self, author: str, ctx: Context | None, source: str,
                          cell_type: str = "code", index: int | None = None,
                          after_cell_id: str | None = None, before_cell_id: str | None = None,
                          run: bool = False, timeout: float = 30) -> types.CallToolResult:
        """Insert a cell, optionally run it."""
        self.policy.check(access.EDIT, "insert_cell")
        if run:
            self.policy.check(access.RUN, "insert_cell with run")
            await self.policy.approve(author, "insert_cell", source)
        cell = self.document.insert_cell(source, cell_type, index=index,
                                         after_cell_id=after_cell_id,
                                         before_cell_id=before_cell_id, author=author)
        self.log(author, "insert_cell", cell.id,
                 f"{cell_type} at index {self.document.index_of(cell.id)}")
        if run:
            return await self._run_and_report([cell.id], author, timeout, ctx)
        view, _ = cell_view(cell, self.document.index_of(cell.id))
        return tool_result({"cell": view}, cell_text(view))

    async def edit_cell(self, author: str, ctx: Context | None, cell_id: str,
                        source: str | None = None, old_text: str | None = None,
                        new_text: str | None = None, replace_all: bool = False,
                        cell_type: str | None = None, if_revision: int | None = None,
                        run: bool = False, timeout: float = 30) -> types.CallToolResult:
        """Change a cell's source (whole, or one passage) and/or type; optionally run it."""
        self.policy.check(access.EDIT, "edit_cell")
        cell = self.document.get(cell_id)
        if source is not None and (old_text is not None or new_text is not None):
            raise ToolFailure("Give either source (the whole new text) or old_text/new_text, "
                              "not both.")
        if (old_text is None) != (new_text is None):
            raise ToolFailure("old_text and new_text go together: give both.")
        if old_text is not None:
            if old_text == "":
                raise ToolFailure("old_text is empty; give the exact passage to replace.")
            count = cell.source.count(old_text)
            if count == 0:
                raise ToolFailure(f"old_text was not found in cell {cell_id}; read the cell "
                                  "and copy the passage exactly.")
            if count > 1 and not replace_all:
                raise ToolFailure(f"old_text occurs {count} times in cell {cell_id}; give a "
                                  "longer passage or set replace_all=true.")
            source = cell.source.replace(old_text, new_text or "")
        if run:
            self.policy.check(access.RUN, "edit_cell with run")
        cell, diff = self.document.edit_cell(cell_id, source, cell_type=cell_type,
                                             author=author, if_revision=if_revision)
        self.log(author, "edit_cell", cell.id, "no change" if not diff else
                 f"{diff.count(chr(10) + '+') } lines added, {diff.count(chr(10) + '-')} removed")
        if run:
            await self.policy.approve(author, "edit_cell", cell.source)
            result = await self._run_and_report([cell.id], author, timeout, ctx)
            result.structured_content["diff"] = diff
            result.content[0].text = diff + "\n" + result.content[0].text
            return result
        view, images = cell_view(cell, self.document.index_of(cell.id))
        return tool_result({"cell": view, "diff": diff},
                           (diff or "(source unchanged)") + "\n" + cell_text(view), images)

    async def delete_cells(self, author: str, cell_ids: list[str]) -> types.CallToolResult:
        """Delete cells."""
        self.policy.check(access.EDIT, "delete_cells")
        deleted = self.document.delete_cells(cell_ids, author=author)
        items = [{"id": c.id, "cell_type": c.cell_type, "source": c.source} for c in deleted]
        self.log(author, "delete_cells", ", ".join(c.id for c in deleted),
                 f"{len(deleted)} deleted")
        text = "\n\n".join(f"deleted {c['id']} ({c['cell_type']}):\n{c['source']}" for c in items)
        return tool_result({"deleted": items}, text)

    async def move_cell(self, author: str, cell_id: str, index: int | None = None,
                        after_cell_id: str | None = None,
                        before_cell_id: str | None = None) -> types.CallToolResult:
        """Move a cell."""
        self.policy.check(access.EDIT, "move_cell")
        new_index = self.document.move_cell(cell_id, index=index, after_cell_id=after_cell_id,
                                            before_cell_id=before_cell_id, author=author)
        self.log(author, "move_cell", cell_id, f"to index {new_index}")
        return tool_result({"id": cell_id, "index": new_index},
                           f"cell {cell_id} is now at index {new_index}")

    async def run_cells(self, author: str, ctx: Context | None,
                        cell_ids: list[str] | None = None, all: bool = False,
                        timeout: float = 30) -> types.CallToolResult:
        """Queue cells on the kernel and wait for them."""
        self.policy.check(access.RUN, "run_cells")
        if all and cell_ids:
            raise ToolFailure("Give cell_ids or all=true, not both.")
        if not all and not cell_ids:
            raise ToolFailure("Name the cells to run (cell_ids), or set all=true.")
        ids = [c.id for c in self.document.cells if c.cell_type == "code"] if all else cell_ids
        for cid in ids:
            self.document.get(cid)
        code = "\n\n".join(self.document.get(cid).source for cid in ids)
        await self.policy.approve(author, "run_cells", code)
        return await self._run_and_report(ids, author, timeout, ctx)

    async def _run_and_report(self, cell_ids: list[str], author: str, timeout: float,
                              ctx: Context | None) -> types.CallToolResult:
        self._check_timeout(timeout)
        executions = self.queue_cells(cell_ids, author)
        self.log(author, "run_cells", ", ".join(cell_ids), f"{len(executions)} queued")
        finished = await self.wait_for(executions, timeout, ctx)
        cells = [self.document.get(cid) for cid in cell_ids if self.document.has(cid)]
        statuses = ", ".join(f"{c.id} {c.status}" for c in cells)
        self.log(author, "run_cells", ", ".join(cell_ids),
                 statuses if finished else f"still running after {timeout:g}s: {statuses}")
        return self.run_report(cells, finished, render.DEFAULT_MAX_CHARS)

    async def wait(self, author: str, ctx: Context | None, cell_ids: list[str] | None = None,
                   timeout: float = 30) -> types.CallToolResult:
        """Wait until cells (or the whole queue) are idle."""
        if cell_ids is not None:
            for cid in cell_ids:
                self.document.get(cid)
        executions = self.pending(cell_ids)
        finished = await self.wait_for(executions, timeout, ctx)
        if cell_ids is None:
            seen: list[str] = []
            for e in executions:
                if e.cell_id and e.cell_id not in seen and self.document.has(e.cell_id):
                    seen.append(e.cell_id)
            cell_ids = seen
        cells = [self.document.get(cid) for cid in cell_ids if self.document.has(cid)]
        result = self.run_report(cells, finished, render.DEFAULT_MAX_CHARS)
        if not cells:
            result.content[0].text = ("The queue is empty; the kernel is "
                                      f"{self.kernel.state}." if finished else
                                      "Scratch runs are still going; call wait again.")
        return result

    async def run_code(self, author: str, ctx: Context | None, code: str,
                       timeout: float = 30) -> types.CallToolResult:
        """Run scratch code in the kernel without adding a cell."""
        self.policy.check(access.RUN, "run_code")
        if not isinstance(code, str) or not code.strip():
            raise ToolFailure("code is empty; give the code to run.")
        self._check_timeout(timeout)
        if self.kernel.state in ("dead", "stopped"):
            raise ToolFailure("The kernel is dead; call restart_kernel first.")
        await self.policy.approve(author, "run_code", code)
        execution = self.kernel.run_code(code, author)
        finished = await self.wait_for([execution], timeout, ctx)
        return self.execution_result(execution, finished, author)

    def execution_result(self, execution: Execution, finished: bool,
                         author: str) -> types.CallToolResult:
        """A scratch run's result, logged for the human."""
        views = render.output_views(execution.outputs, render.DEFAULT_MAX_CHARS)
        images = [img for out in execution.outputs for img in render.output_images(out)]
        data: dict[str, Any] = {"status": execution.status,
                                "execution_count": execution.execution_count,
                                "outputs": views}
        if execution.error:
            data["error"] = render.error_summary({"output_type": "error", **execution.error})
        summary = execution.status
        if execution.error:
            summary += f" {execution.error.get('ename', '')}"
        elif views:
            first = views[0]["text"].strip().splitlines()
            summary += f": {first[0][:80]}" if first else ""
        self.log(author, "run_code", None, summary, code=execution.code)
        text = f"status: {execution.status}"
        if execution.execution_count is not None:
            text += f" [{execution.execution_count}]"
        if views:
            text += "\n" + outputs_text(views)
        if not finished:
            data["hint"] = ("The code is still running; its output so far is above. Call "
                            "wait() to wait for the queue, or interrupt_kernel to stop it.")
            text += "\n" + data["hint"]
        return tool_result(data, text, images)

    async def interrupt_kernel(self, author: str) -> types.CallToolResult:
        """Interrupt the running execution and drop the queue."""
        self.policy.check(access.RUN, "interrupt_kernel")
        outcome = await self.kernel.interrupt()
        self.log(author, "interrupt_kernel", None,
                 f"stopped {outcome.get('stopped')}, dequeued {outcome.get('dequeued')}")
        return tool_result(outcome, json.dumps(outcome))

    async def restart_kernel(self, author: str, clear_outputs: bool = False
                             ) -> types.CallToolResult:
        """Restart the kernel."""
        self.policy.check(access.RUN, "restart_kernel")
        await self.policy.approve(author, "restart_kernel", "(restart the kernel)")
        await self.kernel.restart(clear_outputs=clear_outputs)
        self.log(author, "restart_kernel", None, "restarted")
        state = self.kernel_state()
        return tool_result({"kernel": state},
                           f"The kernel restarted ({state['state']}); all variables are gone.")

    async def install_packages(self, author: str, ctx: Context | None,
                               packages: list[str]) -> types.CallToolResult:
        """Install packages into the kernel's environment."""
        self.policy.check(access.RUN, "install_packages")
        requirements = parse_requirements(packages)
        await self.policy.approve(author, "install_packages", "pip install " + " ".join(packages))
        self.log(author, "install_packages", None, "installing " + ", ".join(requirements))
        outcome = await install_into_kernel(self.kernel, requirements, author)
        text_out, _ = render.truncate_middle(outcome["output"], render.DEFAULT_MAX_CHARS)
        outcome = {**outcome, "output": text_out}
        self.log(author, "install_packages", None, f"{outcome['status']}: "
                 + ", ".join(requirements))
        return tool_result(outcome, f"status: {outcome['status']}\n{text_out}")

    async def list_variables(self, author: str, limit: int = 50) -> types.CallToolResult:
        """What the kernel holds."""
        self.policy.check(access.RUN, "list_variables")
        if limit < 1:
            raise ToolFailure("limit must be 1 or more.")
        variables = await list_kernel_variables(self.kernel, limit, author)
        self.log(author, "list_variables", None, f"{len(variables)} variables")
        text = "\n".join(f"{v['name']}: {v['type']} {v['summary']}" for v in variables)
        return tool_result({"variables": variables}, text or "(no variables)")

    async def changes_since(self, author: str, revision: int) -> types.CallToolResult:
        """What changed since a revision, and who did it."""
        changes = self.document.changes_since(revision)
        if changes is None:
            overview = await self.get_notebook(author)
            data = {"revision": self.document.revision, "too_old": True,
                    "overview": overview.structured_content}
            return tool_result(data, f"Revision {revision} is too old to diff; here is the "
                               "whole notebook instead.\n" + overview.content[0].text)
        described = [c.describe() for c in changes]
        lines = []
        for c in described:
            extra = {k: v for k, v in c.items()
                     if k not in ("revision", "kind", "cell_id", "author", "diff", "source")}
            lines.append(f"r{c['revision']} {c['author']} {c['kind']} {c['cell_id']} "
                         + (json.dumps(extra) if extra else ""))
            if c.get("diff"):
                lines.append(c["diff"].rstrip())
            elif c["kind"] == "insert":
                lines.append(c.get("source", ""))
        data = {"revision": self.document.revision, "changes": described}
        return tool_result(data, "\n".join(lines) or
                           f"No changes since revision {revision}.")

    async def save_notebook(self, author: str) -> types.CallToolResult:
        """Write the notebook to disk now."""
        self.policy.check(access.EDIT, "save_notebook")
        info = self.session.save()
        self.log(author, "save_notebook", None, f"{info.bytes_written} bytes")
        data = {"path": info.path, "revision": info.revision, "bytes": info.bytes_written}
        return tool_result(data, f"Saved {info.path} ({info.bytes_written} bytes, revision "
                           f"{info.revision}).")


# -- the MCP server --------------------------------------------------------------------


def author_of(ctx: Context) -> str:
    """The name an agent's changes are attributed to: its `clientInfo.name`."""
    try:
        params = ctx.session.client_params
    except Exception:  # noqa: BLE001
        params = None
    if params is not None and params.client_info and params.client_info.name:
        return params.client_info.name
    connection = current_connection.get()
    return connection.display_name if connection else "agent"


class NbtuiServer(MCPServer):
    """MCPServer whose argument errors read as one sentence instead of a pydantic report."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None,
                        *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().call_tool(name, arguments, context, *args, **kwargs)
        except Exception as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                    for err in cause.errors()[:5]
                )
                return error_result(f"Invalid arguments for {name}: {problems}.")
            raise


def _tool(fn: Callable[..., Awaitable[types.CallToolResult]]
          ) -> Callable[..., Awaitable[types.CallToolResult]]:
    """Turn the core's refusals into error results with their one-sentence message."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> types.CallToolResult:
        try:
            return await fn(*args, **kwargs)
        except RevisionConflict as exc:
            return error_result(f"{exc} Its current source is:\n{exc.current_source}")
        except (DocumentError, KernelError, NotebookFileError, ToolFailure, PackageError,
                VariablesError, access.AccessDenied) as exc:
            return error_result(str(exc))
        except Exception:
            log.exception("tool %s failed", fn.__name__)
            return error_result(f"{fn.__name__} failed inside nbtui (see the session log); "
                                "the session is still running.")

    # The docstring is the description the model reads: one clean paragraph.
    wrapper.__doc__ = " ".join(inspect.cleandoc(fn.__doc__ or "").split())
    return wrapper


def build_server(tools: AgentTools) -> NbtuiServer:
    """The MCP server with every tool of the agent contract, bound to `tools`."""
    server = NbtuiServer("nbtui", instructions=INSTRUCTIONS, version=__version__,
                         warn_on_duplicate_tools=False)
    read_only = types.ToolAnnotations(read_only_hint=True, open_world_hint=False)
    mutating = types.ToolAnnotations(read_only_hint=False, destructive_hint=False,
                                     open_world_hint=False)
    destructive = types.ToolAnnotations(read_only_hint=False, destructive_hint=True,
                                        open_world_hint=False)

    @server.tool(annotations=read_only)
    @_tool
    async def get_notebook(ctx: Context, start: int = 0, limit: int = 50,
                           preview_lines: int = 3) -> types.CallToolResult:
        """Overview of the notebook: kernel state, revision, the user's focus, attached agents,
        and per cell its id, index, type, revision, status, a source preview and an output
        summary. Paged with start/limit."""
        return await tools.get_notebook(author_of(ctx), start, limit, preview_lines)

    @server.tool(annotations=read_only)
    @_tool
    async def read_cells(ctx: Context, cell_ids: list[str] | None = None,
                         start: int | None = None, end: int | None = None,
                         include_outputs: bool = True,
                         max_chars: int = render.DEFAULT_MAX_CHARS) -> types.CallToolResult:
        """Full source and outputs of cells chosen by id, or by index range [start, end), or
        all. Outputs share a budget of max_chars; long ones keep head and tail and say how to
        read the rest with read_output. Images come back as image content."""
        return await tools.read_cells(author_of(ctx), cell_ids, start, end, include_outputs,
                                      max_chars)

    @server.tool(annotations=read_only)
    @_tool
    async def read_output(ctx: Context, cell_id: str, output_index: int, offset: int = 0,
                          limit: int = render.DEFAULT_MAX_CHARS) -> types.CallToolResult:
        """Page through one output's text (characters offset..offset+limit)."""
        return await tools.read_output(author_of(ctx), cell_id, output_index, offset, limit)

    @server.tool(annotations=mutating)
    @_tool
    async def insert_cell(ctx: Context, source: str, cell_type: str = "code",
                          index: int | None = None, after_cell_id: str | None = None,
                          before_cell_id: str | None = None, run: bool = False,
                          timeout: float = 30) -> types.CallToolResult:
        """Insert a cell (at the end when no position is given; give at most one of index,
        after_cell_id, before_cell_id). With run=true, execute it and wait up to timeout
        seconds, as run_cells does."""
        return await tools.insert_cell(author_of(ctx), ctx, source, cell_type, index,
                                       after_cell_id, before_cell_id, run, timeout)

    @server.tool(annotations=mutating)
    @_tool
    async def edit_cell(ctx: Context, cell_id: str, source: str | None = None,
                        old_text: str | None = None, new_text: str | None = None,
                        replace_all: bool = False, cell_type: str | None = None,
                        if_revision: int | None = None, run: bool = False,
                        timeout: float = 30) -> types.CallToolResult:
        """Replace a cell's whole source, or replace old_text with new_text (old_text must
        occur exactly once unless replace_all); optionally change its type (code, markdown,
        raw) and run it. With if_revision, fails if the cell changed since that revision.
        Returns the cell and a diff. Cells the user is editing cannot be changed."""
        return await tools.edit_cell(author_of(ctx), ctx, cell_id, source, old_text, new_text,
                                     replace_all, cell_type, if_revision, run, timeout)

    @server.tool(annotations=destructive)
    @_tool
    async def delete_cells(ctx: Context, cell_ids: list[str]) -> types.CallToolResult:
        """Delete cells; returns their ids and sources so you can put them back."""
        return await tools.delete_cells(author_of(ctx), cell_ids)

    @server.tool(annotations=mutating)
    @_tool
    async def move_cell(ctx: Context, cell_id: str, index: int | None = None,
                        after_cell_id: str | None = None,
                        before_cell_id: str | None = None) -> types.CallToolResult:
        """Move a cell to an index, or after/before another cell. Returns its new index."""
        return await tools.move_cell(author_of(ctx), cell_id, index, after_cell_id,
                                     before_cell_id)

    @server.tool(annotations=mutating)
    @_tool
    async def run_cells(ctx: Context, cell_ids: list[str] | None = None, all: bool = False,
                        timeout: float = 30) -> types.CallToolResult:
        """Queue cells (in the order given, or all code cells top to bottom) on the kernel's
        one queue, shared with the user, and wait up to timeout seconds. The timeout never
        interrupts: unfinished cells come back queued/running with output so far; call
        wait to keep waiting."""
        return await tools.run_cells(author_of(ctx), ctx, cell_ids, all, timeout)

    @server.tool(annotations=read_only)
    @_tool
    async def wait(ctx: Context, cell_ids: list[str] | None = None,
                   timeout: float = 30) -> types.CallToolResult:
        """Wait until the given cells (or the whole queue) are idle; returns their views."""
        return await tools.wait(author_of(ctx), ctx, cell_ids, timeout)

    @server.tool(annotations=mutating)
    @_tool
    async def run_code(ctx: Context, code: str, timeout: float = 30) -> types.CallToolResult:
        """Run scratch code in the kernel without adding a cell (e.g. df.info(), a quick
        check). Shares the kernel's variables and queue; the user sees it in their activity
        log. Returns status, execution_count and outputs."""
        return await tools.run_code(author_of(ctx), ctx, code, timeout)

    @server.tool(annotations=destructive)
    @_tool
    async def interrupt_kernel(ctx: Context) -> types.CallToolResult:
        """Interrupt the running execution; queued cells are dropped from the queue."""
        return await tools.interrupt_kernel(author_of(ctx))

    @server.tool(annotations=destructive)
    @_tool
    async def restart_kernel(ctx: Context, clear_outputs: bool = False) -> types.CallToolResult:
        """Restart the kernel: all variables are lost, the notebook is kept."""
        return await tools.restart_kernel(author_of(ctx), clear_outputs)

    @server.tool(annotations=types.ToolAnnotations(read_only_hint=False, open_world_hint=True))
    @_tool
    async def install_packages(ctx: Context, packages: list[str]) -> types.CallToolResult:
        """Install packages (pip requirement strings, e.g. "pandas>=2") into the kernel's own
        environment, as %pip install does."""
        return await tools.install_packages(author_of(ctx), ctx, packages)

    @server.tool(annotations=read_only)
    @_tool
    async def list_variables(ctx: Context, limit: int = 50) -> types.CallToolResult:
        """The kernel's variables: name, type and a short summary (shape, length, dtype,
        columns, or a one-line repr), without dumping data. Python kernels only."""
        return await tools.list_variables(author_of(ctx), limit)

    @server.tool(annotations=read_only)
    @_tool
    async def changes_since(ctx: Context, revision: int) -> types.CallToolResult:
        """What changed since a notebook revision, and who did it (user or an agent):
        cells inserted, edited (with a diff), deleted, moved, run."""
        return await tools.changes_since(author_of(ctx), revision)

    @server.tool(annotations=mutating)
    @_tool
    async def save_notebook(ctx: Context) -> types.CallToolResult:
        """Write the notebook to disk now."""
        return await tools.save_notebook(author_of(ctx))

    @server.resource(NOTEBOOK_URI, name="notebook", mime_type="application/json",
                     description="The notebook overview (as get_notebook returns it); "
                                 "subscribe to hear when anything changes.")
    async def notebook_resource() -> str:
        overview = await tools.get_notebook("resource", 0, max(1, len(tools.document)), 3)
        return json.dumps(overview.structured_content)

    return server


NOTEBOOK_URI = "nbtui://notebook"
UPDATE_COALESCE_SECONDS = 0.1


class ResourceUpdates:
    """Tells subscribed clients that `nbtui://notebook` changed, at most every 100 ms.

    Legacy clients subscribe with `resources/subscribe`; clients on the newer protocol listen
    with `subscriptions/listen` (the server's subscription bus). Both hear the same updates.
    """

    def __init__(self, server: NbtuiServer, document: Any) -> None:
        self._server = server
        self._sessions: set[Any] = set()
        self._pending: asyncio.Task | None = None
        lowlevel = server._lowlevel_server
        lowlevel.add_request_handler("resources/subscribe", types.SubscribeRequestParams,
                                     self._subscribe)
        lowlevel.add_request_handler("resources/unsubscribe", types.UnsubscribeRequestParams,
                                     self._unsubscribe)
        self.unsubscribe_document = document.subscribe(self._document_changed)

    async def _subscribe(self, ctx: Any, params: types.SubscribeRequestParams) -> Any:
        if str(params.uri) != NOTEBOOK_URI:
            raise ToolFailure(f"Only {NOTEBOOK_URI} can be subscribed to.")
        self._sessions.add(ctx.session)
        return types.EmptyResult()

    async def _unsubscribe(self, ctx: Any, params: types.UnsubscribeRequestParams) -> Any:
        self._sessions.discard(ctx.session)
        return types.EmptyResult()

    def _document_changed(self, event: Any) -> None:
        if event.kind == "focus" or self._pending is not None:
            return
        self._pending = asyncio.get_running_loop().create_task(self._send_later())

    async def _send_later(self) -> None:
        await asyncio.sleep(UPDATE_COALESCE_SECONDS)
        self._pending = None
        for session in list(self._sessions):
            try:
                await session.send_resource_updated(NOTEBOOK_URI)
            except Exception:  # noqa: BLE001 - the client left; forget it
                self._sessions.discard(session)
        try:
            await self._server._subscriptions.publish(ResourceUpdated(uri=NOTEBOOK_URI))
        except Exception:  # noqa: BLE001
            log.exception("publishing the notebook update failed")

    def close(self) -> None:
        """Stop listening to the document."""
        self.unsubscribe_document()
        if self._pending is not None:
            self._pending.cancel()
