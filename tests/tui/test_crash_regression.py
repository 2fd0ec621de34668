"""The crash of issue 8: expanding a long, wide output, then editing and running the next cell."""

from __future__ import annotations

import pytest
from tui_helpers import running_app, wait_until

KERNEL_TIMEOUT = 30
LONG_WIDE_OUTPUT = 'for i in range(200): print(f"line {{i:3d}}", "x" * (i % 150) * {scale})'
"""The issue's cell (scale 1): 200 lines, many wider than the terminal."""


@pytest.mark.parametrize(("size", "scale"), [((80, 24), 1), ((200, 50), 3)],
                         ids=["80x24", "200x50"])
@pytest.mark.parametrize("run_key", ["ctrl+e", "ctrl+r"])
async def test_expand_a_long_wide_output_then_edit_and_run_the_next_cell(notebook, size, scale,
                                                                         run_key):
    """o on 200 wrapped output lines, then j, enter, a character and a run key: the app
    carries on, the next cell runs with the typed text, and it stays where it was on screen."""
    path = notebook([("code", LONG_WIDE_OUTPUT.format(scale=scale)), ("code", "y = 1")])
    async with running_app(path, kernel=True, size=size) as (app, pilot):
        doc, view = app.session.document, app.view
        first, second = doc.cells
        await pilot.press("ctrl+e")
        await wait_until(pilot, lambda: first.status == "ok", KERNEL_TIMEOUT,
                         what="the long output")
        await pilot.press("o")
        assert view.fold_of(first.id) == "expanded"
        await pilot.press("j")
        row = view.screen_row(second.id)
        assert row is not None and 0 <= row < view.scrollable_content_region.height
        await pilot.press("enter", "2")
        await pilot.pause()
        assert app.pane.mode == "edit"
        assert view.screen_row(second.id) == row
        await pilot.press(run_key)
        await wait_until(pilot, lambda: second.status in ("ok", "error"), KERNEL_TIMEOUT,
                         what="the second cell to run")
        assert second.status == "ok"
        assert app.is_running
        assert second.source == "y = 12"
        assert view.cell_ids == [cell.id for cell in doc.cells]
