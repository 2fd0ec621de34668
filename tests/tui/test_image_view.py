"""The full-screen image view: `I` (or the palette) shows the selected cell's picture fitted to
the whole terminal, `n`/`p` step through the cell's pictures, `esc`/`q` close it."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from tui_helpers import SIZE, running_app, screen_text, wait_until

from nbtui.tui.screens.image_view import ImageViewScreen, PictureLines
from nbtui.tui.widgets import images

RED, BLUE = (200, 30, 30), (30, 30, 200)


def picture_output(colour: tuple[int, int, int], size: tuple[int, int] = (200, 100)
                   ) -> dict[str, Any]:
    """A display_data output holding a plain picture of one colour."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(buffer.getvalue()).decode(),
                     "text/plain": "<Figure>"}}


def cell_with(*outputs: dict[str, Any]) -> dict[str, Any]:
    """A code cell with these outputs."""
    return {"cell_type": "code", "source": "plot()", "execution_count": 1, "metadata": {},
            "outputs": list(outputs)}


@pytest.fixture(autouse=True)
def fixed_cells() -> Iterator[None]:
    """Pictures are sized for 10x20-pixel cells, whatever the terminal running the tests."""
    cell_size = images.set_cell_size(10, 20)
    yield
    images.set_cell_size(*cell_size)


def shown_colours(app: Any) -> set[str]:
    """The colours of the half blocks the image view draws."""
    (widget,) = app.screen.query(PictureLines)
    return {str(segment.style.color.triplet.hex) for line in widget.lines for segment in line
            if segment.style is not None and segment.style.color is not None}


async def test_i_shows_the_cells_last_picture_filling_the_terminal_and_n_p_step(
        notebook: Callable[..., Path]) -> None:
    """`I` on a cell with two pictures shows the last one as large as the terminal allows
    (200x100 pixels at 10x20-pixel cells in 120 columns: 120x30 cells, enlarged), `p`/`left`
    show the other, `n`/`right` come back, and the bottom line says which it is."""
    path = notebook([cell_with(picture_output(RED), {"output_type": "stream", "name": "stdout",
                                                     "text": "done\n"}, picture_output(BLUE))])
    async with running_app(path) as (app, pilot):
        await pilot.press("I")
        await wait_until(pilot, lambda: app.screen.query(PictureLines), what="the picture")
        assert isinstance(app.screen, ImageViewScreen)
        (widget,) = app.screen.query(PictureLines)
        assert (widget.region.width, widget.region.height) == (SIZE[0], 30)
        assert shown_colours(app) == {"#1e1ec8"}
        assert "Cell 1, image 2 of 2 · 200×100 pixels" in screen_text(app)
        for key, colour in [("p", "#c81e1e"), ("n", "#1e1ec8"), ("left", "#c81e1e"),
                            ("right", "#1e1ec8")]:
            await pilot.press(key)
            await wait_until(pilot, lambda colour=colour: shown_colours(app) == {colour},
                             what=f"the picture after {key}")


@pytest.mark.parametrize("key", ["escape", "q"])
async def test_esc_and_q_close_the_view(notebook: Callable[..., Path], key: str) -> None:
    """`esc` or `q` goes back to the notebook."""
    async with running_app(notebook([cell_with(picture_output(RED))])) as (app, pilot):
        await pilot.press("I")
        await wait_until(pilot, lambda: isinstance(app.screen, ImageViewScreen), what="view")
        await pilot.press(key)
        await wait_until(pilot, lambda: not isinstance(app.screen, ImageViewScreen),
                         what="the notebook again")
        assert len(app.screen_stack) == 1


async def test_a_cell_without_a_picture_says_so(notebook: Callable[..., Path]) -> None:
    """`I` on a cell without an image output opens nothing and says so in one line."""
    async with running_app(notebook([("code", "x = 1")])) as (app, pilot):
        await pilot.press("I")
        await wait_until(pilot, lambda: [n.message for n in app._notifications]
                         == ["Cell 1 has no image output."], what="the notification")
        assert len(app.screen_stack) == 1


