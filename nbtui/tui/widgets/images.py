"""Images in outputs: how this terminal can show them, and the screen lines that show them.

The way is decided once, from the environment alone (:func:`detect_image_mode`). Nothing asks
the terminal: a query writes escape sequences and reads the answer from stdin, which would fight
with Textual once the app runs, and inside tmux it would answer for the outer terminal.

- ``kitty``: the kitty graphics protocol with unicode placeholders. The picture is sent to the
  terminal once, through Textual's own output stream; the screen lines are ordinary text (a
  private-use character with diacritics that say which row and column of the picture a cell
  shows, coloured with the image's id), so they are cached and scrolled like any other line.
- ``symbols``: text drawn by chafa (the C library, through its Python binding) from the
  terminal's whole symbol set: sextants, quadrants, half blocks and box-drawing strokes, each
  cell choosing the symbol and two colours that match its pixels best. It shows about three
  times the detail of half blocks, so axis labels of a plot can be read, and works wherever text
  does: over SSH, inside tmux. This is the default whenever no graphics protocol is known.
- ``halfblock``: unicode half blocks, one character cell showing two pixels stacked, drawn with
  textual-image's renderer. For fonts without sextants (``images = "halfblock"`` in the config
  file), and the fallback if chafa cannot be loaded.
- ``sixel`` (WezTerm, iTerm2, ``NBTUI_IMAGES=sixel``): a sixel picture is painted at the cursor
  over the cells it covers and must be sent again whenever any of those cells is redrawn or
  scrolled, which cached lines cannot express. So the notebook view's lines only leave a blank
  slot of the picture's size (:func:`fit_picture`), and the view floats a textual-image sixel
  widget (:func:`sixel_widget`) over each slot on screen. Textual renders that widget like any
  other, so the sixel data reaches the terminal inside Textual's own frames, cropped to the part
  of the widget that is visible.
- ``none``: a one-line note instead of the picture.

``NBTUI_IMAGES=symbols|halfblock|kitty|sixel|none`` overrides the detection (``auto`` detects).

textual-image also probes the terminal when some of its modules are imported; this module seeds
textual-image's cell size itself (from the kernel's TIOCGWINSZ answer, which writes nothing)
and imports its renderers with the probe disabled.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import io
import logging
import os
import sys
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from rich.color import Color
from rich.console import Console, ConsoleOptions
from rich.segment import Segment
from rich.style import Style

from nbtui.tui import image_private, textual_private

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage
    from textual.widget import Widget

log = logging.getLogger(__name__)

ImageMode = Literal["kitty", "sixel", "symbols", "halfblock", "none"]
"""A way of showing images (see the module's docstring)."""

IMAGE_MODES: tuple[ImageMode, ...] = get_args(ImageMode)

DEFAULT_CELL_SIZE = (10, 20)
"""Pixel size of a character cell when the terminal does not say (VT340, textual-image's guess)."""

MAX_IMAGE_ROWS = 30
"""Images are scaled down to at most this many lines."""

SIXEL_MAX_PIXELS = (1000, 1000)
"""The largest sixel picture drawn: xterm's default maxGraphicSize, beyond which it drops the
whole picture (seen with a large font, where a full-screen picture was 1440 pixels wide)."""

SIXEL_TERMINALS = ("WezTerm", "iTerm.app")
"""`TERM_PROGRAM` values of terminals that draw sixel (and not kitty's unicode placeholders)."""

TEXT_MODE: ImageMode = "symbols"
"""How images are drawn where the terminal has no graphics protocol nbtui knows."""

_PLACEHOLDER = "\U0010eeee"
"""The kitty graphics protocol's placeholder character."""

_CHUNK = 4096
"""Base64 characters per kitty graphics escape sequence."""


@dataclass(frozen=True)
class ImageSupport:
    """How images are shown, and why."""

    mode: ImageMode
    reason: str


def detect_image_mode(environ: Mapping[str, str], *,
                      pixel_size_known: bool = True) -> ImageSupport:
    """Decide how to show images from the environment alone; nothing is sent to the terminal.

    Args:
        environ: the environment (``os.environ``).
        pixel_size_known: whether the terminal reports a character cell's size in pixels
            (TIOCGWINSZ); sixel images cannot be sized without it, which is common over SSH.

    Returns:
        The mode and a sentence saying why.
    """
    override = environ.get("NBTUI_IMAGES", "").strip().lower()
    ignored = ""
    if override in IMAGE_MODES:
        return ImageSupport(override, f"NBTUI_IMAGES={override}")  # type: ignore[arg-type]
    if override not in ("", "auto"):
        ignored = (f"NBTUI_IMAGES={override} is not one of auto, {', '.join(IMAGE_MODES)}; "
                   "detected instead: ")
    term = environ.get("TERM", "")
    program = environ.get("TERM_PROGRAM", "")
    if (environ.get("TMUX") or environ.get("STY") or environ.get("ZELLIJ")
            or term.startswith(("screen", "tmux"))):
        return ImageSupport(TEXT_MODE, ignored + "inside a terminal multiplexer (tmux passes "
                            "no kitty graphics, and sixel only from 3.4 when built with it)")
    if term == "xterm-kitty":
        return ImageSupport("kitty", ignored + "TERM=xterm-kitty")
    if program in SIXEL_TERMINALS:
        if not pixel_size_known:
            return ImageSupport(TEXT_MODE, ignored + f"{program} draws sixel, but the "
                                "terminal does not report its cell size in pixels")
        return ImageSupport("sixel", ignored + f"TERM_PROGRAM={program}")
    if environ.get("KITTY_WINDOW_ID") and program in ("", "kitty"):
        return ImageSupport("kitty", ignored + "KITTY_WINDOW_ID is set")
    return ImageSupport(TEXT_MODE, ignored + "no graphics protocol known for this terminal")


_support: ImageSupport | None = None
_prepared = False


def image_mode() -> ImageSupport:
    """How this process shows images (detected on first use, from `os.environ`)."""
    global _support
    if _support is None:
        _support = detect_image_mode(os.environ,
                                     pixel_size_known=terminal_cell_size() is not None)
        log.info("Images: %s (%s)", _support.mode, _support.reason)
    return _support


def set_image_mode(mode: ImageMode | ImageSupport | None) -> ImageSupport | None:
    """Show images this way from now on, whatever the terminal (None: detect again).

    For output that must not depend on the terminal it runs in (snapshots, screenshots).

    Args:
        mode: a mode, or a previous setting to restore, or None.

    Returns:
        The previous setting (None if it was not decided yet).
    """
    global _support
    previous = _support
    if isinstance(mode, str):
        mode = ImageSupport(mode, "set by the program")
    _support = mode
    return previous


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


def terminal_cell_size() -> tuple[int, int] | None:
    """The pixel size of a character cell, if the terminal reports it through TIOCGWINSZ."""
    try:
        import fcntl
        import struct
        import termios

        stream = sys.__stdout__
        if stream is None or not stream.isatty():
            return None
        raw = fcntl.ioctl(stream.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
        rows, columns, width, height = struct.unpack("HHHH", raw)
    except (ImportError, OSError, ValueError):
        return None
    if not (rows and columns and width and height):
        return None
    return max(1, width // columns), max(1, height // rows)


def prepare_images() -> None:
    """Get textual-image ready without letting it talk to the terminal; idempotent.

    Safe at any time, also while Textual owns the terminal (nothing is written or read), so the
    first image drawn calls it and an app without images never imports PIL.
    """
    global _prepared
    if _prepared:
        return
    # Asked before stdout is replaced below: inside that block it is no terminal, and every
    # picture would be sized for DEFAULT_CELL_SIZE whatever the font.
    size = terminal_cell_size() or DEFAULT_CELL_SIZE
    with _probe_disabled():
        image_private.set_cell_size(*size)
        import textual_image.renderable  # noqa: F401 - imported here, with probing disabled
    _prepared = True


def set_cell_size(width: int, height: int) -> tuple[int, int]:
    """Draw images for character cells of this many pixels, whatever the terminal says.

    For output that must not depend on the terminal it runs in (snapshots, screenshots).

    Args:
        width: a cell's width in pixels.
        height: a cell's height in pixels.

    Returns:
        The cell size used until now.
    """
    prepare_images()
    previous = _cell_size()
    image_private.set_cell_size(max(1, width), max(1, height))
    return previous


def _cell_size() -> tuple[int, int]:
    return image_private.cell_size()


def _fit(px_w: int, px_h: int, max_width: int, cell: tuple[int, int],
         max_rows: int = MAX_IMAGE_ROWS) -> tuple[int, int]:
    """Columns and rows an image of this many pixels takes, at most `max_width` columns and
    `max_rows` rows."""
    cell_w, cell_h = cell
    width = max(1, min(max_width, round(px_w / cell_w)))
    rows = max(1, round(width * cell_w * px_h / px_w / cell_h))
    if rows > max_rows:
        rows = max(1, max_rows)
        width = max(1, min(max_width, round(rows * cell_h * px_w / px_h / cell_w)))
    return width, rows


def _sixel_cells(cell: tuple[int, int]) -> tuple[int, int]:
    """The most columns and rows of cells a sixel picture may take (see SIXEL_MAX_PIXELS)."""
    return (max(1, SIXEL_MAX_PIXELS[0] // cell[0]), max(1, SIXEL_MAX_PIXELS[1] // cell[1]))


@dataclass(frozen=True, eq=False)
class FittedPicture:
    """A decoded picture and the character cells it takes on screen.

    Compared by identity: the painter caches one per output and width, and the view keys its
    sixel widgets by it.
    """

    picture: PILImage
    columns: int
    rows: int

    @property
    def pixels(self) -> tuple[int, int]:
        """The picture's own size in pixels."""
        return self.picture.size


def _decode(raw: bytes) -> PILImage | None:
    """The picture in `raw` (PNG, JPEG) as RGB, or None if PIL cannot read it."""
    prepare_images()
    from PIL import Image as PILImageModule

    try:
        with PILImageModule.open(io.BytesIO(raw)) as opened:
            picture = opened.convert("RGB")
    except Exception as exc:  # noqa: BLE001 - PIL raises many kinds for bad data
        log.info("Cannot draw an image output: %s", exc)
        return None
    return picture if picture.size[0] and picture.size[1] else None


def fit_picture(raw: bytes, max_width: int) -> FittedPicture | None:
    """Decode image bytes and size them for the terminal's cells, at most `max_width` columns,
    as a sixel picture: at most MAX_IMAGE_ROWS rows and SIXEL_MAX_PIXELS.

    Args:
        raw: the encoded image.
        max_width: the widest the image may be, in cells.

    Returns:
        The picture and its size in cells, or None if the bytes are not an image PIL can read.
    """
    picture = _decode(raw)
    if picture is None:
        return None
    cell = _cell_size()
    max_columns, max_rows = _sixel_cells(cell)
    columns, rows = _fit(*picture.size, min(max_width, max_columns), cell,
                         min(MAX_IMAGE_ROWS, max_rows))
    return FittedPicture(picture, columns, rows)


def _fill(px_w: int, px_h: int, columns: int, rows: int,
          cell: tuple[int, int]) -> tuple[int, int]:
    """The largest columns x rows of this shape (in pixels) that fit in a box of cells."""
    cell_w, cell_h = cell
    width = max(1, columns)
    height = max(1, round(width * cell_w * px_h / px_w / cell_h))
    if height > rows:
        height = max(1, rows)
        width = max(1, min(columns, round(height * cell_h * px_w / px_h / cell_w)))
    return width, height


def fill_picture(raw: bytes, columns: int, rows: int) -> FittedPicture | None:
    """Decode image bytes and size them to fill a box of cells, keeping their shape.

    Unlike :func:`fit_picture`, small pictures are enlarged: drawn as text, a picture shows
    more of its detail the more cells it has.

    Args:
        raw: the encoded image.
        columns: the box's width in cells.
        rows: the box's height in cells.

    Returns:
        The picture and its size in cells, or None if the bytes are not an image PIL can read.
    """
    picture = _decode(raw)
    return None if picture is None else fill_image(picture, columns, rows)


def fill_image(picture: PILImage, columns: int, rows: int) -> FittedPicture:
    """A decoded picture (or a part of one) sized to fill a box of cells, keeping its shape.

    Args:
        picture: the picture, as RGB.
        columns: the box's width in cells.
        rows: the box's height in cells.
    """
    width, height = _fill(*picture.size, *picture_box(columns, rows), _cell_size())
    return FittedPicture(picture, width, height)


def picture_box(columns: int, rows: int) -> tuple[int, int]:
    """The part of a box of cells that one picture may take, as this terminal shows pictures."""
    mode = image_mode().mode
    if mode == "kitty":
        # Placeholders can address only as many rows and columns as there are diacritics.
        return min(columns, len(_diacritics())), min(rows, len(_diacritics()))
    if mode == "sixel":
        max_columns, max_rows = _sixel_cells(_cell_size())
        return min(columns, max_columns), min(rows, max_rows)
    return columns, rows


def sixel_widget(fitted: FittedPicture) -> Widget:
    """A sixel widget showing a fitted picture at its size in cells, sent only when needed.

    The widget is positioned absolutely on the overlay layer; its owner sets its offset.
    Nothing is written to the terminal here: Textual renders the widget in its own frames,
    and the picture goes out only when it moved, changed, or may have been painted over
    (see :func:`_steady_sixel_classes`).
    """
    widget = _steady_sixel_classes()[0](fitted.picture, classes="nbtui-sixel")
    styles = widget.styles
    styles.position = "absolute"
    styles.layer = "overlay"
    styles.width = fitted.columns
    styles.height = fitted.rows
    return widget


@functools.cache
def _steady_sixel_classes() -> tuple[type[Widget], type[Widget]]:
    """textual-image's sixel widget, changed to send its picture once per place and look.

    textual-image's widget sends the whole picture (tens of kilobytes) every time Textual
    renders any of its rows, which is on every key that redraws the notebook view below it:
    its rows other than the last are empty strips, which claim none of their cells, so the
    view's blank slot lines are written over the picture and the picture must be sent again.
    Here every row claims its cells and writes nothing into them (it only moves the cursor past
    them, so that a full-screen update puts the text right of the picture where it belongs),
    and the picture is sent only when what the terminal shows may differ from it: when its
    place, crop, pixels or the screen size changed, when a widget in front of it went, or when
    another screen was shown. Then it is sent in the frame after a repaint of
    the widget's whole region (a frame that writes its last row, which carries the picture),
    and not while anything covers part of it (the picture would be painted over that).
    Returns the widget class and its inner class.
    """
    prepare_images()
    with _probe_disabled():
        # textual_image.widget asks for the cell size on import: prepare_images seeded it.
        SixelImage, SixelInner, NoopRenderable = image_private.sixel_widget_classes()
    from rich.control import Control
    from textual.geometry import Region
    from textual.strip import Strip

    class SteadySixelInner(SixelInner):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._drawn: tuple[Any, ...] | None = None
            """What the terminal shows: the look last sent (None: it must be sent)."""
            self._repainting = False

        def on_mount(self) -> None:
            self.app.screen_change_signal.subscribe(self, self._forget_drawn)
            self.app.app_resume_signal.subscribe(self, self._forget_drawn)

        def _forget_drawn(self, _: object) -> None:
            self._drawn = None

        def _repaint_whole(self) -> None:
            self._repainting = True
            self.refresh()

        def _covered(self, visible: Region) -> bool:
            """Whether a widget drawn in front of this one covers part of its visible region."""
            # The compositor lists the widgets on screen front to back.
            for widget, (region, clip) in textual_private.visible_widgets(self.screen).items():
                if widget is self:
                    return False
                if region.intersection(clip).intersection(visible).area:
                    return True
            return False

        def render_lines(self, crop: Region) -> list[Strip]:
            lines = super().render_lines(crop)
            if not lines:
                self._drawn = None
                return lines
            visible = self.screen.find_widget(self).visible_region
            look = (visible, crop, self.app.size, image_private.cached_sixels(self))
            send = False
            if self._covered(visible):
                # What covers it is painted over the picture: send it again once it has gone.
                self._drawn = None
            elif look != self._drawn:
                if self._repainting:
                    send = True
                    self._drawn = look
                else:
                    self.call_after_refresh(self._repaint_whole)
            self._repainting = False
            rows = [Strip([Control.move_to(visible.right, visible.y + row).segment],
                          cell_length=crop.width) for row in range(crop.height)]
            if send:
                last = visible.y + crop.height - 1
                segments = list(lines[-1])[:2]  # the move to the corner and the picture
                rows[-1] = Strip([*segments, Control.move_to(visible.right, last).segment],
                                 cell_length=crop.width)
            return rows

    class SteadySixel(SixelImage, Renderable=NoopRenderable):  # type: ignore[misc,call-arg,valid-type]
        def compose(self) -> Any:
            yield SteadySixelInner(self.image, image_private.sixel_options(self))

    return SteadySixel, SteadySixelInner


def image_lines(
    raw: bytes, console: Console, options: ConsoleOptions, max_width: int
) -> list[list[Segment]] | None:
    """Render image bytes (PNG, JPEG) as lines of segments, the way this terminal shows them.

    Args:
        raw: the encoded image.
        console: the console to render with.
        options: its options (the width is replaced).
        max_width: the widest the image may be, in cells.

    Returns:
        Lines of segments, or None if the bytes are not an image PIL can read.
    """
    picture = _decode(raw)
    if picture is None:
        return None
    if _line_mode(console) == "kitty":
        max_width = min(max_width, len(_diacritics()))
    columns, rows = _fit(*picture.size, max_width, _cell_size())
    return picture_lines(FittedPicture(picture, columns, rows), console, options)


def _line_mode(console: Console) -> ImageMode:
    """How pictures drawn as lines are drawn (sixel pictures are widgets, see above)."""
    mode = image_mode().mode
    if mode == "sixel":
        # The view shows sixel pictures as widgets over blank slots (see fit_picture); drawn
        # as lines, they are half blocks.
        return "halfblock"
    if mode == "kitty" and (console.color_system != "truecolor" or "NO_COLOR" in os.environ):
        # The placeholders' colour is the image id: fewer colours (or none) would change it.
        return "halfblock"
    return mode


def picture_lines(fitted: FittedPicture, console: Console,
                  options: ConsoleOptions) -> list[list[Segment]]:
    """A fitted picture as lines of segments at its size in cells, the way this terminal
    shows pictures drawn as lines (kitty placeholders, chafa symbols or half blocks; half
    blocks where the terminal draws sixel, whose pictures are widgets: see sixel_widget).

    Args:
        fitted: the picture and its size in cells.
        console: the console to render with.
        options: its options (the width is replaced).
    """
    picture, width, rows = fitted.picture, fitted.columns, fitted.rows
    mode = _line_mode(console)
    if mode == "none":
        px_w, px_h = fitted.pixels
        return [[Segment(f"[image, {px_w}×{px_h} pixels]")]]
    if mode == "kitty":
        return kitty_images.lines(picture, width, rows)
    if mode == "symbols" or (mode == "halfblock" and console.color_system in ("standard",
                                                                           "windows")):
        # In 16 colours chafa also draws the half blocks, from the picture in the palette's
        # colours (see _in_palette): textual-image's half blocks, whose colours are brought
        # down to 16 afterwards, turn a light plot into a few grey specks.
        lines = symbol_lines(picture, width, rows, console,
                             symbols="halfblock" if mode == "halfblock" else "all")
        if lines is not None:
            return lines
    from textual_image.renderable.halfcell import Image as HalfcellImage

    renderable = HalfcellImage(picture, width=width, height=rows)
    with warnings.catch_warnings():
        # textual-image 0.12 reads pixels with Image.getdata, which Pillow 13 deprecates.
        warnings.simplefilter("ignore", DeprecationWarning)
        return console.render_lines(renderable, options.update(width=width, height=rows),
                                    pad=False)


# -- text symbols (chafa) -----------------------------------------------------------------

_chafa_failed = False


CHAFA_CANVAS_MODES = {"truecolor": "TRUECOLOR", "256": "INDEXED_240",
                      "standard": "TRUECOLOR", "windows": "TRUECOLOR"}
"""chafa's canvas mode (CanvasMode.CHAFA_CANVAS_MODE_<name>) for each Rich colour system.

240 rather than 256 colours: the first 16 are the terminal's own palette, whose colours chafa
cannot know. In 16 colours the picture is first brought into the palette's colours
(:func:`_in_palette`) and chafa keeps them: its own 16-colour mode paints a plot's light grey
background blue."""


def chafa_canvas_mode(console: Console) -> str:
    """The name of chafa's canvas mode for the colours a console (the terminal) has.

    Without colours (no colour system, or NO_COLOR) it is FGBG: shapes in the terminal's own
    foreground and background colours.
    """
    if console.no_color or console.color_system is None:
        return "FGBG"
    return CHAFA_CANVAS_MODES.get(console.color_system, "TRUECOLOR")


def symbol_lines(picture: PILImage, columns: int, rows: int, console: Console,
                 symbols: Literal["all", "halfblock"] = "all") -> list[list[Segment]] | None:
    """A picture drawn in `columns` x `rows` character cells with chafa's symbols.

    Each cell is one symbol (a sextant, quadrant, half block, stroke or space; with
    ``symbols="halfblock"`` only half blocks and spaces) in a foreground and a background
    colour, as chafa judged best for the pixels it covers, among the colours the console has
    (:func:`chafa_canvas_mode`). Returns None when chafa cannot be loaded (the caller draws
    half blocks instead; logged once).
    """
    global _chafa_failed
    if _chafa_failed:
        return None
    try:
        from chafa import Canvas, CanvasConfig, CanvasMode, PixelType, SymbolMap, SymbolTags
        from chafa.term_db import TermDb
    except Exception:  # noqa: BLE001 - a missing or broken native library, whatever it raises
        _chafa_failed = True
        log.warning("chafa could not be loaded; images are drawn with half blocks",
                    exc_info=True)
        return None
    config = CanvasConfig()
    config.width, config.height = columns, rows
    config.cell_width, config.cell_height = _cell_size()
    config.canvas_mode = getattr(CanvasMode, "CHAFA_CANVAS_MODE_" + chafa_canvas_mode(console))
    symbol_map = SymbolMap()
    tags = SymbolTags
    if symbols == "halfblock":
        symbol_map.add_by_tags(tags.CHAFA_SYMBOL_TAG_SPACE | tags.CHAFA_SYMBOL_TAG_VHALF)
    else:
        symbol_map.add_by_tags(tags.CHAFA_SYMBOL_TAG_SPACE | tags.CHAFA_SYMBOL_TAG_BLOCK
                               | tags.CHAFA_SYMBOL_TAG_HALF | tags.CHAFA_SYMBOL_TAG_QUAD
                               | tags.CHAFA_SYMBOL_TAG_SEXTANT | tags.CHAFA_SYMBOL_TAG_BORDER)
    # Wide symbols would take two cells, and inverted ones swap the colours in terminals
    # that draw them differently; neither keeps the picture to its cells.
    for unwanted in (tags.CHAFA_SYMBOL_TAG_WIDE, tags.CHAFA_SYMBOL_TAG_INVERTED):
        symbol_map.remove_by_tags(unwanted)
    config.set_symbol_map(symbol_map)
    canvas = Canvas(config)
    picture = _in_palette(picture, columns, rows, console)
    width, height = picture.size
    canvas.draw_all_pixels(PixelType.CHAFA_PIXEL_RGB8, bytearray(picture.tobytes()),
                           width, height, width * 3)
    # chafa writes the cells as escape sequences of its fallback terminal (the same whatever
    # terminal this is), in the canvas mode's colours; Rich turns them back into styled text.
    escaped = canvas.print(TermDb().get_fallback_info()).decode()
    from rich.ansi import AnsiDecoder

    lines = []
    for text in AnsiDecoder().decode(escaped):
        text.truncate(columns, pad=True)
        segments = [segment for segment in text.render(console) if segment.text != "\n"]
        if console.color_system != "truecolor":
            segments = [Segment(segment.text, _palette_style(segment, console))
                        for segment in segments]
        lines.append(segments)
    return lines[:rows]


def _in_palette(picture: PILImage, columns: int, rows: int, console: Console) -> PILImage:
    """The picture in the 16 colours of the console's palette, when it has no more.

    Scaled down to cells, a plot's thin lines and small letters become faint tints of its
    background, which 16 colours cannot show: they all turn into the background colour and
    the plot into a few specks. So first the picture's strokes (whatever stands out from its
    background: dark on a light picture, light on a dark one) are thickened to about one
    pixel of the cells' resolution, then each pixel takes the nearest palette colour. chafa
    then chooses each cell's shape between colours that stay apart on screen.
    """
    if console.color_system not in ("standard", "windows") or console.no_color:
        return picture
    from PIL import Image as PILImageModule
    from PIL import ImageFilter, ImageStat

    # chafa sees a cell as 8x8 pixels and draws it in at most 2x3 parts.
    step = min(picture.width / (2 * columns), picture.height / (3 * rows))
    size = 2 * int(step / 2) + 1
    if size > 1:
        light = ImageStat.Stat(picture.convert("L")).median[0] > 127
        thicken = ImageFilter.MinFilter(size) if light else ImageFilter.MaxFilter(size)
        picture = picture.filter(thicken)
    palette, _ = image_private.palettes(console.color_system or "")
    colours = PILImageModule.new("P", (1, 1))
    colours.putpalette([channel for index in range(16) for channel in palette[index]] * 16)
    return picture.quantize(palette=colours, dither=PILImageModule.Dither.NONE).convert("RGB")


def _palette_style(segment: Segment, console: Console) -> Style | None:
    """A segment of chafa's cells restyled so that Textual draws its colours faithfully.

    Palette colours (chafa's choice of index) become the RGB values that the console's colour
    system brings back down to that same index: Textual would otherwise turn an index into its
    theme's RGB value for it and that into the nearest index again, often another one; in 16
    colours, 24-bit ones become the palette colour the terminal shows. Spaces keep only their
    background (a reverse-video space, chafa's way of painting a cell in one colour, its
    foreground as background).
    """
    style = segment.style
    if style is None:
        return None
    if not segment.text.strip():
        # Spaces show only a background; chafa gives them any foreground (often palette red).
        style = Style(bgcolor=style.color if style.reverse else style.bgcolor)
    low, eight_bit = image_private.palettes(console.color_system or "")

    def fixed(colour: Color | None) -> Color | None:
        if colour is None:
            return None
        if colour.number is None:
            # 24-bit (chafa's mix of a cell's pixels): the palette colour the terminal shows.
            if console.color_system not in ("standard", "windows") or colour.triplet is None:
                return colour
            return Color.from_triplet(low[low.match(colour.triplet)])
        palette = low if colour.number < 16 else eight_bit
        return Color.from_triplet(palette[colour.number])

    return style + Style.from_color(fixed(style.color), fixed(style.bgcolor))


# -- kitty graphics -----------------------------------------------------------------------


def _diacritics() -> list[int]:
    """The kitty protocol's row/column diacritics (kitty's rowcolumn-diacritics.txt)."""
    prepare_images()
    from textual_image.renderable import tgp

    return tgp._NUMBER_TO_DIACRITIC


def kitty_transmit(image_id: int, png: bytes, columns: int, rows: int) -> str:
    """The escape sequences that send a PNG to the terminal and place it virtually.

    The picture is sent in chunks (only the first carries the keys, as the protocol asks), then
    a virtual placement (``U=1``) of `columns` x `rows` cells is made, which the unicode
    placeholders of that image id show. ``q=2``: the terminal answers nothing.
    """
    data = base64.standard_b64encode(png).decode("ascii")
    chunks = [data[i:i + _CHUNK] for i in range(0, len(data), _CHUNK)] or [""]
    parts = []
    for n, chunk in enumerate(chunks):
        more = int(n < len(chunks) - 1)
        keys = f"a=t,f=100,t=d,i={image_id},q=2,m={more}" if n == 0 else f"m={more},q=2"
        parts.append(f"\x1b_G{keys};{chunk}\x1b\\")
    parts.append(f"\x1b_Ga=p,U=1,i={image_id},c={columns},r={rows},q=2\x1b\\")
    return "".join(parts)


def _write_through_app(sequence: str) -> bool:
    """Write to the terminal through the running Textual app's output stream.

    The sequence then reaches the terminal in order with Textual's own frames (the driver has
    one writer), before the frame that shows the placeholders. Returns False without an app.
    """
    app = _current_app()
    if app is None:
        return False
    driver = textual_private.driver(app)
    if driver is None:
        return False
    driver.write(sequence)
    return True


class KittyImages:
    """Pictures sent to a kitty-protocol terminal, and the placeholder lines that show them.

    Each distinct picture (at a size) gets a 24-bit image id, sent once per terminal; the lines
    can be rebuilt at any time without sending it again.

    Args:
        write: writes escape sequences to the terminal; returns False when there is none yet.
        terminal: the key of the current terminal (sent pictures are remembered per key).
    """

    def __init__(self, write: Callable[[str], bool] = _write_through_app,
                 terminal: Callable[[], Any] | None = None) -> None:
        self._write = write
        self._terminal = terminal or _current_app
        self._ids: dict[tuple[bytes, int, int], int] = {}
        self._used: set[int] = set()
        self._sent: weakref.WeakKeyDictionary[Any, set[int]] = weakref.WeakKeyDictionary()
        self._sent_nowhere: set[int] = set()

    def image_id(self, picture: PILImage, columns: int, rows: int) -> int:
        """The id of a picture at a size: stable, non-zero, distinct from other pictures'."""
        digest = hashlib.blake2b(repr(picture.size).encode() + picture.tobytes(),
                                 digest_size=16).digest()
        key = (digest, columns, rows)
        found = self._ids.get(key)
        if found is not None:
            return found
        candidate = int.from_bytes(hashlib.blake2b(key[0] + bytes([columns % 256, rows % 256]),
                                                   digest_size=3).digest(), "big")
        while candidate == 0 or candidate in self._used:
            candidate = (candidate + 1) % (1 << 24)
        self._ids[key] = candidate
        self._used.add(candidate)
        return candidate

    def lines(self, picture: PILImage, columns: int, rows: int) -> list[list[Segment]]:
        """Send the picture if this terminal does not have it yet; its placeholder lines."""
        image_id = self.image_id(picture, columns, rows)
        sent = self._sent_to()
        if image_id not in sent:
            png = io.BytesIO()
            cell_w, cell_h = _cell_size()
            picture.resize((columns * cell_w, rows * cell_h)).save(png, format="PNG")
            if self._write(kitty_transmit(image_id, png.getvalue(), columns, rows)):
                sent.add(image_id)
        return placeholder_lines(image_id, columns, rows)

    def _sent_to(self) -> set[int]:
        terminal = self._terminal()
        if terminal is None:
            return self._sent_nowhere
        return self._sent.setdefault(terminal, set())


def _current_app() -> Any:
    try:
        return textual_private.active_app.get()
    except LookupError:
        return None


def placeholder_lines(image_id: int, columns: int, rows: int) -> list[list[Segment]]:
    """Lines of unicode placeholders showing `rows` x `columns` cells of an image.

    Every cell carries its row and column diacritics, so that any part of a line, cut anywhere
    by the compositor, still shows the right piece of the picture. The foreground colour is the
    24-bit image id.
    """
    marks = _diacritics()
    style = Style(color=Color.from_rgb((image_id >> 16) & 255, (image_id >> 8) & 255,
                                       image_id & 255))
    return [[Segment("".join(_PLACEHOLDER + chr(marks[row]) + chr(marks[column])
                             for column in range(columns)), style)]
            for row in range(rows)]


kitty_images = KittyImages()
"""The process's kitty pictures (the terminal is the running app's)."""
