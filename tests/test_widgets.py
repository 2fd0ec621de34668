"""Widgets as text: recorded comm messages of real tqdm and ipywidgets runs replayed through the
output collector (recorded by tests/data/widgets/record.py), and the widget store's bounds."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from nbtui.core.kernels.outputs import DisplayIndex, OutputCollector
from nbtui.core.render import output_text
from nbtui.core.widgets import WIDGET_VIEW_MIME, WidgetStore, progress_bar

DATA = Path(__file__).parent / "data" / "widgets"


def recorded(name: str) -> list[dict]:
    return json.loads((DATA / f"{name}.json").read_text())["messages"]


def replay(name: str, collector: OutputCollector | None = None) -> OutputCollector:
    collector = collector or OutputCollector()
    for msg in recorded(name):
        collector.apply(msg)
    return collector


def texts(collector: OutputCollector) -> list[str]:
    return [output["data"]["text/plain"] for output in collector.outputs if "data" in output]


def test_progress_bar_fills_to_an_eighth_between_thin_edges():
    """A bar is `width` cells of full blocks and one eighth block between ▕ and ▏."""
    assert progress_bar(17, 0, 30, 10) == "▕█████▋    ▏"
    assert progress_bar(0, 0, 30, 4) == "▕    ▏"
    assert progress_bar(45, 0, 30, 4) == "▕████▏"
    assert progress_bar(1, 1, 1, 3) == "▕███▏"


def test_recorded_tqdm_run_ends_as_tqdms_own_finished_line():
    """tqdm.auto's HBox (HTML, FloatProgress, HTML) becomes one line like tqdm's text: the
    description and percentage, a full bar, the count and rate; the view bundle is kept."""
    collector = replay("tqdm_auto")
    [output] = collector.outputs
    assert re.fullmatch(r"train: 100% ▕█{20}▏ 30/30 \[00:00<00:00, [\d.]+it/s\]",
                        output["data"]["text/plain"])
    assert output["data"][WIDGET_VIEW_MIME]["model_id"]
    assert output_text(output)[0] == output["data"]["text/plain"]


def test_each_recorded_update_redraws_the_bar_live():
    """Comm updates change the shown text (never the kernel's frozen `0%| | 0/30`) from an
    empty bar to a full one, and the collector says its outputs changed exactly when they did,
    so that views refresh."""
    collector = OutputCollector()
    shown = []
    for msg in recorded("tqdm_auto"):
        before = collector.outputs[0]["data"]["text/plain"] if collector.outputs else None
        changed = collector.apply(msg)
        if msg["header"]["msg_type"] == "comm_msg" and collector.outputs:
            now = collector.outputs[0]["data"]["text/plain"]
            assert changed == ([collector] if now != before else [])
            shown.append(now)
    assert not any("|" in text for text in shown)
    filled = [len(re.search("▕(.*)▏", text).group(1).rstrip()) for text in shown]
    assert filled == sorted(filled) and filled[0] == 0 and filled[-1] == 20
    assert any(0 < n < 20 for n in filled)


def test_a_bar_closed_with_leave_false_disappears():
    """tqdm(leave=False) closes its box: the output shows nothing and its view names no model,
    as JupyterLab records a removed view."""
    [output] = replay("tqdm_leave_false").outputs
    assert output["data"]["text/plain"] == ""
    assert output["data"][WIDGET_VIEW_MIME]["model_id"] == ""


def test_a_failed_loop_leaves_its_bar_where_it_stopped():
    """A loop that raised keeps the bar at the count it reached, beside the traceback."""
    collector = replay("tqdm_error")
    bar, error = collector.outputs
    assert re.fullmatch(r"40% ▕█{8} {12}▏ 4/10 \[.*\]", bar["data"]["text/plain"])
    assert error["ename"] == "ValueError"


def test_other_widgets_show_their_description_and_value():
    """A progress bar alone shows its percentage (after a later update); controls show their
    description and value; a box of labels shows their text, HTML as text."""
    assert texts(replay("controls")) == [
        "Loading: ▕██████████████      ▏ 70%",
        "n: 5",
        "☑ Fast",
        "Colour: green",
        "[ Go ]",
        "first\nsecond & more",
    ]


def test_an_unknown_model_keeps_the_kernels_text():
    """A view of a model never opened here (a kernel nbtui attached to later) keeps the
    kernel's text/plain instead of going blank."""
    collector = OutputCollector()
    collector.apply({"header": {"msg_type": "display_data"}, "content": {
        "data": {"text/plain": "IntSlider(value=3)", WIDGET_VIEW_MIME: {"model_id": "nope"}},
        "metadata": {}}})
    assert texts(collector) == ["IntSlider(value=3)"]


def test_a_widget_changed_by_a_later_run_redraws_where_it_is_shown():
    """Runs share the session's widgets: an update arriving with another run's messages redraws
    the output of the run that showed the widget, and says so."""
    displays = DisplayIndex()
    messages = recorded("controls")
    shown = OutputCollector(displays=displays)
    later = OutputCollector(displays=displays)
    update = next(m for m in messages if m["header"]["msg_type"] == "comm_msg")
    first_display = messages.index(next(m for m in messages
                                        if m["header"]["msg_type"] == "display_data"))
    for msg in messages[:first_display + 1]:
        shown.apply(msg)
    assert texts(shown) == ["Loading: ▕██████              ▏ 30%"]
    assert later.apply(update) == [shown]
    assert texts(shown) == ["Loading: ▕██████████████      ▏ 70%"] and later.outputs == []
    assert displays.apply_comm(copy.deepcopy(update)) == []  # nothing changed: no redraw


def test_models_stay_bounded_and_closed_ones_are_dropped():
    """However many bars a session shows, at most `max_models` models are kept; a closed model
    is dropped at once; a restart forgets them all."""
    store = WidgetStore(max_models=50)
    for run in range(40):
        for msg in recorded("tqdm_auto"):
            store.apply(renamed(msg, f"{run}-"))
    assert len(store) == 50
    before = len(store)
    box = next(m for m in recorded("tqdm_leave_false") if m["header"]["msg_type"] == "comm_close")
    for msg in recorded("tqdm_leave_false"):
        store.apply(msg)
    assert len(store) <= before and store.closed(box["content"]["comm_id"])
    assert store.text(box["content"]["comm_id"]) == ""
    displays = DisplayIndex()
    replay("tqdm_auto", OutputCollector(displays=displays))
    displays.clear()
    assert len(displays.widgets) == 0


def renamed(msg: dict, prefix: str) -> dict:
    """A recorded message with every model id given a prefix (another run's models)."""
    return json.loads(json.dumps(msg).replace('"comm_id": "', f'"comm_id": "{prefix}')
                      .replace("IPY_MODEL_", f"IPY_MODEL_{prefix}"))


def test_a_live_bar_outlasts_many_short_bars_beyond_the_cap():
    """An outer bar still updating keeps its box while inner bars (leave=False, whose children
    the kernel never closes) push the store past its cap: its text stays live."""
    store = WidgetStore(max_models=30)
    outer = recorded("tqdm_auto")
    shown = next(i for i, m in enumerate(outer) if m["header"]["msg_type"] == "display_data")
    box = outer[shown]["content"]["data"][WIDGET_VIEW_MIME]["model_id"]
    for msg in outer[:shown]:
        store.apply(msg)
    updates = [m for m in outer[shown:] if m["header"]["msg_type"] == "comm_msg"]
    for epoch, update in enumerate(updates):
        for msg in recorded("tqdm_leave_false"):
            store.apply(renamed(msg, f"inner{epoch}-"))
        store.apply(update)
        assert len(store) <= 30
    assert store.text(box) == replay("tqdm_auto").outputs[0]["data"]["text/plain"]


def test_long_text_values_are_cut():
    """A text value beyond `max_value_chars` is cut, so one huge label cannot hold memory."""
    store = WidgetStore(max_value_chars=10)
    store.apply({"header": {"msg_type": "comm_open"}, "content": {
        "comm_id": "t", "target_name": "jupyter.widget",
        "data": {"state": {"_model_name": "LabelModel", "value": "x" * 10_000}}}})
    assert store.text("t") == "x" * 10 + "…"


@pytest.mark.parametrize("msg", [
    {"header": {"msg_type": "comm_open"}, "content": {"comm_id": "a", "target_name": "other",
                                                      "data": {"state": {"value": 1}}}},
    {"header": {"msg_type": "comm_msg"}, "content": {"comm_id": "unknown",
                                                     "data": {"method": "update"}}},
    {"header": {"msg_type": "comm_open"}, "content": {"comm_id": 7, "data": None}},
    {"header": {"msg_type": "comm_close"}, "content": {}},
    {"header": {"msg_type": "comm_msg"}, "content": {"comm_id": "a", "data": "junk"}},
])
def test_other_or_malformed_comm_messages_are_ignored(msg):
    """Comms of other targets, unknown models and malformed messages change nothing."""
    store = WidgetStore()
    assert store.apply(msg) == set() and len(store) == 0
