"""How the TUI scales: first paint of 10/1000/5000-cell notebooks and j/k latency.

Run: .venv/bin/python tests/tui/scale_bench.py [CELLS ...] [flood]
Headless (Textual's test driver), 120x40. Not a test: it prints numbers.

jk_to_action: from the key event entering the app to the selection having moved (the frame
that shows it follows within the refresh interval); jk_cpu: process CPU per key including the
repaint and the test driver's own overhead (an upper bound of the work a key costs).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from textual import events

from nbtui.core.session import NotebookSession
from nbtui.tui.app import NotebookApp


def make_notebook(path: Path, cells: int) -> None:
    """A notebook like a real one: markdown, code with outputs, some long outputs."""
    nb = new_notebook()
    for i in range(cells):
        if i % 4 == 0:
            nb.cells.append(new_markdown_cell(f"## Step {i}\n\nSome *text* about `df` and a "
                                              "[link](https://example.org).\n\n- a\n- b"))
        else:
            cell = new_code_cell(f"df = load({i})\nfor j in range(3):\n    print(df.x + j)")
            cell.execution_count = i
            lines = 200 if i % 10 == 1 else 3
            cell.outputs = [new_output("stream", name="stdout",
                                       text="".join(f"line {k}\n" for k in range(lines)))]
            nb.cells.append(cell)
    nbformat.write(nb, path)


async def measure(cells: int, keys: int = 60) -> dict[str, float]:
    """Time loading, first paint and j/k for one notebook size."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"n{cells}.ipynb"
        make_notebook(path, cells)
        t0 = time.perf_counter()
        session = NotebookSession(path, autosave_seconds=0)
        t_load = time.perf_counter() - t0

        async def start() -> tuple[None, None]:
            return None, None

        app = NotebookApp(session, start=start)
        t1 = time.perf_counter()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            t_paint = time.perf_counter() - t1
            times, cpu = [], []
            keys = min(keys, 2 * (cells - 1))
            for n in range(keys):
                key = "j" if n < keys // 2 else "k"
                c = time.process_time()
                times.append(await key_latency(app, key))
                await pilot.pause()
                cpu.append(time.process_time() - c)
            edits = []
            doc = session.document
            for n in range(20):
                target = app.view.selected_id
                for cell_id in app.view.cell_ids:
                    row = app.view.screen_row(cell_id)
                    if row is not None and 0 <= row < 30 and cell_id != target:
                        target = cell_id
                        break
                marker = f"agent_edit_{n} = {n}"
                started = time.perf_counter()
                doc.edit_cell(target, marker, author="claude")
                while marker not in app.view.visible_text():
                    await asyncio.sleep(0.0005)
                edits.append(time.perf_counter() - started)
                await pilot.pause()
            # Jump far: end of the notebook and back.
            t = time.perf_counter()
            await pilot.press("end")
            await pilot.pause()
            t_end = time.perf_counter() - t
        await app.finish()
    return {
        "cells": cells,
        "load_s": t_load,
        "first_paint_s": t_paint,
        "jk_to_action_median_ms": statistics.median(times) * 1000,
        "jk_to_action_p95_ms": sorted(times)[int(len(times) * 0.95) - 1] * 1000,
        "jk_cpu_median_ms": statistics.median(cpu) * 1000,
        "jk_cpu_p95_ms": sorted(cpu)[int(len(cpu) * 0.95) - 1] * 1000,
        "jump_to_end_ms": t_end * 1000,
        "agent_edit_to_view_p95_ms": sorted(edits)[int(len(edits) * 0.95) - 1] * 1000,
    }




async def key_latency(app: NotebookApp, key: str) -> float:
    """Seconds from a key arriving to the selection having moved (the next frame shows it)."""
    view = app.view
    before = view.selected_id
    started = time.perf_counter()
    app._driver.send_message(events.Key(key, None))
    while view.selected_id == before:
        if time.perf_counter() - started > 5:
            raise RuntimeError(f"{key} did not move the selection")
        await asyncio.sleep(0.0005)
    return time.perf_counter() - started


async def measure_flood_bare(lines: int = 1_000_000) -> float:
    """The same flood through the session without the TUI: what the kernel layer costs."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "flood.ipynb"
        nb = new_notebook()
        nb.cells = [new_code_cell(f"for i in range({lines}):\n    print(i)")]
        nbformat.write(nb, path)
        session = NotebookSession(path, autosave_seconds=0)
        await session.start()
        await session.kernel.wait_ready(60)
        t0 = time.perf_counter()
        execution = session.kernel.run_cell(session.document.cells[0].id, "user")
        await execution.wait(None)
        elapsed = time.perf_counter() - t0
        await session.close(save=False)
    return elapsed


async def measure_flood(lines: int = 1_000_000) -> dict[str, float]:
    """A real kernel prints `lines` lines; time j/k presses while the output streams in."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "flood.ipynb"
        nb = new_notebook()
        nb.cells = [new_code_cell(f"for i in range({lines}):\n    print(i)"),
                    *[new_code_cell(f"y = {i}") for i in range(20)]]
        nbformat.write(nb, path)
        session = NotebookSession(path, autosave_seconds=0)

        async def start() -> tuple[None, None]:
            await session.start()
            return None, None

        app = NotebookApp(session, start=start)
        async with app.run_test(size=(120, 40)) as pilot:
            while session.kernel.state != "idle":
                await pilot.pause()
            t0 = time.perf_counter()
            await pilot.press("ctrl+enter")
            cell = session.document.cells[0]
            times = []
            n = 0
            while cell.status in ("queued", "running") or cell.execution_count is None:
                times.append(await key_latency(app, "j" if n % 2 == 0 else "k"))
                n += 1
                await asyncio.sleep(0.05)
            t_run = time.perf_counter() - t0
            shown = app.view.visible_text()
        await app.finish(lambda s, lock, endpoint: s.close())
    return {
        "flood_lines": lines,
        "run_s": t_run,
        "keys_during_flood": len(times),
        "key_median_ms": statistics.median(times) * 1000 if times else 0.0,
        "key_max_ms": max(times) * 1000 if times else 0.0,
        "last_line_on_screen": float("more lines" in shown),
    }


def show(result: dict[str, float]) -> None:
    print("  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in result.items()))


async def main(args: list[str]) -> None:
    sizes = [int(a) for a in args if a.isdigit()] or [10, 1000, 5000]
    for size in sizes:
        show(await measure(size))
    if "flood" in args or not args:
        result = await measure_flood()
        result["bare_run_s"] = await measure_flood_bare()
        show(result)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
