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
from nbtui.core.latex import latex_output_to_text, markdown_math_to_unicode
from nbtui.core.render import collapse_carriage_returns, html_lines, output_images
from nbtui.core.tables import INDEX_SEPARATOR, TableLine
from nbtui.tui.widgets.highlight import highlight_lines, lexer_for
from nbtui.tui.widgets.images import FittedPicture, fit_picture, image_lines, image_mode

Fold = Literal["collapsed", "expanded", "hidden"]
"""How a cell's outputs are shown: the first and last lines only, all of them, or not at all."""

COLLAPSED_LINES = 30
"""Output lines shown of a long output (the rest behind a "more lines" marker)."""

TAIL_LINES = 10
"""Of the lines shown of a cut output, how many are its last ones (below the marker): the
exception line of a traceback, the newest lines of a log."""

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


@dataclass(frozen=True)
class _Part:
    """Which output the first or last lines shown of a cut block reach into, and how much."""

    index: int
    shown: int
    total: int


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


def _tail(text: str, max_lines: int, max_chars: int) -> tuple[str, int]:
    """The last `max_lines` lines of `text` (each cut to `max_chars`) and its total line count;
    trailing newlines are left out, as :func:`_head` leaves them out."""
    total = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    body = text.rstrip("\n")
    start = len(body)
    for _ in range(max_lines):
        start = body.rfind("\n", 0, start)
        if start < 0:
            break
    tail = body[start + 1:]
    if len(tail) > max_chars * max(1, max_lines):
        tail = "\n".join(line[:max_chars] for line in tail.split("\n"))
    return tail, total


def _count_upto(text: str, limit: int) -> int:
    """Lines in `text`, counting at most `limit` of them."""
    count, start = 0, 0
    while count < limit:
        nl = text.find("\n", start)
        if nl < 0:
            return count + (1 if start < len(text) else 0)
        count, start = count + 1, nl + 1
    return count


LINE_NUMBER_MARGIN = 2
"""Spaces after a line number, as the editor (a TextArea) leaves them."""


