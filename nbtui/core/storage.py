"""Reading, checking, serialising and atomically saving .ipynb files.

A notebook is loaded into an nbformat 4.5 ``NotebookNode`` in which every cell has a unique id,
whatever the file held (version 3, or 4.0 to 4.4 without ids). A file is refused only when its
shape is unusable; nbformat's JSON schema is stricter than that, and Jupyter itself opens
schema-invalid notebooks with a warning, so metadata nbtui does not understand is kept as it is.

Saving writes exactly the text Jupyter writes (``nbformat.write``), atomically, and refuses to
overwrite a file that changed on disk since it was read or last written.
"""

from __future__ import annotations

import codecs
import contextlib
import copy
import errno
import hashlib
import json
import os
import re
import stat
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import nbformat
from nbformat import v3, v4
from nbformat.validator import normalize
from nbformat.warnings import DuplicateCellId, MissingIDFieldWarning
from traitlets.log import get_logger

from nbtui.core import paths, private_files
from nbtui.core.paths import UnsafeDirectory

__all__ = [
    "FileChangedOnDisk",
    "NotebookFileExists",
    "FileFingerprint",
    "LoadedNotebook",
    "NotebookFileError",
    "changed_on_disk",
    "check_new_path",
    "load_notebook",
    "new_notebook",
    "recovery_dir",
    "save_notebook",
    "serialize",
    "write_recovery",
]

# The schema's pattern is ^[a-zA-Z0-9-_]+$ with 1 to 64 characters; fullmatch also rejects the
# trailing newline that `$` lets through.
_CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")


class NotebookFileError(Exception):
    """A notebook file could not be read or written.

    ``str(exc)`` is one sentence naming the file and the problem, with no traceback text.
    """


class FileChangedOnDisk(NotebookFileError):
    """The file on disk changed since it was loaded or last saved.

    Saving would overwrite someone else's work.
    """


class NotebookFileExists(NotebookFileError):
    """Saving a notebook under another name would replace a file that is already there."""


@dataclass(frozen=True)
class FileFingerprint:
    """What the file on disk looked like when nbtui last read or wrote it."""

    mtime_ns: int
    size: int
    sha256: str

    @classmethod
    def of(cls, path: Path) -> FileFingerprint | None:
        """Fingerprint the file at ``path`` as it is now.

        Args:
            path: The file to fingerprint.

        Returns:
            The fingerprint, or None if the file does not exist.

        Raises:
            NotebookFileError: The path exists but is not a readable regular file.
        """
        try:
            with _open_regular(path) as (f, st):
                digest = hashlib.file_digest(f, "sha256").hexdigest()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise NotebookFileError(_read_failure(path, exc)) from exc
        return cls(mtime_ns=st.st_mtime_ns, size=st.st_size, sha256=digest)


@dataclass
class LoadedNotebook:
    """A notebook read from disk, and what the file looked like when it was read."""

    notebook: nbformat.NotebookNode
    """Always nbformat 4.5 (or a newer 4.x minor, kept as is); every cell has a unique id."""
    fingerprint: FileFingerprint
    """The file as it was read: pass it to `save_notebook` as ``expected``."""
    upgraded: bool
    """True when loading changed the notebook (a version 3 or 4.0-4.4 file upgraded, cell ids
    added or repaired, missing required fields filled in, a byte-order mark dropped), so the first
    save changes the file even without edits."""
    upgrade_note: str = ""
    """One sentence to tell the human after the first save when that save changed the file's
    format (to 4.5, with cell ids) or its cell ids; "" when it does not."""


def load_notebook(path: Path) -> LoadedNotebook:
    """Read, check and normalise a notebook file; the file itself is never modified.

    Args:
        path: The .ipynb file to read.

    Returns:
        The notebook as nbformat 4.5 with unique cell ids, the file's fingerprint, and whether
        loading changed anything the first save will write back.

    Raises:
        NotebookFileError: The file is missing, unreadable, a directory, not UTF-8, not JSON, not a
            notebook, of an unsupported version, or shaped so that it cannot be used. The message
            names the file and the problem in one sentence.
    """
    path = Path(path)
    name = _display_name(path)
    try:
        with _open_regular(path) as (f, st):
            data = f.read()
    except OSError as exc:
        raise NotebookFileError(_read_failure(path, exc)) from exc
    fingerprint = FileFingerprint(
        mtime_ns=st.st_mtime_ns, size=len(data), sha256=hashlib.sha256(data).hexdigest()
    )

    changed = data.startswith(codecs.BOM_UTF8)
    if changed:
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookFileError(
            f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})."
        ) from exc
    if not text.strip():
        raise NotebookFileError(f"{name} is empty, so it is not a notebook.")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookFileError(
            f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}."
        ) from exc
    except RecursionError as exc:
        raise NotebookFileError(
            f"{name} is not a notebook: its JSON is nested too deeply."
        ) from exc

    try:
        notebook, repaired, upgrade_note = _to_current_format(raw, name)
    except _Unusable as exc:
        raise NotebookFileError(f"{name} {exc}.") from exc
    return LoadedNotebook(notebook=notebook, fingerprint=fingerprint, upgraded=changed or repaired,
                          upgrade_note=upgrade_note)


