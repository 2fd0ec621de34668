"""The tools' result models: each is a tool's output schema, what its structured content is
checked against before it is sent, and renders the text content the agent reads.

The models name the fields an agent relies on; replies may carry more (notes on what was left
out, hints), so every model allows extra fields. Schemas are kept small on purpose: the model
reads them in `tools/list` before every conversation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from nbtui.core.policy import AccessMode

CellType = Literal["code", "markdown", "raw"]


IMAGE_NOTES = ("images_sent_before", "images_left_out")
"""The fields naming images a reply did not carry; the text ends with them."""


class Result(BaseModel):
    """A result: the named fields, and any others the reply adds."""

    model_config = ConfigDict(extra="allow")

    def data(self) -> dict[str, Any]:
        """The structured content: the fields the reply set."""
        return self.model_dump(exclude_unset=True)

    def render(self) -> str:
        """The text content the agent reads: the body, then the notes on images left out."""
        data = self.data()
        return "\n".join([self.body(data), *(data[k] for k in IMAGE_NOTES if k in data)])

    def body(self, data: dict[str, Any]) -> str:
        """The text of the result's fields (`data`, as `data()` gives them), without the notes
        on images."""
        raise NotImplementedError


def outputs_text(outputs: list[dict[str, Any]]) -> str:
    """Output views as text."""
    parts = []
    for out in outputs:
        label = out.get("mime") or out.get("output_type")
        text = out.get("text", "").rstrip()
        if out.get("traceback"):
            text += "\n" + out["traceback"].rstrip()
        parts.append(f"[output {out['output_index']}: {label}]\n{text}")
    return "\n".join(parts)


def cell_text(view: dict[str, Any]) -> str:
    """A cell view as compact text."""
    count = view.get("execution_count")
    prompt = f" [{count}]" if count is not None else ""
    head = (f"# cell {view['id']} (index {view['index']}, {view['cell_type']}, "
            f"revision {view['revision']}, {view['status']}{prompt})")
    parts = [head] + ([view["source"]] if "source" in view else [])
    if view.get("outputs"):
        parts.append(outputs_text(view["outputs"]))
    elif view.get("output_summary"):
        parts.append(f"[outputs: {view['output_summary']}]")
    if view.get("outputs_left_out"):
        parts.append(f"[{view['outputs_left_out']}]")
    return "\n".join(parts)


def scratch_text(run: dict[str, Any]) -> str:
    """A run_code run's view as text: status, count, outputs, and what was left out."""
    text = f"status: {run['status']}"
    if run.get("execution_count") is not None:
        text += f" [{run['execution_count']}]"
    if run["outputs"]:
        text += "\n" + outputs_text(run["outputs"])
    if run.get("outputs_left_out"):
        text += "\n" + run["outputs_left_out"]
    return text


def run_text(data: dict[str, Any]) -> str:
    """A run's report as text (run_cells, wait, and insert_cell or edit_cell with run): the
    cells, the caller's scratch runs, and what to do about unfinished ones."""
    parts = [cell_text(view) for view in data["cells"]]
    if data.get("cells_left_out"):
        parts.append(data["cells_left_out"])
    for run in data.get("scratch_runs", []):
        parts.append(f"# your run {run['run_id']}\n{scratch_text(run)}")
    if "waiting_for_input" in data:
        parts.append(data["hint"])
    elif not data["finished"]:
        parts.append(data["hint"] if parts else "Scratch runs are still going; call wait again.")
    if not parts:
        parts.append(f"The queue is empty; the kernel is {data['kernel']['state']}.")
    return "\n\n".join(parts)


class Cell(Result):
    # Also execution_count and outputs (an error output's view has ename, evalue and
    # traceback); left out of the schema to keep tools/list small.
    id: str
    index: int
    revision: int
    status: str


class Access(Result):
    mode: AccessMode  # and approval


class Overview(Result):
    revision: int
    access: Access
    cells: list[dict[str, Any]]

    def body(self, data: dict[str, Any]) -> str:
        kernel, focus = data["kernel"], data["focus"]
        where = (f"the user is on cell {focus['cell_id']} ({focus['mode']} mode)"
                 if focus["cell_id"] is not None else "no one is at the notebook's terminal")
        header = (f"{Path(data['path']).name}: {data['cell_count']} cells, revision "
                  f"{data['revision']}{' (unsaved changes)' if data['dirty'] else ''}; kernel "
                  f"{kernel['name']} {kernel['state']}; {where}; agents: "
                  f"{', '.join(data['agents']) or 'none'}")
        if kernel.get("warning"):
            header += f"\nWarning: {kernel['warning']}"
        lines = []
        for cell in data["cells"]:
            count = f" [{cell['execution_count']}]" if cell["execution_count"] is not None else ""
            summary = cell["output_summary"]
            lines.append(f"{cell['index']:>3} {cell['id']} {cell['cell_type']} "
                         f"r{cell['revision']} {cell['status']}{count}"
                         + (f" -> {summary}" if summary else ""))
            if cell["preview"]:
                lines.extend("      " + line for line in cell["preview"].splitlines())
                if cell["preview_truncated"]:
                    lines.append("      ...")
        start, cells = data["start"], data["cells"]
        tail = (f"\n(cells {start}-{start + len(cells) - 1} of {data['cell_count']}; "
                f"get_notebook(start={data['next_start']}) for more)"
                if "next_start" in data else "")
        if any(c["preview_truncated"] for c in cells):
            tail += "\n(... marks a cut preview; read_cells(cell_ids=[...]) shows whole cells)"
        return header + "\n" + "\n".join(lines) + tail


