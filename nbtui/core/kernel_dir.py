"""A kernel's private directory: its connection file, its ipc endpoints, a lock, and a reaper.

Each kernel gets a fresh 0700 directory inside nbtui's runtime directory. It holds the
connection file (which holds the key) and the kernel's ipc endpoints, so nothing of the kernel
lands in the shared temp directory or in Jupyter's runtime directory. The session holds the
directory's lock file with `flock` for the life of the kernel, and a reaper process
(:mod:`nbtui.core.reaper`) waits to terminate the kernel's process group and remove the
directory as soon as nbtui is gone, `kill -9` included.

A directory whose lock is free belongs to a session that is gone (the reaper too can be
killed); the next kernel start removes it.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from nbtui.core.paths import lock_held
from nbtui.core.reaper import TERMINATE_GRACE

logger = logging.getLogger(__name__)

KERNEL_DIR_PREFIX = "kernel-"
"""How the names of kernel directories in the runtime directory begin."""

LOCK_NAME = "lock"
"""The file in a kernel directory that its session holds locked."""

DEAD_DIR_MIN_AGE = 10.0
"""Seconds a kernel directory with a free lock must have been left unchanged before it counts
as dead (a directory being created is unlocked for an instant)."""

REAPER_EXIT_WAIT = TERMINATE_GRACE + 3.0
"""Seconds nbtui waits for the reaper to finish before removing the directory itself."""


def _in_use(directory: str) -> bool:
    try:
        fd = os.open(os.path.join(directory, LOCK_NAME), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        return lock_held(fd)
    finally:
        os.close(fd)


def remove_dead_kernel_dirs(parent: Path) -> list[str]:
    """Remove the kernel directories in `parent` whose session is gone.

    A directory counts as dead when its lock is free and it has not changed for
    :data:`DEAD_DIR_MIN_AGE` seconds.

    Returns:
        The paths removed.
    """
    removed = []
    now = time.time()
    with os.scandir(parent) as entries:
        for entry in entries:
            if not entry.name.startswith(KERNEL_DIR_PREFIX):
                continue
            try:
                if (not entry.is_dir(follow_symlinks=False)
                        or now - entry.stat(follow_symlinks=False).st_mtime < DEAD_DIR_MIN_AGE):
                    continue
            except OSError:
                continue
            if not _in_use(entry.path):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.path)
    if removed:
        logger.info("Removed the directories of kernels whose session is gone: %s",
                    ", ".join(removed))
    return removed


class KernelDir:
    """A kernel's private directory (mode 0700), locked, with its reaper running.

    Creating one first removes dead sessions' kernel directories from `parent`.

    Args:
        parent: the private runtime directory to create it in.
        stderr: where the reaper's error output goes (the kernel log), never the terminal.
    """

    def __init__(self, parent: Path, *, stderr: IO[Any]) -> None:
        remove_dead_kernel_dirs(parent)
        self.path = Path(tempfile.mkdtemp(prefix=KERNEL_DIR_PREFIX, dir=parent))
        """The directory."""
        self._lock = os.open(self.path / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        read_end, self._pipe = os.pipe()
        try:
            # The reaper shares the lock (pass_fds): the directory stays in use until the
            # reaper is done with it, even after nbtui is gone.
            self._reaper = subprocess.Popen(
                [sys.executable, "-m", "nbtui.core.reaper", str(self.path)], stdin=read_end,
                stdout=subprocess.DEVNULL, stderr=stderr, pass_fds=(self._lock,),
                start_new_session=True)
        except BaseException:
            self._close()
            raise
        finally:
            os.close(read_end)

    def watch(self, pgid: int | None) -> None:
        """Tell the reaper which process group to terminate when nbtui ends (None: none)."""
        if self._pipe < 0:
            return
        try:
            os.write(self._pipe, f"{pgid or 0}\n".encode())
        except OSError:
            logger.warning("The kernel's reaper is gone: if nbtui is killed, the kernel's "
                           "processes may outlive it")

    async def remove(self) -> None:
        """Let the reaper finish (it terminates the process group it was last told about) and
        remove the directory; idempotent."""
        if self._pipe < 0:
            return
        os.close(self._pipe)
        self._pipe = -1
        reaper = self._reaper
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REAPER_EXIT_WAIT
        while reaper.poll() is None and loop.time() < deadline:
            await asyncio.sleep(0.02)
        if reaper.poll() is None:
            logger.warning("The kernel's reaper did not finish; removing %s without it", self.path)
            reaper.kill()
            reaper.wait()
        self._close()

    def _close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._lock)
        if self._pipe >= 0:
            os.close(self._pipe)
            self._pipe = -1