async def test_the_palette_opens_the_view(notebook: Callable[..., Path]) -> None:
    """The palette offers the view by its name and opens it."""
    async with running_app(notebook([cell_with(picture_output(RED))])) as (app, pilot):
        await pilot.press("ctrl+p")
        await pilot.press(*"Show the cell's image full screen")
        await wait_until(pilot, lambda: "Show the cell's image full screen" in screen_text(app),
                         what="the palette entry")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ImageViewScreen), what="view")


async def test_a_picture_follows_the_terminals_size(notebook: Callable[..., Path]) -> None:
    """After the terminal is resized the picture is fitted to the new size."""
    async with running_app(notebook([cell_with(picture_output(RED))])) as (app, pilot):
        await pilot.press("I")
        await wait_until(pilot, lambda: app.screen.query(PictureLines), what="the picture")
        await pilot.resize_terminal(60, 20)
        await wait_until(pilot, lambda: [(w.region.width, w.region.height)
                                         for w in app.screen.query(PictureLines)] == [(60, 15)],
                         what="the picture fitted to 60x15 cells")


async def test_sixel_terminals_get_a_sixel_widget_in_the_middle(
        notebook: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the terminal draws sixel, the view floats one sixel widget of the fitted size (at
    most 1000 pixels wide: 100 columns of 10 pixels) in the middle of the screen, and the
    notebook's own picture widget is back after closing."""
    monkeypatch.setenv("NBTUI_IMAGES", "sixel")
    mode = images.set_image_mode(None)
    try:
        async with running_app(notebook([cell_with(picture_output(RED))])) as (app, pilot):
            await wait_until(pilot, lambda: app.query(".nbtui-sixel"), what="notebook sixel")
            await pilot.press("I")
            (widget,) = await wait_until(pilot, lambda: list(app.screen.query(".nbtui-sixel")),
                                         what="the view's sixel widget")
            assert widget.region.size == (100, 25)
            assert (widget.region.x, widget.region.y) == ((SIZE[0] - 100) // 2,
                                                          (SIZE[1] - 1 - 25) // 2)
            await pilot.press("escape")
            await wait_until(pilot, lambda: list(app.screen.query(".nbtui-sixel")),
                             what="the notebook's sixel widget")
    finally:
        images.set_image_mode(mode)


async def test_kitty_terminals_get_placeholders(notebook: Callable[..., Path],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the terminal shows kitty graphics, the view's lines are kitty placeholders."""
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.delenv("NO_COLOR", raising=False)
    mode = images.set_image_mode("kitty")
    try:
        async with running_app(notebook([cell_with(picture_output(RED))])) as (app, pilot):
            await pilot.press("I")
            (widget,) = await wait_until(pilot, lambda: list(app.screen.query(PictureLines)),
                                         what="the picture")
            assert all("\U0010eeee" in line.text for line in widget.lines)
            assert len(widget.lines) == 30
    finally:
        images.set_image_mode(mode)


def test_sixel_pictures_stay_within_what_xterm_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    """With large cells (12x24 pixels), a sixel picture, full-screen or in the notebook, is at
    most 1000x1000 pixels: xterm drops larger ones whole."""
    monkeypatch.setenv("NBTUI_IMAGES", "sixel")
    mode = images.set_image_mode(None)
    images.set_cell_size(12, 24)
    try:
        raw = base64.b64decode(picture_output(RED, (600, 300))["data"]["image/png"])
        full = images.fill_picture(raw, 120, 39)
        assert full is not None and (full.columns, full.rows) == (83, 21)
        wide = images.fit_picture(base64.b64decode(
            picture_output(RED, (1600, 400))["data"]["image/png"]), 110)
        assert wide is not None and wide.columns * 12 <= 1000 and wide.columns == 83
    finally:
        images.set_image_mode(mode)
