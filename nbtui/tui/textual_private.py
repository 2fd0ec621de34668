"""Every place nbtui reaches into Textual's private API, in one module.

Textual is pinned exactly (pyproject.toml) because of what is here; tests/tui/
test_textual_private.py has a test for each name, so that an upgrade shows at once what moved.
Nothing else in nbtui imports a private module of Textual, reads or writes a private attribute
of one of its objects, or overrides a private method without naming it in PRIVATE_OVERRIDES.

What is here:

- re-exports of private names: :data:`ANSI_SEQUENCES_KEYS` (alt+enter in tmux),
  :class:`TextAreaTheme` (the syntax colours of the notebook view), :data:`active_app`,
  :func:`character_to_key` (the key names of the settings file);
- patches of Textual's classes: :func:`clamp_timer_delays`, :func:`guard_message_handlers`
  and the :data:`CARRY_ON_SITES` where a failure leaves the app working;
- accessors of private state: :func:`keymap`, :func:`visible_widgets`, and the text area's
  (:func:`line_cache`, :func:`text_area_theme`, :func:`cursor_shown`, ...);
- the editor's document classes, :class:`EditorDocument` and :class:`EditorWrappedDocument`,
  which keep Textual's per-line state up to date themselves;
- :data:`PRIVATE_OVERRIDES`: the private methods nbtui's subclasses override.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from textual import events
from textual._ansi_sequences import ANSI_SEQUENCES_KEYS
from textual._context import active_app
from textual._text_area_theme import TextAreaTheme
from textual.app import App
from textual.geometry import Offset, Region, Size
from textual.keys import _character_to_key
from textual.message import Message
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import TextArea
from textual.widgets.text_area import Document, EditResult, Location, WrappedDocument

__all__ = ["ANSI_SEQUENCES_KEYS", "TextAreaTheme", "active_app", "character_to_key"]

character_to_key = _character_to_key
"""The key name Textual gives a printable character (`?` is `question_mark`)."""

PRIVATE_OVERRIDES: dict[type, tuple[str, ...]] = {
    App: ("_handle_exception",),
    TextArea: ("_on_key", "_set_document", "_recompute_cursor_offset", "_build_highlight_map"),
}
"""The private methods of Textual's classes that nbtui's subclasses override (NotebookApp,
CellEditor): each must still exist, with the parameters the override takes."""


# -- alt+enter ---------------------------------------------------------------------------

ALT_ENTER = "\x1b\r"
"""What tmux, and every terminal not using the kitty keyboard protocol, sends for alt+enter."""


@dataclass(frozen=True)
class _NamedKey:
    """A key name where Textual's table of sequences expects a member of its Keys enum."""

    value: str


def deliver_alt_enter() -> None:
    """Make ESC CR arrive as alt+enter (Textual 8.2.8 reads it as enter: it drops the alt of
    any key that is not a character), so that run-and-insert works in tmux; idempotent."""
    ANSI_SEQUENCES_KEYS.setdefault(ALT_ENTER, (_NamedKey("alt+enter"),))  # type: ignore[arg-type]


# -- failures and timers -----------------------------------------------------------------

CARRY_ON_SITES = frozenset({Timer._tick.__code__, MessagePump._flush_next_callbacks.__code__})
"""Where Textual catches a timer's or a scheduled callback's exception, leaving the widget that
ran it working: after such a failure the app can carry on."""


MIN_TIMER_DELAY = 0.001
"""The shortest delay a timer is given: Textual 8.2.8's Timer spins the event loop forever on
a negative delay and never fires on 0, and its toasts ask for one when a notification expires
while its toast is being built (a frozen app at 100% CPU)."""


