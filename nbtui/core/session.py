"""A notebook session: one document, its kernel, its file, autosave, and who is attached.

This is what `nbtui serve` runs and what the TUI shows. The agent layer and the TUI both hold
a :class:`NotebookSession` and change the notebook only through its document's operations.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nbtui.core import private_files
from nbtui.core.document import USER, Document
from nbtui.core.kernel import KernelSession, find_kernelspec
from nbtui.core.kernels.backend import KernelBackend
from nbtui.core.kernels.errors import KernelError
from nbtui.core.kernels.existing import ExistingKernel
from nbtui.core.kernels.local import LocalKernel
from nbtui.core.kernels.remote import RemoteKernel
from nbtui.core.policy import AgentPolicy
from nbtui.core.storage import (
    FileFingerprint,
    NotebookFileError,
    check_new_path,
    load_notebook,
    new_notebook,
    save_notebook,
    write_recovery,
)

log = logging.getLogger(__name__)

DEFAULT_KERNEL = "python3"
DEFAULT_AUTOSAVE_SECONDS = 30.0


@dataclass(frozen=True)
class SaveInfo:
    """What a save wrote."""

    path: str
    revision: int
    bytes_written: int


@dataclass(frozen=True)
class Activity:
    """One agent action, as the TUI's activity log lists it."""

    time: float
    author: str
    tool: str
    cell_id: str | None = None
    summary: str = ""
    code: str | None = None
    """For scratch runs: the code the agent ran."""


@dataclass
class AttachedAgent:
    """An agent connected to the session."""

    key: int
    name: str
    since: float = field(default_factory=time.time)


ACTIVITY_MAX_BYTES = 2 * 1024 * 1024
"""Memory the activity log may hold in its entries' text; the oldest entries go first."""

ACTIVITY_CODE_MAX_CHARS = 2000
"""How much of a scratch run's code an entry keeps for display (the head)."""

ACTIVITY_TEXT_MAX_CHARS = 500
"""How much of an entry's summary and cell ids it keeps."""


