"""HTML tables (pandas DataFrames above all) laid out as aligned text.

Every value sits under its own header, also in MultiIndex tables: cells spanning rows
(``rowspan``, the index labels of a MultiIndex) leave blanks below them instead of shifting the
rows that follow, and headers spanning columns (``colspan``) cover exactly their columns.
Numeric columns are right-aligned, a rule separates the header rows from the body, and a ``│``
separates the index column(s) from the values. Given a width, a table too wide for it keeps its
index and the columns that fit and says how many more there are, rather than wrapping every row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Literal

from rich.cells import cell_len

__all__ = ["MAX_CELL_WIDTH", "TableLine", "layout_table", "split_tables"]

MAX_CELL_WIDTH = 40
"""Widest a column gets; longer values are cut with an ellipsis."""

MAX_SLOTS = 200_000
"""Most cells (spans counted out) a table may have to be laid out; larger ones are left to
the general HTML converter."""

COLUMN_GAP = "  "
INDEX_SEPARATOR = " │ "

LineKind = Literal["text", "header", "rule", "row", "note"]

_TABLE_TAG_RE = re.compile(r"<(/?)table\b[^>]*>", re.IGNORECASE)
_NUMBER_RE = re.compile(r"^[-+−]?(?:[$€£]\s?)?(?:\d[\d,_ ]*)?(?:\.\d+)?(?:[eE][-+]?\d+)?%?$")
_MISSING = frozenset({"nan", "NaN", "<NA>", "NaT", "None", "inf", "-inf", "...", "…", "-", ""})


@dataclass(frozen=True)
class TableLine:
    """One line of laid-out HTML: its text, what it is, and where a table row's values start."""

    text: str
    kind: LineKind = "text"
    index_width: int = 0
    """Characters of the line taken by the index column(s) and their separator."""


@dataclass
class _Cell:
    text: str = ""
    header: bool = False
    colspan: int = 1
    rowspan: int = 1


@dataclass
class _Row:
    cells: list[_Cell] = field(default_factory=list)
    in_head: bool = False


