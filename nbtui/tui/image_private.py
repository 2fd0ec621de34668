"""Every place nbtui reaches into the private API of textual-image and rich to draw pictures.

Both are pinned exactly (pyproject.toml) because of what is here; tests/tui/
test_image_private.py has a test for each function. textual-image asks the terminal for its
cell size when some of its modules are imported: the functions that import them are called
with that probing disabled (`images._probe_disabled`). Textual's own private API is in
:mod:`nbtui.tui.textual_private`.
"""

from __future__ import annotations

from typing import Any

Palette = Any
"""rich's palette of colours (indexable by colour number, giving a ColorTriplet)."""


def set_cell_size(width: int, height: int) -> None:
    """Make textual-image size pictures for cells of this many pixels (it probes only once and
    keeps the answer, which this replaces)."""
    from textual_image import _terminal

    _terminal.get_cell_size._result = _terminal.CellSize(width, height)  # type: ignore[attr-defined]


def cell_size() -> tuple[int, int]:
    """The cell size in pixels textual-image sizes pictures for."""
    from textual_image import _terminal

    size = _terminal.get_cell_size()
    return size.width, size.height


def sixel_widget_classes() -> tuple[type, type, type]:
    """(SixelImage, its inner widget class, the renderable class that draws nothing):
    textual-image's sixel widget and the two private classes it is made of."""
    from textual_image.widget import SixelImage
    from textual_image.widget.sixel import _ImageSixelImpl, _NoopRenderable

    return SixelImage, _ImageSixelImpl, _NoopRenderable


def cached_sixels(inner: Any) -> Any:
    """The inner sixel widget's cache of encoded pictures (a new one when the picture or its
    size changed)."""
    return inner._cached_sixels


def sixel_options(widget: Any) -> Any:
    """The options a SixelImage passes to its inner widget."""
    return widget._sixel_options


def palettes(color_system: str) -> tuple[Palette, Palette]:
    """(the 16 colours rich assumes the terminal shows, the 256 of the 8-bit palette) for a
    console's colour system: rich maps colours down to these, so nbtui picks from the same."""
    from rich._palettes import EIGHT_BIT_PALETTE, STANDARD_PALETTE, WINDOWS_PALETTE

    low = WINDOWS_PALETTE if color_system == "windows" else STANDARD_PALETTE
    return low, EIGHT_BIT_PALETTE

