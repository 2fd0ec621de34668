"""The MCP server: the agent contract's tools, each a thin call into the session's core.

Tools return a structured JSON object plus a compact text rendering of it (and images as image
content). A tool that cannot do what was asked returns an error result with one sentence saying
what is wrong and what to do instead; a cell that raises is a successful call whose result says
`status: "error"`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import math
import re
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import mcp_types as types
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated
from pydantic import Field, ValidationError

from nbtui import __version__
from nbtui.agent import results
from nbtui.agent.mcp_private import lowlevel_server, registered_tool
from nbtui.agent.packages import PackageError, install_into_kernel, parse_requirements
from nbtui.agent.tools import (
    DESTRUCTIVE,
    INSTALLS,
    MUTATING,
    READ_ONLY,
    Entry,
    Logs,
    register,
    tool,
)
from nbtui.agent.transport import current_connection
from nbtui.agent.variables import VariablesError, list_kernel_variables
from nbtui.core import policy as access
from nbtui.core import render
from nbtui.core.document import Cell, DocumentError, RevisionConflict, source_diff
from nbtui.core.kernel import Execution, KernelError, KernelEvent
from nbtui.core.session import NotebookSession
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
PROGRESS_EVERY = 1.0
PROGRESS_LINE_CHARS = 60
"""Characters of the running code's first line a progress message quotes."""

MAX_IMAGES_PER_RESULT = 8
IMAGE_BUDGET_CHARS = 4 * 1024 * 1024
"""Base64 characters of image content one reply carries at most (besides its text budget)."""

OVERVIEW_MAX_CHARS = 20_000
"""Characters of cell entries one get_notebook reply carries at most."""

PREVIEW_LINE_CHARS = 200
"""Characters of one source line a preview shows."""

PREVIEW_MAX_CHARS = 1000
"""Characters of source one cell's preview shows."""

CHANGE_TEXT_MAX_CHARS = 2000
"""Characters of one change's diff or source that changes_since shows."""

ERROR_MAX_CHARS = 6000
"""Characters an error result carries at most."""

DIFF_MAX_CHARS = 4000
"""Characters of a source diff edit_cell shows; the cell's view gets the rest of the budget."""

DELETED_ITEM_COST = 160
"""Characters a deleted cell's entry takes besides its source (its fields and a cut marker)."""

PROTOCOL_ERROR_MAX_CHARS = 300
"""Characters a JSON-RPC error's message carries at most."""

EXCERPT_DATA_CHARS = 200
"""Characters of a JSON-RPC error's data (often what the client sent) kept as they are."""

CONFLICT_SOURCE_CHARS = 4000
"""Characters of the current source a revision conflict shows."""

LISTED_IDS = 20
"""Cell ids a reply lists at most when it names cells it left out."""

UNREPORTED_RUNS_KEPT = 10
"""run_code runs per agent whose result a later wait still brings (the newest)."""

SCRATCH_RUNS_SHARE = 2
"""wait gives the caller's scratch runs at most 1/SCRATCH_RUNS_SHARE of its budget."""

RUN_PREFIX = "run:"
"""How run ids start (a cell id cannot hold a colon, so wait tells them apart)."""

RUN_ID_CHARS = 12
"""Hex digits of an execution's id a run id keeps."""

RUNS_KEPT = 50
"""run_code runs a wait by run id can still find (the newest)."""

_SOURCE_FLOOR = 200
"""Characters of source a cell view shows even when the budget is smaller."""


class ToolFailure(Exception):
    """Raised inside a tool body to answer with an error result (one sentence)."""


# -- parameters (each described once, for every tool that takes it) -------------------

Result = types.CallToolResult
CellId = Annotated[str, Field(description="The cell's id.")]
CellIds = Annotated[list[str], Field(description="Cell ids.")]
Index = Annotated[int | None, Field(description="Where to put it.")]
AfterCell = Annotated[str | None, Field(description="Or after this cell.")]
BeforeCell = Annotated[str | None, Field(description="Or before this cell.")]
Timeout = Annotated[float, Field(description="Seconds to wait (max 3600).")]
Run = Annotated[bool, Field(description="Run it too.")]


# -- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    """An image of an output, and the call that fetches it on its own."""

    mime: str
    raw: bytes
    read_with: str = ""
    """E.g. `read_output(cell_id="...", output_index=2)`; empty for a scratch run's image."""


def output_images(outputs: list[dict[str, Any]], cell_id: str | None,
                  shown: Iterable[int] | None = None) -> list[Image]:
    """The images of the outputs (only those whose index is in `shown`, when given)."""
    wanted = None if shown is None else set(shown)
    images = []
    for index, output in enumerate(outputs):
        if wanted is not None and index not in wanted:
            continue
        read_with = (f'read_output(cell_id="{cell_id}", output_index={index})'
                     if cell_id else "")
        images.extend(Image(mime, raw, read_with) for mime, raw in render.output_images(output))
    return images


_images_sent: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def images_sent(ctx: Context | None) -> set[str] | None:
    """Digests of the images already sent on the agent's connection to the socket (None
    outside one, e.g. a call made in-process, or no call at all)."""
    connection = current_connection.get() if ctx is not None else None
    if connection is None:
        return None
    return _images_sent.setdefault(connection, set())


def tool_result(result: results.Result, images: Iterable[Image] = (), *,
                sent: set[str] | None = None, resend: bool = False,
                image_budget: int = IMAGE_BUDGET_CHARS) -> types.CallToolResult:
    """A successful tool result: the result model's fields as structured content, its
    rendering as text content, and image content.

    Each image goes once per connection (`sent` holds what went before; `resend` sends them
    anyway): one sent before is referred to by the call that sends it again. Images go along
    while they fit in MAX_IMAGES_PER_RESULT and `image_budget` base64 characters; the rest are
    left out, and the result names each one and the call that fetches it.
    """
    content: list[Any] = []
    left_out: list[Image] = []
    already: list[Image] = []
    spent = 0
    for image in images:
        digest = hashlib.sha256(image.raw).hexdigest()
        if sent is not None and digest in sent and not resend:
            already.append(image)
            continue
        encoded = base64.b64encode(image.raw).decode()
        if len(content) >= MAX_IMAGES_PER_RESULT or spent + len(encoded) > image_budget:
            left_out.append(image)
            continue
        spent += len(encoded)
        content.append(types.ImageContent(type="image", data=encoded, mime_type=image.mime))
        if sent is not None:
            sent.add(digest)
    data = result.data()
    if already:
        calls = [i.read_with for i in already if i.read_with]
        note = f"{len(already)} image(s) sent before on this connection, not again"
        if calls:
            more = " …" if len(calls) > LISTED_IDS else ""
            note += f"; {', '.join(calls[:LISTED_IDS])}{more} sends each again"
        data["images_sent_before"] = note + "."
    if left_out:
        calls = [i.read_with for i in left_out if i.read_with]
        note = (f"{len(left_out)} image(s) left out of this reply (at most "
                f"{MAX_IMAGES_PER_RESULT} images and {image_budget:,} base64 characters "
                "go in one)")
        if calls:
            more = " …" if len(calls) > LISTED_IDS else ""
            note += f"; fetch each with {', '.join(calls[:LISTED_IDS])}{more}."
        else:
            note += "; save them to files from the kernel instead."
        data["images_left_out"] = note
    if already or left_out:
        result = type(result).model_validate(data)
    text = types.TextContent(type="text", text=result.render())
    return types.CallToolResult(content=[text, *content], structured_content=result.data())