class _TableParser(HTMLParser):
    """Collects the rows and cells of one table; nested tables only add their text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[_Row] = []
        self._depth = 0
        self._in_head = False
        self._cell: _Cell | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._depth += 1
        if self._depth != 1:
            return
        if tag == "thead":
            self._in_head = True
        elif tag == "tbody":
            self._in_head = False
        elif tag == "tr":
            self._finish_cell()
            self.rows.append(_Row(in_head=self._in_head))
        elif tag in ("td", "th"):
            self._finish_cell()
            if not self.rows:
                self.rows.append(_Row(in_head=self._in_head))
            values = dict(attrs)
            self._cell = _Cell(header=tag == "th", colspan=_span(values.get("colspan")),
                               rowspan=_span(values.get("rowspan")))
        elif tag == "br" and self._cell is not None:
            self._text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._depth -= 1
        if self._depth == 0 or (self._depth == 1 and tag in ("td", "th", "tr")):
            self._finish_cell()
        if tag == "thead" and self._depth == 1:
            self._in_head = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._text.append(data)

    def _finish_cell(self) -> None:
        if self._cell is None:
            return
        self._cell.text = " ".join("".join(self._text).replace("\xa0", " ").split())
        self.rows[-1].cells.append(self._cell)
        self._cell, self._text = None, []


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1


def split_tables(html: str) -> list[tuple[bool, str]]:
    """Split HTML into its outermost tables and the HTML between them.

    Args:
        html: An HTML fragment.

    Returns:
        ``(is_table, fragment)`` pairs in order; an unclosed table runs to the end.
    """
    parts: list[tuple[bool, str]] = []
    depth, start, last = 0, 0, 0
    for match in _TABLE_TAG_RE.finditer(html):
        if not match.group(1):
            if depth == 0:
                start = match.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                if start > last:
                    parts.append((False, html[last:start]))
                parts.append((True, html[start:match.end()]))
                last = match.end()
    if depth:
        if start > last:
            parts.append((False, html[last:start]))
        parts.append((True, html[start:]))
    elif last < len(html):
        parts.append((False, html[last:]))
    return parts


def _grid(rows: list[_Row]) -> list[list[tuple[_Cell, bool] | None]] | None:
    """Rows of slots: (cell, whether this slot is where the cell's text goes) or None.

    None when the spans would make more than :data:`MAX_SLOTS` slots (a few kilobytes of
    HTML can ask for millions with ``colspan`` and ``rowspan``).
    """
    grid: list[list[tuple[_Cell, bool] | None]] = []
    # Row number -> column -> the cell spanning down into it from a row above.
    below: dict[int, dict[int, _Cell]] = {}
    slots = 0
    for r, row in enumerate(rows):
        spanned = below.pop(r, {})
        line: list[tuple[_Cell, bool] | None] = []
        cells = iter(row.cells)
        column = 0
        while True:
            if column in spanned:
                line.append((spanned.pop(column), False))
                column += 1
                continue
            cell = next(cells, None)
            if cell is None:
                break
            cell.rowspan = min(cell.rowspan, len(rows) - r)
            slots += cell.colspan * cell.rowspan
            if slots > MAX_SLOTS:
                return None
            for offset in range(cell.colspan):
                line.append((cell, offset == 0))
                for down in range(r + 1, r + cell.rowspan):
                    below.setdefault(down, {})[column + offset] = cell
            column += cell.colspan
        for column_below in sorted(spanned):
            line.extend([None] * (column_below - len(line)))
            line.append((spanned[column_below], False))
        grid.append(line)
    width = max((len(line) for line in grid), default=0)
    for line in grid:
        line.extend([None] * (width - len(line)))
    return grid


def _is_number(text: str) -> bool:
    return text in _MISSING or bool(_NUMBER_RE.match(text))


def _cut(text: str, width: int) -> str:
    if cell_len(text) <= width:
        return text
    text = text[:width]  # at least one cell per character: the loop below stays short
    while text and cell_len(text) > width - 1:
        text = text[:-1]
    return text + "…"


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(0, width - cell_len(text))
    return gap + text if right else text + gap


def layout_table(html: str, width: int | None = None) -> list[TableLine]:
    """Lay out one HTML table as lines of aligned text.

    Args:
        html: The table's HTML, ``<table>`` to ``</table>``.
        width: Columns available, or None for no limit. Columns that do not fit are left out
            (the index is always kept) and a note says how many.

    Returns:
        The header lines, a rule, the body rows and possibly a note; empty for a table without
        cells or with more than :data:`MAX_SLOTS` of them.
    """
    parser = _TableParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; anything else is shown as plain text upstream
        return []
    rows = [row for row in parser.rows if row.cells]
    if not rows:
        return []
    head = _count_leading([row.in_head for row in rows])
    if head == 0:
        # Without a <thead>, the leading rows of header cells are the header (not all rows).
        head = _count_leading([all(cell.header for cell in row.cells) for row in rows[:-1]])
    grid = _grid(rows)
    if grid is None:
        return []
    columns = len(grid[0])
    body = grid[head:]
    index = columns
    for line in body:
        leading = 0
        for slot in line:
            if slot is None or not slot[0].header:
                break
            leading += 1
        index = min(index, leading)
    if not body or index == columns:
        index = 0

    numeric = [index <= c and any(slot and slot[1] and slot[0].text for slot in
                                  (line[c] for line in body))
               and all(slot is None or not slot[1] or _is_number(slot[0].text)
                       for slot in (line[c] for line in body))
               for c in range(columns)]
    widths = [0] * columns
    for line in grid:
        for c, slot in enumerate(line):
            if slot and slot[1] and slot[0].colspan == 1:
                widths[c] = max(widths[c], min(cell_len(slot[0].text), MAX_CELL_WIDTH))
    # A header spanning columns widens the last of them if its text needs more room.
    for line in grid:
        for c, slot in enumerate(line):
            if slot and slot[1] and slot[0].colspan > 1:
                last = min(c + slot[0].colspan, columns) - 1
                span = sum(widths[c:last + 1]) + (last - c) * len(COLUMN_GAP)
                need = min(cell_len(slot[0].text), MAX_CELL_WIDTH)
                if need > span:
                    widths[last] += need - span
    shown = columns
    if width is not None:
        used = sum(widths[:index]) + max(0, index - 1) * len(COLUMN_GAP)
        used += len(INDEX_SEPARATOR) if index else 0
        shown = index
        for c in range(index, columns):
            extra = widths[c] + (len(COLUMN_GAP) if c > index else 0)
            room = width - (len(COLUMN_GAP) + 1 if c < columns - 1 else 0)
            if shown > index and used + extra > room:
                break
            used += extra
            shown = c + 1

    def text_of(slot: tuple[_Cell, bool] | None) -> str:
        return slot[0].text if slot is not None and slot[1] else ""

    def render(line: list[tuple[_Cell, bool] | None], kind: LineKind) -> TableLine:
        index_part = COLUMN_GAP.join(_pad(_cut(text_of(line[c]), widths[c]), widths[c], False)
                                     for c in range(index))
        values: list[str] = []
        c = index
        while c < shown:
            slot = line[c]
            if slot is not None and slot[1] and slot[0].colspan > 1:
                last = min(c + slot[0].colspan, shown) - 1
                span = sum(widths[c:last + 1]) + (last - c) * len(COLUMN_GAP)
                values.append(_pad(_cut(slot[0].text, span), span, False))
                c = last + 1
            else:
                values.append(_pad(_cut(text_of(slot), widths[c]), widths[c], numeric[c]))
                c += 1
        if shown < columns:
            values.append("…" if kind == "row" else " ")
        data = COLUMN_GAP.join(values)
        if not index:
            return TableLine(data.rstrip(), kind)
        return TableLine((index_part + INDEX_SEPARATOR + data).rstrip(), kind,
                         len(index_part) + len(INDEX_SEPARATOR))

    lines = [render(line, "header") for line in grid[:head]]
    body_lines = [render(line, "row") for line in body]
    if head:
        total = max(cell_len(line.text) for line in (*lines, *body_lines))
        if index:
            left = body_lines[0].index_width - len(INDEX_SEPARATOR) + 1
            rule = "─" * left + "┼" + "─" * max(0, total - left - 1)
        else:
            rule = "─" * total
        lines.append(TableLine(rule, "rule", body_lines[0].index_width if body_lines else 0))
    lines.extend(body_lines)
    if shown < columns:
        more = columns - shown
        lines.append(TableLine(f"… {more} more column{'s' if more != 1 else ''} not shown",
                               "note"))
    return lines


def _count_leading(flags: list[bool]) -> int:
    """How many of the first flags are true."""
    count = 0
    for flag in flags:
        if not flag:
            break
        count += 1
    return count
