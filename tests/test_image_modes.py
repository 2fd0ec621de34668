"""Pictures drawn as text in the colours the terminal has (chafa's canvas mode and palette)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image, ImageDraw
from rich.console import Console

from nbtui.tui.widgets import images


@pytest.fixture(autouse=True)
def text_pictures() -> Iterator[None]:
    previous_mode = images.set_image_mode("symbols")
    previous_cell = images.set_cell_size(10, 20)
    yield
    images.set_image_mode(previous_mode)
    images.set_cell_size(*previous_cell)


def console(color_system: str | None, no_color: bool = False) -> Console:
    return Console(color_system=color_system, no_color=no_color, width=100,  # type: ignore[arg-type]
                   force_terminal=True)


def light_plot() -> bytes:
    """A plot-like picture: a light grey area with thin blue and orange lines and dark text."""
    picture = Image.new("RGB", (600, 400), (255, 255, 255))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((60, 40, 580, 360), fill=(234, 234, 242))
    draw.line([(60, 340), (200, 250), (350, 280), (580, 60)], fill=(76, 114, 176), width=2)
    draw.line([(60, 300), (220, 120), (400, 200), (580, 100)], fill=(221, 132, 82), width=2)
    draw.text((250, 10), "Weekly sales by store", fill=(38, 38, 38))
    raw = io.BytesIO()
    picture.save(raw, format="PNG")
    return raw.getvalue()


def drawn(raw: bytes, target: Console, mode: images.ImageMode = "symbols") -> list[list]:
    images.set_image_mode(mode)
    lines = images.image_lines(raw, target, target.options, 40)
    assert lines is not None
    return lines


def colours(lines: list[list]) -> set[tuple[int, int, int]]:
    """The RGB values of every foreground and background colour in the lines."""
    found = set()
    for line in lines:
        for segment in line:
            for colour in (segment.style.color, segment.style.bgcolor) if segment.style else ():
                if colour is not None:
                    found.add(tuple(colour.get_truecolor()))
    return found


@pytest.mark.parametrize(("color_system", "mode"), [
    ("truecolor", "TRUECOLOR"), ("256", "INDEXED_240"), ("standard", "TRUECOLOR"),
    ("windows", "TRUECOLOR"), (None, "FGBG")])
def test_chafas_canvas_mode_follows_the_terminals_colours(color_system: str | None,
                                                           mode: str) -> None:
    """chafa draws in 24-bit colour, in the 240 colours of the 256 the terminal does not
    define itself, in 16 palette colours (a picture already in them), or in shapes only."""
    assert images.chafa_canvas_mode(console(color_system)) == mode


def test_no_color_draws_shapes_only() -> None:
    """With NO_COLOR a picture is shapes in the terminal's own two colours."""
    assert images.chafa_canvas_mode(console("truecolor", no_color=True)) == "FGBG"
    lines = drawn(light_plot(), console("truecolor", no_color=True))
    assert colours(lines) == set()


def test_sixteen_colours_use_only_the_palettes_colours() -> None:
    """In 16 colours every colour of a drawn picture is one of the palette's, exactly the
    value Textual brings back down to that palette colour."""
    from rich._palettes import STANDARD_PALETTE

    palette = {tuple(STANDARD_PALETTE[index]) for index in range(16)}
    lines = drawn(light_plot(), console("standard"))
    assert colours(lines) and colours(lines) <= palette


def shown_in_sixteen_colours(lines: list[list]) -> list[tuple[int, set[tuple[int, ...]]]]:
    """Each segment's width and the palette colours a 16-colour terminal shows it in (what
    Textual brings its colours down to)."""
    from rich._palettes import STANDARD_PALETTE
    from rich.color import ColorSystem

    shown = []
    for line in lines:
        for segment in line:
            found = set()
            for colour in (segment.style.color, segment.style.bgcolor) if segment.style else ():
                if colour is not None:
                    number = colour.downgrade(ColorSystem.STANDARD).number
                    found.add(tuple(STANDARD_PALETTE[number]))
            shown.append((segment.cell_length, found))
    return shown


@pytest.mark.parametrize("mode", ["symbols", "halfblock"])
def test_a_plot_in_sixteen_colours_keeps_its_lines(mode: images.ImageMode) -> None:
    """In 16 colours the thin lines of a light plot are still on screen in colours other
    than the background's (not turned into it, leaving a few specks); half blocks stay
    half blocks."""
    lines = drawn(light_plot(), console("standard"), mode)
    white, grey = (255, 255, 255), (170, 170, 170)
    shown = shown_in_sixteen_colours(lines)
    seen = set().union(*(found for _, found in shown))
    cells_with_lines = sum(width for width, found in shown if found - {white, grey})
    assert len(seen - {white, grey}) >= 2
    assert cells_with_lines >= 10
    if mode == "halfblock":
        assert set("".join(segment.text for line in lines for segment in line)) <= {
            " ", "▀", "▄", "█"}


def test_the_256_colour_mode_leaves_the_terminals_own_16_alone() -> None:
    """In 256 colours a picture is drawn in the 240 fixed colours of the 256, none of the
    first 16, whose colours each terminal sets itself."""
    from rich._palettes import EIGHT_BIT_PALETTE

    fixed = {tuple(EIGHT_BIT_PALETTE[index]) for index in range(16, 256)}
    lines = drawn(light_plot(), console("256"))
    assert colours(lines) and colours(lines) <= fixed
