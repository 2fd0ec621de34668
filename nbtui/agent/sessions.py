"""Where sessions' sockets live, the records `nbtui list` and `nbtui attach` read, and the lock
that keeps a notebook open in one session at most.

Each session owns three files in the private runtime directory, named after the notebook:
`NAME.sock` (the MCP socket), `NAME.json` (the record) and `NAME.lock` (held with `flock` for
the life of the process, so a record whose lock is free belongs to a dead process).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import time
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbtui.core import paths

SOCKET_PATH_LIMIT = 103
"""The shortest unix-socket path limit among the platforms nbtui runs on (macOS; Linux: 107)."""


class SessionError(Exception):
    """A session could not be found, started or reached; `str(exc)` is one sentence."""


@dataclass
class SessionRecord:
    """What a running session tells others about itself."""

    pid: int
    notebook: str
    socket: str
    started: float
    agents: list[str] = field(default_factory=list)

    @property
    def started_text(self) -> str:
        """Start time for humans."""
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))


def notebook_key(notebook: str | os.PathLike[str]) -> str:
    """A short file name for a notebook: its stem and a hash of its absolute path."""
    path = Path(notebook).absolute()
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem)[:24] or "notebook"
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    return f"{stem}-{digest}"


def default_socket_path(notebook: str | os.PathLike[str]) -> str:
    """The socket path for a notebook, short enough for every platform's limit."""
    directory = paths.runtime_dir()
    path = str(directory / f"{notebook_key(notebook)}.sock")
    if len(path.encode()) > SOCKET_PATH_LIMIT:
        path = str(directory / f"{notebook_key(notebook)[-10:]}.sock")
    return path


class SessionLock:
    """Holds a notebook's lock and record for as long as a session runs.

    Args:
        notebook: the notebook the session opens.
        socket_path: where its socket is (None: no socket, `--no-agent`).

    Raises:
        SessionError: another live session has the notebook open.
    """

    def __init__(self, notebook: str | os.PathLike[str], socket_path: str | None) -> None:
        self.notebook = str(Path(notebook).absolute())
        directory = paths.private_dir(paths.runtime_dir())
        key = notebook_key(self.notebook)
        self.record_path = directory / f"{key}.json"
        self.lock_path = directory / f"{key}.lock"
        self.socket_path = socket_path
        self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            other = read_record(self.record_path)
            where = f" (pid {other.pid}, socket {other.socket})" if other else ""
            raise SessionError(
                f"{Path(self.notebook).name} is already open in another nbtui session{where}; "
                "attach to it with `nbtui attach` or close it first."
            ) from None
        self.record = SessionRecord(os.getpid(), self.notebook, socket_path or "", time.time())
        self.write()

    def write(self, agents: list[str] | None = None) -> None:
        """Write the record (atomically), with the currently attached agents."""
        if agents is not None:
            self.record.agents = list(agents)
        tmp = self.record_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(self.record)))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.record_path)

    def release(self) -> None:
        """Remove the record and socket and free the lock (idempotent)."""
        if self._fd < 0:
            return
        with suppress(FileNotFoundError):
            self.record_path.unlink()
        if self.socket_path:
            with suppress(FileNotFoundError):
                os.unlink(self.socket_path)
        with suppress(FileNotFoundError):
            self.lock_path.unlink()
        os.close(self._fd)
        self._fd = -1


def read_record(path: Path) -> SessionRecord | None:
    """A record file's contents, or None if it is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
        return SessionRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


def _is_live(record_path: Path) -> bool:
    lock_path = record_path.with_suffix(".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def running_sessions() -> list[SessionRecord]:
    """Records of the sessions that are running now; leftovers of dead ones are removed."""
    directory = paths.runtime_dir()
    if not directory.is_dir():
        return []
    records = []
    for record_path in sorted(directory.glob("*.json")):
        record = read_record(record_path)
        if record is not None and _is_live(record_path):
            records.append(record)
            continue
        for leftover in (record_path, record_path.with_suffix(".lock")):
            with suppress(OSError):
                leftover.unlink()
        if record is not None and record.socket:
            with suppress(OSError):
                os.unlink(record.socket)
    return records


def resolve_target(target: str | None) -> str:
    """The socket to attach to: a socket path, a notebook path, or the only running session.

    Raises:
        SessionError: nothing matches, or several sessions run and none was named.
    """
    if target:
        candidate = Path(target)
        if candidate.is_socket():
            return str(candidate)
        notebook = str(candidate.absolute())
        for record in running_sessions():
            if record.notebook == notebook and record.socket:
                return record.socket
        raise SessionError(
            f"No running nbtui session has {target}; start one with `nbtui {target}` "
            "or `nbtui serve " + target + "`."
        )
    sessions = [r for r in running_sessions() if r.socket]
    if not sessions:
        raise SessionError("No nbtui session is running; start one with `nbtui NOTEBOOK`.")
    if len(sessions) > 1:
        names = ", ".join(r.notebook for r in sessions)
        raise SessionError(
            f"Several nbtui sessions are running ({names}); name the notebook or socket: "
            "`nbtui attach NOTEBOOK`."
        )
    return sessions[0].socket
