"""Find and replace across a notebook: plain text matching over sources and outputs' text.

A query is plain text (no patterns) matched within one line. It is case-insensitive unless it
has a capital letter ("smart case", as in vim and euporie). Sources are searched as they are;
outputs as their plain text: each output's text in order (streams, `text/plain`, error
tracebacks, ANSI codes stripped; images skipped), split into lines on "\\n". A match names its
cell, the part ("source" or "outputs"), the 0-based line of that part and the columns
[start, end) of the line, which is what a view needs to show it. Replacing only ever changes
sources.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from nbtui.core.document import Cell, Document
from nbtui.core.render import (
    IMAGE_MIMES,
    best_mime,
    collapse_carriage_returns,
    output_text,
    strip_ansi,
)

Part = Literal["source", "outputs"]

MAX_MATCHES = 10_000
"""A search stops counting here, so that a one-letter query over huge outputs stays cheap."""

_PART_ORDER = {"source": 0, "outputs": 1}

_NEWLINE = re.compile("\n")


@dataclass(frozen=True)
class Match:
    """One occurrence of the query.

    Attributes:
        cell_id: the cell it is in.
        part: "source" or "outputs".
        line: the 0-based line of the cell's source, or of its outputs' text (see
            :func:`output_lines`).
        start: the first column (character index in the line) of the match.
        end: the column just after it.
    """

    cell_id: str
    part: Part
    line: int
    start: int
    end: int


@dataclass(frozen=True)
class FindResult:
    """The matches of a query over a whole notebook, in notebook order.

    Attributes:
        matches: every match, cell by cell, sources before outputs, line by line.
        case_sensitive: whether the query matched case-sensitively (it has a capital letter).
        complete: False when the search stopped at :data:`MAX_MATCHES`.
    """

    matches: list[Match]
    case_sensitive: bool
    complete: bool = True


def is_case_sensitive(query: str) -> bool:
    """Whether a query matches case-sensitively: only when it has a capital letter."""
    return any(char.isupper() for char in query)


def query_pattern(query: str) -> re.Pattern[str]:
    """The compiled form of a plain-text query, with the smart-case rule applied."""
    flags = 0 if is_case_sensitive(query) else re.IGNORECASE
    return re.compile(re.escape(query), flags)


def _join(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return value if isinstance(value, str) else ""


def output_plain_text(output: dict[str, Any]) -> str:
    """The text of one output that find searches (empty for images and unknown outputs).

    Streams: their text with ANSI codes stripped and carriage-return rewrites collapsed.
    Errors: the traceback's lines (or "ename: evalue" when there is none), ANSI stripped.
    Results and displays: `text/plain`; without it, the text form of the bundle's best text
    type (HTML as text, JSON); nothing for a bundle that is only a picture.
    """
    kind = output.get("output_type")
    if kind == "stream":
        return collapse_carriage_returns(strip_ansi(_join(output.get("text"))))
    if kind == "error":
        traceback = output.get("traceback") or []
        if isinstance(traceback, list) and traceback:
            return strip_ansi("\n".join(_join(line) for line in traceback))
        return strip_ansi(f"{_join(output.get('ename'))}: {_join(output.get('evalue'))}")
    data = output.get("data")
    if not isinstance(data, dict):
        return ""
    if "text/plain" in data:
        return strip_ansi(_join(data["text/plain"]))
    if best_mime(data) is None or any(mime in data for mime in IMAGE_MIMES):
        return ""
    return output_text(output)[0]


def output_lines(outputs: Iterable[dict[str, Any]]) -> list[str]:
    """The lines of a cell's outputs as find counts them.

    Each output's :func:`output_plain_text`, without its final newline, split on "\\n", the
    outputs one after another; an output with no text adds no line.
    """
    lines: list[str] = []
    for output in outputs:
        text = output_plain_text(output)
        if text:
            lines.extend(text.removesuffix("\n").split("\n"))
    return lines


class OutputTexts:
    """The outputs' text of each cell (:func:`output_lines` joined), kept while the document
    does not change, so that typing a query does not re-read large outputs at every key."""

    def __init__(self) -> None:
        self._version: int | None = None
        self._texts: dict[str, str] = {}

    def get(self, document: Document, cell: Cell) -> str:
        """The text of a cell's outputs, lines joined with "\\n"."""
        if self._version != document.version:
            self._texts.clear()
            self._version = document.version
        text = self._texts.get(cell.id)
        if text is None:
            text = self._texts[cell.id] = "\n".join(output_lines(cell.outputs))
        return text


