"""docs/mcp-tools.md, generated from a live server's tools/list so the docs cannot drift.

Regenerate with `python -m nbtui.agent.reference > docs/mcp-tools.md`; a test compares the file
with what a running session lists.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import mcp_types as types

HEADER = """\
# The agent tools

This is the MCP interface an agent sees when it attaches to a running nbtui session
(`nbtui attach`). It is generated from the server's own `tools/list`
(`python -m nbtui.agent.reference > docs/mcp-tools.md`), and a test checks that it matches.

How to use them well:

- Cells are addressed by `id`; `index` is only for saying where to insert or move, and goes
  stale while the human works.
- Mutating tools accept `if_revision` (the cell revision you last read) where it matters; a
  stale one fails with the cell's current source.
- Errors are data: a cell that raises returns `status: "error"`, and each error output has
  `ename`, `evalue` and a traceback (the notebook's frames whole, one line per library frame).
  A tool that cannot do what was asked returns an error result with one sentence.
- Every tool has an output schema: its structured content is checked against it before it is
  sent. The text content renders the same result for the model, once.
- Results do not echo what you just sent: `insert_cell` and `edit_cell` return the cell's id,
  index, revision and outputs, and a diff only for `old_text`/`new_text` edits.
- Outputs come back as text (ANSI stripped, long ones cut in the middle with a marker that says
  how to read more with `read_output`); images come back as image content, each once per
  connection (a later reply names the `read_output` call that sends it again).
- Every reply stays within a stated budget (`max_chars` for `read_cells`, images included;
  8,000 characters for most others) and says what it left out and which call reads it.
- Waiting never interrupts: `run_cells` and `run_code` return after `timeout` with whatever is
  there, and `wait` picks up from there; `run_code` returns a `run_id` that `wait` takes in
  `cell_ids`, also after reconnecting. Progress notifications (growing, naming what runs) are
  sent while waiting.
- A cell the human is editing cannot be edited, moved or deleted: insert a new cell instead.
"""


def _type_text(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(_type_text(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return " or ".join(_type_text({**schema, "type": k}) for k in kind)
    if kind == "array":
        return f"list of {_type_text(schema.get('items', {}))}"
    return str(kind)


def tools_markdown(tools: list[types.Tool]) -> str:
    """The reference page for a list of tools."""
    parts = [HEADER]
    for tool in sorted(tools, key=lambda t: t.name):
        parts.append(f"\n## `{tool.name}`: {tool.title}\n" if tool.title
                     else f"\n## `{tool.name}`\n")
        parts.append((tool.description or "").strip() + "\n")
        hints = []
        if tool.annotations is not None:
            if tool.annotations.read_only_hint:
                hints.append("read-only")
            if tool.annotations.destructive_hint:
                hints.append("destructive")
        if hints:
            parts.append(f"\n*{', '.join(hints)}*\n")
        properties = tool.input_schema.get("properties", {})
        required = set(tool.input_schema.get("required", []))
        if properties:
            parts.append("\n| parameter | type | default | meaning |\n|---|---|---|---|\n")
            for name, schema in properties.items():
                default = ("required" if name in required
                           else f"`{json.dumps(schema.get('default'))}`")
                parts.append(f"| `{name}` | {_type_text(schema)} | {default} | "
                             f"{schema.get('description', '')} |\n")
        else:
            parts.append("\nNo parameters.\n")
        output = tool.output_schema or {}
        if output.get("properties"):
            fields = ", ".join(f"`{name}`" for name in output["properties"])
            parts.append(f"\nResult (structured content, checked against the output schema): "
                         f"{fields}, and more as the description says.\n")
    return "".join(parts)


async def _live_tools() -> list[types.Tool]:
    from mcp import Client

    from nbtui.agent.server import AgentTools, build_server
    from nbtui.core.session import NotebookSession

    with tempfile.TemporaryDirectory() as tmp:
        session = NotebookSession(Path(tmp) / "reference.ipynb", autosave_seconds=0)
        async with Client(build_server(AgentTools(session))) as client:
            return (await client.list_tools()).tools


def main() -> None:
    """Print the reference page for the tools this version serves."""
    sys.stdout.write(tools_markdown(asyncio.run(_live_tools())))


if __name__ == "__main__":
    main()
