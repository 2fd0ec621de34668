"""How the terminal UI scales: first paint, keys, agent edits and output floods.

In one run, headless (Textual's test driver, 120x40), it measures:

- for notebooks of 10, 1000 and 5000 cells: the first frame that shows the notebook, `j`/`k`
  latency, a jump to the last cell, and how long an agent's `edit_cell` (an MCP client
  through the session's real unix socket) takes to reach a frame;
- a cell printing a million lines on a real kernel: `j`/`k` latency while the output streams
  in, and the run's time against the same code run by a bare jupyter-client and by the session
  without the TUI (all in this run, one after the other).

"Frame" means the compositor update Textual hands to its terminal driver: the headless driver
drops it, but everything up to writing it (layout, `render_line`, the diff) is done. A key's
latency is counted from the key event entering the app to the frame after its action; "cpu" is
the process CPU time a key costs, repaint and test-driver overhead included.

    python bench/tui_scale.py                 # everything
    python bench/tui_scale.py 1000            # one size, no flood
    python bench/tui_scale.py flood           # the flood only
    python bench/tui_scale.py --flood-lines 200000 10 1000 flood
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import mcp_types as types
import nbformat
from jupyter_client.manager import AsyncKernelManager
from mcp import Client
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from rich.console import RenderableType
from textual import events
from textual._compositor import CompositorUpdate
from textual.screen import Screen

from nbtui.agent.endpoint import AgentEndpoint
from nbtui.agent.sessions import SessionLock
from nbtui.agent.transport import connect
from nbtui.core.session import NotebookSession
from nbtui.tui import app as app_module
from nbtui.tui.app import NotebookApp

SIZE = (120, 40)
KEYS = 60
AGENT_EDITS = 40
FLOOD_LINES = 1_000_000
TIMEOUT = 30.0


class TimedApp(NotebookApp):
    """The notebook app, noting when each frame reaches the terminal driver.

    Set `needle` to a string and `needle_at` becomes the time of the first frame whose terminal
    output contains it.
    """

    CSS_PATH = str(Path(app_module.__file__).with_name("nbtui.tcss"))

    def __init__(self, session: NotebookSession, **kwargs: Any) -> None:
        super().__init__(session, **kwargs)
        self.frames = 0
        self.frame_at = 0.0
        self.needle: str | None = None
        self.needle_at: float | None = None

    def _display(self, screen: Screen, renderable: RenderableType | None) -> None:
        super()._display(screen, renderable)
        if renderable is None:
            return
        now = time.perf_counter()
        self.frames += 1
        self.frame_at = now
        if (self.needle is not None and self.needle_at is None
                and isinstance(renderable, CompositorUpdate)
                and self.needle in renderable.render_segments(self.console)):
            self.needle_at = now

    async def until_needle(self, needle: str) -> float:
        """Wait for a frame showing `needle` (armed by the caller before the change)."""
        deadline = time.perf_counter() + TIMEOUT
        while self.needle_at is None:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{needle!r} never reached the screen")
            await asyncio.sleep(0.0002)
        return self.needle_at

    def arm(self, needle: str) -> None:
        """Start looking for `needle` in the frames from now on."""
        self.needle, self.needle_at = needle, None


def make_notebook(path: Path, cells: int) -> None:
    """A notebook like a real one: markdown, code with outputs, some long outputs."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
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


