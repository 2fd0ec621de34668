"""Zooming and moving in the full-screen image view: `+`/`=` and `-` zoom, `0` fits the whole
picture again, the arrows and h/j/k/l move a zoomed picture; the part shown is cropped from the
picture before it is scaled to the cells."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from tui_helpers import running_app, screen_text, wait_until

from nbtui.tui.screens.image_view import ImageViewScreen, PictureLines, zoom_crop
from nbtui.tui.widgets import images

RED, GREEN, BLUE, WHITE = (200, 30, 30), (30, 160, 30), (30, 30, 200), (240, 240, 240)

WHOLE = (0, 0, 400, 200)


def quarters_output() -> dict[str, Any]:
    """A 400x200 picture in four coloured quarters: red, green above; blue, white below."""
    picture = Image.new("RGB", (400, 200), RED)
    picture.paste(GREEN, (200, 0, 400, 100))
    picture.paste(BLUE, (0, 100, 200, 200))
    picture.paste(WHITE, (200, 100, 400, 200))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(buffer.getvalue()).decode(),
                     "text/plain": "<Figure>"}}


def second_output() -> dict[str, Any]:
    """Another picture (plain grey, 100x100) for stepping between a cell's pictures."""
    buffer = io.BytesIO()
    Image.new("RGB", (100, 100), (128, 128, 128)).save(buffer, format="PNG")
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(buffer.getvalue()).decode()}}


def cell_with(*outputs: dict[str, Any]) -> dict[str, Any]:
    """A code cell with these outputs."""
    return {"cell_type": "code", "source": "plot()", "execution_count": 1, "metadata": {},
            "outputs": list(outputs)}


@pytest.fixture(autouse=True)
def fixed_cells() -> Iterator[None]:
    """Pictures are sized for 10x20-pixel cells: at 120x39 cells the quarters picture is
    fitted to 120x30 cells."""
    cell_size = images.set_cell_size(10, 20)
    yield
    images.set_cell_size(*cell_size)


def shown_colours(app: Any) -> set[tuple[int, int, int]]:
    """Which of the quarters' colours the view's half blocks show (each drawn colour taken as
    the nearest of them: scaling blends colours where quarters meet)."""
    (widget,) = app.screen.query(PictureLines)
    drawn = {tuple(segment.style.color.triplet) for line in widget.lines for segment in line
             if segment.style is not None and segment.style.color is not None}
    return {min((RED, GREEN, BLUE, WHITE),
                key=lambda quarter, colour=colour: sum((a - b) ** 2
                                                       for a, b in zip(quarter, colour,
                                                                       strict=True)))
            for colour in drawn}


async def open_view(app: Any, pilot: Any) -> ImageViewScreen:
    """Press `I` and wait for the picture."""
    await pilot.press("I")
    await wait_until(pilot, lambda: app.screen.query(PictureLines), what="the picture")
    assert isinstance(app.screen, ImageViewScreen)
    return app.screen


async def crop_after(pilot: Any, view: ImageViewScreen, *keys: str) -> Any:
    """The part of the picture shown once the keys are handled."""
    await pilot.press(*keys)
    await pilot.pause()
    return view.crop


def test_zoom_crop_is_the_part_a_zoom_shows_kept_inside_the_picture() -> None:
    """At zoom 1 the whole picture is shown; at zoom 2 a part of half its width (the box is as
    wide as the fitted picture) and of the box's height, moved inside the picture at edges."""
    assert zoom_crop((400, 200), (120, 30), (120, 39), 1.0, (0.5, 0.5)) == WHOLE
    assert zoom_crop((400, 200), (120, 30), (120, 39), 2.0, (0.5, 0.5)) == (100, 35, 300, 165)
    assert zoom_crop((400, 200), (120, 30), (120, 39), 2.0, (0.0, 0.0)) == (0, 0, 200, 130)
    assert zoom_crop((400, 200), (120, 30), (120, 39), 2.0, (2.0, 1.0)) == (200, 70, 400, 200)


async def test_plus_zooms_on_the_middle_and_says_where(notebook: Callable[..., Path]) -> None:
    """`+` and `=` each zoom one step (1.5×, then 2×) on the picture's middle; the picture
    still fills the screen's width and the bottom line gives the zoom and the part shown."""
    async with running_app(notebook([cell_with(quarters_output())])) as (app, pilot):
        view = await open_view(app, pilot)
        assert view.crop == WHOLE
        assert "400×200 pixels · +: zoom · esc: close" in screen_text(app)
        assert await crop_after(pilot, view, "plus") == (66, 14, 333, 187)
        assert await crop_after(pilot, view, "equals_sign") == (100, 35, 300, 165)
        (widget,) = view.query(PictureLines)
        assert (widget.region.width, widget.region.height) == (120, 39)
        assert "zoom 2×: x 100–300, y 35–165" in screen_text(app)
        assert "arrows: move · -: out · 0: fit · esc: close" in screen_text(app)


async def test_zooming_crops_the_picture_before_it_is_drawn(
        notebook: Callable[..., Path]) -> None:
    """Zoomed in all the way (8×) and moved to the top left corner, the screen shows only the
    red quarter, in all of its cells (but a row: 50x32 pixels have not quite the box's shape);
    `0` shows the four quarters again."""
    async with running_app(notebook([cell_with(quarters_output())])) as (app, pilot):
        view = await open_view(app, pilot)
        assert shown_colours(app) == {RED, GREEN, BLUE, WHITE}
        assert await crop_after(pilot, view, *["plus"] * 10) == (175, 84, 225, 116)
        assert "zoom 8×" in screen_text(app)
        assert await crop_after(pilot, view, *["h"] * 20, *["k"] * 20) == (0, 0, 50, 32)
        assert shown_colours(app) == {RED}
        (widget,) = view.query(PictureLines)
        assert (widget.region.width, widget.region.height) == (120, 38)
        assert await crop_after(pilot, view, "0") == WHOLE
        assert shown_colours(app) == {RED, GREEN, BLUE, WHITE}
        assert "+: zoom" in screen_text(app)