def new_notebook(
    kernel_name: str = "python3", display_name: str | None = None, language: str | None = None
) -> nbformat.NotebookNode:
    """Create an empty nbformat 4.5 notebook bound to a kernel.

    Args:
        kernel_name: The kernelspec name, e.g. ``python3``.
        display_name: The kernel's human-readable name; the kernel name when not given.
        language: The kernel's language; when given it goes into the kernelspec and into
            ``language_info``.

    Returns:
        The notebook, with no cells.
    """
    kernelspec: dict[str, str] = {"display_name": display_name or kernel_name, "name": kernel_name}
    metadata: dict[str, Any] = {"kernelspec": kernelspec}
    if language:
        kernelspec["language"] = language
        metadata["language_info"] = {"name": language}
    return v4.new_notebook(metadata=nbformat.from_dict(metadata))


def serialize(nb: nbformat.NotebookNode) -> str:
    """Return the text Jupyter writes for ``nb``, byte for byte.

    That is ``nbformat.write``: JSON with one-space indents, sorted keys, non-ASCII kept,
    multi-line strings split into lists of lines, transient fields dropped, and a final newline.
    Unlike ``nbformat.writes`` it neither validates (which logs, and adds ids in place) nor
    modifies ``nb``.

    Args:
        nb: An nbformat 4 notebook.

    Returns:
        The file's text.
    """
    if not isinstance(nb, nbformat.NotebookNode):
        nb = nbformat.from_dict(nb)
    text = v4.writes_json(nb)
    return text if text.endswith("\n") else text + "\n"


def changed_on_disk(path: Path, expected: FileFingerprint | None) -> bool:
    """Tell whether the file no longer is what nbtui last read or wrote.

    A change of modification time alone (a ``touch``) is not a change.

    Args:
        path: The notebook file.
        expected: Its fingerprint from the last load or save; None for a notebook nbtui created
            that has not been saved yet.

    Returns:
        True when the content differs, the file was deleted, or (``expected`` None) the file
        was created by someone else.

    Raises:
        NotebookFileError: The file exists but cannot be examined.
    """
    path = Path(path)
    target = _resolve_link(path)
    current = _stat_or_none(target, path, "check")
    if current is None or expected is None:
        return (current is None) != (expected is None)
    return not _same_content(target, path, current, expected)


def check_new_path(path: Path, *, overwrite: bool = False) -> None:
    """Check that a notebook can be saved under a new name (save as) before writing it.

    Args:
        path: The new file's path.
        overwrite: Whether an existing file there may be replaced.

    Raises:
        NotebookFileExists: A file is there and ``overwrite`` is false.
        NotebookFileError: The name does not end in .ipynb, is a directory or something other
            than a file, or its directory is missing or not writable. One sentence.
    """
    path = Path(path)
    name = _display_name(path)
    if path.is_dir():
        raise NotebookFileError(f"{path} is a directory; give a file name ending in .ipynb.")
    if not path.name.lower().endswith(".ipynb"):
        raise NotebookFileError(f"{name} is not a .ipynb file name, so nbtui will not save "
                                "the notebook there.")
    if not path.parent.is_dir():
        raise NotebookFileError(
            f"Could not save {name}: the directory {path.parent} does not exist.")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise NotebookFileError(
            f"Could not save {name}: the directory {path.parent} is not writable.")
    if os.path.lexists(path):
        if not path.is_file():
            raise NotebookFileError(f"{name} is not a regular file, so nbtui will not "
                                    "replace it with the notebook.")
        if not overwrite:
            raise NotebookFileExists(f"{name} already exists.")
        if not os.access(path, os.W_OK):
            raise NotebookFileError(f"Could not save {name}: the file is read-only.")


