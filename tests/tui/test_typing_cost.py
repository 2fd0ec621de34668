"""Typing costs the same in a big cell as in a small one, and highlights as a full re-lex would.

What a key costs is counted, not timed: the editor's highlighter counts the characters it hands
to the lexer.
"""

from __future__ import annotations

import random
from typing import Any

from rich.segment import Segment
from textual.widgets import TextArea
from textual.widgets.text_area import Document, WrappedDocument
from tui_helpers import running_app, wait_until

from nbtui.tui.widgets.editor import BRACKET_SEARCH_CHARS, CellEditor
from nbtui.tui.widgets.highlight import (
    LONG_LINE,
    LineHighlighter,
    Range,
    highlight_lines,
    lexer_for,
)

TYPED = ["x", "space", "equals_sign", "space", "1", "plus", "2", "space", "number_sign", "o",
         "k", "enter", "y", "space", "equals_sign", "space", "x", "asterisk", "3", "enter"]
TYPED_TEXT = "x = 1+2 #ok\ny = x*3\n"
COUNTED = TYPED[:12]
"""The keys whose cost is counted: a line of code and its new line."""


def code_of_size(size: int) -> str:
    """Ordinary Python (functions, docstrings, comments, strings) of about `size` characters."""
    blocks, length, n = [], 0, 0
    while length < size:
        block = (f"def step_{n}(frame, factor={n}):\n"
                 f'    """Scale column {n} of the frame."""\n'
                 f"    values = frame['col_{n}'] * factor  # rescale\n"
                 f"    return values.sum() / {n + 1}\n\n")
        blocks.append(block)
        length += len(block)
        n += 1
    return "".join(blocks)


