"""The tools' result models: each is a tool's output schema, and what its structured content
is checked against before it is sent.

The models name the fields an agent relies on; replies may carry more (notes on what was left
out, hints), so every model allows extra fields. Schemas are kept small on purpose: the model
reads them in `tools/list` before every conversation.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from nbtui.core.policy import AccessMode

CellType = Literal["code", "markdown", "raw"]


class Result(BaseModel):
    """A result: the named fields, and any others the reply adds."""

    model_config = ConfigDict(extra="allow")


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


class Cells(Result):
    cells: list[Cell]


class OneCell(Result):
    # insert_cell and edit_cell: `cell`, or `cells` when run; `diff` for old_text edits.
    cell: Cell = None  # type: ignore[assignment]
    cells: list[Cell] = None  # type: ignore[assignment]


class Page(Result):
    text: str
    offset: int
    total: int


class Deleted(Result):
    deleted: list[dict[str, Any]]


class Moved(Result):
    id: str
    index: int


class Run(Result):
    run_id: str
    status: str
    execution_count: int | None
    outputs: list[dict[str, Any]]


class Interrupted(Result):
    state: str
    stopped: list[str]
    dequeued: list[str]


class Restarted(Result):
    kernel: dict[str, Any]


class Installed(Result):
    installed: list[str]
    installer: str


class Variables(Result):
    variables: list[dict[str, Any]]


class Changes(Result):
    revision: int


class Saved(Result):
    path: str
    revision: int
    bytes: int


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
