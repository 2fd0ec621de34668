"""Sixel pictures: blank slots in the notebook's lines, and widgets floated over those on screen."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from PIL import Image
from rich.console import Console
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static
from tui_helpers import running_app, screen_text, wait_until

from nbtui.core.document import Document
from nbtui.tui.widgets import images
from nbtui.tui.widgets.cell_render import CellPainter, Palette
from nbtui.tui.widgets.notebook_view import PROMPT_WIDTH, NotebookView

PICTURE = (200, 100)
"""Pixels of the test pictures: 20 columns by 5 lines at 10x20-pixel cells."""

COLUMNS, ROWS = 20, 5


def png_base64(size: tuple[int, int] = PICTURE) -> str:
    """A plain red picture as base64 PNG, the way a kernel sends it."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def image_cell(source: str = "plot()") -> dict[str, Any]:
    """A code cell whose one output is a picture."""
    output = {"output_type": "display_data", "metadata": {},
              "data": {"image/png": png_base64(), "text/plain": "<Figure>"}}
    return {"cell_type": "code", "source": source, "execution_count": 1, "metadata": {},
            "outputs": [output]}


@pytest.fixture
def sixel_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A terminal that draws sixel, with 10x20-pixel cells, as images.py detects it."""
    monkeypatch.setenv("NBTUI_IMAGES", "sixel")
    cell_size = images.set_cell_size(10, 20)
    mode = images.set_image_mode(None)
    yield
    images.set_image_mode(mode)
    images.set_cell_size(*cell_size)


def sixel_widgets(app: App[Any]) -> list[Widget]:
    """The sixel picture widgets mounted in the app."""
    return list(app.query(".nbtui-sixel"))


def slot_region(view: NotebookView, cell_id: str) -> Region:
    """Where on the screen the cell's (first) image slot is."""
    ((line, slot),) = view.image_slots(cell_id)
    row = view.screen_row(cell_id)
    assert row is not None
    area = view.scrollable_content_region
    return Region(area.x + PROMPT_WIDTH, area.y + row + line, slot.columns, slot.rows)


def on_screen(view: NotebookView, cell_id: str) -> bool:
    """Whether any line of the cell's image slot is on screen."""
    row = view.screen_row(cell_id)
    slots = view.image_slots(cell_id)
    return row is not None and any(row + line + slot.rows > 0
                                   and row + line < view.scrollable_content_region.height
                                   for line, slot in slots)


def scroll_to(view: NotebookView, line: int) -> None:
    """Scroll the notebook so that `line` of the whole list is the top row."""
    view.scroll_to(y=line, animate=False, immediate=True)


async def test_an_image_gets_one_sixel_widget_over_its_slot(
        sixel_terminal: None, notebook: Callable[..., Path]) -> None:
    """In sixel mode an image output leaves blank lines of its size, and exactly one sixel
    widget covers those screen rows."""
    path = notebook([("code", "x = 1"), image_cell(), ("code", "y = 2")])
    async with running_app(path) as (app, pilot):
        view = app.query_one(NotebookView)
        cell_id = view.cell_ids[1]
        (widget,) = await wait_until(pilot, lambda: sixel_widgets(app), what="a sixel widget")
        ((line, slot),) = view.image_slots(cell_id)
        assert (line, slot.output_index, slot.columns, slot.rows) == (1, 0, COLUMNS, ROWS)
        assert widget.region == slot_region(view, cell_id)
        top = view.screen_row(cell_id)
        assert top is not None
        under = view.visible_text().splitlines()[top + 1: top + 1 + ROWS]
        assert all(not text.strip() for text in under)
        await pilot.pause()
        assert len(sixel_widgets(app)) == 1


async def test_scrolling_moves_crops_removes_and_places_the_picture_again(
        sixel_terminal: None, notebook: Callable[..., Path]) -> None:
    """Scrolling moves the widget with its slot, a picture half off the top is drawn cropped at
    the view's edge, one scrolled off screen loses its widget, and scrolling back puts a widget
    on its slot's rows again."""
    path = notebook([("code", "x = 1"), image_cell(), *[("code", f"y{i}") for i in range(40)]])
    async with running_app(path) as (app, pilot):
        view = app.query_one(NotebookView)
        cell_id = view.cell_ids[1]
        await wait_until(pilot, lambda: sixel_widgets(app), what="a sixel widget")
        top = view.cell_top(cell_id)
        assert top is not None

        scroll_to(view, top + 3)
        expected = slot_region(view, cell_id)
        assert expected.y < view.region.y
        await wait_until(pilot, lambda: [w.region for w in sixel_widgets(app)] == [expected],
                         what="the widget moved with its slot")
        (widget,) = sixel_widgets(app)
        visible = app.screen.find_widget(widget).visible_region
        assert visible == Region(expected.x, view.region.y, COLUMNS, ROWS - 2)

        scroll_to(view, top + 20)
        await wait_until(pilot, lambda: not sixel_widgets(app), what="the widget removed")

        scroll_to(view, 0)
        await wait_until(pilot, lambda: [w.region for w in sixel_widgets(app)]
                         == [slot_region(view, cell_id)], what="the widget placed again")