def _text_matches(pattern: re.Pattern[str], cell_id: str, part: Part, text: str,
                  found: list[Match], limit: int) -> bool:
    """Append the matches in `text` (lines joined with "\\n"); False once `limit` matches
    are found. The query has no newline, so a match never spans lines."""
    starts: list[int] | None = None
    for hit in pattern.finditer(text):
        if len(found) >= limit:
            return False
        if starts is None:
            starts = [0, *(newline.end() for newline in _NEWLINE.finditer(text))]
        line = bisect_right(starts, hit.start()) - 1
        found.append(Match(cell_id, part, line, hit.start() - starts[line],
                           hit.end() - starts[line]))
    return True


def find_matches(document: Document, query: str, *, limit: int = MAX_MATCHES,
                 texts: OutputTexts | None = None) -> FindResult:
    """Every match of `query` in the notebook's sources and outputs, in notebook order.

    Args:
        document: the notebook.
        query: plain text within one line; empty (or several lines) finds nothing.
        limit: stop after this many matches.
        texts: outputs' texts kept from an earlier search of the same document.

    Returns:
        The matches, whether the search was case-sensitive, and whether it was complete.
    """
    case_sensitive = is_case_sensitive(query)
    found: list[Match] = []
    if not query or "\n" in query:
        return FindResult(found, case_sensitive)
    pattern = query_pattern(query)
    texts = texts or OutputTexts()
    for cell in document.cells:
        if not _text_matches(pattern, cell.id, "source", cell.source, found, limit):
            return FindResult(found, case_sensitive, complete=False)
        if cell.outputs and not _text_matches(pattern, cell.id, "outputs",
                                              texts.get(document, cell), found, limit):
            return FindResult(found, case_sensitive, complete=False)
    return FindResult(found, case_sensitive)


def order_key(document: Document, match: Match) -> tuple[int, int, int, int]:
    """Where a match (or a position shaped like one) sits in notebook order.

    A position in a cell that no longer exists sorts first.
    """
    index = document.index_of(match.cell_id) if document.has(match.cell_id) else -1
    return index, _PART_ORDER[match.part], match.line, match.start


def pick(document: Document, matches: list[Match], origin: Match, *, forward: bool = True,
         inclusive: bool = False) -> tuple[int, bool] | None:
    """The match to go to from `origin`, wrapping around the notebook's ends.

    Args:
        document: the notebook the matches were found in.
        matches: matches in notebook order (from :func:`find_matches`).
        origin: where to start: the current match, or a position such as the start of the
            selected cell (`Match(cell_id, "source", 0, 0, 0)`).
        forward: the next match after `origin`, else the previous one before it.
        inclusive: a match starting exactly at `origin` counts.

    Returns:
        The index in `matches` and whether the search wrapped around; None with no matches.
    """
    if not matches:
        return None
    keys = [order_key(document, match) for match in matches]
    key = order_key(document, origin)
    if forward:
        index = bisect_left(keys, key) if inclusive else bisect_right(keys, key)
        return (index, False) if index < len(matches) else (0, True)
    index = (bisect_right(keys, key) if inclusive else bisect_left(keys, key)) - 1
    return (index, False) if index >= 0 else (len(matches) - 1, True)


def source_offset(source: str, line: int, column: int) -> int:
    """The character offset in `source` of a line and column."""
    lines = source.split("\n")
    return sum(len(text) + 1 for text in lines[:line]) + column


def replace_match(source: str, match: Match, replacement: str) -> str:
    """`source` with one source match replaced.

    Raises:
        ValueError: the match is not in a source.
    """
    if match.part != "source":
        raise ValueError("Only matches in a cell's source can be replaced; outputs never "
                         "change.")
    start = source_offset(source, match.line, match.start)
    return source[:start] + replacement + source[start + match.end - match.start:]


def replace_all(source: str, query: str, replacement: str) -> tuple[str, int]:
    """`source` with every match of `query` replaced (smart case), and how many there were."""
    if not query or "\n" in query:
        return source, 0
    return query_pattern(query).subn(lambda _: replacement, source)