def percentile(samples: list[float], fraction: float) -> float:
    """The sample at `fraction` of the sorted list (nearest rank), in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000


def median_ms(samples: list[float]) -> float:
    """The median, in milliseconds (0 for no samples)."""
    return statistics.median(samples) * 1000 if samples else 0.0


async def key_to_frame(app: TimedApp, key: str) -> tuple[float, float]:
    """Seconds from a key entering the app to its action (the selection moved) and to the
    frame after it."""
    view = app.view
    before = view.selected_id
    started = time.perf_counter()
    app._driver.send_message(events.Key(key, None))
    while view.selected_id == before:
        if time.perf_counter() - started > TIMEOUT:
            raise RuntimeError(f"{key} did not move the selection")
        await asyncio.sleep(0.0002)
    acted = time.perf_counter()
    frames = app.frames
    while app.frames == frames:
        if time.perf_counter() - started > TIMEOUT:
            raise RuntimeError(f"no frame after {key}")
        await asyncio.sleep(0.0002)
    return acted - started, app.frame_at - started


def key_sequence(cells: int, count: int) -> list[str]:
    """`count` presses of j and k that walk down the first cells and back up, repeatedly."""
    span = max(1, min(count // 2, cells - 1))
    walk = ["j"] * span + ["k"] * span
    return [walk[n % len(walk)] for n in range(count)]


async def settle(app: TimedApp) -> None:
    """Let pending refreshes reach a frame."""
    for _ in range(3):
        await asyncio.sleep(1 / 30)


async def measure(cells: int, tmp: Path) -> dict[str, Any]:
    """First paint, j/k, jump to end and agent edits for one notebook size."""
    path = tmp / f"n{cells}.ipynb"
    make_notebook(path, cells)
    t0 = time.perf_counter()
    session = NotebookSession(path, autosave_seconds=0)
    t_load = time.perf_counter() - t0

    async def start() -> tuple[None, None]:
        return None, None

    app = TimedApp(session, start=start)
    app.arm("Step 0")
    endpoint = AgentEndpoint(session)
    lock = SessionLock(session.path, endpoint.socket_path)
    await endpoint.start(lock)
    try:
        async with app.run_test(size=SIZE):
            t_paint = await app.until_needle("Step 0") - t0
            await settle(app)
            actions, frames, cpu = [], [], []
            for key in key_sequence(cells, KEYS):
                c = time.process_time()
                acted, framed = await key_to_frame(app, key)
                cpu.append(time.process_time() - c)
                actions.append(acted)
                frames.append(framed)
                await asyncio.sleep(0.005)

            edits, returns = await agent_edits(app, endpoint.socket_path)

            _, t_end = await key_to_frame(app, "end")
        await app.finish()
    finally:
        # The app freezes what it loaded after its first frame; let the next size start clean.
        gc.unfreeze()
        await endpoint.close()
        lock.release()
    return {
        "cells": cells,
        "load_ms": t_load * 1000,
        "first_paint_ms": t_paint * 1000,
        "jk_action_median_ms": median_ms(actions),
        "jk_frame_median_ms": median_ms(frames),
        "jk_frame_p95_ms": percentile(frames, 0.95),
        "jk_frame_max_ms": max(frames) * 1000,
        "jk_keys_over_30ms": f"{sum(f > 0.030 for f in frames)}/{len(frames)}",
        "jk_cpu_median_ms": median_ms(cpu),
        "jump_to_end_ms": t_end * 1000,
        "agent_edit_frame_median_ms": median_ms(edits),
        "agent_edit_frame_p95_ms": percentile(edits, 0.95),
        "agent_edit_tool_median_ms": median_ms(returns),
    }


async def agent_edits(app: TimedApp, socket_path: str) -> tuple[list[float], list[float]]:
    """An agent edits cells on screen; seconds from its call to the frame showing each edit,
    and to the tool's answer."""
    info = types.Implementation(name="claude", version="1.0")
    edits, returns = [], []
    async with Client(connect(socket_path), client_info=info, mode="legacy") as client:
        view = app.view
        on_screen = [cid for cid in view.cell_ids
                     if 0 <= (view.screen_row(cid) or -1) < SIZE[1] - 10][:4]
        await client.call_tool("read_cells", {"cell_ids": on_screen})  # warm-up
        for n in range(AGENT_EDITS):
            marker = f"#agent_edit_{n}_of_{AGENT_EDITS}"
            app.arm(marker)
            started = time.perf_counter()
            result = await client.call_tool(
                "edit_cell", {"cell_id": on_screen[n % len(on_screen)], "source": marker})
            returned = time.perf_counter()
            if result.is_error:
                raise RuntimeError(result.content[0].text)
            edits.append(await app.until_needle(marker) - started)
            returns.append(returned - started)
            await settle(app)
    return edits, returns


async def bare_kernel_flood(code: str) -> float:
    """Seconds for a bare jupyter-client to run `code` and drain its output until idle."""
    manager = AsyncKernelManager(kernel_name="python3")
    await manager.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        started = time.perf_counter()
        msg_id = client.execute(code)
        while True:
            msg = await client.get_iopub_msg(timeout=120)
            if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                    and msg["content"]["execution_state"] == "idle"):
                break
        return time.perf_counter() - started
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)


async def session_flood(tmp: Path, code: str) -> float:
    """Seconds for the session without the TUI to run `code` in a cell."""
    path = tmp / "flood_session.ipynb"
    nb = new_notebook()
    nb.cells = [new_code_cell(code)]
    nbformat.write(nb, path)
    session = NotebookSession(path, autosave_seconds=0)
    await session.start()
    await session.kernel.wait_ready(60)
    try:
        started = time.perf_counter()
        execution = session.kernel.run_cell(session.document.cells[0].id, "user")
        await execution.wait(None)
        return time.perf_counter() - started
    finally:
        await session.close(save=False)


def memory_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MiB, from /proc (0 elsewhere)."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    return values["VmRSS"], values["VmHWM"]


