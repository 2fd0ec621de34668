"""The terminal notebook app, and `run_app`, which runs it around a session's start and stop.

The app shows the notebook at once and starts the session (kernel, agent socket) right after
the first paint, on its own event loop; whatever way it ends (ctrl+q, SIGTERM or SIGHUP, an
exception), `run_app` then runs the session's `stop` on that same loop, so that the notebook is
saved and no kernel outlives the app. After SIGTERM, SIGHUP or SIGINT the process ends within
a few seconds whatever Textual does (its shutdown blocks for good writing to a terminal that is
gone): an exit watchdog then kills the kernel, saves, releases the notebook's lock and exits.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import click
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.keys import format_key
from textual.screen import Screen
from textual.worker import WorkerFailed

from nbtui.core.document import DocumentEvent
from nbtui.core.exit_watchdog import ExitWatchdog, SocketFile, stop_session_now
from nbtui.core.kernel import KernelError, KernelEvent
from nbtui.core.policy import ACCESS_MODES, EDIT, READ, RUN
from nbtui.core.session import Activity, NotebookSession
from nbtui.core.storage import FileChangedOnDisk, NotebookFileError
from nbtui.tui import textual_private as private
from nbtui.tui.messages import (
    ActivityAdded,
    AgentAccessRequested,
    AgentsChanged,
    ApprovalModeRequested,
    DirtyMaybeChanged,
    DocumentChanged,
    KernelStateChanged,
    SessionStarted,
)
from nbtui.tui.screens.dialogs import (
    ApprovalScreen,
    QuitChoice,
    QuitScreen,
    ReloadScreen,
    SaveAsScreen,
    SaveConflictChoice,
    SaveConflictScreen,
)
from nbtui.tui.screens.help import Command, HelpScreen, commands
from nbtui.tui.screens.image_view import ImageViewScreen
from nbtui.tui.screens.kernel_picker import KernelPickerScreen, installed_kernels
from nbtui.tui.settings import apply_settings
from nbtui.tui.widgets.activity_log import ActivityLog
from nbtui.tui.widgets.editor import CellEditor
from nbtui.tui.widgets.find_bar import FindBar
from nbtui.tui.widgets.input_prompt import InputPrompt, install_input_prompts
from nbtui.tui.widgets.notebook import NotebookPane
from nbtui.tui.widgets.notebook_view import NotebookView
from nbtui.tui.widgets.status_bar import StatusBar

log = logging.getLogger(__name__)

StartFunction = Callable[[], Awaitable[tuple[Any, Any]]]
"""Starts the session (kernel in the background, agent socket); returns (lock, endpoint)."""

StopFunction = Callable[[NotebookSession, Any, Any], Awaitable[None]]
"""Saves, stops the kernel and removes the socket."""

SAVE_ERROR_POLL_SECONDS = 2.0

ACCESS_NOTICES = {
    READ: "Agents may now only read the notebook.",
    EDIT: "Agents may now edit cells, but not run code.",
    RUN: "Agents may now edit cells and run code.",
}


ACCESS_COMMANDS = {
    READ: "Agents: read only",
    EDIT: "Agents: edit, no runs",
    RUN: "Agents: edit and run",
}
"""The palette's commands that set what agents may do (they have no key of their own)."""


UI_ERRORS_KEPT = 20
"""How many reported failures the app keeps (each holds its traceback's frames)."""

UI_ERROR_NOTICE_SECONDS = 10.0
"""How long the one-line notice of a failed UI handler stays; the same error again within
this time is only logged."""