def save_notebook(
    path: Path,
    nb: nbformat.NotebookNode,
    expected: FileFingerprint | None,
    *,
    force: bool = False,
) -> tuple[int, FileFingerprint]:
    """Write ``nb`` to ``path`` atomically, unless that would overwrite someone else's changes.

    The text goes to a temporary file in the same directory, is flushed and fsynced, takes the
    original file's mode (new files get 0o644 minus the umask), and then replaces the file in one
    rename. A symlink is followed: its target is replaced and the link kept. If anything fails,
    the original file is untouched and the temporary file removed.

    Args:
        path: Where to save.
        nb: The notebook.
        expected: The fingerprint from when the file was loaded or last saved; None for a notebook
            that has no file yet.
        force: Overwrite even if the file changed on disk.

    Returns:
        The number of bytes written and the new file's fingerprint.

    Raises:
        FileChangedOnDisk: The file's content is not what ``expected`` says (or, with ``expected``
            None, the file exists) and ``force`` is false.
        NotebookFileError: The file could not be written: read-only file or directory, full disk,
            missing directory, and so on.
    """
    path = Path(path)
    name = _display_name(path)
    target = _resolve_link(path)
    current = _stat_or_none(target, path, "save")
    if current is not None and stat.S_ISDIR(current.st_mode):
        raise NotebookFileError(f"Could not save {name}: it is a directory.")
    if current is not None and not force:
        if expected is None:
            raise FileChangedOnDisk(
                f"{name} already exists on disk and nbtui has not read it, so nbtui did not "
                "overwrite it; the notebook stays open in nbtui with nothing lost."
            )
        if not _same_content(target, path, current, expected):
            raise FileChangedOnDisk(
                f"{name} changed on disk since nbtui last read or saved it, so nbtui did not "
                "overwrite it; the notebook stays open in nbtui with nothing lost."
            )
    if current is not None and not os.access(target, os.W_OK):
        raise NotebookFileError(f"Could not save {name}: the file is read-only.")

    data = serialize(nb).encode("utf-8")
    mode = stat.S_IMODE(current.st_mode) if current is not None else 0o666 & ~_current_umask()
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".nbtui-tmp", dir=target.parent
        )
        with os.fdopen(fd, "wb") as f:
            os.fchmod(fd, mode)
            if current is not None:
                _keep_owner(fd, current)
            f.write(data)
            f.flush()
            os.fsync(fd)
            written = os.fstat(fd)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise NotebookFileError(_save_failure(name, exc)) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    _fsync_directory(target.parent)
    fingerprint = FileFingerprint(
        mtime_ns=written.st_mtime_ns, size=len(data), sha256=hashlib.sha256(data).hexdigest()
    )
    return len(data), fingerprint


def recovery_dir() -> Path:
    """Where recovery copies go when saving the real file fails.

    ``$NBTUI_STATE_DIR/recovery`` when that is set, else ``$XDG_STATE_HOME/nbtui/recovery``, else
    ``~/.local/state/nbtui/recovery``. The directory is not created here.

    Returns:
        The directory's path.
    """
    return paths.state_dir() / "recovery"


RECOVERY_COPIES_PER_NOTEBOOK = 10
"""How many recovery copies of one notebook name are kept, newest first."""
RECOVERY_COPIES = 50
"""How many recovery copies are kept in all, newest first."""

# Older nbtui versions wrote <stem>-<date>-<time>.ipynb and <stem>-<date>-<time>-<n>.ipynb.
_RECOVERY_NAME = re.compile(r"(.+)-\d{8}-\d{6}(?:-[0-9a-f]+)?\.ipynb")