async def test_moving_stops_at_the_edges_and_comes_back_at_once(
        notebook: Callable[..., Path]) -> None:
    """At 2×, `l`/`right` move a quarter of the shown width (50 pixels) until the right edge;
    more presses stay there and one `h` moves back at once; `j`/`down` and `k`/`up` likewise
    stop at the bottom and the top."""
    async with running_app(notebook([cell_with(quarters_output())])) as (app, pilot):
        view = await open_view(app, pilot)
        await crop_after(pilot, view, "plus", "plus")
        assert await crop_after(pilot, view, "l") == (150, 35, 350, 165)
        assert await crop_after(pilot, view, "right") == (200, 35, 400, 165)
        assert await crop_after(pilot, view, "right", "right", "l") == (200, 35, 400, 165)
        assert await crop_after(pilot, view, "h") == (150, 35, 350, 165)
        assert await crop_after(pilot, view, "left") == (100, 35, 300, 165)
        assert await crop_after(pilot, view, "down", "j", "j") == (100, 70, 300, 200)
        assert await crop_after(pilot, view, "k") == (100, 38, 300, 168)
        assert await crop_after(pilot, view, "up", "up") == (100, 0, 300, 130)


async def test_minus_zooms_out_and_stops_at_the_whole_picture(
        notebook: Callable[..., Path]) -> None:
    """`-` zooms out one step around the same middle; at the whole picture it stays there."""
    async with running_app(notebook([cell_with(quarters_output())])) as (app, pilot):
        view = await open_view(app, pilot)
        await crop_after(pilot, view, "plus", "plus", "plus", "h", "k")
        assert view.crop == (100, 35, 233, 122)
        assert await crop_after(pilot, view, "minus") == (67, 13, 267, 143)
        assert await crop_after(pilot, view, "minus", "minus", "minus") == WHOLE
        assert "+: zoom" in screen_text(app)


async def test_arrows_step_through_pictures_only_when_not_zoomed(
        notebook: Callable[..., Path]) -> None:
    """Not zoomed, h/j/k/l do nothing and `left` steps to the cell's other picture; zoomed,
    `left`/`right` move instead; `n` steps even when zoomed, and shows the next picture
    whole."""
    cell = cell_with(second_output(), quarters_output())
    async with running_app(notebook([cell])) as (app, pilot):
        view = await open_view(app, pilot)
        assert await crop_after(pilot, view, "h", "j", "k", "l") == WHOLE
        assert view.index == 1
        await crop_after(pilot, view, "plus", "plus")
        assert await crop_after(pilot, view, "left") == (50, 35, 250, 165)
        assert view.index == 1
        assert await crop_after(pilot, view, "n") == (0, 0, 100, 100)
        assert view.index == 0 and view.zoom == 0
        await crop_after(pilot, view, "right")
        assert view.index == 1 and view.crop == WHOLE


async def test_a_zoomed_sixel_picture_is_the_crop(notebook: Callable[..., Path],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the terminal draws sixel, zooming replaces the sixel widget by one showing only
    the shown part, as large as a sixel picture may be (1000 pixels: 100 columns; at 2× half
    the picture's width and the 39 rows' worth of its height)."""
    monkeypatch.setenv("NBTUI_IMAGES", "sixel")
    mode = images.set_image_mode(None)
    try:
        async with running_app(notebook([cell_with(quarters_output())])) as (app, pilot):
            await pilot.press("I")
            (widget,) = await wait_until(pilot, lambda: list(app.screen.query(".nbtui-sixel")),
                                         what="the view's sixel widget")
            assert widget.image.size == (400, 200)
            await pilot.press("plus", "plus")

            def zoomed() -> Any:
                shown = list(app.screen.query(".nbtui-sixel"))
                return shown if shown and shown[0].image.size != (400, 200) else None

            (widget,) = await wait_until(pilot, zoomed, what="the zoomed sixel widget")
            left, top, right, bottom = app.screen.crop
            assert widget.image.size == (right - left, bottom - top) == (200, 156)
            assert widget.region.width == 100
    finally:
        images.set_image_mode(mode)


async def test_zooming_a_picture_that_cannot_be_drawn_changes_nothing(
        notebook: Callable[..., Path]) -> None:
    """A cell's picture PIL cannot read is shown as a note; `+` and the arrows keep the note
    and the bottom line offers no zoom; `n` to a readable picture shows it whole, and back from
    it zoomed, no part of it is said to be shown."""
    broken = {"output_type": "display_data", "metadata": {},
              "data": {"image/png": base64.b64encode(b"not a picture").decode()}}
    async with running_app(notebook([cell_with(quarters_output(), broken)])) as (app, pilot):
        await pilot.press("I")
        await wait_until(pilot, lambda: "[image: cannot draw]" in screen_text(app),
                         what="the note")
        view = app.screen
        assert isinstance(view, ImageViewScreen)
        assert await crop_after(pilot, view, "plus", "plus", "down") is None
        assert "[image: cannot draw]" in screen_text(app)
        assert "Cell 1, image 2 of 2 · n/p: other images · esc: close" in screen_text(app)
        assert await crop_after(pilot, view, "n") == WHOLE
        assert await crop_after(pilot, view, "plus") != WHOLE
        assert await crop_after(pilot, view, "n") is None
        assert "Cell 1, image 2 of 2 · n/p: other images · esc: close" in screen_text(app)