def error_result(message: str) -> types.CallToolResult:
    """A failed tool call: one sentence the model can act on (cut if it quotes too much)."""
    message, _ = render.truncate_middle(message, ERROR_MAX_CHARS)
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)],
                                is_error=True)


async def _all_set(events: list[asyncio.Event]) -> None:
    for event in events:
        await event.wait()


def input_wait(executions: Iterable[Execution]) -> Execution | None:
    """The run among `executions` that waits for input, or None when none waits."""
    return next((e for e in executions
                 if e.input_request is not None and not e.done.is_set()), None)


def input_waiting(execution: Execution) -> dict[str, Any]:
    """What a run that waits for input asks: `prompt`, `password`, and `cell_id` for a cell."""
    request = execution.input_request
    assert request is not None
    waiting: dict[str, Any] = {"prompt": request.prompt, "password": request.password}
    if execution.cell_id is not None:
        waiting["cell_id"] = execution.cell_id
    return waiting


def input_wait_hint(execution: Execution) -> str:
    """The hint for a result whose run waits for input: only the human can answer it."""
    request = execution.input_request
    assert request is not None
    what = "a password" if request.password else "input"
    name = execution.cell_id or run_id_of(execution)
    where = f"Cell {name}" if execution.cell_id is not None else "The run"
    return (f"{where} waits for {what} (prompt {json.dumps(request.prompt)}): the human "
            f'answers it in the TUI; an agent cannot. Call wait(cell_ids=["{name}"]) to get '
            "the result once answered, or interrupt_kernel to stop it.")


def list_ids(ids: list[str]) -> str:
    """Cell ids as a Python list for a hint, at most LISTED_IDS of them."""
    shown = ", ".join(f'"{cid}"' for cid in ids[:LISTED_IDS])
    return f"[{shown}{', …' if len(ids) > LISTED_IDS else ''}]"


def progress_message(executions: list[Execution], total: int) -> str:
    """What a progress notification says: what runs (its first line) and how many finished."""
    finished = sum(e.done.is_set() for e in executions)
    running = next((e for e in executions if e.status == "running"), None)
    if running is None:
        what = "waiting in the kernel's queue"
    else:
        first = next((line.strip() for line in running.code.splitlines() if line.strip()), "")
        first = first if len(first) <= PROGRESS_LINE_CHARS else first[:PROGRESS_LINE_CHARS] + "…"
        who = (f"cell {running.cell_id}" if running.cell_id is not None
               else f"run {run_id_of(running)}")
        seconds = time.time() - running.started_at if running.started_at else 0.0
        what = f"running {who} ({seconds:.0f} s): {first}"
    return f"{what}; {finished} of {total} finished" if total > 1 else what


def run_id_of(execution: Execution) -> str:
    """The id a run_code run is known by (wait takes it in cell_ids)."""
    return RUN_PREFIX + execution.id[:RUN_ID_CHARS]


def diff_summary(diff: str) -> str:
    """How many lines a unified diff adds and removes (its two header lines not counted)."""
    body = diff.splitlines()[2:]
    added = sum(line.startswith("+") for line in body)
    removed = sum(line.startswith("-") for line in body)
    if not diff:
        return "no change"
    if not added and not removed:
        return "replaced (too large to diff)"
    return f"{added} line(s) added, {removed} removed"


def with_errors(views: list[dict[str, Any]], outputs: list[dict[str, Any]]
                ) -> list[dict[str, Any]]:
    """Output views with `ename`, `evalue` and a cleaned `traceback` on each error output.

    The view's text (already cut to its share of the budget) is split rather than repeated:
    `text` keeps the `ename: evalue` part, `traceback` the rest; `evalue` is cut to an
    excerpt (the text has it whole).
    """
    for view in views:
        if view["output_type"] != "error":
            continue
        summary = render.error_summary(outputs[view["output_index"]])
        text = view["text"]
        first_line = summary["traceback"].split("\n", 1)[0]
        at = text.find(first_line, 1) if first_line.strip() else -1
        if at > 0:
            view["text"], traceback = text[:at].rstrip("\n"), text[at:]
        else:  # the cut left no traceback apart from the message: the text has all of it
            traceback = ""
        evalue, _ = render.truncate_middle(summary["evalue"], render.EXCERPT_CHARS)
        view.update(ename=summary["ename"], evalue=evalue,
                    traceback=lean_traceback(traceback, view["text"]))
    return views


_LIBRARY_PATH = re.compile(r"^File .*(/site-packages/|/dist-packages/|/lib/python3[.\d]*/)")


def lean_traceback(traceback: str, message: str) -> str:
    """An IPython traceback as the model needs it: the frames of the notebook's code whole,
    each library frame as its location and the line it was running, without the rule and
    header lines and without the closing `ename: evalue` line (`message` says it)."""
    lines = traceback.rstrip("\n").split("\n")
    if lines and lines[-1].strip() == message.strip():
        lines.pop()
    kept: list[str] = []
    in_library = False
    for line in lines:
        if re.fullmatch(r"-{20,}", line) or "Traceback (most recent call last)" in line:
            continue
        if line.startswith("File ") or line.startswith("Cell In["):
            in_library = bool(_LIBRARY_PATH.match(line))
            kept.append(line)
        elif not in_library or not line.strip() or re.match(r"\s*-*> ", line):
            kept.append(line)
    # Blank lines separate frames: one between two, none at either end.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")


# -- cell views ------------------------------------------------------------------------


@dataclass
class CellViews:
    """Views of cells that fit a reply's budget, their images, and the cells left out."""

    views: list[dict[str, Any]]
    images: list[Image]
    left_out: list[Cell]


def _view_fields(cell: Cell, index: int) -> dict[str, Any]:
    return {"id": cell.id, "index": index, "cell_type": cell.cell_type, "source": "",
            "revision": cell.revision, "execution_count": cell.execution_count,
            "status": cell.status}


_LEFT_OUT_NOTE_COST = 150
"""Characters reserved for the note naming a cell's outputs that did not fit."""


def _note_cost(lengths: list[int]) -> int:
    """Characters reserved for naming outputs left out (only cells with several can)."""
    return _LEFT_OUT_NOTE_COST if len(lengths) > 1 else 0


def _least_output_cost(lengths: list[int]) -> int:
    """What a cell's outputs cost at least: a head of the first, and a note about the rest."""
    if not lengths:
        return 0
    return min(lengths[0], 200) + render.OUTPUT_VIEW_COST + _note_cost(lengths)


