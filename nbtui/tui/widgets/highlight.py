"""Syntax highlighting shared by the cell view and the editor.

Both draw code with the same pygments tokens mapped to the highlight names of Textual's
TextArea themes, so a cell looks the same whether it is being edited or not, and no tree-sitter
grammar is needed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from itertools import accumulate
from typing import Any

from pygments.lexer import Lexer, RegexLexer
from pygments.lexers import MarkdownLexer, get_lexer_by_name
from pygments.token import (
    Comment,
    Error,
    Generic,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Token,
    Whitespace,
    _TokenType,
)
from pygments.util import ClassNotFound

LONG_LINE = 2_000
"""Lines longer than this are lexed in part: where they are shown (see LineHighlighter and
highlight_lines)."""

LOOKAHEAD_ROWS = 48
"""When a row is asked for, rows up to this far below it are lexed along with it..."""

MARGIN_ROWS = 16
"""...except the last of these, whose tokens may run on past the text handed to the lexer."""

MAX_BACK_CHARS = 4_000
"""How far above an edit lexing may restart to find the lexer's exact state."""

LONG_LINE_CONTEXT = 64
"""Columns lexed on either side of the ones asked for in a long line."""

State = tuple[str, ...]
"""A pygments RegexLexer's state stack at the start of a line."""

Range = tuple[int, int, str]
"""A highlighted run of one line: start column, end column, highlight name."""


# Most specific first: the first prefix a token type falls under names its highlight.
_NAMES: tuple[tuple[_TokenType, str], ...] = (
    (Keyword.Constant, "constant.builtin"),
    (Keyword.Namespace, "include"),
    (Keyword, "keyword"),
    (Name.Builtin.Pseudo, "variable.builtin"),
    (Name.Builtin, "function.call"),
    (Name.Function, "function"),
    (Name.Class, "class"),
    (Name.Decorator, "function"),
    (Name.Exception, "type"),
    (Name.Tag, "tag"),
    (String.Doc, "string.documentation"),
    (String.Backtick, "inline_code"),
    (String, "string"),
    (Number.Float, "float"),
    (Number, "number"),
    (Comment, "comment"),
    (Operator.Word, "keyword.operator"),
    (Operator, "operator"),
    (Punctuation, "punctuation.bracket"),
    (Generic.Heading, "heading"),
    (Generic.Subheading, "heading"),
    (Generic.Strong, "bold"),
    (Generic.Emph, "italic"),
)


@functools.lru_cache(maxsize=256)
def highlight_name(token_type: _TokenType) -> str | None:
    """The TextArea theme highlight name for a pygments token type (None: plain text)."""
    for prefix, name in _NAMES:
        if token_type in prefix:
            return name
    return None


