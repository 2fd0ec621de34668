"""The last resort for ending a session: a bounded time after it ends, whatever the event loop does.

A session normally stops on its event loop: it saves, shuts the kernel down and removes its
lock, record and socket. That can block for good: after a hang-up (an SSH connection that
dropped, a tmux server killed) Textual's shutdown waits on a writer thread that can no longer
write to the terminal, and `nbtui serve` blocks writing a log line to a stderr that nobody reads.
An :class:`ExitWatchdog`, armed by the signal that tells the session to end, does the same work
from its own thread once its deadline passes, without the event loop, and then ends the process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from nbtui.core.session import NotebookSession

log = logging.getLogger(__name__)

EXIT_DEADLINE_SECONDS = 5.0
"""How long the normal shutdown gets, once the session is told to end, before the watchdog acts."""

CLEANUP_SECONDS = 5.0
"""How long the watchdog's own cleanup gets (a save can hang on a stuck disk) before the process
ends anyway."""


class ExitWatchdog:
    """A daemon thread that, once armed, runs `cleanup` after `EXIT_DEADLINE_SECONDS` and ends
    the process (with status 1 if `cleanup` has not finished within `CLEANUP_SECONDS`).

    Args:
        cleanup: stops what must not outlive the process and returns the exit status. It runs
            in a thread of its own while the event loop may be stuck, so it must not need the loop.
    """

    def __init__(self, cleanup: Callable[[], int]) -> None:
        self._cleanup = cleanup
        # The trigger is a plain lock, released to arm: one atomic step, so arming is safe in a
        # signal handler that interrupted anything (an Event's set() takes a lock that the
        # interrupted code may be holding).
        self._trigger = threading.Lock()
        self._trigger.acquire()
        threading.Thread(target=self._watch, name="nbtui-exit-watchdog", daemon=True).start()

    def arm(self) -> None:
        """Start the countdown; later calls change nothing. Safe to call in a signal handler."""
        with contextlib.suppress(RuntimeError):  # already released: armed before
            self._trigger.release()

    def _watch(self) -> None:
        self._trigger.acquire()
        time.sleep(EXIT_DEADLINE_SECONDS)
        status = [1]

        def clean_up() -> None:
            # The work first, the log line last: logging can block too (on a stderr that is a
            # terminal nobody reads any more).
            try:
                status[0] = self._cleanup()
            except Exception:
                log.exception("Stopping the session without the event loop failed")
            log.warning("The session did not stop within %g s; it was stopped without its event "
                        "loop (the kernel killed)", EXIT_DEADLINE_SECONDS)

        worker = threading.Thread(target=clean_up, name="nbtui-exit-cleanup", daemon=True)
        worker.start()
        worker.join(CLEANUP_SECONDS)
        os._exit(status[0])


class Lock(Protocol):
    """A notebook's session lock: releasing it removes its record too."""

    def release(self) -> None:
        """Remove the record and free the lock."""


@dataclass(frozen=True)
class SocketFile:
    """The agent socket's file as the session bound it, so that only that file is removed."""

    path: str
    device: int
    inode: int

    @classmethod
    def of(cls, path: str | None) -> SocketFile | None:
        """The socket file at `path` now (just after the session bound it); None if none."""
        try:
            info = os.lstat(path) if path else None
        except OSError:
            return None
        return cls(path, info.st_dev, info.st_ino) if info and stat.S_ISSOCK(info.st_mode) else None

    def remove(self) -> None:
        """Remove the file if it is still the one the session bound."""
        with contextlib.suppress(OSError):
            info = os.lstat(self.path)
            if (info.st_dev, info.st_ino) == (self.device, self.inode):
                os.unlink(self.path)


def stop_session_now(session: NotebookSession, lock: Lock | None, socket: SocketFile | None, *,
                     save: bool = True) -> int:
    """Stop a session without its event loop: kill the kernel, save, release the lock, record
    and socket.

    Saving is skipped while the event loop is itself in the middle of a save: a second
    writer would race it, and what holds that save up (a stuck disk, a log line to a terminal
    nobody reads) would hold this one up too.

    Args:
        session: the session to stop.
        lock: the notebook's lock; None when the session never took it, and then nothing is
            saved (the file is not this session's to write).
        socket: the agent socket's file; None when there is none.
        save: whether unsaved changes are to be saved (False: the human chose to discard them).

    Returns:
        The exit status: 1 if changes to save are left unsaved (a recovery copy may hold them),
        else 0.
    """
    kill_kernel_now(session.kernel.kernel_pid)
    to_save = save and lock is not None and session.document.dirty
    if to_save and not session.saving:
        try:
            session.save_or_recover()
        except Exception:
            log.exception("Saving %s without the event loop failed", session.path.name)
    if socket is not None:
        socket.remove()
    if lock is not None:
        try:
            lock.release()
        except OSError:
            log.exception("Removing the session's lock and record failed")
    return 1 if (to_save and session.document.dirty) or session.last_save_error else 0


def kill_kernel_now(pid: int | None) -> None:
    """SIGKILL the kernel, with its whole process group when it leads one of its own.

    jupyter-client starts local kernels in a new session, so the group holds the kernel and
    whatever it started; a kernel in nbtui's own group is killed alone.

    Args:
        pid: the kernel's process id; None when there is no kernel process.
    """
    if pid is None:
        return
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass

