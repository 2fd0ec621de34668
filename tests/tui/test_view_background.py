"""The notebook view paints its own background under its text, so that the theme's colours
hold on any terminal: on a light one (tmux does not pass on the terminal's background colour,
so nbtui cannot pick the light theme there), the dark theme's light text stays on dark."""

from __future__ import annotations

from pathlib import Path

from tui_helpers import running_app, write_notebook

from nbtui.tui.widgets.notebook_view import NotebookView


async def test_every_line_of_the_view_carries_the_views_background(tmp_path: Path):
    """Each segment of every drawn line (text, padding, empty rows below the cells) has a
    background colour, the view's wherever the line sets none of its own."""
    path = write_notebook(tmp_path / "light.ipynb", [
        ("markdown", "# Title\nSome *markdown* text."), ("code", "print('hello')")])
    async with running_app(path) as (app, _pilot):
        view = app.query_one(NotebookView)
        background = view.rich_style.bgcolor
        assert background is not None
        for y in range(view.size.height):
            for segment in view.render_line(y):
                assert segment.style is not None and segment.style.bgcolor is not None, (
                    y, segment)
        empty_row = view.render_line(view.size.height - 1)
        assert {segment.style.bgcolor for segment in empty_row} == {background}