def cell_views(cells: list[Cell], index_of: Callable[[str], int], *, include_outputs: bool,
               max_chars: int, with_source: bool = True) -> CellViews:
    """Views of cells, in order, while they fit in `max_chars` characters.

    The budget covers each view's fields, its source and its outputs (counted as they appear in
    the structured result; the text rendering repeats them). Cells are taken in order until
    the next one would not fit, and the first is always shown: its source is cut to fit if it
    must. The outputs of the cells shown share what the sources leave, fairly, with at least a
    head of each cell's first output; outputs that do not fit are left out and named.
    Without `with_source` (the agent just sent it) views leave the source out.
    """
    budget = max(0, max_chars)
    chosen: list[tuple[Cell, int, dict[str, Any], list[int]]] = []
    fixed = reserved = 0
    for cell in cells:
        index = index_of(cell.id)
        fields = _view_fields(cell, index)
        lengths = ([len(render.output_text(o)[0]) for o in cell.outputs]
                   if include_outputs and cell.cell_type == "code" else [])
        if not include_outputs and cell.cell_type == "code":
            fields["output_summary"] = render.output_summary(cell.outputs)
        if not with_source:
            del fields["source"]
        cost = len(json.dumps(fields)) + (len(cell.source) if with_source else 0)
        least = _least_output_cost(lengths)
        if chosen and fixed + reserved + cost + least > budget:
            break
        if with_source and not chosen and cost + least > budget:
            source_limit = max(_SOURCE_FLOOR, budget - least - (cost - len(cell.source)))
            fields["source"], _ = render.truncate_middle(
                cell.source, source_limit,
                read_more=(f'read_cells(cell_ids=["{cell.id}"], include_outputs=false, '
                           f"max_chars={cost + 100}) shows all of it"))
            fields["source_truncated"] = True
            cost = len(json.dumps(fields))
        elif with_source:
            fields["source"] = cell.source
        chosen.append((cell, index, fields, lengths))
        fixed += cost
        reserved += least
    needs = [sum(lengths) + len(lengths) * render.OUTPUT_VIEW_COST + _note_cost(lengths)
             for *_, lengths in chosen]
    shares = render.fair_shares(needs, budget - fixed,
                                floors=[_least_output_cost(lengths) for *_, lengths in chosen])
    views, images = [], []
    for (cell, _index, view, lengths), share in zip(chosen, shares, strict=True):
        if lengths:
            view["outputs"] = with_errors(
                render.output_views(cell.outputs, share - _note_cost(lengths), cell_id=cell.id),
                cell.outputs)
            shown = len(view["outputs"])
            if shown < len(cell.outputs):
                view["outputs_left_out"] = (
                    f"outputs {shown}-{len(cell.outputs) - 1} left out; "
                    f'read_output(cell_id="{cell.id}", output_index={shown}) reads the next')
            images.extend(output_images(cell.outputs, cell.id, range(shown)))
        elif include_outputs and cell.cell_type == "code":
            view["outputs"] = []
        views.append(view)
    return CellViews(views, images, cells[len(chosen):])


def bounded_change(change: dict[str, Any]) -> dict[str, Any]:
    """A described change with its diff or source cut to CHANGE_TEXT_MAX_CHARS and its other
    texts to a short excerpt."""
    read_more = (f'read_cells(cell_ids=["{change["cell_id"]}"]) shows the cell as it is now'
                 if change.get("cell_id") else None)
    out = {}
    for key, value in change.items():
        if key in ("diff", "source") and isinstance(value, str):
            value, _ = render.truncate_middle(value, CHANGE_TEXT_MAX_CHARS, read_more=read_more)
        elif isinstance(value, str):
            value, _ = render.truncate_middle(value, PREVIEW_LINE_CHARS)
        out[key] = value
    return out


def source_preview(source: str, lines: int) -> tuple[str, bool]:
    """The first `lines` lines of a source, each cut to PREVIEW_LINE_CHARS and all of them to
    PREVIEW_MAX_CHARS; and whether anything was left out."""
    parts = source.split("\n", lines)
    more = len(parts) > lines and parts[lines] != ""
    shown = []
    for line in parts[:lines]:
        if len(line) > PREVIEW_LINE_CHARS:
            line, more = line[:PREVIEW_LINE_CHARS] + "…", True
        shown.append(line)
    preview = "\n".join(shown)
    if len(preview) > PREVIEW_MAX_CHARS:
        preview, more = preview[:PREVIEW_MAX_CHARS] + "…", True
    return preview, more


def cells_left_out(left_out: list[Cell], read_rest: str) -> str:
    """The note for cells a reply had no room for."""
    return (f"{len(left_out)} more cell(s) left out to keep this reply within its budget; "
            f"{read_rest} reads them.")


def ids_call(left_out: list[Cell]) -> str:
    """A read_cells call for cells left out of a reply."""
    return f"read_cells(cell_ids={list_ids([c.id for c in left_out])})"


# -- what each tool adds to the activity log the human sees (see tools.Logs) ---------------


def run_entries(tools: AgentTools, cell_ids: list[str], timeout: float, result: Result,
                queued: int | None = None) -> list[Entry]:
    """A run's entries: how many cells were queued (`queued`, or the code cells among
    `cell_ids`), then each cell's status, or that it still runs or waits for input."""
    data = result.structured_content or {}
    cells = [tools.document.get(cid) for cid in cell_ids if tools.document.has(cid)]
    statuses = ", ".join(f"{c.id} {c.status}" for c in cells)
    if data.get("finished"):
        summary = statuses
    elif "waiting_for_input" in data:
        summary = f"waiting for input: {statuses}"
    else:
        summary = f"still running after {timeout:g}s: {statuses}"
    if queued is None:
        queued = sum(c.cell_type == "code" for c in cells)
    ids = ", ".join(cell_ids)
    return [Entry(f"{queued} queued", ids, tool="run_cells"),
            Entry(summary, ids, tool="run_cells")]


def _inserted(tools: AgentTools, args: dict[str, Any], facts: Any, result: Result
              ) -> list[Entry]:
    data = result.structured_content or {}
    cell = data["cells"][0] if args["run"] else data["cell"]
    entries = [Entry(f"{args['cell_type']} at index {cell['index']}", cell["id"])]
    if args["run"]:
        entries += run_entries(tools, [cell["id"]], args["timeout"], result)
    return entries


def _edit_diff(tools: AgentTools, args: dict[str, Any]) -> str:
    """The diff of the source edit_cell gives the cell (the call's body checks the same)."""
    tools._check_timeout(args["timeout"])
    old = tools.document.get(args["cell_id"]).source
    new = tools.edited_source(args["cell_id"], args["source"], args["old_text"],
                              args["new_text"], args["replace_all"])
    return source_diff(old, old if new is None else new)


def _edited(tools: AgentTools, args: dict[str, Any], diff: str, result: Result
            ) -> list[Entry]:
    entries = [Entry(diff_summary(diff), args["cell_id"])]
    if args["run"]:
        entries += run_entries(tools, [args["cell_id"]], args["timeout"], result)
    return entries


def _ran_code(tools: AgentTools, args: dict[str, Any], facts: Any, result: Result
              ) -> list[Entry]:
    data = result.structured_content or {}
    summary = data["status"]
    if data.get("error"):
        summary += f" {data['error'].get('ename', '')}"
    elif data["outputs"]:
        first = data["outputs"][0]["text"].strip().splitlines()
        summary += f": {first[0][:80]}" if first else ""
    if "waiting_for_input" in data:
        summary += " (waiting for input)"
    return [Entry(summary, code=args["code"])]


def _requirements(tools: AgentTools, args: dict[str, Any]) -> str:
    return ", ".join(parse_requirements(args["packages"], tools.session.path.parent))


INSERT_LOG = Logs(done=_inserted)
EDIT_LOG = Logs(facts=_edit_diff, done=_edited)
READ_LOG = Logs(done=lambda tools, args, facts, result: [
    Entry(f"{len(result.structured_content['cells'])} cells")])
DELETE_LOG = Logs(
    facts=lambda tools, args: list(dict.fromkeys(args["cell_ids"])),
    done=lambda tools, args, ids, result: [Entry(f"{len(ids)} deleted", ", ".join(ids))])
MOVE_LOG = Logs(done=lambda tools, args, facts, result: [
    Entry(f"to index {result.structured_content['index']}", args["cell_id"])])

