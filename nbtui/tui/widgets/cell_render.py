"""Turning cells into lines of the screen: cheap, cached by the view, only for what is visible.

Nothing here is a widget. :class:`CellPainter` renders a cell's source and outputs to
:class:`~textual.strip.Strip` lines of a given width; :func:`estimate_height` guesses how many
lines a cell will take without rendering it, so that a notebook of thousands of cells can be
laid out before any of it is drawn.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from rich.console import Console, JustifyMethod, RenderableType
from rich.json import JSON
from rich.markdown import Heading, Markdown
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from nbtui.core.document import Cell
from nbtui.core.render import collapse_carriage_returns, html_to_text, output_images
from nbtui.tui.widgets.highlight import highlight_lines, lexer_for
from nbtui.tui.widgets.images import FittedPicture, fit_picture, image_lines, image_mode

Fold = Literal["collapsed", "expanded", "hidden"]
"""How a cell's outputs are shown: the first lines only, all of them, or not at all."""

COLLAPSED_LINES = 30
"""Output lines shown before a long output is cut (the rest behind a "more lines" marker)."""

EXPANDED_LINES = 5000
"""Output lines shown at most even when expanded; floods beyond that stay cut."""

IMAGE_ESTIMATE = 16
"""Lines an image is assumed to take before it is drawn."""

_TEXT_MIMES = ("text/markdown", "text/html", "application/json", "text/latex", "text/plain")


class _LeftHeading(Heading):
    """Headings aligned left, as notebooks show them (rich centres level 1)."""

    LEVEL_ALIGN: ClassVar[dict[str, JustifyMethod]] = dict.fromkeys(
        ("h1", "h2", "h3", "h4", "h5", "h6"), "left")


class NotebookMarkdown(Markdown):
    """Rich's markdown with left-aligned headings."""

    elements: ClassVar[dict[str, type[Any]]] = {**Markdown.elements,
                                                "heading_open": _LeftHeading}


@dataclass
class Palette:
    """The rich styles a painter draws with; the view fills it from its CSS component classes."""

    input: Style = field(default_factory=Style)
    markdown: Style = field(default_factory=Style)
    raw: Style = field(default_factory=Style)
    output: Style = field(default_factory=Style)
    stderr: Style = field(default_factory=Style)
    more: Style = field(default_factory=Style)
    syntax: dict[str, Style] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageSlot:
    """Blank output lines kept for a picture that a widget draws over them (sixel mode)."""

    output_index: int
    """Which of the cell's outputs the picture is."""
    line: int
    """Index in the block's `lines` of the slot's first line."""
    fitted: FittedPicture
    """The picture and its size in cells (`rows` lines of `columns` cells)."""

    @property
    def columns(self) -> int:
        """The slot's width in cells."""
        return self.fitted.columns

    @property
    def rows(self) -> int:
        """The slot's height in lines."""
        return self.fitted.rows


@dataclass
class OutputBlock:
    """A cell's outputs as screen lines."""

    lines: list[Strip]
    more_line: int | None = None
    """Index in `lines` of the "… N more lines" marker, if the outputs were cut."""
    more: int = 0
    """How many lines the marker stands for."""
    images: list[ImageSlot] = field(default_factory=list)
    """The image slots among `lines` (sixel mode only), top to bottom."""