@functools.lru_cache(maxsize=32)
def lexer_for(language: str | None, cell_type: str = "code") -> Lexer | None:
    """A pygments lexer for a cell: the notebook's language for code, markdown for markdown.

    Args:
        language: the kernel language (``python``, ``r``, ...), or None.
        cell_type: code, markdown or raw (raw cells are not highlighted).

    Returns:
        The lexer, or None when the cell is not highlighted.
    """
    if cell_type == "markdown":
        # Leading blank lines are kept so that highlighted lines stay aligned with the source.
        return MarkdownLexer(stripnl=False)
    if cell_type != "code":
        return None
    name = (language or "python").lower()
    if name in ("python", "python3"):
        name = "ipython3"
    try:
        return get_lexer_by_name(name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


Span = tuple[str, str | None]
"""A run of text and its highlight name."""


def highlight_lines(source: str, lexer: Lexer | None) -> list[list[Span]]:
    """Split a cell's source into lines of highlighted runs.

    A line longer than :data:`LONG_LINE` is highlighted in its first LONG_LINE characters only
    (the view cuts lines at its width; lexing 100 KB takes a second), and the rest of it is
    plain text.

    Args:
        source: the cell's text.
        lexer: from :func:`lexer_for`; None gives plain lines.

    Returns:
        One list of ``(text, highlight name)`` runs per line of the source (at least one line).
    """
    source_lines = source.split("\n")
    if lexer is None:
        return [[(line, None)] if line else [] for line in source_lines]
    cut = [line[LONG_LINE:] for line in source_lines]
    if any(cut):
        source = "\n".join(line[:LONG_LINE] for line in source_lines)
    lines: list[list[Span]] = [[]]
    for token_type, value in lexer.get_tokens(source):
        name = highlight_name(token_type) if token_type is not Token.Text else None
        parts = value.split("\n")
        for index, part in enumerate(parts):
            if index:
                lines.append([])
            if part:
                lines[-1].append((part, name))
    expected = len(source_lines)
    # Some lexers drop or add a trailing newline; the source's own line count wins.
    del lines[expected:]
    while len(lines) < expected:
        lines.append([])
    for spans, rest in zip(lines, cut, strict=True):
        if rest:
            spans.append((rest, None))
    return lines


_ROOT: State = ("root",)
_LONG = object()
"""Marks a long line in the row cache: its ranges depend on the columns asked for."""


def _token_stream(lexer: Lexer, text: str, stack: State) -> Iterator[tuple[int, Any, Any]]:
    """Tokens of `text` lexed from `stack`, and where a line starts between two tokens, the state.

    Yields ``(position, token type, value)`` for tokens and ``(position, None, state)`` at line
    starts. This is pygments' own ``RegexLexer.get_tokens_unprocessed`` loop, which keeps its
    state stack to itself; lexers of other kinds are lexed from their start state with no line
    states (so they are never restarted in the middle of a text).
    """
    if not (isinstance(lexer, RegexLexer) and type(lexer).get_tokens_unprocessed
            is RegexLexer.get_tokens_unprocessed):
        yield from lexer.get_tokens_unprocessed(text)
        return
    pos = 0
    tokendefs = lexer._tokens
    statestack = list(stack)
    statetokens = tokendefs[statestack[-1]]
    while True:
        for rexmatch, action, new_state in statetokens:
            m = rexmatch(text, pos)
            if m:
                if action is not None:
                    if type(action) is _TokenType:
                        yield pos, action, m.group()
                    else:
                        yield from action(lexer, m)
                pos = m.end()
                if new_state is not None:
                    if isinstance(new_state, tuple):
                        for state in new_state:
                            if state == "#pop":
                                if len(statestack) > 1:
                                    statestack.pop()
                            elif state == "#push":
                                statestack.append(statestack[-1])
                            else:
                                statestack.append(state)
                    elif isinstance(new_state, int):
                        if abs(new_state) >= len(statestack):
                            del statestack[1:]
                        else:
                            del statestack[new_state:]
                    elif new_state == "#push":
                        statestack.append(statestack[-1])
                    statetokens = tokendefs[statestack[-1]]
                break
        else:
            if pos >= len(text):
                return
            if text[pos] == "\n":
                statestack = ["root"]
                statetokens = tokendefs["root"]
                yield pos, Whitespace, "\n"
            else:
                yield pos, Error, text[pos]
            pos += 1
        if pos and text[pos - 1] == "\n":
            yield pos, None, tuple(statestack)


class LineHighlighter:
    """Highlights a text being edited line by line, lexing only near the lines asked for.

    The editor asks for the lines it draws, so a keystroke costs lexing the edited line and the
    lines on screen below it, whatever the size of the text. Per line it keeps the highlighted
    ranges and, where a token ends at the line's start, the lexer's state there: after an edit,
    lexing restarts from the last such state above the edit and stops as soon as it reaches a
    line whose state is the same as before the edit (the rest is unchanged).

    Approximations, for speed (ordinary code never meets them): a line longer than
    :data:`LONG_LINE` is lexed only around the columns asked for, from the state at its start,
    and the line after it starts in that same state; a token longer than :data:`MARGIN_ROWS`
    lines that runs on below the lines asked for (a long docstring) may be split where the text
    handed to the lexer ends, until the lines below are asked for; and if no line starts
    between two tokens within :data:`MAX_BACK_CHARS` above an edit, lexing restarts there in
    the lexer's start state.

    Args:
        lexer: from :func:`lexer_for`; None: no highlighting.
    """

    def __init__(self, lexer: Lexer | None) -> None:
        self.lexer = lexer
        self.lexed_chars = 0
        """Characters handed to the lexer so far (what a keystroke costs is measured by this)."""
        self._ranges: list[Any] = [None]
        """Per line: its ranges, _LONG, or None (not lexed, or edited since)."""
        self._states: list[State | None] = [_ROOT]
        """Per line: the lexer's state at its start, where a token ends there."""
        self._valid_to = 0
        """Lines before this are up to date."""
        self._reusable: tuple[int, int] | None = None
        """Lines lexed before an edit above them, up to date again once lexing reaches one of
        them in the state it had then."""
        self._long: dict[int, tuple[tuple[int, int], list[Range]]] = {}
        """Long lines' ranges, by line: the columns lexed and their ranges."""
        self._lexed_from = 0
        """The first line lexed again since the last change."""
        self._unchanged_from: int | None = None
        """Since the last change, where lexing met a line in the state it had before."""

    def reset(self, line_count: int) -> None:
        """Forget everything: the text was replaced by one of `line_count` lines."""
        self._ranges = [None] * line_count
        self._states = [None] * line_count
        self._states[0] = _ROOT
        self._valid_to = 0
        self._reusable = None
        self._long.clear()

    def changed(self, top: int, old_bottom: int, new_bottom: int) -> None:
        """Lines `top`..`old_bottom` were replaced by lines `top`..`new_bottom`."""
        delta = new_bottom - old_bottom
        self._ranges[top:old_bottom + 1] = [None] * (new_bottom - top + 1)
        self._states[top:old_bottom + 1] = [None] * (new_bottom - top + 1)
        self._states[0] = _ROOT
        candidates = []
        if self._valid_to > old_bottom + 1:
            candidates.append((old_bottom + 1 + delta, self._valid_to + delta))
        if self._reusable is not None:
            start, end = self._reusable
            if start < top:
                candidates.append((start, min(end, top)))
            if end > old_bottom + 1:
                candidates.append((max(start, old_bottom + 1) + delta, end + delta))
        self._valid_to = min(self._valid_to, top)
        candidates = [(s, e) for s, e in candidates if e > s >= self._valid_to]
        self._reusable = min(candidates) if candidates else None
        self._long = {row: value for row, value in self._long.items() if row < top}
        self._lexed_from, self._unchanged_from = top, None

    def relex(self, lines: Sequence[str], top: int, bottom: int) -> tuple[int, int | None]:
        """Lex the lines just changed (`top`..`bottom`) now, to learn which lines' ranges
        may differ from before the change.

        Returns:
            The first such line, and the line from which all are as before (None: unknown).
        """
        self.ranges(lines, bottom)
        return min(self._lexed_from, top), self._unchanged_from

    def ranges(self, lines: Sequence[str], row: int,
               columns: tuple[int, int] | None = None) -> list[Range]:
        """The highlighted ranges of one line.

        Args:
            lines: the whole text's lines, as they are now.
            row: the line asked for.
            columns: the columns on screen; a long line is highlighted only around them.

        Returns:
            ``(start column, end column, highlight name)`` runs (unhighlighted text has none).
        """
        if self.lexer is None or not 0 <= row < len(lines):
            return []
        while row >= self._valid_to:
            start = self._restart_line(lines)
            state = self._states[start] or _ROOT
            if len(lines[start]) > LONG_LINE:
                self._pass_long_line(start, state)
            else:
                self._lex_chunk(lines, start, state, row)
        ranges = self._ranges[row]
        if ranges is _LONG:
            return self._long_line(lines[row], row, columns or (0, 0))
        return ranges

    def _restart_line(self, lines: Sequence[str]) -> int:
        """The line to lex from: the last one at or above the first stale line that starts in
        the lexer's start state (whether a construct that opened above, such as a docstring,
        closes depends on the text below), else the last one that starts in a known state."""
        start, budget, fallback = self._valid_to, MAX_BACK_CHARS, None
        while True:
            state = self._states[start]
            if state == _ROOT:
                return start
            if state is not None and fallback is None:
                fallback = start
            if start == 0:
                break
            start -= 1
            budget -= len(lines[start]) + 1
            if budget < 0:
                break
        return self._valid_to if fallback is None else fallback

    def _lex_chunk(self, lines: Sequence[str], start: int, state: State, row: int) -> None:
        """Lex from line `start` (in `state`) to past `row`, or to a long line."""
        self._lexed_from = min(self._lexed_from, start)
        count = len(lines)
        end = start + 1
        while end < min(count, row + 1 + LOOKAHEAD_ROWS) and len(lines[end]) <= LONG_LINE:
            end += 1
        last = end == count
        long_next = not last and len(lines[end]) > LONG_LINE
        accept_to = end if last or long_next else max(start + 1, end - MARGIN_ROWS)
        # A lexer that wants a final newline gets one, as it does when the whole text is lexed.
        ends_with_newline = not last or self.lexer.ensurenl
        text = "\n".join(lines[start:end]) + ("\n" if ends_with_newline else "")
        starts = list(accumulate((len(line) + 1 for line in lines[start:end - 1]), initial=0))
        new_ranges: list[list[Range]] = [[] for _ in range(end - start)]
        new_states: dict[int, State] = {}
        current, consumed, converged = 0, len(text), False
        for pos, token_type, value in _token_stream(self.lexer, text, state):
            while current + 1 < len(starts) and starts[current + 1] <= pos:
                current += 1
            if token_type is None:
                line = start + current + (pos > starts[current])
                new_states[line] = value
                if line > accept_to:  # in the margin: not to be trusted
                    consumed = pos
                    break
                if self._converges(line, value):
                    consumed, accept_to, converged = pos, line, True
                    break
                if line == accept_to:
                    consumed = pos
                    break
                continue
            name = highlight_name(token_type) if token_type is not Token.Text else None
            column, index = pos - starts[current], current
            for number, part in enumerate(value.split("\n")):
                if number:
                    index, column = index + 1, 0
                if part and name is not None and index < len(new_ranges):
                    new_ranges[index].append((column, column + len(part), name))
                column += len(part)
        self.lexed_chars += consumed
        self._ranges[start:accept_to] = new_ranges[:accept_to - start]
        self._states[start + 1:accept_to] = [new_states.get(line)
                                             for line in range(start + 1, accept_to)]
        if accept_to < count and not converged:
            # The state where the next lexing starts, if the lexer stopped between tokens there.
            self._states[accept_to] = new_states.get(accept_to)
            if long_next and accept_to not in new_states:
                # It did not, at a long line: carry the last state over.
                self._states[accept_to] = next(reversed(new_states.values()), state)
        self._advance(accept_to)

    def _advance(self, valid_to: int) -> None:
        """Lines before `valid_to` are up to date; the state at `valid_to` may be new."""
        self._valid_to = max(self._valid_to, valid_to)
        if self._reusable is not None and self._reusable[0] <= self._valid_to:
            # A line lexed before is reusable only with the state it had then.
            reuse_from, reuse_end = self._valid_to + 1, self._reusable[1]
            self._reusable = (reuse_from, reuse_end) if reuse_end > reuse_from else None

    def _converges(self, line: int, state: State) -> bool:
        """Whether lexing reached a line lexed before in the same state: the rest is as it was."""
        if self._reusable is None:
            return False
        start, end = self._reusable
        if not start <= line < end or self._states[line] != state:
            return False
        self._valid_to = end
        self._reusable = None
        if self._unchanged_from is None:
            self._unchanged_from = line
        return True

    def _pass_long_line(self, row: int, state: State) -> None:
        """Mark a long line (lexed later, by columns); the next line starts in its state."""
        self._ranges[row] = _LONG
        self._states[row] = state
        if row + 1 < len(self._states) and not self._converges(row + 1, state):
            self._states[row + 1] = state
        self._advance(row + 1)

    def _long_line(self, line: str, row: int, columns: tuple[int, int]) -> list[Range]:
        first, last = max(0, columns[0] - LONG_LINE_CONTEXT), columns[1] + LONG_LINE_CONTEXT
        cached = self._long.get(row)
        if cached is not None and cached[0] == (first, last):
            return cached[1]
        text = line[first:last]
        self.lexed_chars += len(text)
        ranges: list[Range] = []
        assert self.lexer is not None
        for pos, token_type, value in _token_stream(self.lexer, text, self._states[row] or _ROOT):
            if token_type is None or token_type is Token.Text or "\n" in value:
                continue
            name = highlight_name(token_type)
            if name is not None:
                ranges.append((first + pos, first + pos + len(value), name))
        self._long[row] = ((first, last), ranges)
        return ranges
