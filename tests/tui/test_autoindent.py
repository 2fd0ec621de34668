"""enter in the editor keeps the line's indentation, and adds a level after a code line ending
in `:` (only in code cells)."""

from __future__ import annotations

from tui_helpers import running_app

KEY_NAMES = {" ": "space", "\n": "enter", "#": "number_sign"}


def keys(text: str) -> list[str]:
    """The keys that type `text` ("\\n" presses enter)."""
    return [KEY_NAMES.get(char, char) for char in text]


async def typed_into(notebook, cell_type: str, source: str, text: str) -> str:
    """The cell's source in the document after typing `text` at the end of `source`."""
    async with running_app(notebook([(cell_type, source)])) as (app, pilot):
        await pilot.press("enter", *keys(text), "escape")
        assert app.pane.mode == "command"
        return app.session.document.cells[0].source


async def test_enter_after_a_colon_indents_the_next_line(notebook):
    """`def f(x):`, enter, `return x` gives the body one indent level."""
    assert await typed_into(notebook, "code", "", "def f(x):\nreturn x") == \
        "def f(x):\n    return x"


async def test_nested_blocks_indent_one_level_each(notebook):
    """Each line ending in `:` adds a level to the indentation it already had."""
    text = "class A:\ndef f(self):\nif self:\nreturn 1"
    assert await typed_into(notebook, "code", "", text) == \
        "class A:\n    def f(self):\n        if self:\n            return 1"


async def test_enter_on_an_indented_line_keeps_its_indentation(notebook):
    """A new line under an indented one starts at the same indentation."""
    assert await typed_into(notebook, "code", "def f():\n    x = 1", "\ny = 2") == \
        "def f():\n    x = 1\n    y = 2"


async def test_a_colon_before_a_comment_indents_and_one_inside_a_comment_does_not(notebook):
    """Trailing spaces and a trailing comment are ignored; a `:` inside the comment is not one."""
    assert await typed_into(notebook, "code", "", "if x:  # why\ny\nz = 1  # see:\nw") == \
        "if x:  # why\n    y\n    z = 1  # see:\n    w"


async def test_the_cells_own_indent_unit_is_used(notebook):
    """In a cell indented by two spaces, a new block is indented by two spaces."""
    assert await typed_into(notebook, "code", "if a:\n  b = 1", "\nif c:\nd") == \
        "if a:\n  b = 1\n  if c:\n    d"


async def test_markdown_keeps_indentation_but_adds_none_after_a_colon(notebook):
    """In a markdown cell enter keeps the line's indentation and ignores a trailing `:`."""
    assert await typed_into(notebook, "markdown", "  Steps:", "\nfirst") == \
        "  Steps:\n  first"
