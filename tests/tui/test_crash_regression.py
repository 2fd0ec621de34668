"""The crash of issue 8 (expanding a long, wide output, then editing and running the next cell),
and what any such failure in UI code costs: one line on screen, the traceback in the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_pairing import paired_app
from tui_helpers import running_app, screen_text, wait_until

from tests.conftest import agent, call

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


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """The root logger also writes to a file, as `nbtui` sets it up."""
    path = tmp_path / "nbtui.log"
    handler = logging.FileHandler(path)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()


def notices(app) -> list[str]:
    return [notification.message for notification in app._notifications]


async def test_a_failing_handler_is_logged_and_shown_and_everything_carries_on(
        notebook, log_file, monkeypatch):
    """An exception in a key's action, a message handler, a timer or a scheduled callback is
    logged with its traceback, shown as one line naming the log, and the app, the kernel and
    the agent go on working."""
    path = notebook([("code", "x = 1"), ("code", "y = 2")])
    async with paired_app(path, kernel=True) as (app, pilot, socket):
        doc, view = app.session.document, app.view
        first, second = doc.cells

        def action_fails() -> None:
            raise RuntimeError("injected into an action")

        monkeypatch.setattr(view, "action_toggle_follow", action_fails)
        await pilot.press("f")
        await pilot.press("j")
        assert view.selected_id == second.id

        original_apply = view.apply_event

        def handler_fails(event) -> None:
            monkeypatch.setattr(view, "apply_event", original_apply)
            raise LookupError("injected into a message handler")

        monkeypatch.setattr(view, "apply_event", handler_fails)
        async with agent(socket) as client:
            await call(client, "edit_cell", cell_id=first.id, source="x = 'failed to show'")
            await wait_until(pilot, lambda: len(app.ui_errors) == 2,
                             what="the message handler to fail")
            await call(client, "edit_cell", cell_id=first.id, source="x = 40")
            await wait_until(pilot, lambda: "x = 40" in view.visible_text(),
                             what="the next document change on screen")

            def timer_fails() -> None:
                interval.stop()
                raise KeyError("injected into a timer")

            def callback_fails() -> None:
                raise ValueError("injected into a scheduled callback")

            interval = view.set_interval(0.01, timer_fails)
            await wait_until(pilot, lambda: len(app.ui_errors) == 3, what="the timer to fail")
            view.set_timer(0.01, callback_fails)
            await wait_until(pilot, lambda: any(isinstance(e, ValueError)
                                                for e in app.ui_errors),
                             what="the scheduled callback to fail")

            await call(client, "run_cells", cell_ids=[second.id], timeout=KERNEL_TIMEOUT)
            assert second.execution_count is not None and second.status == "ok"

        await pilot.press("k", "enter", "end", *" + 1", "ctrl+e")
        await wait_until(pilot, lambda: first.status == "ok" and first.source.endswith("+ 1"),
                         KERNEL_TIMEOUT, what="the human's run")
        assert app.is_running
        errors = app.take_ui_errors()
        assert [type(e) for e in errors] == [RuntimeError, LookupError, KeyError, ValueError]
        expected = [f"Something went wrong ({kind}); details are in {log_file}."
                    for kind in ("RuntimeError", "LookupError", "KeyError", "ValueError")]
        assert notices(app) == expected
        assert "Something went wrong (ValueError)" in screen_text(app)
        logged = log_file.read_text()
        for function, message in [("action_fails", "injected into an action"),
                                  ("handler_fails", "injected into a message handler"),
                                  ("timer_fails", "injected into a timer"),
                                  ("callback_fails", "injected into a scheduled callback")]:
            assert f"in {function}\n" in logged and message in logged
        assert logged.count("Traceback (most recent call last)") == len(errors)