def _cells_queued(tools: AgentTools, args: dict[str, Any]) -> tuple[list[str], int]:
    """The cells run_cells runs, and how many of them it queues (the code cells)."""
    ids = tools.cells_to_run(args["cell_ids"], args["all"])
    return ids, sum(tools.document.get(cid).cell_type == "code" for cid in ids)


RUN_CELLS_LOG = Logs(
    facts=_cells_queued,
    done=lambda tools, args, facts, result: run_entries(tools, facts[0], args["timeout"],
                                                        result, queued=facts[1]))
RUN_CODE_LOG = Logs(done=_ran_code)
INTERRUPT_LOG = Logs(done=lambda tools, args, facts, result: [Entry(
    f"stopped {result.structured_content['stopped']}, "
    f"dequeued {result.structured_content['dequeued']}")])
RESTART_LOG = Logs(done=lambda tools, args, facts, result: [Entry("restarted")])
INSTALL_LOG = Logs(
    facts=_requirements,
    started=lambda tools, args, what: [Entry("installing " + what)],
    done=lambda tools, args, what, result: [Entry(result.structured_content["output"])],
    failed=lambda tools, args, what, exc: [Entry("failed: " + what)],
    failed_on=(PackageError,))
VARIABLES_LOG = Logs(done=lambda tools, args, facts, result: [
    Entry(f"{len(result.structured_content['variables'])} variables")])
SAVE_LOG = Logs(done=lambda tools, args, facts, result: [
    Entry(f"{result.structured_content['bytes']} bytes")])