def one_long_line(size: int) -> str:
    """A single line of about `size` characters: a list literal."""
    return "data = [" + ", ".join(f"{n % 977}.5" for n in range(size // 7)) + "]"


def full_ranges(text: str, cell_type: str = "code") -> list[list[Range]]:
    """Each line's highlighted ranges when the whole text is lexed at once (as the view does)."""
    lines = []
    for spans in highlight_lines(text, lexer_for("python", cell_type)):
        column, ranges = 0, []
        for part, name in spans:
            if name is not None:
                ranges.append((column, column + len(part), name))
            column += len(part)
        lines.append(ranges)
    return lines


def visible_rows(app: Any, editor: CellEditor) -> range:
    """The editor's lines that are on screen."""
    top = editor.region.y
    return range(max(0, -top), min(editor.document.line_count, app.size.height - top))


async def lexed_while_typing(app: Any, pilot: Any, cell: int, at_start: bool = False) -> int:
    """Open cell number `cell` for editing, type COUNTED (each key drawn); what was lexed."""
    await pilot.press(*["j"] * cell, "enter")
    editor = app.pane.editor
    if at_start:
        editor.move_cursor((0, 0))
    await pilot.pause()
    await pilot.pause()
    before = editor.highlighter.lexed_chars
    for key in COUNTED:
        await pilot.press(key)
        await pilot.pause()
    lexed = editor.highlighter.lexed_chars - before
    await pilot.press("escape", *["k"] * cell)
    return lexed


async def test_typing_in_a_100_kb_cell_lexes_no_more_than_in_a_1_kb_cell(notebook):
    """Keys typed into a 100 KB cell (of lines, or one line) lex about what they do in 1 KB,
    and never more than a screenful per key."""
    cells = [("code", code_of_size(1_000)), ("code", code_of_size(100_000)),
             ("code", one_long_line(1_000)), ("code", one_long_line(100_000))]
    async with running_app(notebook(cells)) as (app, pilot):
        lines_1k, lines_100k, line_1k, line_100k = [
            await lexed_while_typing(app, pilot, cell) for cell in range(4)]
        top_1k = await lexed_while_typing(app, pilot, 0, at_start=True)
        top_100k = await lexed_while_typing(app, pilot, 1, at_start=True)
    screen = app.size.width * app.size.height
    for big, small in ((lines_100k, lines_1k), (line_100k, line_1k), (top_100k, top_1k)):
        assert big <= 2 * small + screen, (big, small)
        assert big <= len(COUNTED) * screen, (big, small)


def assert_highlighted_as_a_full_lex(app: Any, editor: CellEditor) -> range:
    """The lines on screen have the ranges a full lex gives, and are drawn in their colours."""
    expected = full_ranges(editor.text)
    styles = editor._theme.syntax_styles
    rows = visible_rows(app, editor)
    for row in rows:
        assert editor.highlighter.ranges(editor.document.lines, row) == expected[row], row
        if row == editor.cursor_location[0]:
            continue
        drawn = cells(editor.render_line(row - editor.scroll_offset.y))
        for start, end, name in expected[row]:
            if name in styles and styles[name].color is not None:
                assert {style.color for _, style in drawn[start:end]} == {styles[name].color}, \
                    (row, start, end, name)
    return rows


async def test_edited_lines_highlight_as_a_full_lex_of_the_text_would(notebook):
    """After edits, the lines on screen are highlighted and drawn as a full re-lex would."""
    source = code_of_size(20_000)
    async with running_app(notebook([("code", source)])) as (app, pilot):
        await pilot.press("enter")
        editor = app.pane.editor
        editor.move_cursor((200, 0))
        await pilot.pause()
        # Open a string that runs to the end of the cell, then close it again.
        await pilot.press("x", "equals_sign", "quotation_mark", "quotation_mark",
                          "quotation_mark", "enter", "a")
        await pilot.pause()
        rows = assert_highlighted_as_a_full_lex(app, editor)
        assert len(rows) > 20
        # ...so the lines at the bottom of the screen are inside it.
        assert {name for *_, name in full_ranges(editor.text)[rows[-1] - 1]} == {"string"}
        await pilot.press("quotation_mark", "quotation_mark", "quotation_mark", "enter", "z")
        await pilot.pause()
        assert_highlighted_as_a_full_lex(app, editor)
        await pilot.press("up", "up", "home", "number_sign")
        await pilot.pause()
        assert_highlighted_as_a_full_lex(app, editor)


async def test_a_multiline_string_opened_above_the_screen_highlights_after_scrolling(notebook):
    """Lines inside a string (and a docstring) opened far above are strings once scrolled to."""
    inside = "".join(f"    line {n} of a long text, def not code\n" for n in range(80))
    source = ('s = """\n' + inside + '"""\nafter = 1\n'
              '"""\n' + inside + '"""\ndone = 2\n')
    async with running_app(notebook([("code", source)])) as (app, pilot):
        await pilot.press("enter")
        editor = app.pane.editor
        expected = full_ranges(editor.text)
        assert expected[150][0][2] == "string.documentation"
        for target in (0, 60, 120, 165):
            editor.move_cursor((target, 0))
            await pilot.press("space")
            await pilot.pause()
            assert target in assert_highlighted_as_a_full_lex(app, editor)


async def test_the_document_receives_exactly_what_was_typed_into_a_big_cell(notebook):
    """Typing into a 100 KB cell reaches the document (debounced), character for character."""
    source = code_of_size(100_000)
    async with running_app(notebook([("code", source)])) as (app, pilot):
        doc = app.session.document
        await pilot.press("enter")
        editor = app.pane.editor
        editor.move_cursor((3, 0))
        await pilot.press(*TYPED)
        lines = source.split("\n")
        expected = "\n".join(lines[:3] + [TYPED_TEXT + lines[3]] + lines[4:])
        assert app.pane.mode == "edit"
        await wait_until(pilot, lambda: doc.cells[0].source == expected,
                         what="the typed text in the document")
        assert editor.text == expected


async def test_a_long_line_is_drawn_as_the_text_area_draws_it(notebook):
    """A long line is lexed only where shown, and drawn as TextArea would: text and styles."""
    line = one_long_line(20_000)
    async with running_app(notebook([("code", line + "\nx = (1, 2)")])) as (app, pilot):
        await pilot.press("enter")
        editor = app.pane.editor
        await pilot.pause()
        assert editor.highlighter.lexed_chars < len(line) / 4
        for cursor, anchor in (((0, 5_003), None), ((0, len(line)), (0, len(line) - 30)),
                               ((0, 7), (1, 3))):
            editor.selection = editor.selection.__class__(anchor or cursor, cursor)
            await pilot.pause()
            assert len(editor.document[0]) > LONG_LINE
            width = editor.scrollable_content_region.width
            ours = editor.render_line(0)
            textual = TextArea.render_line(editor, 0).crop(0, width)
            assert cells(ours) == cells(textual), cursor
            assert editor.scroll_offset.x > 0 or cursor[1] < width


def cells(strip: Any) -> list[tuple[str, Any]]:
    """A strip as (character, style) per cell."""
    return [(char, segment.style) for segment in strip for char in segment.text
            if isinstance(segment, Segment)]


async def test_the_matching_bracket_is_looked_for_only_so_far(notebook):
    """A bracket whose partner is far away is not matched (the search would cost every key)."""
    near = "f(" + "1, " * 100 + ")"
    far = "g(" + "1, " * (BRACKET_SEARCH_CHARS // 3 + 10) + ")"
    async with running_app(notebook([("code", near + "\n" + far)])) as (app, pilot):
        await pilot.press("enter")
        editor = app.pane.editor
        assert editor.find_matching_bracket("(", (0, 1)) == (0, len(near) - 1)
        assert editor.find_matching_bracket(")", (0, len(near) - 1)) == (0, 1)
        assert editor.find_matching_bracket("(", (1, 1)) is None
        assert editor.find_matching_bracket(")", (1, len(far) - 1)) is None


async def test_the_editor_keeps_what_textual_would_recompute_in_step_with_the_text(notebook):
    """After typing, new lines, deletions and undo, the kept text, widths, wrapping and
    highlights equal what Textual and a full lex compute from the text afresh."""
    source = "def f():\n\treturn 'é' * 2  # tab and accent\n" + one_long_line(5_000) + "\nz = 1"
    async with running_app(notebook([("code", source)])) as (app, pilot):
        await pilot.press("enter")
        editor = app.pane.editor
        editor.move_cursor((1, 3))
        await pilot.press("x", "enter", "tab", "y", "backspace", "backspace")
        editor.move_cursor((3, 20))
        await pilot.press("q", "enter", "w", "ctrl+z", "z", "end", "space")
        await pilot.pause()
        text = editor.text
        assert text == "\n".join(editor.document.lines)
        fresh = Document(text)
        assert editor.document.get_size(editor.indent_width) == fresh.get_size(editor.indent_width)
        wrapped = WrappedDocument(fresh, tab_width=editor.indent_width)
        ours = editor.wrapped_document
        for name in ("_offset_to_line_info", "_line_index_to_offsets", "_tab_width_cache",
                     "_wrap_offsets"):
            assert getattr(ours, name) == getattr(wrapped, name), name
        for row in range(fresh.line_count):
            for column in (0, 3, len(fresh[row])):
                assert ours.location_to_offset((row, column)) == \
                    wrapped.location_to_offset((row, column)), (row, column)
        expected = full_ranges(text)
        for row in range(fresh.line_count):
            if len(fresh[row]) <= LONG_LINE:
                assert editor.highlighter.ranges(editor.document.lines, row) == expected[row]


def test_random_edits_leave_every_line_highlighted_as_a_full_lex_would():
    """Random typing, new lines and deletions, with lines asked for in any order between them,
    leave the highlighter's lines equal to a full lex of the text."""
    rng = random.Random(7)
    pieces = ["x", " ", "=", "(", ")", "1.5", "#", "'", '"', '"""', "\n", "\n\n", "def f():\n    "]
    for _ in range(40):
        lines = code_of_size(3_000).split("\n")
        highlighter = LineHighlighter(lexer_for("python"))
        highlighter.reset(len(lines))
        for _ in range(25):
            for _ in range(4):
                highlighter.ranges(lines, rng.randrange(len(lines)))
            row = rng.randrange(len(lines))
            start, end = sorted(rng.randrange(len(lines[row]) + 1) for _ in range(2))
            inserted = rng.choice(pieces) if rng.random() < 0.8 else ""
            new = (lines[row][:start] + inserted + lines[row][end:]).split("\n")
            lines[row:row + 1] = new
            highlighter.changed(row, row, row + len(new) - 1)
        expected = full_ranges("\n".join(lines))
        for row in rng.sample(range(len(lines)), len(lines)):
            assert highlighter.ranges(lines, row) == expected[row], row


def test_closing_a_docstring_rehighlights_the_line_that_opened_it():
    """Typing a docstring's closing quotes turns its lines, the opening one included, from a
    string into a docstring, as a full lex does (the lexer restarts above the string)."""
    lines = ["def f():", "    x = 1", ""]
    highlighter = LineHighlighter(lexer_for("python"))
    highlighter.reset(len(lines))
    for key in '    """Doc.\n    More.\n    """':
        row = len(lines) - 1
        if key == "\n":
            lines.append("")
        else:
            lines[row] += key
        highlighter.changed(row, row, len(lines) - 1)
        for drawn in range(len(lines)):
            highlighter.ranges(lines, drawn)
    expected = full_ranges("\n".join(lines))
    assert expected[2] == [(4, 11, "string.documentation")]
    assert [highlighter.ranges(lines, row) for row in range(len(lines))] == expected
