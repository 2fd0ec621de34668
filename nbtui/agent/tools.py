"""How a tool is declared once and served: its typed function carries the parameters, their
descriptions and the result model; `@tool` adds the title and the policy (the access it needs,
the code the human approves when it runs any, and what a call adds to the activity log the human
sees); `register` serves every declared tool, applying the policy before the tool's body changes
anything and writing the activity log from the declaration, so no body writes it.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import mcp_types as types

from nbtui.agent.mcp_private import registered_tool
from nbtui.agent.results import compact_schema
from nbtui.core import policy as access
from nbtui.core.session import Activity

# openWorldHint is left out (false for all but install_packages): tools/list stays small.
READ_ONLY = types.ToolAnnotations(read_only_hint=True)
MUTATING = types.ToolAnnotations(read_only_hint=False, destructive_hint=False)
DESTRUCTIVE = types.ToolAnnotations(read_only_hint=False, destructive_hint=True)
INSTALLS = types.ToolAnnotations(read_only_hint=False, open_world_hint=True)

Runs = Callable[[Any, dict[str, Any]], str | None]
"""Given the tools and a call's arguments: the code the call will run (what the human
approves), or None when this call runs nothing. It may pin arguments (e.g. a revision) so the
body runs exactly what was approved."""


@dataclass(frozen=True)
class Entry:
    """An activity-log entry a call adds; its time, author and tool come from the call.

    Attributes:
        summary: what the call did, in a few words.
        cell_id: the cell (or comma-separated cells) it concerns.
        code: for scratch runs, the code the agent ran.
        tool: the tool the entry names, when not the one called (insert_cell(run) also logs
            run_cells).
    """

    summary: str
    cell_id: str | None = None
    code: str | None = None
    tool: str | None = None


@dataclass(frozen=True)
class Logs:
    """What a tool's calls add to the activity log, declared with the tool.

    Each function gets the tools, the call's arguments and the call's `facts`; the registration
    adds the entries they return.

    Attributes:
        done: the entries of a call that succeeded, also given its result.
        facts: what the entries need from before the body changes anything (e.g. the source
            an edit replaces), computed once the policy allowed the call; None for nothing.
        started: entries added as the body starts, for calls that take long (a run, an
            install), so the human sees them meanwhile.
        failed: entries for a call the body refused with an exception of type `failed_on`
            (given that exception); None when refusals are not logged.
        failed_on: the exception types `failed` logs.
    """

    done: Callable[[Any, dict[str, Any], Any, types.CallToolResult], list[Entry]]
    facts: Callable[[Any, dict[str, Any]], Any] | None = None
    started: Callable[[Any, dict[str, Any], Any], list[Entry]] | None = None
    failed: Callable[[Any, dict[str, Any], Any, Exception], list[Entry]] | None = None
    failed_on: tuple[type[Exception], ...] = ()


@dataclass(frozen=True)
class ToolSpec:
    """What a tool declares besides its signature.

    Attributes:
        title: the tool's human-readable title.
        access: the access mode a call needs (read, edit or run).
        annotations: MCP hints (read-only, destructive).
        log: what a call adds to the activity log; None for tools that only read and add
            nothing.
        runs: the code a call runs, checked for run access and approved by the human (when
            approval is on) before the body starts; None for tools that never run code.
    """

    title: str
    access: access.AccessMode
    annotations: types.ToolAnnotations
    log: Logs | None
    runs: Runs | None = None


def tool(title: str, access_needed: access.AccessMode, annotations: types.ToolAnnotations, *,
         log: Logs | None, runs: Runs | None = None
         ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a method of the tools class as an MCP tool (see ToolSpec)."""

    def declare(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.tool_spec = ToolSpec(title, access_needed, annotations, log, runs)  # type: ignore[attr-defined]
        return fn

    return declare


def declared_tools(tools: object) -> list[tuple[str, Callable[..., Awaitable[Any]], ToolSpec]]:
    """The bound tool methods of `tools`, in declaration order, with their specs."""
    found = []
    for name, member in vars(type(tools)).items():
        spec = getattr(member, "tool_spec", None)
        if spec is not None:
            found.append((name, getattr(tools, name), spec))
    return found


def register(server: Any, tools: Any, author_of: Callable[[Any], str],
             refusal: Callable[[str, Exception], types.CallToolResult]) -> None:
    """Serve every tool `tools` declares on `server`.

    Each call first checks the session's policy (access, then, for a call that runs code,
    run access and the human's approval), then runs the body and adds the activity-log
    entries the tool declares; an exception is answered with the error result `refusal`
    makes of it.

    Args:
        server: the MCPServer.
        tools: the object whose methods are declared with `@tool`.
        author_of: the agent's name, from a call's context.
        refusal: the error result for a tool's exception.
    """
    for name, method, spec in declared_tools(tools):

        @functools.wraps(method)
        async def call(*, _name: str = name, _method: Any = method, _spec: ToolSpec = spec,
                       **arguments: Any) -> types.CallToolResult:
            logs = _spec.log
            author = author_of(arguments.get("ctx"))

            def record(entries: list[Entry]) -> None:
                for entry in entries:
                    tools.session.activity.add(Activity(
                        time.time(), author, entry.tool or _name, entry.cell_id, entry.summary,
                        entry.code))

            try:
                policy = tools.policy
                policy.check(_spec.access, _name)
                code = _spec.runs(tools, arguments) if _spec.runs is not None else None
                if code is not None:
                    if _spec.access != access.RUN:
                        policy.check(access.RUN, f"{_name} with run")
                    await policy.approve(author, _name, code)
                if logs is None:
                    return await _method(**arguments)
                facts = logs.facts(tools, arguments) if logs.facts is not None else None
                if logs.started is not None:
                    record(logs.started(tools, arguments, facts))
                try:
                    result = await _method(**arguments)
                except logs.failed_on as exc:
                    if logs.failed is not None:
                        record(logs.failed(tools, arguments, facts, exc))
                    raise
                record(logs.done(tools, arguments, facts, result))
                return result
            except Exception as exc:  # noqa: BLE001 - every failure is answered, none escapes
                return refusal(_name, exc)

        # The keyword-only bookkeeping defaults must not become tool parameters.
        call.__signature__ = inspect.signature(method, eval_str=True)  # type: ignore[attr-defined]
        server.add_tool(call, name=name, title=spec.title,
                        description=" ".join(inspect.cleandoc(method.__doc__ or "").split()),
                        annotations=spec.annotations, structured_output=True)
        registered = registered_tool(server, name)
        registered.parameters = compact_schema(registered.parameters)
        metadata = registered.fn_metadata
        if metadata.output_schema is not None:
            metadata.output_schema = compact_schema(metadata.output_schema)