class AgentTools:
    """The tools' logic, bound to one session.

    Args:
        session: the notebook session the tools act on; its `policy` says what agents may do.
    """

    def __init__(self, session: NotebookSession) -> None:
        self.session = session
        self.document = session.document
        self.kernel = session.kernel
        self._unreported: dict[str, list[Execution]] = {}
        """Per agent, its run_code runs that returned unfinished, until a wait reports them."""
        self._runs: dict[str, Execution] = {}
        """The newest run_code runs by run id, oldest first."""
        self._scratch_log: list[tuple[int, str, Execution]] = []
        """The newest run_code runs with the notebook revision they started at and who ran
        them (for changes_since)."""

    @property
    def policy(self) -> access.AgentPolicy:
        """The session's current rules for agents (the human may change them at any time)."""
        return self.session.policy

    # -- helpers -------------------------------------------------------------------------

    def views(self, cells: list[Cell], *, include_outputs: bool = True,
              max_chars: int = render.DEFAULT_MAX_CHARS, with_source: bool = True) -> CellViews:
        """Views of cells in order while they fit in `max_chars` (see `cell_views`)."""
        return cell_views(cells, self.document.index_of, include_outputs=include_outputs,
                          max_chars=max_chars, with_source=with_source)

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
        sending progress notifications meanwhile. Returns whether all finished.

        A run that asks for input while this waits ends the wait early: only the human can
        answer it (a request already pending when the wait began does not).
        """
        timeout = self._check_timeout(timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        total = len(executions)
        notified = 0
        pending_before = {e.id: e.input_request for e in executions if e.input_request}
        asked = asyncio.Event()

        def new_request() -> bool:
            return any(e.input_request is not None
                       and e.input_request is not pending_before.get(e.id)
                       for e in executions)

        def listen(event: KernelEvent) -> None:
            if event.kind == "input_request" and new_request():
                asked.set()

        unsubscribe = self.kernel.subscribe(listen)
        try:
            while True:
                unfinished = [e for e in executions if not e.done.is_set()]
                if not unfinished:
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0 or new_request():
                    return False
                all_done = asyncio.ensure_future(_all_set([e.done for e in unfinished]))
                asking = asyncio.ensure_future(asked.wait())
                try:
                    await asyncio.wait([all_done, asking], timeout=min(PROGRESS_EVERY, remaining),
                                       return_when=asyncio.FIRST_COMPLETED)
                finally:
                    all_done.cancel()
                    asking.cancel()
                if ctx is not None and any(not e.done.is_set() for e in executions):
                    # Progress must grow with every notification: count the notifications.
                    notified += 1
                    try:
                        await ctx.report_progress(notified, None,
                                                  progress_message(executions, total))
                    except Exception:  # noqa: BLE001 - a client that left must not stop the wait
                        ctx = None
        finally:
            unsubscribe()

    @staticmethod
    def _check_timeout(timeout: Any) -> float:
        if (isinstance(timeout, bool) or not isinstance(timeout, int | float)
                or not math.isfinite(timeout) or timeout < 0):
            raise ToolFailure(f"timeout must be a finite number of seconds, 0 or more (longer "
                              f"than {MAX_TIMEOUT:g} counts as {MAX_TIMEOUT:g}), not "
                              f"{render.excerpt(timeout)}.")
        return min(float(timeout), MAX_TIMEOUT)

    def run_report(self, cells: list[Cell], finished: bool, max_chars: int,
                   executions: list[Execution],
                   runs: Iterable[tuple[dict[str, Any], list[Image]]] = (), *,
                   ctx: Context | None = None, with_source: bool = True,
                   model: type[results.Result] = results.Cells, diff: str = "") -> Result:
        """The result of run_cells / wait (or, as `model`, of insert_cell or edit_cell with
        run, with the edit's `diff`): each cell's view while they fit in `max_chars`, the
        views of scratch `runs` (view, images), and a hint when not finished (saying so when
        one of `executions` waits for input)."""
        shown = self.views(cells, max_chars=max_chars, with_source=with_source)
        data: dict[str, Any] = {"cells": shown.views, "finished": finished,
                                "kernel": self.kernel_state()}
        if diff:
            data["diff"] = diff
        images = list(shown.images)
        if shown.left_out:
            data["cells_left_out"] = cells_left_out(shown.left_out, ids_call(shown.left_out))
        for view, run_images in runs:
            data.setdefault("scratch_runs", []).append(view)
            images.extend(run_images)
        waiting = input_wait(executions)
        if waiting is not None:
            data["waiting_for_input"] = input_waiting(waiting)
            data["hint"] = input_wait_hint(waiting)
        elif not finished:
            data["hint"] = ("Some cells are still queued or running; call wait(cell_ids=...) "
                            "to keep waiting, or interrupt_kernel to stop them.")
        return tool_result(model.model_validate(data), images, sent=images_sent(ctx))

    def kernel_state(self) -> dict[str, Any]:
        """The kernel's name and state, and a warning when its channels are not private."""
        state = {"name": self.session.kernel_name, "state": self.kernel.state}
        if self.kernel.transport_warning:
            state["warning"] = self.kernel.transport_warning
        return state

    def queue_cells(self, cell_ids: list[str], author: str) -> list[Execution]:
        """Queue code cells in the given order (checking every id first)."""
        cells = [self.document.get(cid) for cid in cell_ids]
        if self.kernel.state in ("dead", "stopped"):
            raise ToolFailure("The kernel is dead; call restart_kernel, then run the cells again.")
        return [self.kernel.run_cell(c.id, author) for c in cells if c.cell_type == "code"]

    # -- tools ---------------------------------------------------------------------------

    @tool("Notebook overview", access.READ, READ_ONLY, log=None)
    async def get_notebook(
        self, ctx: Context,
        start: Annotated[int, Field(description="First cell of the page.")] = 0,
        limit: Annotated[int, Field(description="Cells per page.")] = 50,
        preview_lines: Annotated[int, Field(description="Source lines per cell.")] = 3,
    ) -> Annotated[Result, results.Overview]:
        """Overview: kernel, revision, the user's focus, agents; per cell its id, index, type,
        status, source preview and output summary. Paged."""
        return tool_result(self.overview(start, limit, preview_lines))

    def overview(self, start: int = 0, limit: int = 50, preview_lines: int = 3
                 ) -> results.Overview:
        """The notebook overview get_notebook returns (also the notebook resource)."""
        if start < 0 or limit < 1 or preview_lines < 0:
            raise ToolFailure("start and preview_lines must be 0 or more, limit 1 or more.")
        doc = self.document
        cells: list[dict[str, Any]] = []
        spent = 0
        next_start = start + limit if start + limit < len(doc) else None
        for index, cell in enumerate(doc.cells[start:start + limit], start=start):
            preview, more = source_preview(cell.source, preview_lines)
            summary = render.output_summary(cell.outputs)
            entry = {"id": cell.id, "index": index, "cell_type": cell.cell_type,
                     "revision": cell.revision, "execution_count": cell.execution_count,
                     "status": cell.status, "preview": preview, "preview_truncated": more,
                     "output_summary": summary}
            spent += len(json.dumps(entry))
            if cells and spent > OVERVIEW_MAX_CHARS:
                next_start = index
                break
            cells.append(entry)
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
        if next_start is not None:
            data["next_start"] = next_start
        return results.Overview.model_validate(data)

    @tool("Read cells", access.READ, READ_ONLY, log=READ_LOG)
    async def read_cells(
        self, ctx: Context,
        cell_ids: Annotated[list[str] | None, Field(description="Cells to read.")] = None,
        start: Annotated[int | None, Field(description="Or the first index.")] = None,
        end: Annotated[int | None, Field(description="Index to stop before.")] = None,
        include_outputs: Annotated[bool, Field(description="Include outputs.")] = True,
        max_chars: Annotated[int, Field(description="Budget of the whole reply.")] =
            render.DEFAULT_MAX_CHARS,
    ) -> Annotated[Result, results.Cells]:
        """Source and outputs of cells (by id, index range, or all) within max_chars, images
        included; what is left out is named with the call that reads it."""
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
        shown = self.views(cells, include_outputs=include_outputs, max_chars=max_chars)
        data: dict[str, Any] = {"cells": shown.views, "revision": doc.revision}
        if shown.left_out:
            if cell_ids is not None:
                read_rest = ids_call(shown.left_out)
            else:
                first = lo + len(shown.views)
                read_rest = (f"read_cells(start={first}" + (f", end={end})" if end is not None
                                                            else ")"))
            data["cells_left_out"] = cells_left_out(shown.left_out, read_rest)
        # Images count against max_chars too: those that do not fit are named, with the
        # read_output call that sends each (a note of that takes about LEFT_OUT_NOTE_COST).
        image_budget = max(0, max_chars - len(json.dumps(data)) - _LEFT_OUT_NOTE_COST)
        return tool_result(results.Cells.model_validate(data), shown.images,
                           sent=images_sent(ctx), image_budget=image_budget)

    @tool("Read one output", access.READ, READ_ONLY, log=None)
    async def read_output(
        self, ctx: Context, cell_id: CellId,
        output_index: Annotated[int, Field(description="Which output of the cell.")],
        offset: Annotated[int, Field(description="First character to read.")] = 0,
        limit: Annotated[int, Field(description="Characters to read.")] =
            render.DEFAULT_MAX_CHARS,
    ) -> Annotated[Result, results.Page]:
        """Page through one output's text (and send its image again)."""
        cell = self.document.get(cell_id)
        if not 0 <= output_index < len(cell.outputs):
            raise ToolFailure(f"Cell {cell_id} has {len(cell.outputs)} outputs; output_index "
                              f"must be 0 to {len(cell.outputs) - 1}." if cell.outputs
                              else f"Cell {cell_id} has no outputs.")
        if limit < 1:
            raise ToolFailure("limit must be 1 or more.")
        text, _mime = render.output_text(cell.outputs[output_index])
        page = results.Page.model_validate(render.page_text(text, offset, limit))
        return tool_result(page, output_images(cell.outputs, cell_id, [output_index]),
                           sent=images_sent(ctx), resend=True)

    @tool("Insert a cell", access.EDIT, MUTATING, log=INSERT_LOG,
          runs=lambda tools, args: tools._insert_runs(args))
    async def insert_cell(
        self, ctx: Context,
        source: Annotated[str, Field(description="The cell's source.")],
        cell_type: Annotated[results.CellType, Field(description="The cell's type.")] = "code",
        index: Index = None, after_cell_id: AfterCell = None, before_cell_id: BeforeCell = None,
        run: Run = False, timeout: Timeout = 30,
    ) -> Annotated[Result, results.OneCell]:
        """Insert a cell (at the end unless index, after_cell_id or before_cell_id says
        where); with run, run it as run_cells does."""
        author = author_of(ctx)
        self._check_timeout(timeout)
        cell = self.document.insert_cell(source, cell_type, index=index,
                                         after_cell_id=after_cell_id,
                                         before_cell_id=before_cell_id, author=author)
        if run:
            return await self._run_and_report([cell.id], author, timeout, ctx,
                                              with_source=False, model=results.OneCell)
        view = self.views([cell], with_source=False).views[0]
        return tool_result(results.OneCell(cell=view))

    def edited_source(self, cell_id: str, source: str | None, old_text: str | None,
                      new_text: str | None, replace_all: bool) -> str | None:
        """The source an edit_cell call gives the cell (None: the source stays).

        Raises:
            ToolFailure: the arguments do not say one clear change.
            DocumentError: there is no such cell.
        """
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
        return source

    def _edit_runs(self, args: dict[str, Any]) -> str | None:
        if not args["run"]:
            return None
        self._check_timeout(args["timeout"])
        cell = self.document.get(args["cell_id"])
        source = self.edited_source(cell.id, args["source"], args["old_text"],
                                    args["new_text"], args["replace_all"])
        # The human approves this code: if the cell changes while they decide, the edit
        # fails as a conflict instead of running something else.
        if args["if_revision"] is None:
            args["if_revision"] = cell.revision
        return cell.source if source is None else source

    def _insert_runs(self, args: dict[str, Any]) -> str | None:
        if not args["run"]:
            return None
        self._check_timeout(args["timeout"])
        return args["source"]

    @tool("Edit a cell", access.EDIT, MUTATING, log=EDIT_LOG,
          runs=lambda tools, args: tools._edit_runs(args))
    async def edit_cell(
        self, ctx: Context, cell_id: CellId,
        source: Annotated[str | None, Field(description="The whole new source.")] = None,
        old_text: Annotated[str | None, Field(description="Or a passage to replace.")] = None,
        new_text: Annotated[str | None, Field(description="What replaces old_text.")] = None,
        replace_all: Annotated[bool, Field(description="Replace every old_text.")] = False,
        cell_type: Annotated[results.CellType | None,
                             Field(description="A new type for the cell.")] = None,
        if_revision: Annotated[int | None,
                               Field(description="The revision you last saw.")] = None,
        run: Run = False, timeout: Timeout = 30,
    ) -> Annotated[Result, results.OneCell]:
        """Replace a cell's source, or old_text with new_text (found once, unless
        replace_all); optionally change its type and run it. A cell the user is editing
        cannot change."""
        author = author_of(ctx)
        self._check_timeout(timeout)
        new_source = self.edited_source(cell_id, source, old_text, new_text, replace_all)
        cell, diff = self.document.edit_cell(cell_id, new_source, cell_type=cell_type,
                                             author=author, if_revision=if_revision)
        if old_text is None:
            diff = ""  # the agent sent the whole source: a diff would only repeat it
        diff, _ = render.truncate_middle(
            diff, DIFF_MAX_CHARS, read_more=f'read_cells(cell_ids=["{cell.id}"]) shows the source')
        budget = render.DEFAULT_MAX_CHARS - len(diff)
        if run:
            return await self._run_and_report([cell.id], author, timeout, ctx, budget,
                                              with_source=False, model=results.OneCell,
                                              diff=diff)
        shown = self.views([cell], max_chars=budget, with_source=False)
        data = {"cell": shown.views[0], **({"diff": diff} if diff else {})}
        return tool_result(results.OneCell.model_validate(data), shown.images)

    @tool("Delete cells", access.EDIT, DESTRUCTIVE, log=DELETE_LOG)
    async def delete_cells(self, ctx: Context,
                           cell_ids: CellIds) -> Annotated[Result, results.Deleted]:
        """Delete cells; returns their sources so you can put them back."""
        deleted = self.document.delete_cells(cell_ids, author=author_of(ctx))
        # Sources share the budget fairly; cells past what a short head of each allows are
        # left out (changes_since lists every deletion).
        budget, shown, least = render.DEFAULT_MAX_CHARS, 0, 0
        for cell in deleted:
            least += DELETED_ITEM_COST + min(len(cell.source), _SOURCE_FLOOR)
            if shown and least > budget:
                break
            shown += 1
        lengths = [len(c.source) for c in deleted[:shown]]
        shares = render.fair_shares(lengths, budget - shown * DELETED_ITEM_COST,
                                    floors=[_SOURCE_FLOOR] * shown)
        items = []
        for cell, share in zip(deleted, shares, strict=False):
            source, cut = render.truncate_middle(
                cell.source, share, read_more="the user can bring the whole cell back in nbtui")
            items.append({"id": cell.id, "cell_type": cell.cell_type, "source": source,
                          **({"source_truncated": True} if cut else {})})
        data: dict[str, Any] = {"deleted": items}
        if shown < len(deleted):
            before = self.document.revision - len(deleted)
            data["cells_left_out"] = (f"{len(deleted) - shown} more deleted cell(s) left out of "
                                      f"this reply; changes_since(revision={before}) lists "
                                      "every deletion.")
        return tool_result(results.Deleted.model_validate(data))

    @tool("Move a cell", access.EDIT, MUTATING, log=MOVE_LOG)
    async def move_cell(self, ctx: Context, cell_id: CellId, index: Index = None,
                        after_cell_id: AfterCell = None, before_cell_id: BeforeCell = None,
                        ) -> Annotated[Result, results.Moved]:
        """Move a cell; returns its new index."""
        new_index = self.document.move_cell(cell_id, index=index, after_cell_id=after_cell_id,
                                            before_cell_id=before_cell_id, author=author_of(ctx))
        return tool_result(results.Moved(id=cell_id, index=new_index))

    def cells_to_run(self, cell_ids: list[str] | None, all_cells: bool) -> list[str]:
        """The cells a run_cells call runs, each checked to exist."""
        if all_cells and cell_ids:
            raise ToolFailure("Give cell_ids or all=true, not both.")
        if not all_cells and not cell_ids:
            raise ToolFailure("Name the cells to run (cell_ids), or set all=true.")
        ids = ([c.id for c in self.document.cells if c.cell_type == "code"] if all_cells
               else cell_ids or [])
        for cid in ids:
            self.document.get(cid)
        return ids

    def _cells_code(self, args: dict[str, Any]) -> str:
        self._check_timeout(args["timeout"])
        ids = self.cells_to_run(args["cell_ids"], args["all"])
        return "\n\n".join(self.document.get(cid).source for cid in ids)

    @tool("Run cells", access.RUN, MUTATING, log=RUN_CELLS_LOG,
          runs=lambda tools, args: tools._cells_code(args))
    async def run_cells(
        self, ctx: Context,
        cell_ids: Annotated[list[str] | None, Field(description="Cells to run, in order.")] =
            None,
        all: Annotated[bool, Field(description="Run all code cells top to bottom.")] = False,
        timeout: Timeout = 30,
    ) -> Annotated[Result, results.Cells]:
        """Queue cells on the kernel's queue (shared with the user) and wait up to timeout;
        unfinished cells come back queued/running (call wait). A cell asking for input
        returns waiting_for_input: only the human answers it."""
        ids = self.cells_to_run(cell_ids, all)
        return await self._run_and_report(ids, author_of(ctx), timeout, ctx)

    async def _run_and_report(self, cell_ids: list[str], author: str, timeout: float,
                              ctx: Context | None, max_chars: int = render.DEFAULT_MAX_CHARS,
                              *, with_source: bool = True,
                              model: type[results.Result] = results.Cells, diff: str = ""
                              ) -> Result:
        self._check_timeout(timeout)
        executions = self.queue_cells(cell_ids, author)
        finished = await self.wait_for(executions, timeout, ctx)
        cells = [self.document.get(cid) for cid in cell_ids if self.document.has(cid)]
        return self.run_report(cells, finished, max_chars, executions, ctx=ctx,
                               with_source=with_source, model=model, diff=diff)

    @tool("Wait for runs", access.READ, READ_ONLY, log=None)
    async def wait(
        self, ctx: Context,
        cell_ids: Annotated[list[str] | None,
                            Field(description="Cells or run ids.")] = None,
        timeout: Timeout = 30,
    ) -> Annotated[Result, results.Cells]:
        """Wait until the given cells and runs (or the whole queue) are idle; returns them
        as run_cells does, with your unfinished run_code runs (scratch_runs)."""
        author = author_of(ctx)
        run_ids = [cid for cid in cell_ids or [] if cid.startswith(RUN_PREFIX)]
        named_runs = [self.run_named(run_id) for run_id in run_ids]
        if cell_ids is not None:
            cell_ids = [cid for cid in cell_ids if not cid.startswith(RUN_PREFIX)]
            for cid in cell_ids:
                self.document.get(cid)
        executions = self.pending(cell_ids) if cell_ids or not run_ids else []
        executions += [run for run in named_runs if not run.done.is_set()]
        finished = await self.wait_for(executions, timeout, ctx)
        # The caller's run_code runs that outlived their call (a long run, or one the human
        # answered) come back too, finished or not: wait is how the agent gets their result.
        unreported = self._unreported.pop(author, [])
        own_runs = named_runs + ([run for run in unreported if run not in named_runs]
                                 if cell_ids is None else [])
        left = [run for run in unreported if run not in own_runs]
        if cell_ids is None:
            seen: list[str] = []
            for e in executions:
                if e.cell_id and e.cell_id not in seen and self.document.has(e.cell_id):
                    seen.append(e.cell_id)
            cell_ids = seen
        cells = [self.document.get(cid) for cid in cell_ids if self.document.has(cid)]
        left += [run for run in own_runs if not run.done.is_set()]
        if left:
            self._unreported[author] = left
        share = render.DEFAULT_MAX_CHARS // SCRATCH_RUNS_SHARE // max(1, len(own_runs))
        runs = [self.scratch_view(run, share) for run in own_runs]
        budget = render.DEFAULT_MAX_CHARS - sum(len(json.dumps(view)) for view, _ in runs)
        return self.run_report(cells, finished, budget, executions, runs, ctx=ctx)

    def run_named(self, run_id: str) -> Execution:
        """The run_code run with this id."""
        run = self._runs.get(run_id)
        if run is None:
            raise ToolFailure(f"There is no run {render.excerpt(run_id)}: run ids come from "
                              f"run_code, and only the last {RUNS_KEPT} are kept.")
        return run

    def _check_code(self, args: dict[str, Any]) -> str:
        code = args["code"]
        if not code.strip():
            raise ToolFailure("code is empty; give the code to run.")
        self._check_timeout(args["timeout"])
        if self.kernel.state in ("dead", "stopped"):
            raise ToolFailure("The kernel is dead; call restart_kernel first.")
        return code

    @tool("Run scratch code", access.RUN, MUTATING, log=RUN_CODE_LOG,
          runs=lambda tools, args: tools._check_code(args))
    async def run_code(
        self, ctx: Context, code: Annotated[str, Field(description="Python code to run.")],
        timeout: Timeout = 30,
    ) -> Annotated[Result, results.Run]:
        """Run code in the kernel without adding a cell (df.info(), a check); the user sees
        it. Returns status, outputs and a run_id: wait(cell_ids=[run_id]) gets the result of
        a run that outlives timeout."""
        author = author_of(ctx)
        execution = self.kernel.run_code(code, author)
        run_id = run_id_of(execution)
        self._runs[run_id] = execution
        while len(self._runs) > RUNS_KEPT:
            del self._runs[next(iter(self._runs))]
        self._scratch_log.append((self.document.revision, author, execution))
        del self._scratch_log[:-RUNS_KEPT]
        finished = await self.wait_for([execution], timeout, ctx)
        if not finished:
            unreported = self._unreported.setdefault(author, [])
            unreported.append(execution)
            del unreported[:-UNREPORTED_RUNS_KEPT]
        return self.execution_result(execution, finished, ctx)

    def execution_result(self, execution: Execution, finished: bool,
                         ctx: Context | None = None) -> Result:
        """A scratch run's result within DEFAULT_MAX_CHARS (its error's summary first, then
        its outputs)."""
        data, images = self.scratch_view(execution, render.DEFAULT_MAX_CHARS)
        waiting = input_wait([execution])
        if waiting is not None:
            data["waiting_for_input"] = input_waiting(waiting)
            data["hint"] = input_wait_hint(waiting)
        elif not finished:
            so_far = "; its output so far is above" if data["outputs"] else ""
            data["hint"] = (f"The code is still running{so_far}. Call wait(cell_ids="
                            f'["{data["run_id"]}"]) for its result, or interrupt_kernel to '
                            "stop it.")
        return tool_result(results.Run.model_validate(data), images, sent=images_sent(ctx))

    @staticmethod
    def scratch_view(execution: Execution, budget: int
                     ) -> tuple[dict[str, Any], list[Image]]:
        """A scratch run's status, count, error summary and outputs within `budget`
        characters (results.scratch_text renders them), and its images."""
        data: dict[str, Any] = {"run_id": run_id_of(execution), "status": execution.status,
                                "execution_count": execution.execution_count}
        if execution.error:
            data["error"] = render.error_summary({"output_type": "error", **execution.error})
            data["error"]["traceback"] = lean_traceback(
                data["error"]["traceback"], f"{data['error']['ename']}: {data['error']['evalue']}")
            budget -= len(json.dumps(data["error"]))
        views = with_errors(render.output_views(execution.outputs, budget), execution.outputs)
        data["outputs"] = views
        images = output_images(execution.outputs, None, range(len(views)))
        if len(views) < len(execution.outputs):
            data["outputs_left_out"] = (f"outputs {len(views)}-{len(execution.outputs) - 1} "
                                        "left out to keep this reply within its budget; print "
                                        "less, or put the code in a cell to page through them "
                                        "with read_output.")
        return data, images

    def run_label(self, label: str) -> str:
        """A cell id or run id for how the kernel names an execution (a cell id, or an
        execution's id: a run_code run's, or one of nbtui's own checks)."""
        if self.document.has(label):
            return label
        run_id = RUN_PREFIX + label[:RUN_ID_CHARS]
        return run_id if run_id in self._runs else "an nbtui check"

    @tool("Interrupt the kernel", access.RUN, DESTRUCTIVE, log=INTERRUPT_LOG)
    async def interrupt_kernel(self, ctx: Context) -> Annotated[Result, results.Interrupted]:
        """Interrupt the running execution and drop the queue; names the cells (and run
        ids) stopped or dequeued."""
        outcome = await self.kernel.interrupt()
        for key in ("stopped", "dequeued"):
            outcome[key] = [self.run_label(label) for label in outcome.get(key) or []]
        for key in ("stopped", "dequeued"):
            names = outcome.get(key) or []
            if len(names) > LISTED_IDS:
                outcome[key] = names[:LISTED_IDS]
                outcome[f"{key}_count"] = len(names)
        return tool_result(results.Interrupted.model_validate(outcome))

    @tool("Restart the kernel", access.RUN, DESTRUCTIVE, log=RESTART_LOG,
          runs=lambda tools, args: "(restart the kernel)")
    async def restart_kernel(
        self, ctx: Context,
        clear_outputs: Annotated[bool, Field(description="Clear every cell's outputs.")] =
            False,
    ) -> Annotated[Result, results.Restarted]:
        """Restart the kernel: all variables are lost, the notebook is kept."""
        await self.kernel.restart(clear_outputs=clear_outputs)
        return tool_result(results.Restarted(kernel=self.kernel_state()))

    def _pip_command(self, args: dict[str, Any]) -> str:
        requirements = parse_requirements(args["packages"], self.session.path.parent)
        return "pip install " + " ".join(requirements)

    @tool("Install packages", access.RUN, INSTALLS, log=INSTALL_LOG,
          runs=lambda tools, args: tools._pip_command(args))
    async def install_packages(
        self, ctx: Context,
        packages: Annotated[list[str], Field(
            description='Requirements ("pandas>=2") or local wheel/folder paths.')],
    ) -> Annotated[Result, results.Installed]:
        """Install into the kernel's environment as %pip install does (uv when it has no
        pip). No options."""
        requirements = parse_requirements(packages, self.session.path.parent)
        outcome = await install_into_kernel(self.kernel, requirements, author_of(ctx))
        installed = outcome["installed"]
        assert isinstance(installed, list)
        what = ", ".join(installed[:LISTED_IDS]) + (" …" if len(installed) > LISTED_IDS else "")
        summary = (f"Installed {what} with {outcome['installer']}." if installed else
                   f"Already installed: {', '.join(requirements)} ({outcome['installer']}).")
        data = {**outcome, "installed": installed[:LISTED_IDS], "output": summary}
        if len(installed) > LISTED_IDS:
            data["installed_count"] = len(installed)
        return tool_result(results.Installed.model_validate(data))

    @tool("List variables", access.RUN, READ_ONLY, log=VARIABLES_LOG)
    async def list_variables(
        self, ctx: Context,
        limit: Annotated[int, Field(description="Variables to list at most.")] = 50,
    ) -> Annotated[Result, results.Variables]:
        """The kernel's variables: name, type and a short summary (shape, dtype, columns or
        a one-line repr)."""
        if limit < 1:
            raise ToolFailure("limit must be 1 or more.")
        variables, more = await list_kernel_variables(self.kernel, limit,
                                                      render.DEFAULT_MAX_CHARS, author_of(ctx))
        data: dict[str, Any] = {"variables": variables}
        if more:
            data["variables_left_out"] = (
                f"More variables were left out (a reply lists at most limit={limit} of them and "
                f"{render.DEFAULT_MAX_CHARS:,} characters); look them up with run_code, e.g. "
                "[n for n in dir() if n.startswith('df')].")
        return tool_result(results.Variables.model_validate(data))

    @tool("Changes since a revision", access.READ, READ_ONLY, log=None)
    async def changes_since(
        self, ctx: Context,
        revision: Annotated[int, Field(description="The notebook revision you last saw.")],
    ) -> Annotated[Result, results.Changes]:
        """What changed since a notebook revision and who did it: cells inserted, edited
        (diff), deleted, moved, run, and run_code runs. Paged (next_revision)."""
        changes = self.document.changes_since(revision)
        if changes is None:
            return tool_result(results.Changes(
                since=revision, revision=self.document.revision, too_old=True,
                overview=self.overview().data()))
        described = []
        spent = 0
        everything = self.with_scratch_runs(changes, revision)
        for change in everything:
            c = bounded_change(change)
            spent += len(json.dumps(c))
            if described and spent > render.DEFAULT_MAX_CHARS:
                break
            described.append(c)
        data: dict[str, Any] = {"since": revision, "revision": self.document.revision,
                                "changes": described}
        if len(described) < len(everything):
            last = described[-1]["revision"]
            data["next_revision"] = last
            data["changes_left_out"] = (
                f"{len(everything) - len(described)} later change(s) left out to keep this reply "
                f"within {render.DEFAULT_MAX_CHARS:,} characters; changes_since(revision={last}) "
                "reads on from here.")
        return tool_result(results.Changes.model_validate(data))

    def with_scratch_runs(self, changes: list[Any], revision: int) -> list[dict[str, Any]]:
        """The document's changes described, with the run_code runs since `revision` put
        after the changes that came before them."""
        entries = [(c.revision, 0, c.describe()) for c in changes]
        for started_at, author, run in self._scratch_log:
            if started_at >= revision:
                first = next((line for line in run.code.splitlines() if line.strip()), "")
                entries.append((started_at, 1, {
                    "revision": started_at, "kind": "run_code", "run_id": run_id_of(run),
                    "author": author, "status": run.status, "code": first}))
        return [entry for *_, entry in sorted(entries, key=lambda e: e[:2])]

    @tool("Save the notebook", access.EDIT, MUTATING, log=SAVE_LOG)
    async def save_notebook(self, ctx: Context) -> Annotated[Result, results.Saved]:
        """Write the notebook to disk now."""
        info = self.session.save()
        return tool_result(results.Saved(path=info.path, revision=info.revision,
                                         bytes=info.bytes_written))


# -- the MCP server --------------------------------------------------------------------


def author_of(ctx: Context | None) -> str:
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
    """MCPServer whose argument errors read as one sentence instead of a pydantic report, and
    whose errors quote what the client sent only in short excerpts."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None,
                        *args: Any, **kwargs: Any) -> Any:
        if registered_tool(self, name) is None:
            return error_result(f"There is no tool named {render.excerpt(name)}; tools/list "
                                "names the tools.")
        try:
            return await super().call_tool(name, arguments, context, *args, **kwargs)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                problems = "; ".join(
                    f"{_argument_name(err['loc'])}: {err['msg']}" for err in cause.errors()[:5])
                return error_result(f"Invalid arguments for {name}: {problems}.")
            if isinstance(exc, UnexpectedToolError):
                raise
            return error_result(str(exc))



def _argument_name(loc: tuple[Any, ...]) -> str:
    """Where in the arguments a validation error is, e.g. `cell_ids.0`."""
    name = ".".join(str(part) for part in loc) or "arguments"
    return name if len(name) <= 60 else render.excerpt(name)


async def bounded_errors(ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
    """Server middleware: a JSON-RPC error quotes what the client sent in a short excerpt
    (the SDK's "Method not found" names the method, and other errors may quote arguments)."""
    try:
        return await call_next(ctx)
    except MCPError as exc:
        message, data = exc.error.message, exc.error.data
        if len(message) <= PROTOCOL_ERROR_MAX_CHARS and len(repr(data)) <= EXCERPT_DATA_CHARS:
            raise
        data = render.excerpt(data) if data is not None else None
        message, _ = render.truncate_middle(message, PROTOCOL_ERROR_MAX_CHARS)
        raise MCPError(exc.error.code, message, data) from None


def refusal(name: str, exc: Exception) -> Result:
    """The error result a tool answers an exception with: the core's refusals in their own
    one sentence, anything else logged and reported as nbtui's failure."""
    if isinstance(exc, RevisionConflict):
        source, _ = render.truncate_middle(
            exc.current_source, CONFLICT_SOURCE_CHARS,
            read_more=f'read_cells(cell_ids=["{exc.cell_id}"]) shows all of it')
        return error_result(f"{exc} Its current source is:\n{source}")
    if isinstance(exc, DocumentError | KernelError | NotebookFileError | ToolFailure
                  | PackageError | VariablesError | access.AccessDenied):
        return error_result(str(exc))
    log.error("tool %s failed", name, exc_info=exc)
    return error_result(f"{name} failed inside nbtui (see the session log); the session is "
                        "still running.")


def build_server(tools: AgentTools) -> NbtuiServer:
    """The MCP server with every tool of the agent contract, bound to `tools`."""
    instructions = INSTRUCTIONS + (
        f"This session's notebook is {tools.session.path}. To work on another open notebook, "
        "attach to it by path (`nbtui attach OTHER.ipynb`); `nbtui list` shows the sessions.\n")
    server = NbtuiServer("nbtui", instructions=instructions, version=__version__,
                         warn_on_duplicate_tools=False)
    lowlevel_server(server).middleware.append(bounded_errors)
    register(server, tools, author_of, refusal)

    @server.resource(NOTEBOOK_URI, name="notebook", mime_type="application/json",
                     description="The notebook overview (as get_notebook returns it); "
                                 "subscribe to hear when anything changes.")
    async def notebook_resource() -> str:
        return json.dumps(tools.overview(0, max(1, len(tools.document)), 3).data())

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
        lowlevel = lowlevel_server(server)
        lowlevel.add_request_handler("resources/subscribe", types.SubscribeRequestParams,
                                     self._subscribe)
        lowlevel.add_request_handler("resources/unsubscribe", types.UnsubscribeRequestParams,
                                     self._unsubscribe)
        self.unsubscribe_document = document.subscribe(self._document_changed)

    async def _subscribe(self, ctx: Any, params: types.SubscribeRequestParams) -> Any:
        if str(params.uri) != NOTEBOOK_URI:
            raise MCPError(types.INVALID_PARAMS, f"Only {NOTEBOOK_URI} can be subscribed to.")
        self._sessions.add(ctx.session)
        return types.EmptyResult()

    async def _unsubscribe(self, ctx: Any, params: types.UnsubscribeRequestParams) -> Any:
        self._sessions.discard(ctx.session)
        return types.EmptyResult()

    def _document_changed(self, event: Any) -> None:
        if event.kind == "focus" or self._pending is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # a save by the exit watchdog, off the loop: the process is ending
        self._pending = loop.create_task(self._send_later())

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
