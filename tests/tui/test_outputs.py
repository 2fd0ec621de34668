"""How outputs look: streams, tracebacks, HTML tables, JSON, markdown, images, floods."""

from __future__ import annotations

import base64
import io
import time

from PIL import Image
from tui_helpers import running_app, wait_until

from nbtui.tui.widgets import cell_render


def code_cell(*outputs: dict, source: str = "x") -> dict:
    return {"cell_type": "code", "source": source, "metadata": {}, "execution_count": 7,
            "outputs": list(outputs)}


def result(data: dict) -> dict:
    return {"output_type": "execute_result", "execution_count": 7, "data": data,
            "metadata": {}}


def png(width: int, height: int, colour: tuple[int, int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def line_styles(view, needle: str) -> list:
    for y in range(view.scrollable_content_region.height):
        strip = view.render_line(y)
        if needle in strip.text:
            return [segment.style for segment in strip if needle in segment.text or
                    segment.text.strip() and segment.text.strip() in needle]
    raise AssertionError(f"{needle!r} is not on screen")


async def test_streams_results_and_ansi_tracebacks(notebook):
    """stdout, stderr, a result and a coloured traceback are all shown; ANSI becomes colour."""
    traceback = ["\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"]
    cell = code_cell(
        {"output_type": "stream", "name": "stdout", "text": "to stdout\n"},
        {"output_type": "stream", "name": "stderr", "text": "to stderr\n"},
        result({"text/plain": "'a result'"}),
        {"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero",
         "traceback": traceback},
    )
    async with running_app(notebook([cell])) as (app, pilot):
        text = app.view.visible_text()
        for expected in ("[7] x", "to stdout", "to stderr", "'a result'",
                         "ZeroDivisionError: division by zero"):
            assert expected in text
        assert "\x1b" not in text
        styles = line_styles(app.view, "ZeroDivisionError")
        assert any(style is not None and style.color is not None and style.color.number == 1
                   for style in styles)


async def test_html_tables_json_and_markdown_outputs(notebook):
    """HTML is reduced to text with tables as columns; JSON is pretty; markdown is rendered."""
    html = ("<table><tr><th>name</th><th>score</th></tr>"
            "<tr><td>alice</td><td>10</td></tr><tr><td>bob</td><td>7</td></tr></table>")
    cell = code_cell(
        result({"text/html": html, "text/plain": "<DataFrame>"}),
        {"output_type": "display_data", "metadata": {},
         "data": {"application/json": {"answer": 42, "items": [1, 2]}}},
        {"output_type": "display_data", "metadata": {},
         "data": {"text/markdown": "Some **bold** words", "text/plain": "md"}},
    )
    async with running_app(notebook([cell])) as (app, pilot):
        lines = app.view.visible_text().splitlines()
        header = next(line for line in lines if "name" in line and "score" in line)
        alice = next(line for line in lines if "alice" in line)
        assert header.index("score") + len("score") == alice.index("10") + len("10")
        assert any('"answer": 42' in line for line in lines)
        assert any("Some bold words" in line for line in lines)
        assert not any("<td>" in line for line in lines)


async def test_images_are_drawn_with_half_blocks(notebook):
    """A PNG output is drawn with half-block characters in its colours (tmux and headless)."""
    cell = code_cell({"output_type": "display_data", "metadata": {},
                      "data": {"image/png": png(80, 40, (255, 0, 0)),
                               "text/plain": "<Figure size 80x40>"}})
    async with running_app(notebook([cell])) as (app, pilot):
        text = app.view.visible_text()
        assert "▀" in text
        assert "<Figure" not in text
        styles = line_styles(app.view, "▀▀▀")
        assert any(style.color is not None and style.color.triplet == (255, 0, 0)
                   for style in styles if style is not None)


async def test_broken_images_say_so(notebook):
    """An image that does not decode shows a short note instead of breaking the view."""
    cell = code_cell({"output_type": "display_data", "metadata": {},
                      "data": {"image/png": base64.b64encode(b"not a png").decode()}})
    async with running_app(notebook([cell])) as (app, pilot):
        assert "[image/png: cannot draw]" in app.view.visible_text()


async def test_an_output_flood_is_coalesced_and_keys_stay_responsive(notebook, monkeypatch):
    """Thousands of output updates in a burst cause a handful of redraws, and j still works."""
    redraws = []
    original = cell_render.CellPainter.outputs

    def counting(self, outputs, width, fold):
        redraws.append(time.monotonic())
        return original(self, outputs, width, fold)

    monkeypatch.setattr(cell_render.CellPainter, "outputs", counting)
    async with running_app(notebook(3)) as (app, pilot):
        doc = app.session.document
        target = doc.cells[0].id
        redraws.clear()
        text = ""
        for i in range(3000):
            text += f"line {i}\n"
            doc.set_outputs(target, [{"output_type": "stream", "name": "stdout", "text": text}])
        started = time.monotonic()
        await pilot.press("j")
        assert app.view.selected_index == 1
        assert time.monotonic() - started < 1.0
        await wait_until(pilot, lambda: "2,970 more lines" in app.view.visible_text(),
                         what="the final output")
        assert len(redraws) < 20