async def tui_flood(tmp: Path, code: str) -> dict[str, Any]:
    """The TUI runs `code` (ctrl+e on the first cell); j/k are pressed while it streams."""
    path = tmp / "flood_tui.ipynb"
    nb = new_notebook()
    nb.cells = [new_code_cell(code), *[new_code_cell(f"y = {i}") for i in range(20)]]
    nbformat.write(nb, path)
    session = NotebookSession(path, autosave_seconds=0)

    async def start() -> tuple[None, None]:
        await session.start()
        return None, None

    rss_before, _ = memory_mb()
    app = TimedApp(session, start=start)
    async with app.run_test(size=SIZE):
        await session.kernel.wait_ready(60)
        while session.kernel.state != "idle":
            await asyncio.sleep(0.01)
        cell = session.document.cells[0]
        started = time.perf_counter()
        app._driver.send_message(events.Key("ctrl+e", None))
        while cell.status not in ("queued", "running"):
            # The run starts from the selection when the pane handles it: no j/k before that.
            await asyncio.sleep(0.0002)
        frames, n = [], 0
        while cell.status in ("queued", "running") or cell.execution_count is None:
            frames.append((await key_to_frame(app, "j" if n % 2 == 0 else "k"))[1])
            n += 1
            await asyncio.sleep(0.05)
        run = time.perf_counter() - started
        await settle(app)
        shown = app.view.visible_text()
    await app.finish(lambda s, lock, endpoint: s.close(save=False))
    rss_after, peak = memory_mb()
    return {
        "run_s": run,
        "keys": len(frames),
        "key_frame_median_ms": median_ms(frames),
        "key_frame_p95_ms": percentile(frames, 0.95) if frames else 0.0,
        "key_frame_max_ms": max(frames) * 1000 if frames else 0.0,
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_after,
        "rss_peak_mb": peak,
        "cut_marker_shown": "more lines" in shown,
    }


async def measure_flood(tmp: Path, lines: int) -> dict[str, Any]:
    """The flood three ways, one after the other in this run: bare kernel, session, TUI."""
    code = f"for i in range({lines}):\n    print(i)"
    bare = await bare_kernel_flood(code)
    plain = await session_flood(tmp, code)
    result = await tui_flood(tmp, code)
    return {"lines": lines, "bare_kernel_s": bare, "session_s": plain, **result,
            "ratio_tui_bare": result["run_s"] / bare,
            "ratio_session_bare": plain / bare}


def import_ms() -> float:
    """Milliseconds a fresh interpreter takes to import the app (the cold part of a start)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import nbtui.tui.app"], check=True)
    return (time.perf_counter() - started) * 1000


def show(title: str, result: dict[str, Any]) -> None:
    """Print one result block."""
    print(title)
    for key, value in result.items():
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"  {key:<28} {shown}")


async def main(sizes: list[int], flood: bool, flood_lines: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ.setdefault("NBTUI_RUNTIME_DIR", str(tmp / "run"))
        os.environ.setdefault("NBTUI_STATE_DIR", str(tmp / "state"))
        print(f"python -c 'import nbtui.tui.app'  {import_ms():.0f} ms")
        results = {}
        if sizes:
            await measure(10, tmp)  # warm-up: first imports and caches, not reported
        for cells in sizes:
            results[cells] = await measure(cells, tmp)
            show(f"{cells} cells", results[cells])
        if 10 in results and 1000 in results:
            small, big = results[10], results[1000]
            print("ratios 1000 vs 10 cells")
            for key in ("first_paint_ms", "jk_frame_median_ms", "agent_edit_frame_p95_ms"):
                print(f"  {key:<28} {big[key] / small[key]:.2f}x")
        if 1000 in results:
            big = results[1000]
            print("targets (1000 cells)")
            print(f"  first paint < 1000 ms       {big['first_paint_ms']:.0f} ms -> "
                  f"{'met' if big['first_paint_ms'] < 1000 else 'NOT met'}")
            print(f"  j/k < 30 ms (p95)           {big['jk_frame_p95_ms']:.1f} ms -> "
                  f"{'met' if big['jk_frame_p95_ms'] < 30 else 'NOT met'}")
            print(f"  agent edit < 50 ms (p95)    {big['agent_edit_frame_p95_ms']:.1f} ms -> "
                  f"{'met' if big['agent_edit_frame_p95_ms'] < 50 else 'NOT met'}")
        if flood:
            result = await measure_flood(tmp, flood_lines)
            show(f"flood: a cell prints {flood_lines:,} lines", result)
            keys_ok = result["key_frame_max_ms"] < 100
            run_ok = result["ratio_tui_bare"] <= 1.5
            print("targets (flood)")
            print(f"  keys < 100 ms (max)         {result['key_frame_max_ms']:.1f} ms -> "
                  f"{'met' if keys_ok else 'NOT met'}")
            print(f"  run <= 1.5x bare kernel     {result['ratio_tui_bare']:.2f}x -> "
                  f"{'met' if run_ok else 'NOT met'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="*", help="cell counts, and/or 'flood'")
    parser.add_argument("--flood-lines", type=int, default=FLOOD_LINES)
    args = parser.parse_args()
    counts = [int(a) for a in args.what if a.isdigit()]
    wants_flood = "flood" in args.what or not args.what
    if not args.what:
        counts = [10, 1000, 5000]
    asyncio.run(main(counts, wants_flood, args.flood_lines))