def _clip(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


class ActivityLog:
    """A list of agent actions, bounded in entries and in memory, that views can observe.

    Entries keep at most the head of a scratch run's code and of their summary, and the oldest
    entries are dropped once the log holds more than `max_bytes` of text.

    Args:
        maxlen: entries kept at most.
        max_bytes: memory the entries' text may take at most (as `sys.getsizeof` counts it).
    """

    def __init__(self, maxlen: int = 1000, max_bytes: int = ACTIVITY_MAX_BYTES) -> None:
        self.entries: deque[Activity] = deque()
        self.maxlen = maxlen
        self.max_bytes = max_bytes
        self.held_bytes = 0
        """Memory the entries' text takes now: the sum of `entry_bytes` over `entries`."""
        self._listeners: list[Callable[[Activity], None]] = []

    @staticmethod
    def entry_bytes(entry: Activity) -> int:
        """Memory an entry's text takes."""
        texts = (entry.author, entry.tool, entry.cell_id, entry.summary, entry.code)
        return sum(sys.getsizeof(t) for t in texts if t is not None)

    def add(self, entry: Activity) -> None:
        """Record an action (its code and summary cut to their caps) and tell the listeners."""
        entry = replace(entry, code=_clip(entry.code, ACTIVITY_CODE_MAX_CHARS),
                        summary=_clip(entry.summary, ACTIVITY_TEXT_MAX_CHARS),
                        cell_id=_clip(entry.cell_id, ACTIVITY_TEXT_MAX_CHARS))
        self.entries.append(entry)
        self.held_bytes += self.entry_bytes(entry)
        while len(self.entries) > self.maxlen or self.held_bytes > self.max_bytes:
            self.held_bytes -= self.entry_bytes(self.entries.popleft())
        for listener in list(self._listeners):
            try:
                listener(entry)
            except Exception:  # noqa: BLE001 - a broken view must not stop the agent
                log.exception("activity listener failed")

    def subscribe(self, listener: Callable[[Activity], None]) -> Callable[[], None]:
        """Call `listener` for every new entry; returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None


class NotebookSession:
    """One open notebook with its kernel.

    Args:
        path: the notebook file (created on first save if it does not exist).
        kernel_name: kernelspec to start; None means the notebook's metadata, else python3.
        autosave_seconds: how often to save when there are changes (0 disables).
        server_url: run the kernel on this Jupyter server (Jupyter Server, Kernel Gateway,
            Enterprise Gateway) instead of a local process; its token is read from
            NBTUI_SERVER_TOKEN or JUPYTER_TOKEN.
        existing_connection_file: attach to the running kernel of this connection file instead
            of starting one (it is neither restarted nor stopped by nbtui).

    Raises:
        KernelError: `server_url` is not a usable server URL, or both kernel places are given.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        kernel_name: str | None = None,
        *,
        autosave_seconds: float = DEFAULT_AUTOSAVE_SECONDS,
        policy: AgentPolicy | None = None,
        server_url: str | None = None,
        existing_connection_file: str | os.PathLike[str] | None = None,
    ) -> None:
        if server_url is not None and existing_connection_file is not None:
            raise KernelError("Give either a server URL or an existing kernel's connection "
                              "file, not both.")
        self.path = Path(path).absolute()
        self._upgrade_note_unsaved = ""
        """What the first save will change in the file's format (see `take_upgrade_note`)."""
        if self.path.exists():
            loaded = load_notebook(self.path)
            notebook, self._fingerprint = loaded.notebook, loaded.fingerprint
            self._upgrade_note_unsaved = loaded.upgrade_note
        else:
            if not self.path.parent.is_dir():
                raise NotebookFileError(
                    f"Cannot create {self.path.name}: the directory {self.path.parent} "
                    "does not exist."
                )
            notebook = new_notebook(kernel_name or DEFAULT_KERNEL)
            self._fingerprint: FileFingerprint | None = None
        self.document = Document(notebook, str(self.path))
        self.kernel_name = kernel_name or self.document.kernel_name or DEFAULT_KERNEL
        self.kernel_log = private_files.create_log("kernel")
        backend: KernelBackend | None = None
        if server_url is not None:
            backend = RemoteKernel(server_url, self.kernel_name)
        elif existing_connection_file is not None:
            backend = ExistingKernel(existing_connection_file, self.kernel_name)
        self.kernel = KernelSession(self.document, self.kernel_name, cwd=self.path.parent,
                                    log_path=self.kernel_log, backend=backend)
        self.autosave_seconds = autosave_seconds
        self.activity = ActivityLog()
        self.policy = policy or AgentPolicy()
        """What agents may do; the TUI changes it while the session runs."""
        self.agents: dict[int, AttachedAgent] = {}
        self._agent_listeners: list[Callable[[], None]] = []
        self.last_save_error: str | None = None
        self.socket_path: str | None = None
        self._autosave_task: asyncio.Task | None = None
        self.autosave_checks = 0
        """How many times autosave has looked for unsaved changes."""
        self._upgrade_note_saved = ""
        self._closed = False
        self.saving = False
        """Whether a save (or its recovery copy and log line) is under way: a save made from
        another thread (the exit watchdog's) must not race it."""

    # -- life cycle ----------------------------------------------------------------------

    def check_kernel(self) -> None:
        """Fail early, with the installed kernels listed, if the local kernelspec does not
        exist (a server's kernelspecs are checked when its kernel starts).

        Raises:
            NoSuchKernel: no kernelspec has this name.
        """
        if isinstance(self.kernel.backend, LocalKernel):
            find_kernelspec(self.kernel_name)

    async def start(self) -> None:
        """Start the kernel in the background and the autosave loop; returns at once."""
        self.kernel.start_in_background().add_done_callback(self._record_kernelspec)
        if self.autosave_seconds > 0:
            self._autosave_task = asyncio.create_task(self._autosave_loop())

    def _record_kernelspec(self, task: asyncio.Task) -> None:
        if task.cancelled() or task.exception() is not None:
            return
        self._follow_kernel()

    def _follow_kernel(self) -> None:
        # As JupyterLab does, the kernelspec follows the running kernel and is written with the
        # next save; that alone is no edit, or merely opening a notebook written with another
        # display name for the same kernel ("Python 3") would rewrite it.
        for key, value in self._kernel_metadata().items():
            if self.document.metadata.get(key) != value:
                self.document.follow_metadata(key, value)

    def _kernel_metadata(self) -> dict[str, Any]:
        spec = {"name": self.kernel.kernel_name, "display_name": self.kernel.display_name}
        if self.kernel.language:
            spec["language"] = self.kernel.language
        metadata: dict[str, Any] = {"kernelspec": spec}
        if self.kernel.language_info:
            metadata["language_info"] = self.kernel.language_info
        return metadata

    async def change_kernel(self, kernel_name: str, *, author: str = USER) -> None:
        """Run the notebook on another installed kernelspec, as Jupyter's "Change Kernel" does.

        The notebook's `kernelspec` and `language_info` metadata are rewritten for the new kernel
        (an edit, saved with the notebook). The old kernel's variables are lost.

        Raises:
            NoSuchKernel: that kernelspec is not installed (nothing changes).
            KernelError: the new kernel could not start; the metadata still names it, so that
                a restart tries it again.
        """
        try:
            await self.kernel.change_kernel(kernel_name)
        finally:
            if self.kernel.kernel_name == kernel_name:
                self.kernel_name = kernel_name
                self.document.metadata.pop("language_info", None)
                for key, value in self._kernel_metadata().items():
                    self.document.set_metadata(key, value, author=author)

    async def close(self, *, save: bool = True) -> SaveInfo | None:
        """Save (if asked and there are changes), stop autosave and shut the kernel down."""
        if self._closed:
            return None
        self._closed = True
        if self._autosave_task is not None:
            self._autosave_task.cancel()
        # The kernel goes first: stopping it ends any run, and that ending belongs in the file.
        try:
            await self.kernel.shutdown()
        finally:
            info = None
            if save and (self.document.dirty or not self.path.exists()):
                info = self.save_or_recover()
        return info

    # -- saving --------------------------------------------------------------------------

    def save(self, *, force: bool = False) -> SaveInfo:
        """Write the notebook to its file now.

        Raises:
            NotebookFileError: the file could not be written, or it changed on disk
                (FileChangedOnDisk).
        """
        return self._write(self.path, self._fingerprint, force=force)

    def save_as(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> SaveInfo:
        """Write the notebook to another file and work on that file from now on.

        The old file stays as it was last saved. A relative path is taken from the current
        directory; `~` is the home directory. The same path as now is a plain `save`.

        Args:
            path: the new file, ending in .ipynb.
            overwrite: replace a file that is already there.

        Raises:
            NotebookFileExists: a file is there and `overwrite` is false.
            NotebookFileError: the name does not end in .ipynb, is a directory, or the file
                could not be written (nothing changes then).
        """
        target = Path(path).expanduser().absolute()
        if target == self.path:
            return self.save(force=overwrite)
        check_new_path(target, overwrite=overwrite)
        info = self._write(target, None, force=True)
        self.path = target
        self.document.path = str(target)
        return info

    def _write(self, path: Path, expected: FileFingerprint | None, *, force: bool) -> SaveInfo:
        saving, self.saving = self.saving, True
        try:
            version, revision = self.document.version, self.document.revision
            notebook = self.document.to_notebook()
            written, self._fingerprint = save_notebook(path, notebook, expected, force=force)
            if self._upgrade_note_unsaved:
                log.info("%s", self._upgrade_note_unsaved)
                self._upgrade_note_saved, self._upgrade_note_unsaved = (
                    self._upgrade_note_unsaved, "")
            self.document.mark_saved(version)
            self.last_save_error = None
            return SaveInfo(str(path), revision, written)
        finally:
            self.saving = saving

    def reload(self) -> None:
        """Replace the notebook's cells and metadata with what its file holds now; the kernel
        keeps running.

        The changes are the human's document operations (cells deleted, moved, edited,
        inserted), so agents see them in the change feed. Every cell keeps the id the file
        gives it. Unsaved changes are lost.

        Raises:
            NotebookFileError: the file could not be read as a notebook (nothing changes).
        """
        loaded = load_notebook(self.path)
        on_disk = Document(loaded.notebook, str(self.path))
        document = self.document
        kept = {cell.id for cell in on_disk.cells}
        gone = [cell.id for cell in document.cells if cell.id not in kept]
        if gone:
            document.delete_cells(gone, author=USER)
        for index, wanted in enumerate(on_disk.cells):
            if not document.has(wanted.id):
                cell = document.insert_cell(wanted.source, wanted.cell_type, index=index,
                                            metadata=wanted.metadata, author=USER,
                                            cell_id=wanted.id)
            else:
                if document.index_of(wanted.id) != index:
                    document.move_cell(wanted.id, index=index, author=USER)
                cell, _ = document.edit_cell(wanted.id, wanted.source,
                                             cell_type=wanted.cell_type, author=USER)
            # Metadata and attachments have no operation of their own; they are not in the
            # feed, and the saved state below counts them.
            cell.metadata, cell.attachments, cell.extra = (
                wanted.metadata, wanted.attachments, wanted.extra)
            if cell.cell_type == "code":
                document.set_outputs(cell.id, wanted.outputs, author=USER)
                document.set_status(cell.id, cell.status, author=USER,
                                    execution_count=wanted.execution_count)
        for key in [key for key in document.metadata if key not in on_disk.metadata]:
            del document.metadata[key]
        for key, value in on_disk.metadata.items():
            if document.metadata.get(key) != value:
                document.set_metadata(key, value, author=USER)
        if self.kernel.state in ("idle", "busy"):
            self._follow_kernel()
        self._fingerprint = loaded.fingerprint
        self._upgrade_note_unsaved = loaded.upgrade_note
        self.last_save_error = None
        document.mark_saved(document.version)

    def take_upgrade_note(self) -> str:
        """Once the first save changed the file's format (to 4.5, with cell ids) or its cell
        ids: one sentence saying so, for the TUI to show. Returns it once, "" ever after (and
        before that save)."""
        note, self._upgrade_note_saved = self._upgrade_note_saved, ""
        return note

    def save_or_recover(self) -> SaveInfo | None:
        """Save; if that fails, keep a recovery copy so nothing is lost, and say where.

        The copy is written once per distinct content (see `write_recovery`), so an autosave
        that keeps failing neither piles up copies nor repeats its log line.

        Returns None (and sets `last_save_error`) when the real file could not be written.
        """
        self.saving = True
        try:
            return self._save_or_recover()
        finally:
            self.saving = False

    def _save_or_recover(self) -> SaveInfo | None:
        try:
            return self.save()
        except NotebookFileError as exc:
            try:
                recovery = write_recovery(self.path, self.document.to_notebook())
            except NotebookFileError as recovery_failure:
                error = f"{exc} {recovery_failure}"
            else:
                error = f"{exc} A copy was saved to {recovery}."
            if error != self.last_save_error:
                log.error("%s", error)
            self.last_save_error = error
            return None

    async def _autosave_loop(self) -> None:
        while True:
            await asyncio.sleep(self.autosave_seconds)
            if self.document.dirty:
                self.save_or_recover()
            self.autosave_checks += 1

    # -- attached agents -----------------------------------------------------------------

    def agent_attached(self, key: int, name: str) -> None:
        """Record that an agent connected (or told its name)."""
        self.agents[key] = AttachedAgent(key, name)
        self._agents_changed()

    def agent_detached(self, key: int) -> None:
        """Record that an agent's connection closed."""
        if self.agents.pop(key, None) is not None:
            self._agents_changed()

    def agent_names(self) -> list[str]:
        """Names of the attached agents, in order of arrival."""
        return [a.name for a in self.agents.values()]

    def on_agents_changed(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` whenever an agent attaches or detaches; returns an unsubscribe
        function."""
        self._agent_listeners.append(listener)
        return lambda: (self._agent_listeners.remove(listener)
                        if listener in self._agent_listeners else None)

    def _agents_changed(self) -> None:
        for listener in list(self._agent_listeners):
            try:
                listener()
            except Exception:  # noqa: BLE001
                log.exception("agent listener failed")

    def describe(self) -> dict[str, Any]:
        """A short description for status displays and session records."""
        return {
            "path": str(self.path),
            "kernel": {"name": self.kernel_name, "state": self.kernel.state},
            "revision": self.document.revision,
            "dirty": self.document.dirty,
            "agents": self.agent_names(),
        }
