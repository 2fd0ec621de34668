"""Private files in the state directory: its 0700 directories, and log files (0600, pruned).

Each run writes ``nbtui-<pid>.log`` (nbtui's own log) and ``kernel-<pid>.log`` (the kernel's raw
stdout and stderr, which can hold anything the notebook printed) in ``<state dir>/logs``; only the
newest runs' logs are kept. Recovery copies (see `nbtui.core.storage.write_recovery`) go to
``<state dir>/recovery``.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from nbtui.core import paths

__all__ = ["KEEP_RUNS", "create_log", "private_state_dir", "prune_logs"]

KEEP_RUNS = 20
"""How many runs' logs are kept, newest first; logs of live processes are kept as well."""

_LOG_NAME = re.compile(r"[a-z]+-(\d+)\.log")


def private_state_dir(name: str) -> Path:
    """``<state dir>/<name>``, created with mode 0700, the state directory too.

    Older nbtui versions created them with the umask's mode (often 0755): a directory of this
    user with a looser mode is tightened to 0700.

    Args:
        name: The subdirectory: ``logs`` or ``recovery``.

    Returns:
        The subdirectory.

    Raises:
        UnsafeDirectory: either directory is a symlink or another user's.
        OSError: either directory could not be created.
    """
    state = paths.state_dir()
    for directory in (state, state / name):
        _tighten(directory)
        paths.private_dir(directory, variable="NBTUI_STATE_DIR")
    return state / name


def _tighten(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return  # missing, or not a real directory: private_dir creates or refuses it
    try:
        if os.fstat(fd).st_uid == os.getuid():
            os.fchmod(fd, 0o700)
    finally:
        os.close(fd)


def create_log(kind: str) -> Path:
    """Create this process's ``<kind>-<pid>.log`` with mode 0600, whatever the umask.

    Then the logs of old runs are pruned, this run counting as the newest (see `prune_logs`). An
    existing file (from an earlier process with the same pid) is kept and appended to.

    Args:
        kind: What logs into the file: ``nbtui`` or ``kernel``.

    Returns:
        The file's path, ready to be opened for appending.

    Raises:
        UnsafeDirectory: the logs directory is not a private directory of this user.
        OSError: the directory or the file could not be created.
    """
    directory = private_state_dir("logs")
    path = directory / f"{kind}-{os.getpid()}.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    try:
        # The umask can only remove bits at creation; a file left by an older nbtui may be 0644.
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    prune_logs(directory)
    return path


def prune_logs(directory: Path, keep: int = KEEP_RUNS) -> None:
    """Delete the logs of all but the newest ``keep`` runs, except those of live processes.

    A run is the set of ``<kind>-<pid>.log`` files of one pid; its age is its newest file's.

    Args:
        directory: The logs directory.
        keep: How many runs to keep whatever their state.
    """
    runs: dict[int, list[tuple[int, Path]]] = {}
    with os.scandir(directory) as entries:
        for entry in entries:
            match = _LOG_NAME.fullmatch(entry.name)
            if match and entry.is_file(follow_symlinks=False):
                mtime = entry.stat(follow_symlinks=False).st_mtime_ns
                runs.setdefault(int(match[1]), []).append((mtime, Path(entry.path)))
    newest_first = sorted(runs.items(), key=lambda run: max(m for m, _ in run[1]), reverse=True)
    for pid, files in newest_first[keep:]:
        if _alive(pid):
            continue
        for _, path in files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _alive(pid: int) -> bool:
    if pid <= 0:  # os.kill(0, ...) would signal our own process group
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
