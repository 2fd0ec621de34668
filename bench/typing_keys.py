"""Typing in edit mode: keys per second in code cells of 1 KB, 20 KB and 100 KB.

One run, headless (Textual's test driver, 120x40, the app and frame timing of
`bench/tui_scale.py`), on one notebook holding four code cells: 1 KB, 20 KB and 100 KB of
ordinary multi-line Python (65-character lines), and a 100 KB single line (a list literal). In
each round, for each cell in turn (interleaved, so that machine noise hits every size alike),
the editor opens on the cell and `--keys` keys (a line of code and its new line, repeated) are
typed at its end, then as many at its start; each key is sent once the previous one has reached
a frame. A key's time runs from the key event entering the app to the first frame after the
editor took it (layout, `render_line` and the diff done, as in tui_scale). Keys per second is
keys divided by the wall time of the whole burst; "cpu" is the process CPU time per key. The
document sync (debounced) runs while typing, as it does for a human, and is part of the
numbers. After each burst, the script watches the event loop for 0.8 s and reports the longest
it was busy ("then stalls"): work left for the pause after typing (the debounced sync, any
deferred highlighting), during which agents' calls wait.

Prints a table (medians over the rounds) and the ratios of keys per second and of CPU per key
to the 1 KB cell's, whose target is 1.0 within the machine's noise. Textual draws at most 60
frames a second, so a key that costs less than a frame's interval waits for the next frame:
keys per second tops out near 60, and CPU per key shows what a key costs below that.

    python bench/typing_keys.py                    # 40 keys per burst, 5 rounds
    python bench/typing_keys.py --keys 20 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook
from textual import events
from textual.keys import _character_to_key
from tui_scale import SIZE, TIMEOUT, TimedApp, median_ms, settle

from nbtui.core.session import NotebookSession

STALL_WATCH = 0.8
"""Seconds watched after a burst for work left for the pause (a debounced sync, highlighting)."""

TYPED = "total += value_1 * 2  # ok\n"
"""What is typed, repeated: letters, digits, spaces, operators and a new line, as in code."""


def code_of_size(size: int) -> str:
    """Ordinary Python (functions, docstrings, comments, strings) of about `size` characters."""
    parts, length, n = [], 0, 0
    while length < size:
        block = (f'def step_{n}(frame, factor={n}, offset=0.5, name="column_{n}"):\n'
                 f'    """Scale column {n} of the frame by its factor, then shift it."""\n'
                 f"    values = frame[name] * factor + offset  # rescale, then shift\n"
                 f'    return values.sum() / {n + 1} if len(values) else float("nan")\n')
        parts.append(block)
        length += len(block)
        n += 1
    return "".join(parts)[:size].rstrip() + "\n"


def one_line_of_size(size: int) -> str:
    """A single line of about `size` characters: a long list literal."""
    items, length, n = [], len("data = []"), 0
    while length < size:
        item = f"{n * 7 % 1000}.5"
        items.append(item)
        length += len(item) + 2
        n += 1
    return f"data = [{', '.join(items)}]"


CELLS = {
    "1 KB": code_of_size(1_000),
    "20 KB": code_of_size(20_000),
    "100 KB": code_of_size(100_000),
    "100 KB, one line": one_line_of_size(100_000),
}


async def type_key(app: TimedApp, character: str) -> float:
    """Seconds from one key entering the app to the frame after the editor took it."""
    editor = app.pane.editor
    before = editor.cursor_location
    started = time.perf_counter()
    key = events.Key("enter", "\r") if character == "\n" else events.Key(
        _character_to_key(character), character)
    app._driver.send_message(key)
    while editor.cursor_location == before:
        if time.perf_counter() - started > TIMEOUT:
            raise RuntimeError(f"the editor did not take {character!r}")
        await asyncio.sleep(0.0002)
    frames = app.frames
    while app.frames == frames:
        if time.perf_counter() - started > TIMEOUT:
            raise RuntimeError(f"no frame after {character!r}")
        await asyncio.sleep(0.0002)
    return app.frame_at - started


async def burst(app: TimedApp, keys: int) -> dict[str, float]:
    """Type `keys` keys where the cursor is: keys per second, median latency, CPU per key."""
    latencies = []
    cpu = time.process_time()
    started = time.perf_counter()
    for n in range(keys):
        latencies.append(await type_key(app, TYPED[n % len(TYPED)]))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    return {"keys_per_s": keys / wall, "median_ms": median_ms(latencies),
            "max_ms": max(latencies) * 1000, "cpu_ms": cpu / keys * 1000,
            "stall_ms": await longest_stall(STALL_WATCH) * 1000}


async def longest_stall(seconds: float) -> float:
    """The longest the event loop was busy (agents' calls wait) in the next `seconds`."""
    worst, last = 0.0, time.perf_counter()
    end = last + seconds
    while last < end:
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        worst, last = max(worst, now - last), now
    return worst


async def measure(path: Path, keys: int, rounds: int) -> dict[tuple[str, str], list[dict]]:
    """Every burst of every round, by (cell, where)."""
    session = NotebookSession(path, autosave_seconds=0)

    async def start() -> tuple[None, None]:
        return None, None

    results: dict[tuple[str, str], list[dict]] = {}
    app = TimedApp(session, start=start)
    async with app.run_test(size=SIZE):
        await settle(app)
        pane = app.pane
        ids = [cell.id for cell in session.document.cells]
        for _ in range(rounds):
            for name, cell_id in zip(CELLS, ids, strict=True):
                pane.enter_edit(cell_id)
                await settle(app)
                for where in ("end", "start"):
                    if where == "start":
                        pane.editor.move_cursor((0, 0))
                        await settle(app)
                    results.setdefault((name, where), []).append(await burst(app, keys))
                pane.leave_edit()
                await settle(app)
    await app.finish(lambda s, lock, endpoint: s.close(save=False))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=40, help="keys per burst")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ.setdefault("NBTUI_RUNTIME_DIR", str(tmp / "run"))
        os.environ.setdefault("NBTUI_STATE_DIR", str(tmp / "state"))
        nb = new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nb.cells = [new_code_cell(source) for source in CELLS.values()]
        path = tmp / "typing.ipynb"
        nbformat.write(nb, path)
        results = asyncio.run(measure(path, args.keys, args.rounds))

    def med(name: str, where: str, key: str) -> float:
        return statistics.median(r[key] for r in results[(name, where)])

    print(f"{args.keys} keys per burst, {args.rounds} rounds (medians), {SIZE[0]}x{SIZE[1]}")
    print(f"{'cell':<18} {'typing at':<9} {'keys/s':>7} {'key to frame':>13} "
          f"{'max':>9} {'cpu/key':>9} {'then stalls':>12}")
    for name, where in results:
        print(f"{name:<18} {where:<9} {med(name, where, 'keys_per_s'):>7.1f} "
              f"{med(name, where, 'median_ms'):>10.1f} ms {med(name, where, 'max_ms'):>6.1f} ms "
              f"{med(name, where, 'cpu_ms'):>6.2f} ms {med(name, where, 'stall_ms'):>9.1f} ms")
    print("ratios to 1 KB (same place of typing)   keys/s   cpu/key")
    for big in ("20 KB", "100 KB", "100 KB, one line"):
        for where in ("end", "start"):
            speed = med(big, where, "keys_per_s") / med("1 KB", where, "keys_per_s")
            cost = med(big, where, "cpu_ms") / med("1 KB", where, "cpu_ms")
            print(f"  {big + ', at the ' + where:<36} {speed:>7.2f} {cost:>9.2f}")


if __name__ == "__main__":
    main()
