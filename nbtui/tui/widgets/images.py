"""Images in outputs, drawn with textual-image's half-block renderer.

Half blocks (one character cell shows two pixels stacked, with foreground and background
colours) work in every colour terminal, over SSH, inside tmux and under Textual's headless test
driver, and they can be cached as plain lines like any other output.

textual-image probes the terminal (for sixel and kitty graphics, and for the size of a character
cell) when some of its modules are imported. A probe writes escape sequences to the terminal and
reads the answer from stdin, which would fight with Textual once the app runs, and inside tmux
it answers for the outer terminal. So this module seeds textual-image's cell size itself (from
the kernel's TIOCGWINSZ answer, which writes nothing) and imports the renderer with the probe
disabled.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import warnings
from collections.abc import Iterator

from rich.console import Console, ConsoleOptions
from rich.segment import Segment

log = logging.getLogger(__name__)

DEFAULT_CELL_SIZE = (10, 20)
"""Pixel size of a character cell when the terminal does not say (VT340, textual-image's guess)."""

MAX_IMAGE_ROWS = 30
"""Images are scaled down to at most this many lines."""

_prepared = False


class _NoTTY(io.TextIOBase):
    """Stands in for sys.__stdout__ while textual-image is imported, so that it does not probe."""

    def isatty(self) -> bool:
        return False


@contextlib.contextmanager
def _probe_disabled() -> Iterator[None]:
    saved = sys.__stdout__
    sys.__stdout__ = _NoTTY()  # type: ignore[misc]
    try:
        yield
    finally:
        sys.__stdout__ = saved  # type: ignore[misc]


def _terminal_cell_size() -> tuple[int, int]:
    """The pixel size of a character cell, if the terminal reports it through TIOCGWINSZ."""
    try:
        import fcntl
        import struct
        import termios

        stream = sys.__stdout__
        if stream is None or not stream.isatty():
            return DEFAULT_CELL_SIZE
        raw = fcntl.ioctl(stream.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
        rows, columns, width, height = struct.unpack("HHHH", raw)
    except (ImportError, OSError, ValueError):
        return DEFAULT_CELL_SIZE
    if not (rows and columns and width and height):
        return DEFAULT_CELL_SIZE
    return max(1, width // columns), max(1, height // rows)


def prepare_images() -> None:
    """Get textual-image ready without letting it talk to the terminal; idempotent.

    Safe at any time, also while Textual owns the terminal (nothing is written or read), so the
    first image drawn calls it and an app without images never imports PIL.
    """
    global _prepared
    if _prepared:
        return
    with _probe_disabled():
        from textual_image import _terminal

        _terminal.get_cell_size._result = _terminal.CellSize(*_terminal_cell_size())  # type: ignore[attr-defined]
        import textual_image.renderable  # noqa: F401 - imported here, with probing disabled
    _prepared = True


def _cell_size() -> tuple[int, int]:
    from textual_image import _terminal

    size = _terminal.get_cell_size()
    return size.width, size.height


def image_lines(
    raw: bytes, console: Console, options: ConsoleOptions, max_width: int
) -> list[list[Segment]] | None:
    """Render image bytes (PNG, JPEG) as lines of half-block segments.

    Args:
        raw: the encoded image.
        console: the console to render with.
        options: its options (the width is replaced).
        max_width: the widest the image may be, in cells.

    Returns:
        Lines of segments, or None if the bytes are not an image PIL can read.
    """
    prepare_images()
    from PIL import Image as PILImage
    from textual_image.renderable.halfcell import Image as HalfcellImage

    try:
        with PILImage.open(io.BytesIO(raw)) as opened:
            picture = opened.convert("RGB")
    except Exception as exc:  # noqa: BLE001 - PIL raises many kinds for bad data
        log.info("Cannot draw an image output: %s", exc)
        return None
    cell_w, cell_h = _cell_size()
    px_w, px_h = picture.size
    if not px_w or not px_h:
        return None
    width = max(1, min(max_width, round(px_w / cell_w)))
    rows = max(1, round(width * cell_w * px_h / px_w / cell_h))
    if rows > MAX_IMAGE_ROWS:
        rows = MAX_IMAGE_ROWS
        width = max(1, min(max_width, round(rows * cell_h * px_w / px_h / cell_w)))
    renderable = HalfcellImage(picture, width=width, height=rows)
    with warnings.catch_warnings():
        # textual-image 0.12 reads pixels with Image.getdata, which Pillow 13 deprecates.
        warnings.simplefilter("ignore", DeprecationWarning)
        return console.render_lines(renderable, options.update(width=width, height=rows),
                                    pad=False)