def write_recovery(path: Path, nb: nbformat.NotebookNode) -> Path:
    """Keep a copy of ``nb`` in `recovery_dir` because saving it to ``path`` failed.

    One file per distinct content, ``<stem>-<YYYYmmdd-HHMMSS>-<hash>.ipynb`` with the hash of
    its text: when a copy of the same text was already kept, that file is returned (and counts
    as the newest) and nothing is written, so an autosave that keeps failing does not pile up
    copies. The newest `RECOVERY_COPIES_PER_NOTEBOOK` copies of each notebook name and the newest
    `RECOVERY_COPIES` in all are kept, older ones deleted. Files are 0600 in a 0700 directory.

    Args:
        path: The notebook's real path; its stem names the recovery file.
        nb: The notebook.

    Returns:
        The recovery file's path.

    Raises:
        NotebookFileError: The recovery file could not be written either.
    """
    path = Path(path)
    stem = path.stem or "notebook"
    data = serialize(nb).encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()[:12]
    directory = recovery_dir()
    try:
        private_files.private_state_dir("recovery")
        copies = _recovery_copies(directory)
        kept = next((c for c in copies
                     if _stem_of(c) == stem and c.name.endswith(f"-{digest}.ipynb")), None)
        if kept is None:
            kept = directory / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}-{digest}.ipynb"
            _write_private(kept, data)
            copies.append(kept)
        # Set from the fine-grained clock: file times tick in jiffies, and the order decides
        # which copies survive.
        now = time.time_ns()
        os.utime(kept, ns=(now, now))
        _prune_recovery(copies, stem, kept)
    except (OSError, UnsafeDirectory) as exc:
        reason = str(exc) if isinstance(exc, UnsafeDirectory) else (
            f"{_os_reason(exc, _WRITE_REASONS)}.")
        raise NotebookFileError(
            f"Could not write a recovery copy of {_display_name(path)} to {directory}: {reason}"
        ) from exc
    return kept


def _recovery_copies(directory: Path) -> list[Path]:
    with os.scandir(directory) as entries:
        return [Path(e.path) for e in entries
                if _RECOVERY_NAME.fullmatch(e.name) and e.is_file(follow_symlinks=False)]


def _stem_of(recovery_copy: Path) -> str:
    return _RECOVERY_NAME.fullmatch(recovery_copy.name)[1]


def _prune_recovery(copies: list[Path], stem: str, kept: Path) -> None:
    """Delete all but the newest copies of ``stem`` and in all; never ``kept``."""
    mtimes = {}
    for candidate in copies:
        with contextlib.suppress(FileNotFoundError):
            mtimes[candidate] = candidate.stat(follow_symlinks=False).st_mtime_ns
    newest_first = sorted(mtimes, key=mtimes.__getitem__, reverse=True)
    of_stem = [c for c in newest_first if _stem_of(c) == stem]
    doomed = set(of_stem[RECOVERY_COPIES_PER_NOTEBOOK:]) | set(newest_first[RECOVERY_COPIES:])
    for old in doomed - {kept}:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()


def _write_private(target: Path, data: bytes) -> None:
    """Write ``target`` (mode 0600) through a temporary file, so it is never seen half written."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".nbtui-tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(target.parent)


# --- reading -----------------------------------------------------------------------------------


class _Unusable(Exception):
    """The parsed JSON cannot be used as a notebook; str() completes "<file> ..."."""


class _NotRegularFile(OSError):
    """The path is a FIFO, socket or device: reading it could block or never end."""


@contextlib.contextmanager
def _open_regular(path: Path) -> Iterator[tuple[BinaryIO, os.stat_result]]:
    # O_NONBLOCK so that a FIFO is refused instead of blocking the open until a writer appears.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(st.st_mode):
            raise _NotRegularFile(errno.EINVAL, "not a regular file", str(path))
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as f:
        yield f, st


def _read_failure(path: Path, exc: OSError) -> str:
    name = _display_name(path)
    if isinstance(exc, FileNotFoundError):
        return f"{name} does not exist."
    if isinstance(exc, IsADirectoryError):
        return f"{name} is a directory, not a notebook file."
    if isinstance(exc, PermissionError):
        return f"{name} could not be read: permission denied."
    if isinstance(exc, _NotRegularFile):
        return f"{name} is not a regular file, so it cannot be a notebook."
    return f"{name} could not be read: {_strerror(exc)}."


def _to_current_format(raw: Any, name: str) -> tuple[nbformat.NotebookNode, bool, str]:
    """Turn parsed JSON into a 4.5 notebook with unique ids; say whether anything changed, and
    what the first save's note to the human is (see `LoadedNotebook.upgrade_note`)."""
    if not isinstance(raw, dict):
        raise _Unusable(f"is not a Jupyter notebook: its JSON is {_json_kind(raw)}, not an object")
    if "nbformat" not in raw:
        raise _Unusable("is not a Jupyter notebook: it has no 'nbformat' version")
    major = raw["nbformat"]
    if not _is_version(major):
        raise _Unusable(f"is not a Jupyter notebook: its 'nbformat' version is {major!r}")
    minor = raw.get("nbformat_minor")
    version = f"{major}.{minor}" if _is_version(minor) else str(major)
    if major == 3:
        raw = _upgrade_v3(raw)
        changed = True
    elif major == 4:
        changed = False
    else:
        raise _Unusable(
            f"uses notebook format version {major}, which nbtui cannot read "
            "(it reads versions 3 and 4)"
        )
    try:
        changed |= _check_shape(raw) > 0
        nb = v4.to_notebook_json(raw)
    except (_Unusable, AttributeError, KeyError, TypeError) as exc:
        raise _Unusable(f"is not a usable notebook: {exc}") from exc
    upgraded = major == 3 or nb.nbformat_minor < v4.nbformat_minor
    if nb.nbformat_minor < v4.nbformat_minor:
        nb.nbformat_minor = v4.nbformat_minor
        changed = True
    nb, repaired_ids = _ensure_cell_ids(nb)
    note = ""
    if upgraded:
        note = (f"{name} was saved in notebook format 4.5 (it was {version}), which gives every "
                "cell an id, as JupyterLab 4 does.")
    elif repaired_ids:
        note = (f"{name} was saved with new ids for the cells whose ids were missing, invalid or "
                "repeated.")
    return nb, changed or repaired_ids, note


