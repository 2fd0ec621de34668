"""The reaper: a tiny process that cleans up after a kernel once nbtui is gone, however it ended.

`python -m nbtui.core.reaper DIR` runs in a session of its own and ignores hang-ups, interrupts
and termination requests. Its standard input is a pipe whose other end only nbtui holds: nbtui
writes the kernel's process group id there (one per line, the last counts, 0 for none), and the
reaper sleeps in that read. When the pipe closes (nbtui exited, crashed or was killed with
`kill -9`), it terminates the process group (the kernel and every process the kernel started),
removes the kernel's directory DIR and exits.

This module is what the reaper imports, so it stays small: the standard library's lightest
modules only (nbtui's side is :mod:`nbtui.core.kernel_dir`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time

TERMINATE_GRACE = 2.0
"""Seconds the kernel's process group gets between SIGTERM and SIGKILL."""


def terminate_group(pgid: int, grace: float) -> None:
    """SIGTERM every process of the group `pgid`, then SIGKILL whatever is left after `grace`."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            os.killpg(pgid, 0)
        except OSError:
            return
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)


def main(argv: list[str]) -> None:
    """Wait for nbtui's end, then terminate the kernel's process group and remove its directory.

    Args:
        argv: the kernel's directory (one argument).
    """
    for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    pgid = 0
    for line in sys.stdin.buffer:
        with contextlib.suppress(ValueError):
            pgid = int(line)
    if pgid > 0:
        terminate_group(pgid, TERMINATE_GRACE)
    shutil.rmtree(argv[0], ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
