"""A cell's image outputs shown one at a time, each fitted to the whole terminal.

The picture is drawn the way the notebook draws it: as text lines (chafa symbols or half
blocks), as kitty placeholders, or as a sixel widget. A line at the bottom says which picture of
the cell it is, which part of it is shown, and the keys.

Zooming crops the picture to the part that is shown before it is scaled to the cells, so a
zoomed part gets all of the cells' detail: drawn as text, a plot's title and axis labels become
readable once they take a few rows.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from nbtui.core.render import output_images
from nbtui.tui.widgets.images import (
    FittedPicture,
    fill_image,
    fill_picture,
    image_mode,
    picture_box,
    picture_lines,
    sixel_widget,
)

ZOOM_LEVELS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
"""How much larger than fitted to the screen a picture can be shown, one step per key."""

PAN_STEP = 0.25
"""How far one key moves a zoomed picture: this part of what is shown."""

Crop = tuple[int, int, int, int]
"""A part of a picture in its pixels: left, top, right, bottom."""


def cell_pictures(outputs: list[dict]) -> list[bytes]:
    """The encoded pictures (PNG or JPEG) among a cell's outputs, one per output, in order."""
    pictures = []
    for output in outputs:
        found = output_images(output)
        if found:
            pictures.append(found[0][1])
    return pictures


def zoom_crop(pixels: tuple[int, int], fitted: tuple[int, int], box: tuple[int, int],
              zoom: float, centre: tuple[float, float]) -> Crop:
    """The part of a picture shown when it is `zoom` times as large as fitted to a box.

    Args:
        pixels: the picture's size in pixels.
        fitted: the cells it takes when fitted to the box (zoom 1).
        box: the cells there are.
        zoom: how many times larger than fitted.
        centre: where the middle of the shown part should be, as fractions of the picture's
            width and height; the part is moved to stay within the picture.

    Returns:
        The part's pixels (the whole picture at zoom 1).
    """
    width, height = pixels
    part_w = min(width, max(1, round(width * box[0] / (zoom * fitted[0]))))
    part_h = min(height, max(1, round(height * box[1] / (zoom * fitted[1]))))
    left = min(max(0, round(centre[0] * width - part_w / 2)), width - part_w)
    top = min(max(0, round(centre[1] * height - part_h / 2)), height - part_h)
    return left, top, left + part_w, top + part_h


class PictureLines(Widget):
    """A picture drawn as lines of text (symbols, half blocks or kitty placeholders)."""

    def __init__(self, lines: list[Strip]) -> None:
        super().__init__(classes="nbtui-picture")
        self.lines = lines

    def render_line(self, y: int) -> Strip:
        return self.lines[y] if y < len(self.lines) else Strip.blank(self.size.width)