async def test_fifty_images_mount_widgets_only_for_those_on_screen(
        sixel_terminal: None, notebook: Callable[..., Path]) -> None:
    """A notebook of 50 pictures has widgets for the pictures on screen only, wherever it is
    scrolled."""
    path = notebook([image_cell(f"plot({i})") for i in range(50)])
    async with running_app(path) as (app, pilot):
        view = app.query_one(NotebookView)

        def placed_as_expected() -> bool:
            shown = [cid for cid in view.cell_ids if on_screen(view, cid)]
            regions = sorted(w.region.y for w in sixel_widgets(app))
            return bool(shown) and regions == sorted(slot_region(view, c).y for c in shown)

        await wait_until(pilot, placed_as_expected, what="widgets over the slots on screen")
        assert 0 < len(sixel_widgets(app)) < 10
        for line in (200, view.virtual_size.height):
            scroll_to(view, line)
            await wait_until(pilot, placed_as_expected, what=f"widgets at line {line}")
            assert 0 < len(sixel_widgets(app)) < 10


async def test_half_block_mode_mounts_no_image_widgets(notebook: Callable[..., Path]) -> None:
    """With half blocks (the default of these tests) pictures are drawn in the lines and no
    image widget is mounted."""
    images.set_image_mode(None)
    path = notebook([image_cell()])
    async with running_app(path) as (app, pilot):
        view = app.query_one(NotebookView)
        await wait_until(pilot, lambda: "▀" in screen_text(app), what="half blocks")
        assert sixel_widgets(app) == []
        assert view.image_slots(view.cell_ids[0]) == []


def test_a_picture_cut_by_the_output_limit_is_a_note_not_a_slot(sixel_terminal: None) -> None:
    """A sixel picture that does not fit in the collapsed outputs' first lines is shown as a
    one-line note (a widget cannot draw part of it), and no slot is recorded for it."""
    painter = CellPainter(Console(width=100), Palette())
    text = {"output_type": "stream", "name": "stdout", "text": "line\n" * 28}
    picture = image_cell()["outputs"][0]
    block = painter.outputs([{**text, "text": "line\n" * 18}, picture, text], 60, "collapsed")
    assert block.images == []
    assert block.lines[18].text.strip() == "[image: 200x100, cut]"


class ViewBelowAHeader(App[None]):
    """The notebook view under a header in the same parent: the parent clips where the view
    does not."""

    CSS = "Static { height: 2; }"

    def __init__(self, document: Document) -> None:
        super().__init__()
        self.document = document

    def compose(self) -> ComposeResult:
        with Vertical(id="parent"):
            yield Static("header")
            yield NotebookView(self.document)


async def test_a_picture_partly_outside_a_view_its_parent_does_not_clip_is_a_note(
        sixel_terminal: None, notebook: Callable[..., Path]) -> None:
    """Where the view's parent would not crop a widget at the view's edge, a picture partly
    off screen gets no widget; its first line on screen says what is there instead."""
    path = notebook([image_cell(), *[("code", f"y{i}") for i in range(40)]])
    nb = nbformat.read(path, as_version=4)
    app = ViewBelowAHeader(Document(nb, str(path)))
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(NotebookView)
        await wait_until(pilot, lambda: sixel_widgets(app), what="the whole picture placed")
        scroll_to(view, 2)
        await wait_until(pilot, lambda: not sixel_widgets(app), what="the widget removed")
        first = view.visible_text().splitlines()[0]
        assert first[PROMPT_WIDTH:] == "[image: 200x100, scroll to see]"
        scroll_to(view, 0)
        await wait_until(pilot, lambda: sixel_widgets(app), what="the widget placed again")
        assert "scroll to see" not in view.visible_text()
