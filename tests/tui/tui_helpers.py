"""Helpers for the TUI tests: notebooks on disk and the app running on them, headless."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell
from textual.pilot import Pilot

from nbtui.core.session import NotebookSession
from nbtui.tui.app import NotebookApp

SIZE = (120, 40)


def write_notebook(path: Path, cells: list[tuple[str, str] | dict[str, Any]]) -> Path:
    """Write a notebook whose cells are (type, source) pairs or nbformat cell dicts."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    makers = {"code": new_code_cell, "markdown": new_markdown_cell, "raw": new_raw_cell}
    for cell in cells:
        if isinstance(cell, dict):
            nb.cells.append(nbformat.from_dict({"id": uuid.uuid4().hex[:8], **cell}))
        else:
            nb.cells.append(makers[cell[0]](cell[1]))
    nbformat.write(nb, path)
    return path


@contextlib.asynccontextmanager
async def running_app(path: Path, *, kernel: bool = False,
                      size: tuple[int, int] = SIZE) -> AsyncIterator[tuple[NotebookApp, Pilot]]:
    """The app on a real session of `path`; with `kernel`, the start function starts it."""
    session = NotebookSession(path, autosave_seconds=0)

    async def start() -> tuple[None, None]:
        if kernel:
            await session.start()
        return None, None

    async def stop(session: NotebookSession, lock: Any, endpoint: Any) -> None:
        await session.close()

    app = NotebookApp(session, start=start)
    try:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            yield app, pilot
    finally:
        await app.finish(stop)


async def wait_until(pilot: Pilot, condition: Callable[[], Any], timeout: float = 5.0,
                     what: str = "condition") -> Any:
    """Let the app run until `condition()` is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause()


def screen_text(app: NotebookApp) -> str:
    """Everything on the screen as plain text, one line per row."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips)
