"""A collapsed long output shows its first lines and its last ones, with a "more lines" marker
between them; `o` expands it to show everything."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rich.console import Console
from test_sixel import PICTURE, ROWS, png_base64, sixel_terminal  # noqa: F401 (a fixture)
from tui_helpers import running_app, screen_text, wait_until

from nbtui.tui.widgets.cell_render import COLLAPSED_LINES, TAIL_LINES, CellPainter, Palette

HEAD_LINES = COLLAPSED_LINES - TAIL_LINES
EXCEPTION_LINE = "ZeroDivisionError: division by zero"


def code_cell(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """A run code cell with these outputs."""
    return {"cell_type": "code", "source": "run()", "metadata": {}, "execution_count": 1,
            "outputs": outputs}


def stream(count: int) -> dict[str, Any]:
    """A stdout stream of `count` lines, "line 0" to "line {count - 1}"."""
    return {"output_type": "stream", "name": "stdout",
            "text": "".join(f"line {i}\n" for i in range(count))}


def traceback(frames: int) -> dict[str, Any]:
    """An error output as IPython sends it (ANSI colours, one frame per call) ending in the
    exception line."""
    red, reset = "\x1b[0;31m", "\x1b[0m"
    entries = [f"{red}{'-' * 75}{reset}",
               f"{red}ZeroDivisionError{reset}                         Traceback (most recent "
               "call last)"]
    entries += [f"Cell {red}In[1], line {n + 2}{reset}, in {red}f{n}{reset}()\n"
                f"{red}----> {n + 2}{reset} return f{n + 1}()\n" for n in range(frames)]
    entries.append(f"{red}ZeroDivisionError{reset}: division by zero")
    return {"output_type": "error", "ename": "ZeroDivisionError",
            "evalue": "division by zero", "traceback": entries}


def numbered_lines(screen: str) -> set[int]:
    """The numbers of the "line N" lines on the screen."""
    return {int(number) for number in re.findall(r"\bline (\d+)$", screen, re.MULTILINE)}


async def test_a_collapsed_long_stream_shows_its_first_and_last_lines_and_o_shows_all(notebook):
    """200 lines collapsed: the first lines, a marker counting the rest, the last lines; `o`
    then shows all 200 lines and no marker."""
    path = notebook([code_cell([stream(200)])])
    async with running_app(path, size=(120, 240)) as (app, pilot):
        screen = screen_text(app)
        assert numbered_lines(screen) == {*range(HEAD_LINES), *range(200 - TAIL_LINES, 200)}
        assert "line 0" in screen and "line 199" in screen
        marker = f"… {200 - COLLAPSED_LINES} more lines (o expands)"
        assert marker in screen
        assert screen.index("line 19") < screen.index(marker) < screen.index("line 190")
        await pilot.press("o")
        await pilot.pause()
        screen = screen_text(app)
        assert numbered_lines(screen) == set(range(200))
        assert "more lines" not in screen


async def test_a_collapsed_traceback_shows_its_exception_line(notebook):
    """A long traceback collapsed keeps its header and its last line, the exception."""
    async with running_app(notebook([code_cell([traceback(40)])])) as (app, pilot):
        screen = screen_text(app)
        assert "more lines (o expands)" in screen
        assert "Traceback (most recent call last)" in screen
        assert EXCEPTION_LINE in screen
        assert screen.index("more lines") < screen.index(EXCEPTION_LINE)


async def test_a_real_kernels_long_traceback_collapsed_shows_the_exception_line(notebook):
    """A deep traceback from a real kernel is cut, and its exception line is still on screen."""
    calls = [f"def f{n}():\n    return f{n - 1}()" for n in range(1, 12)]
    source = "\n".join(["def f0():\n    return 1 / 0", *calls, "f11()"])
    async with running_app(notebook([("code", source)]), kernel=True,
                           size=(120, 60)) as (app, pilot):
        doc = app.session.document
        await wait_until(pilot, lambda: app.session.kernel.state == "idle", 30,
                         what="the kernel to be idle")
        await pilot.press("ctrl+e")
        await wait_until(pilot, lambda: any(output.get("output_type") == "error"
                                            for output in doc.cells[0].outputs), 30,
                         what="the traceback")
        await wait_until(pilot, lambda: EXCEPTION_LINE in screen_text(app),
                         what="the exception line on screen")
        screen = screen_text(app)
        assert "more lines (o expands)" in screen
        assert screen.index("more lines") < screen.index(EXCEPTION_LINE)


async def test_the_tail_comes_from_the_last_output(notebook):
    """A long log followed by an error: the log's first lines and the error's exception line."""
    async with running_app(notebook([code_cell([stream(100), traceback(3)])])) as (app, pilot):
        screen = screen_text(app)
        assert {*range(HEAD_LINES)} <= numbered_lines(screen)
        assert "line 99" not in screen
        assert EXCEPTION_LINE in screen
        assert "more lines (o expands)" in screen


def picture(size: tuple[int, int]) -> dict[str, Any]:
    """A display_data output with a PNG picture of `size` pixels."""
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": png_base64(size), "text/plain": "<Figure>"}}


@pytest.mark.usefixtures("sixel_terminal")
def test_a_sixel_picture_among_the_last_lines_keeps_its_slot() -> None:
    """A picture after a long log is drawn whole below the marker, its slot on its lines."""
    painter = CellPainter(Console(width=100), Palette())
    log = {"output_type": "stream", "name": "stdout", "text": "line\n" * 28}
    block = painter.outputs([log, picture(PICTURE)], 60, "collapsed")
    assert block.more_line == HEAD_LINES
    assert "more lines" in block.lines[HEAD_LINES].text
    [slot] = block.images
    assert (slot.output_index, slot.rows) == (1, ROWS)
    assert slot.line + slot.rows == len(block.lines)
    assert block.more == 28 + ROWS - COLLAPSED_LINES


@pytest.mark.usefixtures("sixel_terminal")
def test_a_sixel_picture_taller_than_the_tail_is_a_note() -> None:
    """A last picture too tall for the tail is a one-line note (a widget cannot draw part of
    it) below the marker, and gets no slot."""
    painter = CellPainter(Console(width=100), Palette())
    log = {"output_type": "stream", "name": "stdout", "text": "line\n" * 28}
    block = painter.outputs([log, picture((200, 300))], 60, "collapsed")
    assert block.images == []
    assert block.more_line == HEAD_LINES
    assert block.lines[-1].text.strip() == "[image: 200x300, cut]"