def clamp_timer_delays() -> None:
    """Give every timer (set_timer, set_interval) a delay of at least MIN_TIMER_DELAY."""
    for name in ("set_timer", "set_interval"):
        original = getattr(MessagePump, name)
        if getattr(original, "_nbtui_clamped", False):
            continue

        def clamped(pump: MessagePump, *args: Any, _original: Any = original,
                    **kwargs: Any) -> Timer:
            if args:
                args = (max(args[0], MIN_TIMER_DELAY), *args[1:])
            for key in ("delay", "interval"):
                if key in kwargs:
                    kwargs[key] = max(kwargs[key], MIN_TIMER_DELAY)
            return _original(pump, *args, **kwargs)

        functools.update_wrapper(clamped, original)
        clamped._nbtui_clamped = True  # type: ignore[attr-defined]
        setattr(MessagePump, name, clamped)


_guarded_apps: tuple[type[App[Any]], ...] = ()


def guard_message_handlers(app_type: type[App[Any]]) -> None:
    """Make a failing message handler (key bindings and actions included) cost one message.

    Textual reports an exception raised while a widget handles a message to the app, which
    exits, and stops that widget's message loop for good. Here the failure is reported through
    the running app's `report_ui_error` instead, when the app is an `app_type`, and the widget
    goes on to its next message. Building a widget (its compose and mount) is left to Textual:
    after that fails, what is on screen cannot be trusted. Other apps in the process keep
    Textual's behaviour.
    """
    global _guarded_apps
    if app_type not in _guarded_apps:
        _guarded_apps = (*_guarded_apps, app_type)
    original = MessagePump._dispatch_message
    if getattr(original, "_nbtui_guard", False):
        return

    @functools.wraps(original)
    async def dispatch(pump: MessagePump, message: Message) -> None:
        try:
            await original(pump, message)
        except Exception as error:
            app = pump.app
            if not isinstance(app, _guarded_apps) or isinstance(
                    message, (events.Compose, events.Mount)):
                raise
            app.report_ui_error(error)  # type: ignore[attr-defined]

    dispatch._nbtui_guard = True  # type: ignore[attr-defined]
    MessagePump._dispatch_message = dispatch  # type: ignore[method-assign]


# -- private state -----------------------------------------------------------------------

def keymap(app: App[Any]) -> dict[str, str]:
    """The key remaps `App.set_keymap` was given (binding id to keys)."""
    return app._keymap


def driver(app: App[Any]) -> Any:
    """The app's driver, which owns the terminal's output stream (None before it runs)."""
    return getattr(app, "_driver", None)


def visible_widgets(screen: Screen[Any]) -> dict[Widget, tuple[Region, Region]]:
    """The widgets the screen's compositor shows, with their regions and clip regions."""
    return screen._compositor.visible_widgets


def line_cache(text_area: TextArea) -> Any:
    """The text area's cache of drawn lines, keyed by (size, scroll_x, absolute y, ...)."""
    return text_area._line_cache


def text_area_theme(text_area: TextArea) -> TextAreaTheme | None:
    """The theme the text area draws with."""
    return text_area._theme


def cursor_shown(text_area: TextArea) -> bool:
    """Whether the text area shows its cursor at all (it is focused, or always shows it)."""
    return text_area._has_cursor


def cursor_drawn(text_area: TextArea) -> bool:
    """Whether the blinking cursor is in its visible phase."""
    return text_area._draw_cursor


def restart_blink(text_area: TextArea) -> None:
    """Show the cursor again at once, as a key press does."""
    text_area._restart_blink()


def replace_as_typed(text_area: TextArea, text: str, start: Location, end: Location) -> None:
    """Replace a range as a typed key does (an undoable edit, refused when read-only)."""
    text_area._replace_via_keyboard(text, start, end)


def rewrap(text_area: TextArea) -> None:
    """Wrap the text again and update the scrollable size."""
    text_area._rewrap_and_refresh_virtual_size()


def set_cursor_offset(text_area: TextArea, offset: Offset) -> None:
    """Set where the cursor is drawn (what `_recompute_cursor_offset` computes)."""
    text_area._cursor_offset = offset


def clear_highlight_query(text_area: TextArea) -> None:
    """Forget the tree-sitter query (the editor highlights with pygments)."""
    text_area._highlight_query = None


# -- the editor's documents --------------------------------------------------------------

