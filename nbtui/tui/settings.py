"""The user's config file applied to the running app: the theme, key remaps, and the theme the
human picks in the command palette written back to the file.

The command line reads the file (:func:`nbtui.core.config.load_config`, for the kernel,
autosave and images) and hands it over with :func:`use_config`; the app calls
:func:`apply_settings` when it is mounted. What only the app can check (that a theme, a binding
id or a key exists) is checked here, and every problem with the file is shown as one
notification, one line per problem; nothing is written to the terminal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import Keys, key_to_character
from textual.theme import Theme

from nbtui.core.config import Config, display_path, save_theme
from nbtui.tui.textual_private import character_to_key

log = logging.getLogger(__name__)

MODIFIERS = ("ctrl", "alt", "shift", "meta", "super", "hyper")
KEY_NAMES = frozenset({key.value.rpartition("+")[2] for key in Keys}
                      | {character_to_key(chr(code)) for code in range(33, 127)})
"""Textual's names of keys: those that are not characters (enter, f5, pageup, ...) and those
of ASCII punctuation (minus, slash, question_mark, ...)."""

PROBLEM_SECONDS = 30
"""How long the notification of a bad config file stays on screen."""

LIGHT_THEME = "textual-light"
"""The theme for a terminal with a light background when the config file names none."""

_config: Config | None = None
_problems: list[str] = []
_light_background = False


def use_light_background(light: bool) -> None:
    """Say whether the terminal's background is light (it answered OSC 11): without a theme
    in the config file, the app mounted next uses LIGHT_THEME so that its text stays
    readable."""
    global _light_background
    _light_background = light


def use_config(config: Config | None, problems: Sequence[str] = ()) -> None:
    """Apply these settings to the app mounted next (None: no config file, as in tests).

    Args:
        config: the settings read from the config file.
        problems: the problems found reading it, one line each, to show in the app.
    """
    global _config, _problems
    _config, _problems = config, list(problems)


def apply_settings(app: App[Any]) -> None:
    """Apply the config file to a mounted app: theme, key remaps; then keep the theme the
    human picks in the file. Problems are shown as one notification."""
    config = _config
    if config is None:
        return
    where = display_path(config.path)
    problems: list[str] = []  # the file's problems only the app can see (the CLI logged the rest)
    if config.theme is None and _light_background:
        # Chosen for this terminal, not by the human: not written back (the watcher below
        # is subscribed after this change is announced).
        app.theme = LIGHT_THEME
    if config.theme is not None:
        if config.theme in app.available_themes:
            app.theme = config.theme
        else:
            problems.append(f"{where}: theme {config.theme!r} is not a theme nbtui has (it "
                            f"has {', '.join(sorted(app.available_themes))}); using the "
                            "default theme.")
    keymap: dict[str, str] = {}
    known = binding_ids()
    for binding_id, keys in config.keys.items():
        bad_key = next((key for key in keys.split(",") if not is_key(key.strip())), None)
        if binding_id not in known:
            problems.append(f"{where}: [keys] {binding_id!r} is not a binding id of nbtui "
                            "(ids look like view.run_next; docs/config.md lists them); "
                            "ignored.")
        elif bad_key is not None:
            problems.append(f"{where}: [keys] {binding_id!r} = {keys!r}: {bad_key.strip()!r} "
                            "is not a key (keys look like ctrl+r, alt+enter, f5, J); "
                            f"{binding_id} keeps its keys.")
        else:
            keymap[binding_id] = ",".join(key.strip() for key in keys.split(","))
    if keymap:
        app.set_keymap(keymap)
    for problem in problems:
        log.warning("%s", problem)
    if _problems or problems:
        app.notify("\n".join([*_problems, *problems]), title="Config file", severity="warning",
                   timeout=PROBLEM_SECONDS, markup=False)
    # After the theme set above has been announced: only themes picked from now on are the
    # human's to keep.
    app.call_after_refresh(app.theme_changed_signal.subscribe, app,
                           lambda theme: _keep_theme(app, config, theme))


def _keep_theme(app: App[Any], config: Config, theme: Theme) -> None:
    """Write the theme now in use into the config file (nothing if it says so already)."""
    try:
        save_theme(config.path, theme.name)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        message = f"The theme could not be saved in {display_path(config.path)}: {reason}."
        log.warning("%s", message)
        app.notify(message, severity="warning", markup=False)


def is_key(key: str) -> bool:
    """Whether Textual can bind this key: modifiers (ctrl, alt, shift, ...) and one character
    or key name, e.g. `ctrl+r`, `alt+enter`, `f5`, `J`, `question_mark`."""
    *modifiers, name = key.split("+")
    if not name or any(modifier not in MODIFIERS for modifier in modifiers):
        return False
    if len(name) == 1:
        return name.isprintable() and not name.isspace()
    return name in KEY_NAMES or key_to_character(name) is not None


def binding_ids() -> set[str]:
    """The ids of every binding of nbtui's (and Textual's) widgets, screens and apps."""
    return {binding.id for node_class in _subclasses(DOMNode)
            for binding in node_class.__dict__.get("BINDINGS", ())
            if isinstance(binding, Binding) and binding.id}


def _subclasses(cls: type) -> Iterator[type]:
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)
