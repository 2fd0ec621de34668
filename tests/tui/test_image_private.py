"""One test for each reach into textual-image's and rich's private API
(nbtui/tui/image_private.py): when an upgrade moves one of them, the test that names it fails."""

from __future__ import annotations

import pytest
from rich.color import Color
from test_textual_private import imports_in_nbtui, is_private

from nbtui.tui import image_private
from nbtui.tui.widgets import images


@pytest.fixture
def kept_cell_size():
    """Put textual-image's cell size back after a test that sets it."""
    images.prepare_images()
    saved = image_private.cell_size()
    yield
    image_private.set_cell_size(*saved)


def test_the_cell_size_set_is_the_one_textual_image_sizes_pictures_for(kept_cell_size):
    """set_cell_size replaces textual-image's probed cell size; cell_size reads it back, as
    textual-image's own get_cell_size does."""
    from textual_image import _terminal

    image_private.set_cell_size(7, 15)
    assert image_private.cell_size() == (7, 15)
    assert tuple(_terminal.get_cell_size()) == (7, 15)


def test_sixel_widget_classes_are_the_widget_its_inner_widget_and_a_renderable():
    """sixel_widget_classes gives SixelImage, the widget class it composes, and a renderable."""
    with images._probe_disabled():
        sixel_image, inner, noop = image_private.sixel_widget_classes()
    from textual.widget import Widget

    assert issubclass(sixel_image, Widget) and issubclass(inner, Widget)
    assert hasattr(noop, "__rich_console__")


async def test_sixel_cache_and_options_are_where_nbtui_reads_them():
    """A sixel widget keeps its options, and its inner widget the encoded picture it sends."""
    from PIL import Image
    from textual.app import App, ComposeResult

    with images._probe_disabled():
        sixel_image, inner, _ = image_private.sixel_widget_classes()

    class OnePicture(App[None]):
        def compose(self) -> ComposeResult:
            yield sixel_image(Image.new("RGB", (20, 20), "red"))

    app = OnePicture()
    async with app.run_test() as pilot:
        await pilot.pause()
        widget = app.query_one(sixel_image)
        inner_widget = app.query_one(inner)
        # Both are read as they are (None until set): the accessors fail if the names went.
        assert image_private.sixel_options(widget) is None
        cached = image_private.cached_sixels(inner_widget)
        assert cached.sixel_data.startswith("\x1bP")  # the encoded picture, sent as is


@pytest.mark.parametrize("system", ["standard", "windows", "256"])
def test_palettes_are_the_ones_rich_maps_colours_down_to(system):
    """palettes() gives 16 colours whose every entry rich maps back to its own number in 16
    colours, and the 256 of the 8-bit palette."""
    from rich.color import ColorSystem

    low, eight_bit = image_private.palettes(system)
    target = ColorSystem.WINDOWS if system == "windows" else ColorSystem.STANDARD
    for number in range(16):
        assert Color.from_triplet(low[number]).downgrade(target).number == number
    assert tuple(eight_bit[196]) == (255, 0, 0)


def test_no_other_module_imports_a_private_module_of_textual_image_or_rich():
    """Only image_private imports textual-image's and rich's private modules and names."""
    offenders = [(path, name) for path, name in imports_in_nbtui("image_private.py")
                 if is_private(name, ("textual_image", "rich"))]
    assert offenders == []
