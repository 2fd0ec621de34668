"""Where nbtui keeps its files: logs and recovery copies (state), sockets and records (runtime)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


class UnsafeDirectory(Exception):
    """A directory nbtui must keep private is owned by someone else or open to others."""


def state_dir() -> Path:
    """Logs and recovery copies: $NBTUI_STATE_DIR, else $XDG_STATE_HOME/nbtui, else
    ~/.local/state/nbtui."""
    if os.environ.get("NBTUI_STATE_DIR"):
        return Path(os.environ["NBTUI_STATE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME", "")
    # The XDG spec says relative paths in these variables are invalid and must be ignored.
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "state"
    return base / "nbtui"


def runtime_dir() -> Path:
    """Sockets and session records: $NBTUI_RUNTIME_DIR, else $XDG_RUNTIME_DIR/nbtui, else a
    per-user directory in the temp directory."""
    if os.environ.get("NBTUI_RUNTIME_DIR"):
        return Path(os.environ["NBTUI_RUNTIME_DIR"])
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and Path(xdg).is_dir():
        return Path(xdg) / "nbtui"
    return Path(tempfile.gettempdir()) / f"nbtui-{os.getuid()}"


def private_dir(path: Path) -> Path:
    """Create `path` with mode 0700 if needed and check that only this user can use it.

    Raises:
        UnsafeDirectory: it exists but belongs to another user (its mode is tightened if it is
            ours but too open).
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid != os.getuid():
        raise UnsafeDirectory(f"{path} belongs to another user; set NBTUI_RUNTIME_DIR to a "
                              "directory of your own.")
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path
