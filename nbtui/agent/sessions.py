"""Where sessions' sockets live, the records `nbtui list` and `nbtui attach` read, and the lock
that keeps a notebook open in one session at most.

Each session owns three files in the private runtime directory, named after the notebook:
`NAME.sock` (the MCP socket), `NAME.json` (the record) and `NAME.lock` (held with `flock` for
the life of the process, so a record whose lock is free belongs to a dead process).

The rule "one session per notebook" must not depend on which runtime directory a session
uses (another NBTUI_RUNTIME_DIR, a directory removed by hand): a second lock lives beside the
notebook itself, `.NOTEBOOK.nbtui-lock`, held the same way and removed when the session ends.
Where that file cannot be made (a read-only directory) or is not the user's own (planted by
another user in a shared directory), the runtime directory's lock alone applies.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import socket
import stat
import struct
import sys
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
    tty: str = ""
    """The terminal the human types in ("" for `nbtui serve`)."""

    @property
    def last_used(self) -> float:
        """When the human last typed in the session (the terminal's access time), else when
        it started."""
        if self.tty:
            with suppress(OSError):
                return max(self.started, os.stat(self.tty).st_atime)
        return self.started

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


def _terminal() -> str:
    """The terminal on this process's stdin, or ""."""
    with suppress(OSError, ValueError, AttributeError):
        if os.isatty(sys.stdin.fileno()):
            return os.ttyname(sys.stdin.fileno())
    return ""


def notebook_lock_path(notebook: str | os.PathLike[str]) -> Path:
    """The lock file beside a notebook: `.NAME.nbtui-lock` in the notebook's directory."""
    path = Path(notebook).absolute()
    return path.with_name(f".{path.name}.nbtui-lock")


def _take_lock(path: Path, *, create: bool = True) -> int | None:
    """A descriptor holding `flock` on the user's own regular file `path`.

    Returns None when the lock is free to nobody: the file cannot be opened or made, or is not
    this user's. Retries when the file was replaced or removed while it was being locked, so
    two processes never both hold a lock on the same name.

    Raises:
        BlockingIOError: another process holds the lock.
    """
    # Read-only: flock needs no more, and a file held open for writing would keep the
    # notebook's file system from being remounted read-only.
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | (os.O_CREAT if create else 0)
    while True:
        try:
            fd = os.open(path, flags, 0o600)
        except OSError:
            return None
        try:
            if not _owned(os.fstat(fd), stat.S_IFREG):
                os.close(fd)
                return None
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.path.samestat(os.fstat(fd), os.lstat(path))
        except OSError:
            same = False
        if same:
            return fd
        os.close(fd)


def _already_open(notebook: str, other: SessionRecord | None, lock: Path | None = None) -> \
        SessionError:
    if other is not None:
        where = f" (pid {other.pid}, socket {other.socket or 'none'})"
    elif lock is not None:
        where = f" (its lock is {lock})"
    else:
        where = ""
    return SessionError(
        f"{Path(notebook).name} is already open in another nbtui session{where}; "
        "attach to it with `nbtui attach` or close it first."
    )


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
        directory = paths.private_runtime_dir()
        key = notebook_key(self.notebook)
        self.record_path = directory / f"{key}.json"
        self.lock_path = directory / f"{key}.lock"
        self.socket_path = socket_path
        self.record = SessionRecord(os.getpid(), self.notebook, socket_path or "", time.time(),
                                    tty=_terminal())
        self.beside_path = notebook_lock_path(self.notebook)
        try:
            self._beside_fd = _take_lock(self.beside_path)
        except BlockingIOError:
            raise _already_open(self.notebook, _read_beside(self.beside_path),
                                self.beside_path) from None
        try:
            fd = _take_lock(self.lock_path)
        except BlockingIOError:
            self._release_beside()
            raise _already_open(self.notebook, read_record(self.record_path)) from None
        if fd is None:
            self._release_beside()
            raise SessionError(f"{self.lock_path} is not a file of yours, so nbtui cannot "
                               "lock the notebook; remove it.")
        self._fd = fd
        self.write()

    def write(self, agents: list[str] | None = None) -> None:
        """Write the record (atomically), with the currently attached agents."""
        if agents is not None:
            self.record.agents = list(agents)
        tmp = self.record_path.with_suffix(".json.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(json.dumps(asdict(self.record)))
        os.replace(tmp, self.record_path)
        if self._beside_fd is not None:
            # The lock beside the notebook names the session too, for the message a second
            # session gives when its runtime directory is another one.
            with suppress(OSError):
                fd = os.open(self.beside_path, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                try:
                    if os.path.samestat(os.fstat(fd), os.fstat(self._beside_fd)):
                        os.ftruncate(fd, 0)
                        os.write(fd, json.dumps(asdict(self.record)).encode())
                finally:
                    os.close(fd)

    def _release_beside(self) -> None:
        fd, self._beside_fd = self._beside_fd, None
        if fd is None:
            return
        with suppress(OSError):
            if os.path.samestat(os.fstat(fd), os.lstat(self.beside_path)):
                self.beside_path.unlink()
        os.close(fd)

    def move(self, notebook: str | os.PathLike[str]) -> None:
        """Follow the notebook to a new path (after "save as"): the new path is locked and
        recorded, then the old one's lock and record are let go. The socket stays.

        Raises:
            SessionError: another session has the new path open (the old lock is kept).
        """
        moved = SessionLock(notebook, self.socket_path)
        moved.record.started = self.record.started
        moved.write(self.record.agents)
        self.release()
        self.__dict__.update(moved.__dict__)

    def release(self) -> None:
        """Remove the record and free the lock (idempotent); the socket is its server's."""
        if self._fd < 0:
            return
        with suppress(FileNotFoundError):
            self.record_path.unlink()
        with suppress(FileNotFoundError):
            self.lock_path.unlink()
        os.close(self._fd)
        self._fd = -1
        self._release_beside()


def _owned(info: os.stat_result, file_type: int) -> bool:
    return stat.S_IFMT(info.st_mode) == file_type and info.st_uid == os.getuid()


def _is_own(path: str | os.PathLike[str], file_type: int) -> bool:
    """Whether `path` itself (not a link's target) is of `file_type` and this user's."""
    try:
        return _owned(os.lstat(path), file_type)
    except OSError:
        return False


def _open_own_file(path: Path, flags: int) -> int | None:
    """A descriptor for `path` if it is a regular file of this user's (links not followed)."""
    try:
        # O_NONBLOCK: opening a FIFO planted under the name must not hang.
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    if not _owned(os.fstat(fd), stat.S_IFREG):
        os.close(fd)
        return None
    return fd


def _read_beside(path: Path) -> SessionRecord | None:
    record = read_record(path)
    return record if record is not None and record.pid > 0 else None


def read_record(path: Path) -> SessionRecord | None:
    """A record file's contents, or None if it is missing, unreadable or not this user's."""
    fd = _open_own_file(path, os.O_RDONLY)
    if fd is None:
        return None
    try:
        with os.fdopen(fd) as file:
            record = SessionRecord(**json.loads(file.read()))
    except (OSError, ValueError, TypeError):
        return None
    if not (isinstance(record.notebook, str) and isinstance(record.socket, str)):
        return None
    return record


def peer_credentials(sock: socket.socket) -> tuple[int | None, int | None]:
    """The (pid, uid) of the process at the other end of a unix socket, where the OS says."""
    if sys.platform.startswith("linux") and hasattr(socket, "SO_PEERCRED"):
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, _gid = struct.unpack("3i", raw)
        return pid, uid
    if hasattr(os, "getpeereid"):  # pragma: no cover - BSD and macOS
        uid, _gid = os.getpeereid(sock.fileno())  # type: ignore[attr-defined]
        return None, uid
    return None, None  # pragma: no cover


def check_server(sock: socket.socket, socket_path: str) -> None:
    """Check that the process serving a just-connected socket runs as this user.

    Raises:
        SessionError: another user's process serves it (it could be posing as a session).
    """
    pid, uid = peer_credentials(sock)
    if uid is not None and uid != os.getuid():
        raise SessionError(
            f"The process serving {socket_path} (pid {pid}) belongs to another user "
            f"(uid {uid}), so nbtui will not connect an agent to it; attach to a session "
            "you started yourself."
        )


def _has_listener(path: str) -> bool:
    """Whether a process accepts connections on the socket at `path`."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        # Only an answer of "nobody listens" makes a socket stale; anything else (a full
        # backlog, a slow peer) counts as alive.
        probe.settimeout(2)
        try:
            probe.connect(path)
        except OSError as exc:
            return exc.errno not in (errno.ECONNREFUSED, errno.ENOENT)
        return True


def _is_stale_socket(path: str) -> bool:
    """Whether `path` is a socket of this user's that nobody listens on any more."""
    return _is_own(path, stat.S_IFSOCK) and not _has_listener(path)


def _describe(info: os.stat_result) -> str:
    kinds = {stat.S_IFLNK: "a symbolic link", stat.S_IFREG: "a file",
             stat.S_IFDIR: "a directory", stat.S_IFSOCK: "a socket"}
    return kinds.get(stat.S_IFMT(info.st_mode), "a special file")


def free_socket_path(path: str) -> None:
    """Make `path` ready for a new socket: a stale socket of this user's there is removed,
    and anything else there is left alone and refused.

    Raises:
        SessionError: something other than a stale socket of this user's is at `path`.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    elsewhere = "choose another --socket path"
    if not stat.S_ISSOCK(info.st_mode):
        raise SessionError(f"{path} is {_describe(info)}, not a socket, so nbtui will not "
                           f"replace it; {elsewhere}.")
    if info.st_uid != os.getuid():
        raise SessionError(f"{path} is a socket of another user (uid {info.st_uid}); "
                           f"{elsewhere}.")
    if _has_listener(path):
        raise SessionError(f"{path} is the socket of a running process; stop it or "
                           f"{elsewhere}.")
    os.unlink(path)


def _is_live(record_path: Path) -> bool:
    fd = _open_own_file(record_path.with_suffix(".lock"), os.O_RDONLY)
    if fd is None:
        return False
    try:
        return paths.lock_held(fd)
    finally:
        os.close(fd)


def running_sessions() -> list[SessionRecord]:
    """Records of this user's sessions that are running now; leftovers of dead ones are
    removed. Files in the runtime directory that are not this user's are ignored.

    Raises:
        paths.UnsafeDirectory: the runtime directory is not private to this user.
    """
    try:
        directory = paths.private_runtime_dir(create=False)
    except FileNotFoundError:
        return []
    records = []
    for record_path in sorted(directory.glob("*.json")):
        record = read_record(record_path)
        if record is None:
            continue
        if _is_live(record_path):
            records.append(record)
            continue
        for leftover in (record_path, record_path.with_suffix(".lock")):
            if _is_own(leftover, stat.S_IFREG):
                with suppress(OSError):
                    leftover.unlink()
        if record.socket and _is_stale_socket(record.socket):
            with suppress(OSError):
                os.unlink(record.socket)
    return records


def resolve_target(target: str | None) -> str:
    """The socket to attach to: a socket path, a notebook path, or (no target) the session
    :func:`choose_session` picks.

    Raises:
        SessionError: nothing matches.
    """
    if target:
        candidate = Path(target)
        if candidate.is_socket():
            return str(candidate)
        notebook = str(candidate.absolute())
        sessions = [r for r in running_sessions() if _is_own(r.socket, stat.S_IFSOCK)]
        for record in sessions:
            if record.notebook == notebook:
                return record.socket
        if not candidate.is_absolute() and not candidate.exists():
            # A relative name is resolved against the client's working directory (over SSH,
            # the remote home), where it may not be; a session whose notebook ends with it
            # is the one meant, when only one does.
            parts = candidate.parts
            matches = [r for r in sessions if Path(r.notebook).parts[-len(parts):] == parts]
            if len(matches) == 1:
                return matches[0].socket
            if matches:
                names = ", ".join(r.notebook for r in matches)
                raise SessionError(f"Several running nbtui sessions have a notebook named "
                                   f"{target} ({names}); give its full path.")
        raise SessionError(
            f"No running nbtui session has {target} (looked in {paths.runtime_dir()}); start "
            f"one with `nbtui {target}` or `nbtui serve {target}`."
        )
    sessions = [r for r in running_sessions() if _is_own(r.socket, stat.S_IFSOCK)]
    if not sessions:
        raise SessionError(f"No nbtui session is running (looked in {paths.runtime_dir()}); "
                           "start one with `nbtui NOTEBOOK`.")
    return choose_session(sessions, Path.cwd()).socket


def choose_session(sessions: list[SessionRecord], cwd: Path) -> SessionRecord:
    """The session an `attach` without a target means: the only one; else the only one whose
    notebook is under the client's working directory; else the one the human typed in most
    recently."""
    if len(sessions) == 1:
        return sessions[0]
    under = [r for r in sessions if Path(r.notebook).is_relative_to(cwd)]
    if len(under) == 1:
        return under[0]
    return max(under or sessions, key=lambda r: r.last_used)