class Cells(Result):
    # read_cells: cells and revision; run_cells and wait: a run's report (`finished`).
    cells: list[Cell]

    def body(self, data: dict[str, Any]) -> str:
        if "finished" in data:
            return run_text(data)
        text = "\n\n".join(cell_text(view) for view in data["cells"]) or "(no cells)"
        if data.get("cells_left_out"):
            text += "\n\n" + data["cells_left_out"]
        return text


class OneCell(Result):
    # insert_cell and edit_cell: `cell`, or `cells` when run; `diff` for old_text edits.
    cell: Cell = None  # type: ignore[assignment]
    cells: list[Cell] = None  # type: ignore[assignment]

    def body(self, data: dict[str, Any]) -> str:
        diff = data["diff"] + "\n" if data.get("diff") else ""
        return diff + (cell_text(data["cell"]) if "cell" in data else run_text(data))


class Page(Result):
    text: str
    offset: int
    total: int

    def body(self, data: dict[str, Any]) -> str:
        end = data["offset"] + len(data["text"])
        more = f"; read_output(offset={end}) for more]" if end < data["total"] else "]"
        return f"{data['text']}\n[characters {data['offset']}-{end} of {data['total']}{more}"


class Deleted(Result):
    deleted: list[dict[str, Any]]

    def body(self, data: dict[str, Any]) -> str:
        text = "\n\n".join(f"deleted {c['id']} ({c['cell_type']}):\n{c['source']}"
                            for c in data["deleted"])
        if data.get("cells_left_out"):
            text += "\n\n" + data["cells_left_out"]
        return text


class Moved(Result):
    id: str
    index: int

    def body(self, data: dict[str, Any]) -> str:
        return f"cell {data['id']} is now at index {data['index']}"


class Run(Result):
    run_id: str
    status: str
    execution_count: int | None
    outputs: list[dict[str, Any]]

    def body(self, data: dict[str, Any]) -> str:
        return scratch_text(data) + ("\n" + data["hint"] if data.get("hint") else "")


class Interrupted(Result):
    state: str
    stopped: list[str]
    dequeued: list[str]

    def body(self, data: dict[str, Any]) -> str:
        return (f"Kernel {data['state']}; stopped: {', '.join(data['stopped']) or 'nothing'}; "
                f"dequeued: {', '.join(data['dequeued']) or 'nothing'}.")


class Restarted(Result):
    kernel: dict[str, Any]

    def body(self, data: dict[str, Any]) -> str:
        return f"The kernel restarted ({data['kernel']['state']}); all variables are gone."


class Installed(Result):
    installed: list[str]
    installer: str

    def body(self, data: dict[str, Any]) -> str:
        return data["output"]


class Variables(Result):
    variables: list[dict[str, Any]]

    def body(self, data: dict[str, Any]) -> str:
        text = "\n".join(f"{v['name']}: {v['type']} {v['summary']}" for v in data["variables"])
        if data.get("variables_left_out"):
            text += "\n" + data["variables_left_out"]
        return text or "(no variables)"


class Changes(Result):
    # Also `since`, the revision asked about.
    revision: int

    def body(self, data: dict[str, Any]) -> str:
        if data.get("too_old"):
            return (f"Revision {data['since']} is too old to diff; here is the whole notebook "
                    "instead.\n" + Overview.model_validate(data["overview"]).render())
        lines = []
        for c in data["changes"]:
            extra = {k: v for k, v in c.items() if k not in
                     ("revision", "kind", "cell_id", "run_id", "author", "diff", "source")}
            lines.append(f"r{c['revision']} {c['author']} {c['kind']} "
                         f"{c.get('cell_id') or c.get('run_id')} "
                         + (json.dumps(extra) if extra else ""))
            if c.get("diff"):
                lines.append(c["diff"].rstrip())
            elif c["kind"] == "insert":
                lines.append(c.get("source", ""))
        if data.get("changes_left_out"):
            lines.append(data["changes_left_out"])
        return "\n".join(lines) or f"No changes since revision {data['since']}."


class Saved(Result):
    path: str
    revision: int
    bytes: int

    def body(self, data: dict[str, Any]) -> str:
        return f"Saved {data['path']} ({data['bytes']} bytes, revision {data['revision']})."


def compact_schema(schema: Any) -> Any:
    """A JSON schema without pydantic's generated titles, `anyOf [X, null]` written as a type
    list, and no `"default": null` or `"additionalProperties": true` (both what JSON schema
    assumes anyway): the same constraints in fewer bytes."""
    if isinstance(schema, list):
        return [compact_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if (key == "title" and isinstance(value, str)) or (key == "additionalProperties"
                                                            and value is True):
            continue
        if key == "properties":
            out[key] = {name: compact_schema(prop) for name, prop in value.items()}
            continue
        out[key] = compact_schema(value)
    options = out.get("anyOf")
    if (isinstance(options, list) and len(options) == 2 and {"type": "null"} in options
            and all(set(o) == {"type"} and isinstance(o["type"], str) for o in options)):
        del out["anyOf"]
        out["type"] = [o["type"] for o in options if o["type"] != "null"] + ["null"]
    if out.get("default", 0) is None:
        del out["default"]
    return out
