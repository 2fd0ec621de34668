"""Widgets on screen with a real kernel: the human sees tqdm.auto's bar finished in the cell,
whether the human or an agent ran it."""

from __future__ import annotations

from test_pairing import KERNEL_TIMEOUT, paired_app
from tui_helpers import wait_until

from tests.conftest import agent, call

TQDM_30 = ("import time\n"
           "from tqdm.auto import tqdm\n"
           "for i in tqdm(range(30), desc='epochs'):\n"
           "    time.sleep(0.01)")

FINISHED = "epochs: 100% ▕████████████████████▏ 30/30"


async def test_the_human_sees_the_finished_tqdm_bar_in_the_cell(notebook):
    """A tqdm.auto loop run by the human with ctrl+e ends as a full text bar with 30/30 in its
    cell, where the frozen `0%| | 0/30` used to stay."""
    path = notebook([("code", TQDM_30)])
    async with paired_app(path, kernel=True, size=(100, 24)) as (app, pilot, socket):
        await pilot.press("ctrl+e")
        await wait_until(pilot, lambda: FINISHED in app.view.visible_text(), KERNEL_TIMEOUT,
                         what="the finished bar on screen")
        assert "0/30 [00:00<?" not in app.view.visible_text()


async def test_an_agents_tqdm_bar_is_drawn_finished_on_the_humans_screen(notebook):
    """The same loop run by an agent through the socket ends as the full bar on screen."""
    path = notebook([("code", "x = 1")])
    async with paired_app(path, kernel=True, size=(100, 24)) as (app, pilot, socket):
        async with agent(socket) as client:
            await call(client, "insert_cell", source=TQDM_30, index=1, run=True)
        await wait_until(pilot, lambda: FINISHED in app.view.visible_text(), KERNEL_TIMEOUT,
                         what="the agent's finished bar on screen")
