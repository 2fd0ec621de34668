"""The user's config file: $XDG_CONFIG_HOME/nbtui/config.toml, else ~/.config/nbtui/config.toml.

::

    kernel = "python3"      # the kernelspec when neither --kernel nor the notebook names one
    autosave = 30           # seconds between saves of unsaved changes; 0: never (--autosave wins)
    images = "auto"         # or kitty, sixel, symbols, halfblock, none (--images wins)
    theme = "nord"          # a Textual theme; the theme picked in the palette is written here

    [keys]                  # binding id = keys (comma-separated), as in the help screen
    "view.run_next" = "ctrl+r"

A setting that is wrong (or the whole file, if it is not TOML) is replaced by its default and
named in one line of :func:`load_config`'s problems. Whether a theme, a binding id or a key
exists only the terminal UI knows: it checks those (``nbtui.tui.settings``).
"""

from __future__ import annotations

import math
import os
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IMAGE_CHOICES = ("auto", "kitty", "sixel", "symbols", "halfblock", "none")
"""The ways to show images (those of nbtui.tui.widgets.images), and `auto` to detect one."""

SETTINGS = ("kernel", "autosave", "images", "theme", "keys")


@dataclass(frozen=True)
class Config:
    """The user's settings; None where the file says nothing (or something wrong), for nbtui's
    defaults."""

    path: Path
    """The file the settings come from (it may not exist)."""
    kernel: str | None = None
    """The kernelspec when neither the command line nor the notebook names one."""
    autosave: float | None = None
    """Seconds between saves of unsaved changes (0: never)."""
    images: str = "auto"
    theme: str | None = None
    """A Textual theme name."""
    keys: dict[str, str] = field(default_factory=dict)
    """Keys by binding id, e.g. {"view.run_next": "ctrl+r"}."""


def config_path() -> Path:
    """$XDG_CONFIG_HOME/nbtui/config.toml, else ~/.config/nbtui/config.toml."""
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    # The XDG spec says relative paths in these variables are invalid and must be ignored.
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".config"
    return base / "nbtui" / "config.toml"


def display_path(path: Path) -> str:
    """The path as the user would write it (~ for the home directory)."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def load_config(path: Path | None = None) -> tuple[Config, list[str]]:
    """Read the config file; a missing file means the defaults.

    Args:
        path: the file (default: :func:`config_path`).

    Returns:
        The settings, and one line per problem found, each naming the file, the problem and
        what is used instead.
    """
    path = path or config_path()
    where = display_path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Config(path), []
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Config(path), [f"{where}: cannot be read ({reason}); using the defaults."]
    except tomllib.TOMLDecodeError as exc:
        return Config(path), [f"{where}: not valid TOML ({exc}); using the defaults."]
    problems: list[str] = []
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in SETTINGS:
            problems.append(f"{where}: unknown setting {name!r} (known: kernel, autosave, "
                            "images, theme and the [keys] table); ignored.")
            continue
        checked, problem = _CHECKS[name](value)
        if problem:
            label = "[keys]" if name == "keys" else name
            problems.append(f"{where}: {label} {problem}; {_INSTEAD[name]}.")
        if checked is not None:
            values[name] = checked
    return Config(path, **values), problems


def _check_kernel(value: Any) -> tuple[str | None, str]:
    if isinstance(value, str) and value.strip():
        return value.strip(), ""
    return None, f"must be a kernelspec name such as \"python3\", not {value!r}"


def _check_autosave(value: Any) -> tuple[float | None, str]:
    if (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value >= 0):
        return float(value), ""
    return None, f"must be a number of seconds, 0 or more (0: never), not {value!r}"


def _check_images(value: Any) -> tuple[str | None, str]:
    if isinstance(value, str) and value.strip().lower() in IMAGE_CHOICES:
        return value.strip().lower(), ""
    return None, f"must be one of {', '.join(IMAGE_CHOICES)}, not {value!r}"


def _check_theme(value: Any) -> tuple[str | None, str]:
    if isinstance(value, str) and value.strip():
        return value.strip(), ""
    return None, f"must be the name of a theme (see the command palette), not {value!r}"


def _check_keys(value: Any) -> tuple[dict[str, str] | None, str]:
    if not isinstance(value, dict):
        return None, ("must be a table of binding ids and keys ([keys] with lines such as "
                      f"\"view.run_next\" = \"ctrl+r\"), not {value!r}")
    good = {name: keys for name, keys in value.items() if isinstance(keys, str) and keys.strip()}
    bad = [f"{name!r} = {keys!r}" for name, keys in value.items() if name not in good]
    if bad:
        return good, (f"needs keys as a string such as \"ctrl+r\" or \"ctrl+r,f5\", not "
                      f"{', '.join(bad)}")
    return good, ""


_CHECKS = {"kernel": _check_kernel, "autosave": _check_autosave, "images": _check_images,
           "theme": _check_theme, "keys": _check_keys}
_INSTEAD = {"kernel": "using the default kernel", "autosave": "using the default interval",
            "images": "detecting how to show images", "theme": "using the default theme",
            "keys": "those bindings keep their keys"}


def save_theme(path: Path, theme: str) -> None:
    """Write `theme = "<theme>"` into the config file, keeping every other line as it is.

    The line `theme = ...` before the first table is replaced (or one is added there); a new
    file is created private to the user (0600, in a 0700 directory). The file is replaced
    atomically, and only when the result reads back as the same settings with the new theme.

    Args:
        path: the config file.
        theme: the theme's name.

    Raises:
        OSError: the file could not be written.
        ValueError: the file is not valid TOML, or its `theme` line could not be rewritten
            safely (nothing is written then).
    """
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        text, mode = "", 0o600
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{display_path(path)} is not valid TOML ({exc})") from None
    if before.get("theme") == theme:
        return
    new_line = f"theme = {_toml_string(theme)}\n"
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    first_table = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")),
                       len(lines))
    theme_line = next((i for i, line in enumerate(lines[:first_table])
                       if line.split("=", 1)[0].strip() in ("theme", '"theme"', "'theme'")
                       and "=" in line), None)
    if theme_line is not None:
        lines[theme_line] = new_line
    else:
        lines.insert(first_table, new_line)
    result = "".join(lines)
    if tomllib.loads(result) != {**before, "theme": theme}:
        raise ValueError(f"the theme line of {display_path(path)} could not be rewritten "
                         "safely (is it a multi-line value?)")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".config.", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(result)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _toml_string(text: str) -> str:
    """A TOML basic string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in escaped) + '"'