def _upgrade_v3(raw: dict[str, Any]) -> nbformat.NotebookNode:
    try:
        with _quiet_nbformat_log():
            nb = v3.to_notebook_json(raw)
            return v4.upgrade(nb, from_version=3)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        key = exc.args[0] if exc.args else None
        # NotebookNode's AttributeError and KeyError carry just the missing key.
        detail = f"it has no {key!r}" if isinstance(key, str) and key.isidentifier() else str(exc)
        raise _Unusable(
            f"is a version 3 notebook that could not be upgraded to version 4 ({detail})"
        ) from exc


@contextlib.contextmanager
def _quiet_nbformat_log() -> Iterator[None]:
    # nbformat logs validation problems during conversion through the traitlets logger, which
    # would print to stderr behind the TUI's back; the shape check below reports what matters.
    logger = get_logger()
    logger = getattr(logger, "logger", logger)  # unwrap a LoggerAdapter
    was_disabled = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was_disabled


def _ensure_cell_ids(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, bool]:
    """Give every cell a valid unique id the way nbformat does; keep the ids that are fine."""
    seen: set[str] = set()
    needs_repair = False
    for cell in nb.cells:
        cell_id = cell.get("id")
        if not (isinstance(cell_id, str) and _CELL_ID.fullmatch(cell_id)):
            # nbformat only adds missing ids and renames duplicates; an invalid id is dropped
            # so that normalize() gives the cell a fresh one.
            cell.pop("id", None)
            needs_repair = True
        elif cell_id in seen:
            needs_repair = True
        else:
            seen.add(cell_id)
    if not needs_repair:
        return nb, False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingIDFieldWarning)
        warnings.simplefilter("ignore", DuplicateCellId)
        _, repaired = normalize(nb)  # a deep copy, still made of NotebookNodes
    return repaired, True


# What each part of a notebook must hold to be usable: (field, check, default when missing, what
# the field should be). A missing field is filled in with its default; a field of the wrong kind
# makes the notebook unusable. _REQUIRED marks fields without a sensible default.
_REQUIRED = object()
_Field = tuple[str, Callable[[Any], bool], Any, str]


def _is_dict(value: Any) -> bool:
    return isinstance(value, dict)


def _is_list(value: Any) -> bool:
    return isinstance(value, list)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) or _is_str_list(value)