class ImageViewScreen(Screen[None]):
    """One of a cell's pictures, fitted to the terminal; `n`/`p` step through the others,
    `+`/`-` zoom and the arrows move a zoomed picture.

    Args:
        pictures: the cell's encoded pictures (at least one).
        title: what the pictures are (shown in the bottom line), e.g. "cell [4]".
    """

    # The arrows move a zoomed picture; not zoomed, moving is off (check_action) and the left
    # and right arrows fall through to the bindings after, which step through the pictures.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close the image", key_display="esc/q", id="image.close"),
        Binding("plus,equals_sign", "zoom(1)", "Zoom in", key_display="+/=",
                id="image.zoom_in"),
        Binding("minus", "zoom(-1)", "Zoom out", key_display="-", id="image.zoom_out"),
        Binding("0", "fit", "Fit the whole image to the screen", id="image.fit"),
        Binding("h,left", "pan(-1, 0)", "Move left (zoomed)", key_display="h/←",
                id="image.pan_left"),
        Binding("l,right", "pan(1, 0)", "Move right (zoomed)", key_display="l/→",
                id="image.pan_right"),
        Binding("k,up", "pan(0, -1)", "Move up (zoomed)", key_display="k/↑", id="image.pan_up"),
        Binding("j,down", "pan(0, 1)", "Move down (zoomed)", key_display="j/↓",
                id="image.pan_down"),
        Binding("n,right", "step(1)", "Next image of the cell (→ when not zoomed)",
                key_display="n/→", id="image.next"),
        Binding("p,left", "step(-1)", "Previous image of the cell (← when not zoomed)",
                key_display="p/←", id="image.previous"),
    ]

    DEFAULT_CSS = """
    ImageViewScreen #picture { height: 1fr; align: center middle; layers: base overlay; }
    ImageViewScreen #caption { height: 1; padding: 0 1; background: $panel; }
    """

    def __init__(self, pictures: list[bytes], title: str) -> None:
        super().__init__()
        self.pictures = pictures
        self.title_text = title
        self.index = len(pictures) - 1
        """Which picture is shown: the cell's last one first."""
        self.zoom = 0
        """The zoom step: an index into ZOOM_LEVELS (0: the whole picture, fitted)."""
        self.centre = (0.5, 0.5)
        """Where the middle of the shown part is, as fractions of the picture's size."""
        self.crop: Crop | None = None
        """The part of the picture on screen, in its pixels (None: nothing drawn)."""
        self._fitted: tuple[tuple[int, int, int], FittedPicture | None] | None = None
        self._drawn: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Container(id="picture")
        yield Static(id="caption")

    def on_mount(self) -> None:
        self.call_after_refresh(self._draw)

    def on_resize(self) -> None:
        self.call_after_refresh(self._draw)

    def action_close(self) -> None:
        self.dismiss()

    def action_step(self, step: int) -> None:
        count = len(self.pictures)
        if count > 1:
            self.index = (self.index + step) % count
            self.action_fit()

    def action_zoom(self, step: int) -> None:
        self.zoom = min(max(0, self.zoom + step), len(ZOOM_LEVELS) - 1)
        self._draw()

    def action_fit(self) -> None:
        self.zoom, self.centre = 0, (0.5, 0.5)
        self._draw()

    def action_pan(self, right: int, down: int) -> None:
        fitted = self._fitted[1] if self._fitted is not None else None
        if self.crop is None or fitted is None:
            return
        left, top, end, bottom = self.crop
        x, y = self.centre
        width, height = fitted.pixels
        self.centre = (x + right * PAN_STEP * (end - left) / width,
                       y + down * PAN_STEP * (bottom - top) / height)
        self._draw()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "pan" or self.zoom > 0

    def _fit(self, columns: int, rows: int) -> FittedPicture | None:
        """The current picture fitted to the box (decoded once per picture and size)."""
        key = (self.index, columns, rows)
        if self._fitted is None or self._fitted[0] != key:
            self._fitted = (key, fill_picture(self.pictures[self.index], columns, rows))
        return self._fitted[1]

    def _draw(self) -> None:
        """Draw the current picture, or the zoomed part of it, above the bottom line."""
        box = self.query_one("#picture", Container)
        columns, rows = box.content_size
        if not (columns and rows):
            return
        fitted = self._fit(columns, rows)
        shown, self.crop = fitted, None
        if fitted is not None:
            room = picture_box(columns, rows)
            self.crop = zoom_crop(fitted.pixels, (fitted.columns, fitted.rows), room,
                                  ZOOM_LEVELS[self.zoom], self.centre)
            left, top, right, bottom = self.crop
            # Kept within the picture, so that moving back from an edge starts at once.
            (x, y), (width, height) = self.centre, fitted.pixels
            half_w, half_h = (right - left) / 2 / width, (bottom - top) / 2 / height
            self.centre = (min(max(x, half_w), 1 - half_w), min(max(y, half_h), 1 - half_h))
            if self.crop != (0, 0, *fitted.pixels):
                shown = fill_image(fitted.picture.crop(self.crop), *room)
        drawn = (self.index, columns, rows, self.crop)
        if drawn == self._drawn:
            return
        self._drawn = drawn
        box.remove_children()
        box.mount(self._picture_widget(shown, columns, rows))
        self.query_one("#caption", Static).update(Text(self._caption(fitted)))

    def _picture_widget(self, shown: FittedPicture | None, columns: int, rows: int) -> Widget:
        """The widget that draws a fitted picture in the middle of a box of cells."""
        if shown is None:
            return Static("[image: cannot draw]", markup=False)
        if image_mode().mode == "sixel":
            widget = sixel_widget(shown)
            widget.styles.offset = ((columns - shown.columns) // 2, (rows - shown.rows) // 2)
            return widget
        console = self.app.console
        lines = [Strip(line).adjust_cell_length(shown.columns)
                 for line in picture_lines(shown, console, console.options)]
        widget = PictureLines(lines)
        widget.styles.width, widget.styles.height = shown.columns, len(lines)
        return widget

    def _caption(self, fitted: FittedPicture | None) -> str:
        """The bottom line: which picture, which part of it, and the keys."""
        count = len(self.pictures)
        parts = [f"{self.title_text}, image {self.index + 1} of {count}" if count > 1
                 else f"{self.title_text}, image"]
        if fitted is not None:
            parts.append("{}×{} pixels".format(*fitted.pixels))
        if self.zoom and self.crop is not None:
            left, top, right, bottom = self.crop
            parts += [f"zoom {ZOOM_LEVELS[self.zoom]:g}×: x {left}–{right}, y {top}–{bottom}",
                      "arrows: move · -: out · 0: fit"]
        else:
            if fitted is not None:
                parts.append("+: zoom")
            if count > 1:
                parts.append("n/p: other images")
        parts.append("esc: close")
        return " · ".join(parts)
