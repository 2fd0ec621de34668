"""Syntax highlighting shared by the cell view and the editor.

Both draw code with the same pygments tokens mapped to the highlight names of Textual's
TextArea themes, so a cell looks the same whether it is being edited or not, and no tree-sitter
grammar is needed.
"""

from __future__ import annotations

import functools

from pygments.lexer import Lexer
from pygments.lexers import MarkdownLexer, get_lexer_by_name
from pygments.token import (
    Comment,
    Generic,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Token,
    _TokenType,
)
from pygments.util import ClassNotFound

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
        return MarkdownLexer()
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

    Args:
        source: the cell's text.
        lexer: from :func:`lexer_for`; None gives plain lines.

    Returns:
        One list of ``(text, highlight name)`` runs per line of the source (at least one line).
    """
    if lexer is None:
        return [[(line, None)] if line else [] for line in source.split("\n")]
    lines: list[list[Span]] = [[]]
    for token_type, value in lexer.get_tokens(source):
        name = highlight_name(token_type) if token_type is not Token.Text else None
        parts = value.split("\n")
        for index, part in enumerate(parts):
            if index:
                lines.append([])
            if part:
                lines[-1].append((part, name))
    expected = source.count("\n") + 1
    # Some lexers drop or add a trailing newline; the source's own line count wins.
    del lines[expected:]
    while len(lines) < expected:
        lines.append([])
    return lines