class EditorDocument(Document):
    """The editor's text: reports which lines each change touched, and keeps what the text area
    asks for on every key (the whole text, the widest line) instead of recomputing it.

    Args:
        text: the initial text.
        on_change: called with (top line, its old bottom line, its new bottom line) after each
            change.
    """

    def __init__(self, text: str, on_change: Callable[[int, int, int], None]) -> None:
        super().__init__(text)
        self._on_change = on_change
        self._text: str | None = None
        self._plain = [_is_plain(line) for line in self._lines]
        self._widths: list[int] = []
        self._tab_width = -1
        self.edits = 0
        """How many changes the text has had: tells a wrapping whether it is out of date."""

    def replace_range(self, start: Location, end: Location, text: str) -> EditResult:
        top, bottom = sorted((start, end))
        result = super().replace_range(start, end, text)
        new_bottom = result.end_location[0]
        self._text = None
        changed = slice(top[0], bottom[0] + 1)
        self._plain[changed] = [_is_plain(line) for line in self._lines[top[0]:new_bottom + 1]]
        if self._tab_width >= 0:
            self._widths[changed] = [self._width(row) for row in range(top[0], new_bottom + 1)]
        self.edits += 1
        self._on_change(top[0], bottom[0], new_bottom)
        return result

    def is_plain(self, row: int) -> bool:
        """Whether each character of a line takes one cell (printable ASCII: no tabs)."""
        return self._plain[row]

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = super().text
        return self._text

    def get_size(self, tab_width: int) -> Size:
        if tab_width != self._tab_width:
            self._tab_width = tab_width
            self._widths = [self._width(row) for row in range(len(self._lines))]
        return Size(max(self._widths, default=0), len(self._lines))

    def _width(self, row: int) -> int:
        line = self._lines[row]
        # A plain line is as wide as it is long (measuring 100 KB costs milliseconds).
        return len(line) if self._plain[row] else cell_len(line.expandtabs(self._tab_width))


class EditorWrappedDocument(WrappedDocument):
    """Textual's wrapped document, minus two costs that grow with the text: its height is a
    sum over every line (asked once per line drawn), and the editor, as tall as its text, is
    resized by every new line, which wraps the whole text again at the same width."""

    _wrapped_at: tuple[int, int, int] | None = None
    """The width, tab width and edit count of the text when it was last wrapped."""

    @property
    def height(self) -> int:
        return len(self._offset_to_line_info)

    def _edits(self) -> int:
        document = self.document
        return document.edits if isinstance(document, EditorDocument) else -1

    def wrap(self, width: int, tab_width: int | None = None) -> None:
        # Edits keep the wrapping up to date (wrap_range): only a new width, or an edit that
        # Textual wraps with wrap() instead (one that widens the gutter), needs a new one.
        if self._wrapped_at == (width, tab_width or self._tab_width, self._edits()):
            return
        super().wrap(width, tab_width)
        self._wrapped_at = (width, self._tab_width, self._edits())

    def wrap_range(self, start: Location, old_end: Location, new_end: Location) -> None:
        if self._wrapped_at is not None:
            self._wrapped_at = (*self._wrapped_at[:2], self._edits())
        row = start[0]
        document = self.document
        if (not self._width and row == old_end[0] == new_end[0] < len(self._tab_width_cache)
                and isinstance(document, EditorDocument) and document.is_plain(row)):
            # An edit within a plain line, unwrapped: only its tab widths (none) can change;
            # Textual would split the whole line on tabs with a regex, per key.
            self._tab_width_cache[row] = [0] if document[row] else []
            return
        super().wrap_range(start, old_end, new_end)

    def location_to_offset(self, location: Location) -> Offset:
        row, column = location
        document = self.document
        if (not self._width and 0 <= row < len(self._line_index_to_offsets)
                and isinstance(document, EditorDocument) and document.is_plain(row)):
            # Columns are cells: no need to measure the line up to the cursor (per key).
            return Offset(min(column, len(document[row])), self._line_index_to_offsets[row][0])
        return super().location_to_offset(location)


def _is_plain(line: str) -> bool:
    return line.isascii() and line.isprintable()
