"""Where nbtui keeps its files: logs and recovery copies (state), sockets and records (runtime)."""

from __future__ import annotations

import fcntl
import os
import stat
from contextlib import suppress
from pathlib import Path


class UnsafeDirectory(Exception):
    """A directory nbtui must keep private is not a private directory of this user;
    `str(exc)` is one sentence saying what is wrong and how to fix it."""


def state_dir() -> Path:
    """Logs and recovery copies: $NBTUI_STATE_DIR, else $XDG_STATE_HOME/nbtui, else
    ~/.local/state/nbtui."""
    if os.environ.get("NBTUI_STATE_DIR"):
        return Path(os.environ["NBTUI_STATE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME", "")
    # The XDG spec says relative paths in these variables are invalid and must be ignored.
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "state"
    return base / "nbtui"


SYSTEM_RUNTIME_ROOT = Path("/run/user")
"""Where systemd makes each logged-in user's runtime directory, /run/user/UID."""

SHARED_TMP = Path("/tmp")


def runtime_dir() -> Path:
    """Sockets and session records: $NBTUI_RUNTIME_DIR, else /run/user/UID/nbtui when the
    system keeps that directory for the user, else /tmp/nbtui-UID.

    Apart from the explicit override, the answer depends only on who the user is, never on
    XDG_RUNTIME_DIR or TMPDIR: agent clients start `nbtui attach` with a trimmed environment
    (HOME, PATH, SHELL, TERM, USER, LOGNAME, LANG), and it must look where the session is.
    """
    if os.environ.get("NBTUI_RUNTIME_DIR"):
        return Path(os.environ["NBTUI_RUNTIME_DIR"])
    uid = os.getuid()
    system = SYSTEM_RUNTIME_ROOT / str(uid)
    with suppress(OSError):
        info = os.stat(system)
        if stat.S_ISDIR(info.st_mode) and info.st_uid == uid:
            return system / "nbtui"
    return SHARED_TMP / f"nbtui-{uid}"


def private_dir(path: Path, *, create: bool = True,
                variable: str = "NBTUI_RUNTIME_DIR") -> Path:
    """Check that `path` is a directory only this user can use, creating it (mode 0700) first
    if it is missing and `create` is set.

    A private directory is a real directory (not a symbolic link: checked with `lstat` and
    opened without following links), owned by this user, with no access for group or others.
    Nothing is changed in a directory that fails the checks: another user may have planted it.

    Args:
        path: the directory.
        create: create it (its missing parents too) if it does not exist.
        variable: the environment variable the error message suggests for choosing another
            directory.

    Raises:
        UnsafeDirectory: `path` exists but is not a private directory of this user.
        FileNotFoundError: `path` does not exist and `create` is not set.
    """
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
        with suppress(FileExistsError):
            os.mkdir(path, 0o700)
    elsewhere = f"set {variable} to a directory of your own with mode 0700"
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeDirectory(f"{path} is a symbolic link, not a directory; remove it or "
                              f"{elsewhere}.")
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeDirectory(f"{path} is not a directory; remove it or {elsewhere}.")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise UnsafeDirectory(f"{path} cannot be opened as a directory ({exc.strerror}); "
                              f"{elsewhere}.") from None
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    if info.st_uid != os.getuid():
        raise UnsafeDirectory(f"{path} belongs to another user (uid {info.st_uid}); "
                              f"{elsewhere}.")
    if info.st_mode & 0o077:
        raise UnsafeDirectory(f"{path} is open to other users (mode "
                              f"{stat.S_IMODE(info.st_mode):04o}); run `chmod 700 {path}` if "
                              f"nobody else put files in it, or {elsewhere}.")
    return path


def private_runtime_dir(*, create: bool = True) -> Path:
    """The runtime directory, checked with `private_dir` (see there for what it raises)."""
    return private_dir(runtime_dir(), create=create)


def lock_held(fd: int) -> bool:
    """Whether a process holds `flock` on the file open as `fd` (sessions and kernel
    directories hold theirs exclusively while they live).

    The probe takes a shared lock, so two probes never see each other as a holder; a file that
    cannot be probed counts as held, so nothing in use is taken for dead.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False