def _join(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return "" if value is None else str(value)


def _head(text: str, max_lines: int, max_chars: int) -> tuple[str, int]:
    """The first `max_lines` lines of `text` (each cut to `max_chars`) and its total line count.

    Only slicing and C-level counting, so a multi-megabyte stream costs a millisecond.
    """
    total = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    end, found = 0, 0
    while found < max_lines:
        nl = text.find("\n", end)
        if nl < 0:
            end = len(text)
            break
        end, found = nl + 1, found + 1
    head = text[:end]
    if len(head) > max_chars * max(1, max_lines):
        head = "\n".join(line[:max_chars] for line in head.split("\n"))
    return head.rstrip("\n"), total


def _count_upto(text: str, limit: int) -> int:
    """Lines in `text`, counting at most `limit` of them."""
    count, start = 0, 0
    while count < limit:
        nl = text.find("\n", start)
        if nl < 0:
            return count + (1 if start < len(text) else 0)
        count, start = count + 1, nl + 1
    return count


def choose_mime(data: dict[str, Any]) -> str | None:
    """Which entry of a MIME bundle the screen shows: images first, then the richest text."""
    for mime in ("image/png", "image/jpeg", *_TEXT_MIMES):
        if mime in data:
            return mime
    return next(iter(data), None)


def estimate_height(cell: Cell, fold: Fold, *, edit_lines: int | None = None) -> int:
    """A cheap guess of the lines a cell takes on screen, without rendering it.

    Args:
        cell: the cell.
        fold: how its outputs are shown.
        edit_lines: the editor's line count when the cell is being edited.

    Returns:
        Source lines plus output lines plus one separator line.
    """
    source = edit_lines if edit_lines is not None else cell.source.count("\n") + 1
    return source + _estimate_outputs(cell.outputs, fold) + 1


def _estimate_outputs(outputs: list[dict[str, Any]], fold: Fold) -> int:
    if not outputs:
        return 0
    if fold == "hidden":
        return 1
    limit = COLLAPSED_LINES if fold == "collapsed" else EXPANDED_LINES
    total = 0
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            total += _count_upto(_join(output.get("text")), limit - total + 1)
        elif kind == "error":
            total += min(len(output.get("traceback") or []) * 3 + 1, limit)
        else:
            data = output.get("data") or {}
            mime = choose_mime(data) if isinstance(data, dict) else None
            if mime is None:
                continue
            if mime.startswith("image/") and mime != "image/svg+xml":
                total += IMAGE_ESTIMATE
            elif mime == "text/html":
                total += min(_join(data[mime]).count("<tr") + 2, limit)
            else:
                total += _count_upto(_join(data[mime]), limit - total + 1)
        if total > limit:
            return limit + 1
    return total


class CellPainter:
    """Renders cell sources and outputs to strips for one console and palette.

    Args:
        console: the console to render rich renderables with (the app's).
        palette: the styles to draw with.
    """

    def __init__(self, console: Console, palette: Palette) -> None:
        self.console = console
        self.palette = palette
        self._images: dict[tuple[int, str, str, int, str],
                           tuple[list[Strip], FittedPicture | None]] = {}

    # -- sources -------------------------------------------------------------------------

    def source(self, cell: Cell, width: int, language: str | None) -> list[Strip]:
        """A cell's source as lines: highlighted code, rendered markdown or plain raw text."""
        if cell.cell_type == "markdown":
            if not cell.source.strip():
                return [self._pad([Segment("(empty markdown cell)", self.palette.raw)], width,
                                  self.palette.markdown)]
            markdown = NotebookMarkdown(cell.source, code_theme="monokai", hyperlinks=False)
            return self._render(markdown, width, self.palette.markdown)
        base = self.palette.input if cell.cell_type == "code" else self.palette.raw
        lexer = lexer_for(language, cell.cell_type)
        syntax = self.palette.syntax
        lines = []
        cut_mark = Segment("…", base + Style(dim=True))
        for spans in highlight_lines(cell.source.expandtabs(4), lexer):
            segments = [Segment(text, base + syntax[name] if name in syntax else base)
                        for text, name in spans]
            line = Strip(segments)
            if line.cell_length > width:
                # Cut at the edge: say so with a dim ellipsis in the last column.
                line = Strip.join([line.crop(0, width - 1), Strip([cut_mark])])
            lines.append(line.adjust_cell_length(width, base))
        return lines

    def blank_source(self, cell: Cell, width: int, count: int) -> list[Strip]:
        """Empty input lines where the editor is drawn over the cell."""
        base = self.palette.input if cell.cell_type == "code" else self.palette.markdown
        blank = Strip([Segment(" " * width, base)], width)
        return [blank] * max(1, count)

    # -- outputs -------------------------------------------------------------------------

    def outputs(self, outputs: list[dict[str, Any]], width: int, fold: Fold) -> OutputBlock:
        """A cell's outputs as lines, cut to :data:`COLLAPSED_LINES` unless expanded.

        Args:
            outputs: nbformat v4 output dicts.
            width: the width of the output area.
            fold: collapsed, expanded or hidden.

        Returns:
            The lines and where the "more lines" marker is.
        """
        if not outputs:
            return OutputBlock([])
        if fold == "hidden":
            count = len(outputs)
            noun = "output" if count == 1 else "outputs"
            marker = f"⋯ {count} {noun} hidden (o to show)"
            return OutputBlock([self._pad([Segment(marker, self.palette.more)], width,
                                          self.palette.output)], more_line=0)
        limit = COLLAPSED_LINES if fold == "collapsed" else EXPANDED_LINES
        lines: list[Strip] = []
        slots: list[ImageSlot] = []
        hidden = 0
        for index, output in enumerate(outputs):
            room = limit - len(lines)
            if room <= 0:
                hidden += _estimate_outputs([output], "expanded")
                continue
            rendered, left_out, fitted = self._output(output, width, room)
            if fitted is not None and len(rendered) > room:
                # A sixel picture is drawn whole or not at all: a note stands for a cut one.
                px_w, px_h = fitted.pixels
                note = f"[image: {px_w}x{px_h}, cut]"
                rendered = [self._pad([Segment(note, self.palette.more)], width,
                                      self.palette.output)]
                left_out, fitted = left_out + fitted.rows - 1, None
            if len(rendered) > room:
                left_out += len(rendered) - room
                rendered = rendered[:room]
            if fitted is not None:
                slots.append(ImageSlot(index, len(lines), fitted))
            lines.extend(rendered)
            hidden += left_out
        if not hidden:
            return OutputBlock(lines, images=slots)
        hint = "o expands" if fold == "collapsed" else "too long to show all"
        marker = f"… {hidden:,} more line{'s' if hidden != 1 else ''} ({hint})"
        lines.append(self._pad([Segment(marker, self.palette.more)], width, self.palette.output))
        return OutputBlock(lines, more_line=len(lines) - 1, more=hidden, images=slots)

    def _output(self, output: dict[str, Any], width: int, room: int,
                ) -> tuple[list[Strip], int, FittedPicture | None]:
        """One output as lines (at most about `room` of them), how many lines it left out,
        and the picture a widget draws over the lines (sixel mode), if any."""
        if output.get("output_type") not in ("stream", "error"):
            data = output.get("data")
            mime = choose_mime(data) if isinstance(data, dict) else None
            if mime in ("image/png", "image/jpeg"):
                assert isinstance(data, dict)
                lines, fitted = self._image(output, mime, data[mime], width)
                return lines, 0, fitted
        return (*self._text_output(output, width, room), None)

    def _text_output(self, output: dict[str, Any], width: int,
                     room: int) -> tuple[list[Strip], int]:
        """One output that is not a picture as lines, and how many lines it left out."""
        kind = output.get("output_type")
        style = self.palette.output
        if kind == "stream":
            if output.get("name") == "stderr":
                style = self.palette.stderr
            return self._text(collapse_carriage_returns(_join(output.get("text"))), width, room,
                              style, ansi=True)
        if kind == "error":
            traceback = output.get("traceback") or []
            text = "\n".join(_join(line) for line in traceback) if traceback else (
                f"{_join(output.get('ename'))}: {_join(output.get('evalue'))}")
            return self._text(text, width, room, style, ansi=True)
        data = output.get("data")
        if not isinstance(data, dict):
            return [], 0
        mime = choose_mime(data)
        if mime is None:
            return [], 0
        value = data[mime]
        if mime == "text/markdown":
            head, total = _head(_join(value), room, width * 4)
            lines = self._render(NotebookMarkdown(head, hyperlinks=False), width, style)
            return lines, max(0, total - head.count("\n") - 1)
        if mime == "text/html":
            return self._text(html_to_text(_join(value)), width, room, style, ansi=False)
        if mime == "application/json":
            try:
                parsed = json.loads(value) if isinstance(value, str) else value
                text = json.dumps(parsed, indent=2, ensure_ascii=False, default=str)
            except ValueError:
                return self._text(_join(value), width, room, style, ansi=False)
            head, total = _head(text, room, width * 4)
            rendered = self._render(JSON(head) if head == text else Text(head), width, style)
            return rendered, max(0, total - head.count("\n") - 1)
        if mime in ("text/plain", "text/latex"):
            return self._text(_join(value), width, room, style, ansi=True)
        return [self._pad([Segment(f"[{mime}]", self.palette.more)], width, style)], 0

    def _text(self, text: str, width: int, room: int, style: Style, *,
              ansi: bool) -> tuple[list[Strip], int]:
        head, total = _head(text, room, width * 4)
        shown = head.count("\n") + 1 if head else 0
        rich_text = Text.from_ansi(head) if ansi and "\x1b" in head else Text(head)
        rich_text.expand_tabs(8)
        return self._render(rich_text, width, style), max(0, total - shown)

    def _image(self, output: dict[str, Any], mime: str, value: Any,
               width: int) -> tuple[list[Strip], FittedPicture | None]:
        """A picture's lines: drawn ones, or in sixel mode a blank slot and the picture."""
        text = _join(value)
        mode = image_mode().mode
        key = (len(text), text[:128], text[-128:], width, mode)
        cached = self._images.get(key)
        if cached is not None:
            return cached
        raw = dict(output_images(output)).get(mime)
        fitted: FittedPicture | None = None
        rendered: list[list[Segment]] | None = None
        if raw and mode == "sixel":
            fitted = fit_picture(raw, width)
            if fitted is not None:
                rendered = [[]] * fitted.rows
        elif raw:
            rendered = image_lines(raw, self.console, self.console.options, width)
        if rendered is None:
            lines = [self._pad([Segment(f"[{mime}: cannot draw]", self.palette.more)], width,
                               self.palette.output)]
        else:
            lines = [self._pad(line, width, self.palette.output) for line in rendered]
        if len(self._images) > 200:
            self._images.clear()
        self._images[key] = (lines, fitted)
        return lines, fitted

    # -- helpers -------------------------------------------------------------------------

    def _render(self, renderable: RenderableType, width: int, style: Style) -> list[Strip]:
        options = self.console.options.update(width=width, height=None, highlight=False)
        rendered = self.console.render_lines(renderable, options, style=style, pad=True)
        return [Strip(line, width) for line in rendered]

    @staticmethod
    def _pad(segments: Iterable[Segment], width: int, style: Style) -> Strip:
        return Strip(list(segments)).adjust_cell_length(width, style)
