"""One test for each reach into Textual's private API (nbtui/tui/textual_private.py): when an
upgrade of Textual moves one of them, the test that names it fails."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Offset
from textual.message import Message
from textual.message_pump import MessagePump
from textual.widgets import Static, TextArea

from nbtui.tui import textual_private as private
from nbtui.tui.textual_private import EditorDocument, EditorWrappedDocument


class OneTextArea(App[None]):
    """A text area and a label, for the accessors."""

    def compose(self) -> ComposeResult:
        yield TextArea("one\ntwo", id="text")
        yield Static("label", id="label")


@pytest.mark.parametrize(("base", "name"), [
    (base, name) for base, names in private.PRIVATE_OVERRIDES.items() for name in names])
def test_each_overridden_private_method_exists_with_the_parameters_nbtui_passes(base, name):
    """Every private method nbtui's subclasses override is still there, taking the same
    parameters as nbtui's override."""
    from nbtui.tui.app import NotebookApp
    from nbtui.tui.widgets.editor import CellEditor

    ours = {App: NotebookApp, TextArea: CellEditor}[base]
    theirs = getattr(base, name)
    assert ours.__dict__.get(name) is not None, f"{ours.__name__} no longer overrides {name}"
    assert (list(inspect.signature(theirs).parameters)
            == list(inspect.signature(getattr(ours, name)).parameters))


def test_alt_enter_is_read_as_alt_enter():
    """With deliver_alt_enter, ESC CR in Textual's table of sequences names alt+enter."""
    private.deliver_alt_enter()
    keys = private.ANSI_SEQUENCES_KEYS[private.ALT_ENTER]
    assert [key.value for key in keys] == ["alt+enter"]


def test_character_to_key_names_printable_characters_as_bindings_do():
    """character_to_key gives the key names Textual's bindings use for characters."""
    assert private.character_to_key("?") == "question_mark"
    assert private.character_to_key("a") == "a"


def test_text_area_theme_has_the_two_builtin_themes_the_view_uses():
    """TextAreaTheme gives the light and dark syntax themes the notebook view colours with."""
    for name in ("github_light", "vscode_dark"):
        theme = private.TextAreaTheme.get_builtin_theme(name)
        assert theme is not None and theme.syntax_styles


def test_carry_on_sites_are_where_textual_catches_timer_and_callback_failures():
    """CARRY_ON_SITES holds the code of Timer._tick and the scheduled-callback flush, the two
    places whose caught failures leave a widget working."""
    sources = {inspect.getsource(code) for code in private.CARRY_ON_SITES}
    assert len(private.CARRY_ON_SITES) == 2
    assert all("except" in source for source in sources)


def test_clamped_timers_never_get_a_negative_delay():
    """After clamp_timer_delays, a timer asked for -1 s is given MIN_TIMER_DELAY."""
    private.clamp_timer_delays()
    private.clamp_timer_delays()  # idempotent

    async def fired() -> float:
        app = OneTextArea()
        async with app.run_test():
            done = asyncio.Event()
            timer = app.set_timer(-1, done.set)
            await asyncio.wait_for(done.wait(), 10)
            return timer._interval

    assert asyncio.run(fired()) == private.MIN_TIMER_DELAY


async def test_a_guarded_handler_failure_is_reported_and_the_widget_goes_on():
    """guard_message_handlers: a message handler that raises is reported to an app of the
    guarded type, which keeps running, and the widget handles its next message."""

    class Reporting(OneTextArea):
        reported: list[Exception]

        def __init__(self) -> None:
            super().__init__()
            self.reported = []

        def report_ui_error(self, error: Exception) -> None:
            self.reported.append(error)

    class Ping(Message):
        pass

    class Boom(Static):
        handled = 0

        def on_test_textual_private_ping(self, message: Message) -> None:
            Boom.handled += 1
            if Boom.handled == 1:
                raise RuntimeError("boom")

    Ping.handler_name = "on_test_textual_private_ping"
    private.guard_message_handlers(Reporting)
    assert getattr(MessagePump._dispatch_message, "_nbtui_guard", False)
    app = Reporting()
    async with app.run_test() as pilot:
        boom = Boom("x")
        await app.mount(boom)
        boom.post_message(Ping())
        boom.post_message(Ping())
        await pilot.pause()
        assert [str(error) for error in app.reported] == ["boom"]
        assert Boom.handled == 2
        assert app.is_running