def log_file_path() -> str | None:
    """The file the root logger writes to (None: it writes to no file that keeps anything)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler) and handler.baseFilename != os.devnull:
            return handler.baseFilename
    return None


@dataclass(eq=False)
class ApprovalRequest:
    """An agent's execution waiting for the human's yes or no."""

    agent: str
    tool: str
    code: str
    answer: asyncio.Future[bool] = field(repr=False)
    screen: ApprovalScreen | None = None
    """The prompt, once it is shown."""


class NotebookApp(App[None]):
    """The terminal notebook.

    Args:
        session: the notebook session to show.
        start: starts the session; run once, right after the first paint.
        approve: ask the human before every agent execution.
    """

    CSS_PATH = "nbtui.tcss"
    TITLE = "nbtui"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save the notebook", priority=True, id="app.save"),
        Binding("ctrl+shift+s", "save_as", "Save the notebook as another file",
                priority=True, id="app.save_as"),
        Binding("S", "save_as", "Save the notebook as another file (fallback)",
                id="app.save_as_fallback"),
        Binding("ctrl+o", "reload", "Reload the notebook from disk", id="app.reload"),
        Binding("ctrl+k", "change_kernel", "Change the kernel", id="app.change_kernel"),
        Binding("ctrl+q", "quit", "Quit (asks when there are unsaved changes)", priority=True,
                id="app.quit"),
        Binding("question_mark", "help", "Show this help", key_display="?", id="app.help"),
        Binding("ctrl+l", "toggle_log", "Show or hide the activity log", id="app.toggle_log"),
    ]

    def __init__(self, session: NotebookSession, *, start: StartFunction | None = None,
                 approve: bool = False) -> None:
        super().__init__()
        self.session = session
        self.approve = approve
        self.start_error: click.ClickException | None = None
        self._start = start
        self._start_task: asyncio.Task[tuple[Any, Any] | None] | None = None
        self._socket_file: SocketFile | None = None
        self._discard_changes = False
        self._finished = False
        self._unsubscribe: list[Callable[[], None]] = []
        self._approvals: deque[ApprovalRequest] = deque()
        self._asking: ApprovalRequest | None = None
        self.ui_errors: deque[BaseException] = deque(maxlen=UI_ERRORS_KEPT)
        """The latest failures `report_ui_error` reported, oldest first."""
        self._ui_error_notices: dict[str, float] = {}
        """When the human was last told of a failure, by exception type."""
        private.guard_message_handlers(NotebookApp)
        private.clamp_timer_delays()

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Kept, not queried: a timer or a late message may use them while another screen is
        # shown or after the main screen was taken down on exit.
        self._pane = NotebookPane(self.session, id="notebook")
        self._activity_log = ActivityLog(id="activity")
        self._status_bar = StatusBar(id="status")
        with Horizontal(id="main"):
            yield self._pane
            yield self._activity_log
        yield self._status_bar

    @property
    def pane(self) -> NotebookPane:
        """The notebook pane."""
        return self._pane

    @property
    def view(self) -> NotebookView:
        """The cell list."""
        return self.query_one(NotebookView)

    @property
    def status_bar(self) -> StatusBar:
        """The status bar."""
        return self._status_bar

    @property
    def activity_log(self) -> ActivityLog:
        """The activity log panel."""
        return self._activity_log

    def on_mount(self) -> None:
        session = self.session
        status = self.status_bar
        status.notebook = session.path.name
        status.kernel_name = session.kernel_name
        status.kernel_state = session.kernel.state
        status.dirty = session.document.dirty
        status.agents = tuple(session.agent_names())
        status.socket_path = session.socket_path  # None until the session has started
        if self.approve:
            session.policy.approver = self.ask_approval
        self._show_policy()
        self.activity_log.display = False
        for entry in session.activity.entries:
            self.activity_log.add(entry)
        self._unsubscribe = [
            session.document.subscribe(self._document_event),
            session.kernel.subscribe(self._kernel_event),
            session.activity.subscribe(self._activity_event),
            session.on_agents_changed(self._agents_event),
        ]
        self.set_interval(SAVE_ERROR_POLL_SECONDS, self._check_save_error)
        apply_settings(self)
        install_input_prompts(self)
        self.call_after_refresh(self._begin_start)

    def on_unmount(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        # The approver stays in place: from now on it declines, so nothing runs unasked while
        # the session shuts down.
        self._decline_all()

    # -- failures in UI code ----------------------------------------------------------------

    def report_ui_error(self, error: BaseException) -> None:
        """Log a failed UI handler with its traceback and tell the human in one line.

        The app, the kernel and the agents carry on.

        Args:
            error: the exception the handler raised.
        """
        log.error("A UI handler failed; nbtui carries on", exc_info=error)
        self.ui_errors.append(error)
        if self._exception is None and isinstance(error, Exception):
            # Textual raises this when a test's run_test ends, so that tests still fail on it;
            # the app itself never reads it.
            self._exception = error
        kind = type(error).__name__
        now = time.monotonic()
        if not self.is_running or not self.screen_stack or (
                now - self._ui_error_notices.get(kind, -UI_ERROR_NOTICE_SECONDS)
                < UI_ERROR_NOTICE_SECONDS):
            return
        self._ui_error_notices[kind] = now
        where = log_file_path()
        self.notify(f"Something went wrong ({kind}); details are in "
                    f"{where or 'the log'}.", severity="error", timeout=UI_ERROR_NOTICE_SECONDS)

    def take_ui_errors(self) -> list[BaseException]:
        """The failures reported so far, forgotten from now on (a test that provoked them)."""
        errors = list(self.ui_errors)
        self.ui_errors.clear()
        if self._exception in errors:
            self._exception = None
        return errors

    def _handle_exception(self, error: Exception) -> None:
        # Textual exits on every exception it catches. A failed timer, a failed scheduled
        # callback or a failed worker leaves the rest working, so those cost only a notice.
        if isinstance(error, WorkerFailed) and isinstance(error.error, Exception):
            self.report_ui_error(error.error)
            return
        caught_at = error.__traceback__.tb_frame.f_code if error.__traceback__ else None
        if caught_at in private.CARRY_ON_SITES:
            self.report_ui_error(error)
            return
        super()._handle_exception(error)

    # -- core events (listeners only post messages) -----------------------------------------

    def _document_event(self, event: DocumentEvent) -> None:
        # Runs inside whoever changed the document (an agent's tool call, the kernel's reader):
        # a failure here must never reach them.
        if self._finished:
            return
        try:
            self.pane.post_message(DocumentChanged(event))
            self.post_message(DirtyMaybeChanged())
        except Exception:  # noqa: BLE001
            log.exception("Could not pass a document event to the screen")

    def _kernel_event(self, event: KernelEvent) -> None:
        if event.kind == "state":
            self.post_message(KernelStateChanged(event.state, event.message))

    def _activity_event(self, entry: Activity) -> None:
        self.post_message(ActivityAdded(entry))

    def _agents_event(self) -> None:
        self.post_message(AgentsChanged())

    def on_dirty_maybe_changed(self, message: DirtyMaybeChanged) -> None:
        self.status_bar.dirty = self.session.document.dirty

    def on_kernel_state_changed(self, message: KernelStateChanged) -> None:
        self.status_bar.kernel_state = message.state
        self.status_bar.transport_warning = self.session.kernel.transport_warning
        if message.state == "dead" and message.message:
            self.notify(message.message, title="Kernel", severity="error", timeout=10)
        if message.state in ("idle", "busy"):
            language = self.pane.language
            view = self.view
            if language != view.language:
                view.language = language
                view.notify_style_update()

    def on_activity_added(self, message: ActivityAdded) -> None:
        self.activity_log.add(message.entry)

    def on_agents_changed(self, message: AgentsChanged) -> None:
        # Agents may come and go while the app shuts down, after the status bar is gone.
        for status in self.query(StatusBar):
            status.agents = tuple(self.session.agent_names())

    def on_session_started(self, message: SessionStarted) -> None:
        self.status_bar.socket_path = self.session.socket_path or ""
        self.status_bar.kernel_state = self.session.kernel.state

    def on_notebook_view_follow_changed(self, message: NotebookView.FollowChanged) -> None:
        self.status_bar.follow = message.follow

    def on_notebook_pane_mode_changed(self, message: NotebookPane.ModeChanged) -> None:
        self.status_bar.mode = message.mode

    def _check_save_error(self) -> None:
        self.status_bar.save_error = self.session.last_save_error or ""
        if note := self.session.take_upgrade_note():
            self.notify(note, timeout=10)

    # -- starting and stopping the session --------------------------------------------------

    def _begin_start(self) -> None:
        # Everything loaded so far (the notebook, Textual, rich) lives as long as the app: moving
        # it out of the collector's reach keeps full collections, which otherwise take ~100 ms on
        # a large notebook, from landing on a keystroke.
        gc.freeze()
        if self._start_task is None and self._start is not None:
            self._start_task = asyncio.get_running_loop().create_task(self._run_start())

    async def _run_start(self) -> tuple[Any, Any] | None:
        assert self._start is not None
        try:
            started = await self._start()
        except click.ClickException as exc:
            self.start_error = exc
            self.exit(return_code=1)
            return None
        except Exception as exc:
            log.exception("Starting the session failed")
            self.start_error = click.ClickException(f"Could not start the session: {exc}")
            self.exit(return_code=1)
            return None
        self._socket_file = SocketFile.of(self.session.socket_path)
        self.post_message(SessionStarted())
        return started

    async def finish(self, stop: StopFunction | None = None) -> None:
        """Once the app has ended: run `stop` (or just close the session); idempotent.

        Args:
            stop: the session's stop function; None closes the session (kernel included).
        """
        if self._finished:
            return
        self._finished = True
        session = self.session
        started = None
        if self._start_task is not None:
            started = await self._start_task
        if started is None or stop is None:
            # Without a successful start the notebook's lock is not ours: never save then.
            await session.close(save=started is not None and not self._discard_changes)
            return
        if self._discard_changes:
            await session.close(save=False)
        lock, endpoint = started
        try:
            await stop(session, lock, endpoint)
        except Exception:
            log.exception("Stopping the session failed")
            await session.close(save=not self._discard_changes)

    @property
    def owns_notebook(self) -> bool:
        """Whether the session started (and so holds the notebook's lock)."""
        task = self._start_task
        return task is not None and task.done() and not task.cancelled() and (
            task.result() is not None)

    def stop_now(self) -> int:
        """Stop the session without the event loop (the exit watchdog's last resort).

        Kills the kernel, saves unless the human chose to discard the changes or the event loop
        is itself saving, and removes the notebook's lock, record and socket.

        Returns:
            The exit status: 1 if the notebook could not be saved, else 0.
        """
        task = self._start_task
        started = task.result() if task is not None and self.owns_notebook else None
        return stop_session_now(self.session, started[0] if started else None, self._socket_file,
                                save=not self._discard_changes)

    def exit_on_signal(self, signum: int) -> None:
        """SIGTERM, SIGHUP (an SSH connection that dropped) or SIGINT: save now, then exit."""
        log.warning("Received %s; saving and exiting", signal.Signals(signum).name)
        if self._finished:
            return  # the session is stopping already, and `finish` saves
        try:
            self.pane.flush_edit()
        except Exception:  # noqa: BLE001 - the save below matters more
            log.exception("Could not take the editor's text")
        if self.owns_notebook and self.session.document.dirty:
            self.session.save_or_recover()
        self.exit(return_code=0)

    # -- actions -----------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit; asks first when there are unsaved changes."""
        self.pane.flush_edit()
        if not self.session.document.dirty:
            self.exit()
            return

        def chosen(choice: QuitChoice | None) -> None:
            if choice == "save":
                self.exit()
            elif choice == "discard":
                self._discard_changes = True
                self.exit()

        if not isinstance(self.screen, QuitScreen):
            self.push_screen(QuitScreen(), chosen)

    def action_save(self) -> None:
        """Save the notebook; if the file changed on disk, ask what to do (ctrl+s again on
        that question overwrites it)."""
        if isinstance(self.screen, SaveConflictScreen):
            self.screen.dismiss("overwrite")
            return
        self._save(force=False)

    def _save(self, *, force: bool) -> None:
        self.pane.flush_edit()
        try:
            info = self.session.save(force=force)
        except FileChangedOnDisk as exc:
            self.push_screen(SaveConflictScreen(f"{exc} What now?"), self._conflict_answered)
            return
        except NotebookFileError as exc:
            self.notify(str(exc), severity="error", timeout=10)
            return
        self._show_saved(info.path)

    def _show_saved(self, path: str) -> None:
        status = self.status_bar
        status.notebook = self.session.path.name
        status.save_error = ""
        status.dirty = self.session.document.dirty
        self.notify(f"Saved {Path(path).name}.", timeout=2)

    def _conflict_answered(self, choice: SaveConflictChoice | None) -> None:
        if choice == "overwrite":
            self._save(force=True)
        elif choice == "save_as":
            self.action_save_as()
        elif choice == "reload":
            self._reload()

    def action_save_as(self) -> None:
        """Save the notebook as another file and go on working on that file."""
        if isinstance(self.screen, SaveAsScreen):
            return
        self.pane.flush_edit()

        def saved(path: Path | None) -> None:
            if path is not None:
                self._show_saved(str(path))

        self.push_screen(SaveAsScreen(str(self.session.path), self._save_as), saved)

    def _save_as(self, path: Path, overwrite: bool) -> None:
        """Save as `path` (the save-as dialog's callback); the session's lock and record
        follow the notebook to its new name.

        Raises:
            NotebookFileError: the notebook could not be saved there (nothing changed).
        """
        path = Path(path).expanduser().absolute()
        lock = self._session_lock
        if lock is None or path == self.session.path:
            self.session.save_as(path, overwrite=overwrite)
            return
        old = self.session.path
        try:
            lock.move(path)
        except Exception as exc:  # SessionError, UnsafeDirectory: one sentence each
            raise NotebookFileError(str(exc)) from exc
        try:
            self.session.save_as(path, overwrite=overwrite)
        except BaseException:
            lock.move(old)
            raise

    @property
    def _session_lock(self) -> Any:
        """The notebook's lock that the start function took (None: none, or not started)."""
        task = self._start_task
        return task.result()[0] if self.owns_notebook and task is not None else None

    def action_reload(self) -> None:
        """Replace the notebook with its file's content (asks first when there are unsaved
        changes); the kernel keeps running."""
        self.pane.flush_edit()
        if not self.session.document.dirty:
            self._reload()
            return

        def answered(choice: str | None) -> None:
            if choice == "reload":
                self._reload()

        if not isinstance(self.screen, ReloadScreen):
            self.push_screen(ReloadScreen(
                f"{self.session.path.name} has unsaved changes here; reloading it from disk "
                "drops them."), answered)

    def _reload(self) -> None:
        self.pane.leave_edit()
        try:
            self.session.reload()
        except NotebookFileError as exc:
            self.notify(str(exc), severity="error", timeout=10)
            return
        self.status_bar.save_error = ""
        self.status_bar.dirty = self.session.document.dirty
        self.notify(f"Reloaded {self.session.path.name} from disk.", timeout=3)

    def action_change_kernel(self) -> None:
        """Pick another installed kernel for the notebook."""
        if isinstance(self.screen, KernelPickerScreen):
            return
        try:
            kernels = installed_kernels()
        except Exception as exc:  # noqa: BLE001 - a broken Jupyter path is one line
            log.exception("Could not list the installed kernels")
            self.notify(f"Could not list the installed kernels: {exc}", severity="error")
            return
        if not kernels:
            self.notify("No kernels are installed (jupyter kernelspec list shows none).",
                        severity="error")
            return

        def picked(name: str | None) -> None:
            if name is not None and name != self.session.kernel_name:
                self.run_worker(self._change_kernel(name), group="change-kernel")

        self.push_screen(KernelPickerScreen(kernels, self.session.kernel_name), picked)

    async def _change_kernel(self, name: str) -> None:
        self.notify(f"Starting the {name} kernel…", timeout=3)
        try:
            await self.session.change_kernel(name)
        except KernelError as exc:  # NoSuchKernel too: one sentence
            self.notify(str(exc), title="Kernel", severity="error", timeout=10)
        self.status_bar.kernel_name = self.session.kernel_name
        self.status_bar.dirty = self.session.document.dirty

    def action_help(self) -> None:
        """Show every key."""
        if isinstance(self.screen, HelpScreen):
            return
        scopes = [(title, found) for title, _widget, found in self._command_scopes(editing=True)]
        # Keys that work only inside the find bar or the input line: in the help, not the
        # palette (which runs commands on the notebook).
        scopes[-1:-1] = [(title, commands(cls.BINDINGS, private.keymap(self))) for title, cls in (
            ("The find bar (/ or ctrl+f)", FindBar), ("The input line (a cell asks)", InputPrompt),
            ("The full-screen image (I)", ImageViewScreen))]
        sections = [(title, [(command.key_text, command.description) for command in found])
                    for title, found in scopes]
        sections[-1][1].extend([
            (format_key(self.COMMAND_PALETTE_BINDING), "Command palette: every command by name"),
            ("mouse", "Click a cell to select it, click again (or double-click) to edit"),
        ])
        self.push_screen(HelpScreen([(title, rows) for title, rows in sections if rows]))

    def action_toggle_log(self) -> None:
        """Show or hide the activity log."""
        panel = self.activity_log
        panel.display = not panel.display

    # -- what agents may do -------------------------------------------------------------------

    @property
    def approving(self) -> bool:
        """Whether agent executions wait for the human's approval."""
        return self.session.policy.approver is not None

    def _show_policy(self) -> None:
        policy = self.session.policy
        self.status_bar.access = policy.access
        self.status_bar.approval = policy.approver is not None

    def set_agent_access(self, access: str | None = None) -> None:
        """Change what agents may do; it applies to their next tool call.

        Args:
            access: read, edit or run; None moves on in the cycle read → edit → run → read.
        """
        policy = self.session.policy
        if access is None:
            access = ACCESS_MODES[(ACCESS_MODES.index(policy.access) + 1) % len(ACCESS_MODES)]
        if access not in ACCESS_MODES:
            raise ValueError(f"unknown access mode {access!r}")
        policy.access = access
        if access != RUN:
            # Nothing may run any more: the questions still open are answered no.
            self._decline_all()
        self._show_policy()
        self.notify(ACCESS_NOTICES[access]
                    + (" Their runs wait for your approval." if access == RUN and self.approving
                       else ""), timeout=4)

    def set_approval(self, on: bool | None = None) -> None:
        """Switch approval of agent executions on or off (None: toggle).

        Requests already asked (on screen or waiting) are still put to the human.
        """
        on = not self.approving if on is None else on
        self.approve = on
        self.session.policy.approver = self.ask_approval if on else None
        self._show_policy()
        if on and self.session.policy.access != RUN:
            self.notify("Approval is on; agents may not run code at all until access is run "
                        "(A).", timeout=4)
        else:
            self.notify("Agents' runs now wait for your yes (y) or no (n)." if on
                        else "Agents run code without asking.", timeout=4)

    def on_agent_access_requested(self, message: AgentAccessRequested) -> None:
        self.set_agent_access(message.access)

    def on_approval_mode_requested(self, message: ApprovalModeRequested) -> None:
        self.set_approval(message.on)

    async def ask_approval(self, agent: str, tool: str, code: str) -> bool:
        """Ask the human whether an agent may run code (approval mode).

        Questions queue: one prompt at a time, the next as soon as one is answered. The call
        only waits on a future, so the event loop (other agents, the kernel, the human's keys)
        carries on meanwhile.

        Args:
            agent: the agent's name.
            tool: the tool it called.
            code: what would run.

        Returns:
            Whether the human allowed it (False when the app ends first).
        """
        if self._finished or not self.is_running:
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        request = ApprovalRequest(agent, tool, code, future)
        future.add_done_callback(lambda _: self._request_done(request))
        self._approvals.append(request)
        self.call_later(self._show_next_approval)
        return await future

    @property
    def pending_approvals(self) -> int:
        """How many approval questions are open (shown or waiting)."""
        return len(self._approvals) + (self._asking is not None)

    def _show_next_approval(self) -> None:
        if self._asking is not None:
            if self._asking.screen is not None:
                self._asking.screen.waiting = len(self._approvals)
            return
        while self._approvals and self._approvals[0].answer.done():
            self._approvals.popleft()
        if not self._approvals or not self.is_running:
            return
        request = self._asking = self._approvals.popleft()
        screen = ApprovalScreen(request.agent, request.tool, request.code,
                                waiting=len(self._approvals), early_keys_to=self.focused)
        request.screen = screen

        def answered(allowed: bool | None) -> None:
            if not request.answer.done():
                request.answer.set_result(bool(allowed))

        self.push_screen(screen, answered)
        self.bell()

    def _request_done(self, request: ApprovalRequest) -> None:
        # Answered, declined, or cancelled because the agent went away. Future callbacks run
        # outside the app's context: the screen work happens in a callback of the app.
        if self.is_running:
            self.call_later(self._close_request, request)

    def _close_request(self, request: ApprovalRequest) -> None:
        if request is self._asking:
            self._asking = None
            if request.screen is not None:
                request.screen.withdraw()
        self._show_next_approval()

    def _decline_all(self) -> None:
        for request in [*self._approvals, *([self._asking] if self._asking else [])]:
            if not request.answer.done():
                request.answer.set_result(False)

    # -- command palette ---------------------------------------------------------------------

    def _command_scopes(self, *, editing: bool) -> list[tuple[str, Any, list[Command]]]:
        """(help section, widget that runs them, commands) for every widget with commands,
        the keys as the user's keymap has them; the editor's only when `editing`."""
        keymap = private.keymap(self)  # the remaps set by set_keymap (the user's settings)
        scopes: list[tuple[str, Any, type]] = [
            ("Command mode (the cell list)", self.view, NotebookView),
            ("Edit mode (typing in a cell)", self.pane.editor, CellEditor),
            ("The notebook (both modes)", self.pane, NotebookPane),
            ("Anywhere", self, NotebookApp),
        ]
        return [(title, widget, commands(cls.BINDINGS, keymap))
                for title, widget, cls in scopes if editing or cls is not CellEditor]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Textual's own "Quit" and "Keys" would shadow nbtui's quit and help.
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit", "Keys"):
                yield command
        editing = self.pane.mode == "edit"
        scopes = self._command_scopes(editing=editing)
        if editing:  # the editor's commands first: while editing, they are the ones meant
            scopes.insert(0, scopes.pop(1))
        offered: set[str] = set()
        for _title, widget, found in scopes:
            for command in found:
                if command.description not in offered:
                    offered.add(command.description)
                    yield SystemCommand(command.description, command.key_text,
                                        self._runner(command, widget))
        for access in ACCESS_MODES:
            yield SystemCommand(ACCESS_COMMANDS[access], "A cycles read → edit → run",
                                functools.partial(self.set_agent_access, access))

    def _runner(self, command: Command, widget: Any) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            # A command whose key is pressed twice (d d) runs when chosen once.
            for _ in range(command.presses):
                await self.run_action(command.action, widget)

        return run


def run_app(session: NotebookSession, *, start: StartFunction, stop: StopFunction,
            approve: bool = False) -> None:
    """Run the terminal notebook until the human quits, then stop the session.

    Args:
        session: the notebook session (not started yet).
        start: starts the kernel (in the background) and the agent socket; returns
            (lock, endpoint). It may raise click.ClickException for errors the user can fix.
        stop: saves, stops the kernel and removes the socket; always run once the app ends
            after a successful start. If it has not finished a few seconds after a signal, an
            exit watchdog does its work without the event loop and exits.
        approve: ask the human before every agent execution.

    Raises:
        click.ClickException: the session could not start (shown as one line by click).
        SystemExit: the app ended with an error.
    """
    app = NotebookApp(session, start=start, approve=approve)
    watchdog = ExitWatchdog(app.stop_now)

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def on_signal(signum: int, frame: object) -> None:
            # signal.signal rather than loop.add_signal_handler: this runs even while the event
            # loop is stuck (in a write to a terminal that is gone), so the watchdog is armed
            # whatever the loop does.
            watchdog.arm()
            loop.call_soon_threadsafe(app.exit_on_signal, signum)

        signals = [signal.SIGTERM, signal.SIGHUP, signal.SIGINT]
        previous = {signum: signal.signal(signum, on_signal) for signum in signals}
        try:
            await app.run_async()
        finally:
            await app.finish(stop)
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    asyncio.run(main())
    if app.start_error is not None:
        raise app.start_error
    if app.return_code:
        raise SystemExit(app.return_code)