def _is_version(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_count(value: Any) -> bool:
    return value is None or _is_version(value)


_METADATA: _Field = ("metadata", _is_dict, {}, "an object")
_SOURCE: _Field = ("source", _is_text, "", "text")
_EXECUTION_COUNT: _Field = ("execution_count", _is_count, None, "a number or null")
_NOTEBOOK_FIELDS: tuple[_Field, ...] = (
    ("nbformat_minor", _is_version, 0, "a version number"),
    _METADATA,
    ("cells", _is_list, _REQUIRED, "a list"),
)
_CELL_FIELDS: dict[str, tuple[_Field, ...]] = {
    "markdown": (_METADATA, _SOURCE),
    "raw": (_METADATA, _SOURCE),
    "code": (_METADATA, _SOURCE, ("outputs", _is_list, [], "a list"), _EXECUTION_COUNT),
}
_OUTPUT_FIELDS: dict[str, tuple[_Field, ...]] = {
    "stream": (("name", _is_str, "stdout", "a string"), ("text", _is_text, "", "text")),
    "display_data": (("data", _is_dict, {}, "an object"), _METADATA),
    "execute_result": (("data", _is_dict, {}, "an object"), _METADATA, _EXECUTION_COUNT),
    "error": (
        ("ename", _is_str, "", "a string"),
        ("evalue", _is_str, "", "a string"),
        ("traceback", _is_str_list, [], "a list of strings"),
    ),
}


def _check_shape(raw: dict[str, Any]) -> int:
    """Check that a v4-shaped dict can be used; fill in missing fields and count them."""
    repairs = _fill_fields(raw, _NOTEBOOK_FIELDS, "the notebook")
    for i, cell in enumerate(raw["cells"], start=1):
        where = f"cell {i}"
        kind = _kind(cell, "cell_type", _CELL_FIELDS, where)
        repairs += _fill_fields(cell, _CELL_FIELDS[kind], where)
        attachments = cell.get("attachments", {})
        if not (_is_dict(attachments) and all(map(_is_dict, attachments.values()))):
            raise _Unusable(f"the 'attachments' of {where} are not a set of MIME bundles")
        for j, output in enumerate(cell.get("outputs", ()) if kind == "code" else (), start=1):
            where = f"output {j} of cell {i}"
            kind_of_output = _kind(output, "output_type", _OUTPUT_FIELDS, where)
            repairs += _fill_fields(output, _OUTPUT_FIELDS[kind_of_output], where)
    return repairs


def _kind(part: Any, key: str, known: dict[str, Any], where: str) -> str:
    if not isinstance(part, dict):
        raise _Unusable(f"{where} is not a JSON object")
    if key not in part:
        raise _Unusable(f"{where} has no {key!r}")
    if not isinstance(part[key], str) or part[key] not in known:
        raise _Unusable(f"{where} has an unknown {key} {part[key]!r}")
    return part[key]


def _fill_fields(part: dict[str, Any], fields: tuple[_Field, ...], where: str) -> int:
    repairs = 0
    for field, is_valid, default, expected in fields:
        if field not in part:
            if default is _REQUIRED:
                raise _Unusable(f"{where} has no {field!r}")
            part[field] = copy.copy(default)
            repairs += 1
        elif not is_valid(part[field]):
            raise _Unusable(f"the {field!r} of {where} is not {expected}")
    return repairs


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


# --- writing -----------------------------------------------------------------------------------

_WRITE_REASONS = {
    errno.EACCES: "the directory is read-only",
    errno.EPERM: "the directory is read-only",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.ENOENT: "the directory does not exist",
    errno.ENOTDIR: "the directory does not exist",
}


def _save_failure(name: str, exc: OSError) -> str:
    return f"Could not save {name}: {_os_reason(exc, _WRITE_REASONS)}."


def _os_reason(exc: OSError, reasons: dict[int, str]) -> str:
    reason = reasons.get(exc.errno) if exc.errno is not None else None
    return f"{reason} ({_strerror(exc)})" if reason else _strerror(exc)


def _strerror(exc: OSError) -> str:
    if exc.strerror:
        return exc.strerror
    if exc.errno is not None:
        return os.strerror(exc.errno)
    return str(exc) or type(exc).__name__


def _stat_or_none(target: Path, path: Path, verb: str) -> os.stat_result | None:
    try:
        return os.stat(target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise NotebookFileError(
            f"Could not {verb} {_display_name(path)}: {_strerror(exc)}."
        ) from exc


def _same_content(
    target: Path, path: Path, current: os.stat_result, expected: FileFingerprint
) -> bool:
    """Size and mtime first; the hash only when the size matches but the mtime moved."""
    if current.st_size != expected.size:
        return False
    if current.st_mtime_ns == expected.mtime_ns:
        return True
    now = FileFingerprint.of(target)
    return now is not None and now.sha256 == expected.sha256


def _resolve_link(path: Path) -> Path:
    # Replacing a symlink with a regular file would silently break the link.
    return Path(os.path.realpath(path)) if os.path.islink(path) else path


def _keep_owner(fd: int, original: os.stat_result) -> None:
    if (original.st_uid, original.st_gid) == (os.geteuid(), os.getegid()):
        return
    # Only root (or a group member for the gid) may do this; otherwise the file becomes ours,
    # as it would with any editor that saves by renaming.
    with contextlib.suppress(OSError):
        os.fchown(fd, original.st_uid, original.st_gid)


def _current_umask() -> int:
    # Reading /proc avoids os.umask()'s set-and-restore, which races with other threads.
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; some file systems cannot fsync a directory, and the data
    # is already safe in the file, so failure here is not worth reporting.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _display_name(path: Path) -> str:
    return path.name or str(path)