async def test_keymap_is_what_set_keymap_was_given():
    """keymap(app) returns the remaps given to App.set_keymap."""
    app = OneTextArea()
    async with app.run_test():
        app.set_keymap({"quit": "ctrl+q"})
        assert private.keymap(app) == {"quit": "ctrl+q"}


async def test_visible_widgets_lists_what_the_screen_shows():
    """visible_widgets(screen) maps each widget on screen to its region."""
    app = OneTextArea()
    async with app.run_test():
        label = app.query_one("#label")
        region, _clip = private.visible_widgets(app.screen)[label]
        assert region.size == label.outer_size


async def test_active_app_is_the_running_app_and_driver_its_driver():
    """active_app holds the app whose code is running; driver(app) its driver, which writes
    to the terminal, and None before it runs."""
    from textual.driver import Driver

    app = OneTextArea()
    assert private.driver(app) is None
    async with app.run_test():
        assert private.active_app.get() is app
        assert isinstance(private.driver(app), Driver)


async def test_text_area_accessors_read_and_change_its_drawing_state():
    """The text area's private state nbtui reads (theme, cursor shown and drawn, the drawn-line
    cache) and changes (cursor offset, blink, a typed replacement, rewrap, highlight query)."""
    app = OneTextArea()
    async with app.run_test() as pilot:
        text_area = app.query_one(TextArea)
        text_area.focus()
        await pilot.pause()
        assert private.text_area_theme(text_area) is not None
        assert private.cursor_shown(text_area) is True
        private.restart_blink(text_area)
        assert private.cursor_drawn(text_area) is True
        text_area.refresh()
        await pilot.pause()
        assert len(list(private.line_cache(text_area).keys())) > 0
        private.replace_as_typed(text_area, "ONE", (0, 0), (0, 3))
        assert text_area.text == "ONE\ntwo"
        text_area.undo()
        assert text_area.text == "one\ntwo"
        private.set_cursor_offset(text_area, Offset(2, 1))
        assert text_area._cursor_offset == Offset(2, 1)
        private.clear_highlight_query(text_area)
        assert text_area._highlight_query is None
        private.rewrap(text_area)
        assert text_area.virtual_size.height == 2


def test_editor_document_keeps_lines_widths_and_edit_count():
    """EditorDocument reads Document's lines: a change reports its rows, counts as an edit and
    keeps each line's width."""
    changes = []
    document = EditorDocument("a\nbb", lambda *rows: changes.append(rows))
    document.replace_range((1, 2), (1, 2), "\tc")
    assert changes == [(1, 1, 1)]
    assert document.edits == 1
    assert document.get_size(4).width == len("bb\tc".expandtabs(4))
    assert not document.is_plain(1) and document.is_plain(0)


def test_editor_wrapped_document_reads_textual_wrapping_state():
    """EditorWrappedDocument uses WrappedDocument's per-line offsets: its height is its line
    count unwrapped, and a location's offset is its column on a plain line."""
    document = EditorDocument("abc\ndefgh", lambda *rows: None)
    wrapped = EditorWrappedDocument(document, tab_width=4)
    wrapped.wrap(0, 4)
    assert wrapped.height == 2
    assert wrapped.location_to_offset((1, 3)) == Offset(3, 1)
    wrapped.wrap(3, 4)
    assert wrapped.height == 3  # "abc" / "def" "gh"


def imports_in_nbtui(skip: str) -> list[tuple[str, str]]:
    """(module file, imported name) for every import in nbtui but the file named `skip`; a
    `from a.b import c` is named `a.b.c`."""
    import ast
    from pathlib import Path

    import nbtui

    root = Path(nbtui.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        if path.name == skip:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [(str(path.relative_to(root)), name) for name in names]
    return found


def is_private(name: str, packages: tuple[str, ...]) -> bool:
    """Whether `name` is, or is in, a private module or name of one of `packages`."""
    top, *rest = name.split(".")
    return top in packages and any(part.startswith("_") for part in rest)


def test_no_other_module_imports_a_private_module_of_textual():
    """Only textual_private imports from Textual's private modules (textual._*)."""
    offenders = [(path, name) for path, name in imports_in_nbtui("textual_private.py")
                 if is_private(name, ("textual",))]
    assert offenders == []
