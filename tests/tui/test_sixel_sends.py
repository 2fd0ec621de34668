"""Sixel pictures reach the terminal only when they move, change or may have been painted over.

The app runs headless, so nothing is written; these tests render each frame's update the way
the app writes it to a terminal and count the sixel pictures in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from test_sixel import image_cell, sixel_terminal, sixel_widgets  # noqa: F401 - a fixture
from textual._compositor import CompositorUpdate
from textual.pilot import Pilot
from textual.widgets import Static
from tui_helpers import running_app, wait_until

from nbtui.core.document import KERNEL
from nbtui.tui.app import NotebookApp
from nbtui.tui.widgets.notebook import NotebookPane
from nbtui.tui.widgets.notebook_view import NotebookView

SIXEL_START = re.compile(r"\x1bP[0-9;]*q")
"""The device control string that starts a sixel picture."""


def show_picture(app: NotebookApp, cell: int) -> None:
    """The kernel's picture arrives as the output of a cell."""
    document = app.session.document
    document.set_outputs(document.cells[cell].id, image_cell()["outputs"], author=KERNEL)


class Frames:
    """What the app would write to a terminal, frame by frame."""

    def __init__(self, app: NotebookApp) -> None:
        self.sixels = 0
        self.count = 0
        display = app._display

        def record(screen: Any, renderable: Any) -> None:
            if isinstance(renderable, CompositorUpdate):
                self.count += 1
                self.sixels += len(SIXEL_START.findall(renderable.render_segments(app.console)))
            display(screen, renderable)

        app._display = record  # type: ignore[method-assign]

    async def settle(self, pilot: Pilot, frames: int = 3) -> None:
        """Let the app draw a few more frames (whatever they are)."""
        target = self.count + frames
        while self.count < target:
            await pilot.pause()
            pilot.app.refresh()


async def test_keys_that_do_not_move_the_picture_send_no_sixel(
        sixel_terminal: None, notebook: Callable[..., Path]) -> None:  # noqa: F811
    """Once a picture is on screen, moving the selection over it and back, which redraws the
    notebook's lines under it, sends the picture no more."""
    path = notebook([("code", "x = 1"), ("code", "plot()"), ("code", "y = 2")])
    async with running_app(path) as (app, pilot):
        frames = Frames(app)
        show_picture(app, 1)
        await wait_until(pilot, lambda: sixel_widgets(app), what="a sixel widget")
        await wait_until(pilot, lambda: frames.sixels, what="the picture sent")
        await frames.settle(pilot)
        assert frames.sixels == 1
        view = app.query_one(NotebookView)
        for key, cell in [("j", 1), ("j", 2), ("k", 1), ("k", 0), ("l", 0)]:
            await pilot.press(key)
            await wait_until(pilot, lambda cell=cell: view.selected_id == view.cell_ids[cell],
                             what=f"cell {cell} selected")
            await frames.settle(pilot)
        assert frames.sixels == 1


async def test_the_picture_is_sent_again_when_it_moves_or_another_screen_covered_it(
        sixel_terminal: None, notebook: Callable[..., Path]) -> None:  # noqa: F811
    """Scrolling the picture by a line sends it once at its new place, and closing the help
    screen, which was drawn over it, sends it once again."""
    path = notebook([("code", "x = 1"), ("code", "plot()"),
                     *[("code", f"y{i}") for i in range(40)]])
    async with running_app(path) as (app, pilot):
        frames = Frames(app)
        show_picture(app, 1)
        await wait_until(pilot, lambda: frames.sixels, what="the picture sent")
        view = app.query_one(NotebookView)
        view.scroll_to(y=1, animate=False, immediate=True)
        await wait_until(pilot, lambda: frames.sixels == 2, what="the moved picture sent")
        await frames.settle(pilot)
        assert frames.sixels == 2
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: len(app.screen_stack) == 2, what="the help screen")
        await frames.settle(pilot)
        await pilot.press("escape")
        await wait_until(pilot, lambda: frames.sixels == 3, what="the picture sent again")
        await frames.settle(pilot)
        assert frames.sixels == 3


async def test_the_picture_is_sent_again_after_a_widget_over_it_goes(
        sixel_terminal: None, notebook: Callable[..., Path]) -> None:  # noqa: F811
    """While a widget in front (a popup, a toast) covers part of the picture it is not sent
    (it would be painted over that widget); once the widget is gone it is sent once more."""
    path = notebook([("code", "x = 1"), ("code", "plot()"), ("code", "y = 2")])
    async with running_app(path) as (app, pilot):
        frames = Frames(app)
        show_picture(app, 1)
        (picture,) = await wait_until(pilot, lambda: sixel_widgets(app), what="a sixel widget")
        await wait_until(pilot, lambda: frames.sixels, what="the picture sent")
        cover = Static("a popup")
        cover.styles.position = "absolute"
        cover.styles.layer = "overlay"
        cover.styles.width, cover.styles.height = 10, 2
        cover.styles.offset = (picture.region.x + 2, picture.region.y + 1)
        await app.query_one(NotebookPane).mount(cover)
        await wait_until(pilot, lambda: cover.region.area, what="the popup shown")
        await frames.settle(pilot)
        assert frames.sixels == 1
        await cover.remove()
        await wait_until(pilot, lambda: frames.sixels == 2, what="the picture sent again")
        await frames.settle(pilot)
        assert frames.sixels == 2