def line_number_width(line_count: int) -> int:
    """Columns the line numbers of a source with `line_count` lines take, margin included."""
    return len(str(line_count)) + LINE_NUMBER_MARGIN


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

    def source(self, cell: Cell, width: int, language: str | None, *,
               line_numbers: bool = False) -> list[Strip]:
        """A cell's source as lines: highlighted code, rendered markdown or plain raw text.

        With `line_numbers`, each line of a code cell starts with its number, right-aligned
        in :func:`line_number_width` columns.
        """
        if cell.cell_type == "markdown":
            if not cell.source.strip():
                return [self._pad([Segment("(empty markdown cell)", self.palette.raw)], width,
                                  self.palette.markdown)]
            markdown = NotebookMarkdown(markdown_math_to_unicode(cell.source),
                                        code_theme="monokai", hyperlinks=False)
            return self._render(markdown, width, self.palette.markdown)
        base = self.palette.input if cell.cell_type == "code" else self.palette.raw
        lexer = lexer_for(language, cell.cell_type)
        syntax = self.palette.syntax
        lines = []
        dim = base + Style(dim=True)
        cut_mark = Segment("…", dim)
        numbers = line_numbers and cell.cell_type == "code"
        number_width = line_number_width(cell.source.count("\n") + 1) if numbers else 0
        text_width = max(1, width - number_width)
        for number, spans in enumerate(highlight_lines(cell.source.expandtabs(4), lexer), 1):
            segments = [Segment(text, base + syntax[name] if name in syntax else base)
                        for text, name in spans]
            line = Strip(segments)
            if line.cell_length > text_width:
                # Cut at the edge: say so with a dim ellipsis in the last column.
                line = Strip.join([line.crop(0, text_width - 1), Strip([cut_mark])])
            if numbers:
                label = Strip([Segment(f"{number:>{number_width - LINE_NUMBER_MARGIN}}"
                                       + " " * LINE_NUMBER_MARGIN, dim)])
                line = Strip.join([label, line])
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

        A cut keeps the first lines and the last :data:`TAIL_LINES`, with a "more lines"
        marker between them.

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
        lines, slots, hidden, _ = self._first_lines(outputs, width, limit)
        if not hidden:
            return OutputBlock(lines, images=slots)
        total = len(lines) + hidden
        head, head_slots, _, head_end = self._first_lines(outputs, width, limit - TAIL_LINES)
        tail, tail_slots, tail_start = self._last_lines(outputs, width, TAIL_LINES)
        if self._overlap(outputs, width, head_end, tail_start):
            # Lines counted apart from how they render (a picture drawn whole at one end and
            # as a note at the other) could bring the ends together: show the first lines only
            # rather than some twice.
            head, head_slots, tail, tail_slots = lines, slots, [], []
        more = max(1, total - len(head) - len(tail))
        hint = "o expands" if fold == "collapsed" else "too long to show all"
        marker = f"… {more:,} more line{'s' if more != 1 else ''} ({hint})"
        marker_line = self._pad([Segment(marker, self.palette.more)], width, self.palette.output)
        below = len(head) + 1
        return OutputBlock([*head, marker_line, *tail], more_line=len(head), more=more,
                           images=[*head_slots, *(ImageSlot(slot.output_index, below + slot.line,
                                                            slot.fitted) for slot in tail_slots)])

    def _overlap(self, outputs: list[dict[str, Any]], width: int, head_end: _Part | None,
                 tail_start: _Part | None) -> bool:
        """Whether the first lines shown and the last ones share a line of some output."""
        if head_end is None or tail_start is None or head_end.index < tail_start.index:
            return False
        if head_end.index > tail_start.index:
            return True
        shown = head_end.shown + tail_start.shown
        if shown < max(head_end.total, tail_start.total):
            return False
        # Each end counted the lines it did not render as one each, fewer than wrapping makes,
        # so the output has at most `shown` lines of text: count its lines exactly.
        rendered, left_out, _ = self._fitted_output(outputs[head_end.index], width,
                                                    EXPANDED_LINES, tail=False)
        return shown >= len(rendered) + left_out

    def _first_lines(self, outputs: list[dict[str, Any]], width: int, limit: int,
                     ) -> tuple[list[Strip], list[ImageSlot], int, _Part | None]:
        """The first `limit` lines of the outputs, their image slots, how many lines were left
        out, and what the last output with lines among them shows of itself."""
        lines: list[Strip] = []
        slots: list[ImageSlot] = []
        hidden = 0
        last: _Part | None = None
        for index, output in enumerate(outputs):
            room = limit - len(lines)
            if room <= 0:
                hidden += _estimate_outputs([output], "expanded")
                continue
            rendered, left_out, fitted = self._fitted_output(output, width, room, tail=False)
            if fitted is not None:
                slots.append(ImageSlot(index, len(lines), fitted))
            lines.extend(rendered)
            hidden += left_out
            if rendered:
                last = _Part(index, len(rendered), len(rendered) + left_out)
        return lines, slots, hidden, last

    def _last_lines(self, outputs: list[dict[str, Any]], width: int, limit: int,
                    ) -> tuple[list[Strip], list[ImageSlot], _Part | None]:
        """The last `limit` lines of the outputs, their image slots, and what the first
        output with lines among them shows of itself."""
        chunks: list[tuple[int, list[Strip], FittedPicture | None]] = []
        shown = 0
        first: _Part | None = None
        for index in range(len(outputs) - 1, -1, -1):
            room = limit - shown
            if room <= 0:
                break
            rendered, left_out, fitted = self._fitted_output(outputs[index], width, room,
                                                             tail=True)
            chunks.append((index, rendered, fitted))
            shown += len(rendered)
            if rendered:
                first = _Part(index, len(rendered), len(rendered) + left_out)
            if left_out:
                break  # the lines above these in this output are not shown
        lines: list[Strip] = []
        slots: list[ImageSlot] = []
        for index, rendered, fitted in reversed(chunks):
            if fitted is not None:
                slots.append(ImageSlot(index, len(lines), fitted))
            lines.extend(rendered)
        return lines, slots, first

    def _fitted_output(self, output: dict[str, Any], width: int, room: int, *, tail: bool,
                       ) -> tuple[list[Strip], int, FittedPicture | None]:
        """One output as at most `room` lines (its first, or with `tail` its last), how many
        lines it left out, and the picture a widget draws over the lines (sixel mode)."""
        rendered, left_out, fitted = self._output(output, width, room, tail=tail)
        if fitted is not None and len(rendered) > room:
            # A sixel picture is drawn whole or not at all: a note stands for a cut one.
            px_w, px_h = fitted.pixels
            note = f"[image: {px_w}x{px_h}, cut]"
            rendered = [self._pad([Segment(note, self.palette.more)], width,
                                  self.palette.output)]
            left_out, fitted = left_out + fitted.rows - 1, None
        if len(rendered) > room:
            left_out += len(rendered) - room
            rendered = rendered[-room:] if tail else rendered[:room]
        return rendered, left_out, fitted

    def _output(self, output: dict[str, Any], width: int, room: int, *, tail: bool,
                ) -> tuple[list[Strip], int, FittedPicture | None]:
        """One output as lines (about `room` of them, its first or with `tail` its last), how
        many lines it left out, and the picture a widget draws over the lines (sixel mode)."""
        if output.get("output_type") not in ("stream", "error"):
            data = output.get("data")
            mime = choose_mime(data) if isinstance(data, dict) else None
            if mime in ("image/png", "image/jpeg"):
                assert isinstance(data, dict)
                lines, fitted = self._image(output, mime, data[mime], width)
                return lines, 0, fitted
        return (*self._text_output(output, width, room, tail=tail), None)

    def _text_output(self, output: dict[str, Any], width: int, room: int, *,
                     tail: bool) -> tuple[list[Strip], int]:
        """One output that is not a picture as lines (about `room` of them, its first or with
        `tail` its last), and how many lines it left out."""
        kind = output.get("output_type")
        style = self.palette.output
        if kind == "stream":
            if output.get("name") == "stderr":
                style = self.palette.stderr
            return self._text(collapse_carriage_returns(_join(output.get("text"))), width, room,
                              style, ansi=True, tail=tail)
        if kind == "error":
            traceback = output.get("traceback") or []
            text = "\n".join(_join(line) for line in traceback) if traceback else (
                f"{_join(output.get('ename'))}: {_join(output.get('evalue'))}")
            return self._text(text, width, room, style, ansi=True, tail=tail)
        data = output.get("data")
        if not isinstance(data, dict):
            return [], 0
        lines, left_out = self._bundle_text(data, width, room, style, tail=tail)
        if "image/svg+xml" in data:
            # No SVG rasterizer is among the dependencies: say what is not drawn.
            note = "[image/svg+xml: not drawn in the terminal" + (
                "; its text form is above]" if lines else "]")
            lines = [*lines, self._pad([Segment(note, self.palette.more)], width, style)]
        return lines, left_out

    def _bundle_text(self, data: dict[str, Any], width: int, room: int, style: Style, *,
                     tail: bool) -> tuple[list[Strip], int]:
        """The text form of a MIME bundle without a raster picture as lines, and how many
        lines it left out."""
        mime = choose_mime(data)
        if mime is None or mime == "image/svg+xml":
            return [], 0
        value = data[mime]
        cut = _tail if tail else _head
        if mime == "text/markdown":
            part, total = cut(_join(value), room, width * 4)
            lines = self._render(NotebookMarkdown(markdown_math_to_unicode(part),
                                                  hyperlinks=False), width, style)
            return lines, max(0, total - part.count("\n") - 1)
        if mime == "text/html":
            return self._html(_join(value), width, room, style, tail=tail)
        if mime == "application/json":
            try:
                parsed = json.loads(value) if isinstance(value, str) else value
                text = json.dumps(parsed, indent=2, ensure_ascii=False, default=str)
            except ValueError:
                return self._text(_join(value), width, room, style, ansi=False, tail=tail)
            part, total = cut(text, room, width * 4)
            rendered = self._render(JSON(part) if part == text else Text(part), width, style)
            return rendered, max(0, total - part.count("\n") - 1)
        if mime == "text/latex":
            return self._text(latex_output_to_text(_join(value)), width, room, style,
                              ansi=False, tail=tail)
        if mime == "text/plain":
            return self._text(_join(value), width, room, style, ansi=True, tail=tail)
        return [self._pad([Segment(f"[{mime}]", self.palette.more)], width, style)], 0

    def _html(self, html: str, width: int, room: int, style: Style, *,
              tail: bool) -> tuple[list[Strip], int]:
        """HTML as lines (about `room` of them, its first or with `tail` its last), tables
        with a bold header and index and a dim rule, and how many lines it left out."""
        lines = html_lines(html, width)
        part = lines[max(0, len(lines) - room):] if tail else lines[:room]
        text = Text()
        for number, line in enumerate(part):
            if number:
                text.append("\n")
            self._append_html_line(text, line)
        return self._render(text, width, style), len(lines) - len(part)

    @staticmethod
    def _append_html_line(text: Text, line: TableLine) -> None:
        bold, dim = Style(bold=True), Style(dim=True)
        if line.kind == "header":
            text.append(line.text, bold)
        elif line.kind in ("rule", "note"):
            text.append(line.text, dim)
        elif line.kind == "row" and line.index_width:
            index_end = line.index_width - len(INDEX_SEPARATOR)
            text.append(line.text[:index_end], bold)
            text.append(line.text[index_end:line.index_width], dim)
            text.append(line.text[line.index_width:])
        else:
            text.append(line.text)

    def _text(self, text: str, width: int, room: int, style: Style, *,
              ansi: bool, tail: bool) -> tuple[list[Strip], int]:
        part, total = (_tail if tail else _head)(text, room, width * 4)
        shown = part.count("\n") + 1 if part else 0
        rich_text = Text.from_ansi(part) if ansi and "\x1b" in part else Text(part)
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
