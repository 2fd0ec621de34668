"""A cell's image outputs shown one at a time, each fitted to the whole terminal.

The picture is drawn the way the notebook draws it: as text lines (chafa symbols or half
blocks), as kitty placeholders, or as a sixel widget. A line at the bottom says which picture of
the cell it is and the keys.
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
from nbtui.tui.widgets.images import fill_picture, image_mode, picture_lines, sixel_widget


def cell_pictures(outputs: list[dict]) -> list[bytes]:
    """The encoded pictures (PNG or JPEG) among a cell's outputs, one per output, in order."""
    pictures = []
    for output in outputs:
        found = output_images(output)
        if found:
            pictures.append(found[0][1])
    return pictures


class PictureLines(Widget):
    """A picture drawn as lines of text (symbols, half blocks or kitty placeholders)."""

    def __init__(self, lines: list[Strip]) -> None:
        super().__init__(classes="nbtui-picture")
        self.lines = lines

    def render_line(self, y: int) -> Strip:
        return self.lines[y] if y < len(self.lines) else Strip.blank(self.size.width)


class ImageViewScreen(Screen[None]):
    """One of a cell's pictures, fitted to the terminal; `n`/`p` step through the others.

    Args:
        pictures: the cell's encoded pictures (at least one).
        title: what the pictures are (shown in the bottom line), e.g. "cell [4]".
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close the image", key_display="esc/q", id="image.close"),
        Binding("n,right", "step(1)", "Next image of the cell", key_display="n/→",
                id="image.next"),
        Binding("p,left", "step(-1)", "Previous image of the cell", key_display="p/←",
                id="image.previous"),
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
        self._drawn: tuple[int, int, int] | None = None

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
            self._draw()

    def _draw(self) -> None:
        """Draw the current picture to fill the space above the bottom line."""
        box = self.query_one("#picture", Container)
        columns, rows = box.content_size
        if (self.index, columns, rows) == self._drawn or not (columns and rows):
            return
        self._drawn = (self.index, columns, rows)
        box.remove_children()
        fitted = fill_picture(self.pictures[self.index], columns, rows)
        size = ""
        if fitted is None:
            box.mount(Static("[image: cannot draw]", markup=False))
        elif image_mode().mode == "sixel":
            widget = sixel_widget(fitted)
            widget.styles.offset = ((columns - fitted.columns) // 2, (rows - fitted.rows) // 2)
            box.mount(widget)
        else:
            console = self.app.console
            lines = [Strip(line).adjust_cell_length(fitted.columns)
                     for line in picture_lines(fitted, console, console.options)]
            widget = PictureLines(lines)
            widget.styles.width, widget.styles.height = fitted.columns, len(lines)
            box.mount(widget)
        if fitted is not None:
            size = " · {}×{} pixels".format(*fitted.pixels)
        count = len(self.pictures)
        which = f"image {self.index + 1} of {count}" if count > 1 else "image"
        keys = "n/p: other images · esc: close" if count > 1 else "esc: close"
        self.query_one("#caption", Static).update(
            Text(f"{self.title_text}, {which}{size} · {keys}"))
