"""The kernel session: one Jupyter kernel, one FIFO execution queue, and output handling.

A :class:`KernelSession` runs code on one kernel for everyone: the human's cells, agents' cells
and agents' scratch runs wait in one queue and run one at a time. Its parts live in
:mod:`nbtui.core.kernels`: the kernel itself behind a backend (a local process, a Jupyter
server's kernel, an existing kernel), the router that matches every reply and IOPub message to
the request that caused it by message id (never "the current cell"), the execution queue, the
output collector, and the runner that writes the runs' progress into the notebook document.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from nbtui.core.kernels.backend import KernelBackend, KernelClient
from nbtui.core.kernels.errors import KernelError, KernelExited, NoSuchKernel
from nbtui.core.kernels.execution import (
    ExecStatus,
    Execution,
    InputRequest,
    KernelEvent,
    KernelListener,
    KernelState,
    wait_event,
)
from nbtui.core.kernels.local import (
    CONNECTION_FILE,
    IPC_PATH_LIMIT,
    LONG_PATH_WARNING,
    NO_IPC_WARNING,
    PIPE_ENDPOINT,
    PIPE_TCP_WARNING,
    LocalKernel,
    find_kernelspec,
)
from nbtui.core.kernels.outputs import (
    MAX_OUTPUTS,
    STREAM_KEEP_HEAD,
    STREAM_KEEP_TAIL,
    DisplayIndex,
    OutputCollector,
    display_id_of,
    mimebundle,
)
from nbtui.core.kernels.queue import ExecutionQueue
from nbtui.core.kernels.router import Request, Router
from nbtui.core.kernels.runner import DocumentRunner

__all__ = ["CONNECTION_FILE", "IPC_PATH_LIMIT", "LONG_PATH_WARNING", "MAX_OUTPUTS",
           "NO_IPC_WARNING", "PIPE_ENDPOINT", "PIPE_TCP_WARNING", "STREAM_KEEP_HEAD",
           "STREAM_KEEP_TAIL", "DisplayIndex", "ExecStatus", "Execution", "InputRequest",
           "KernelError", "KernelEvent", "KernelListener", "KernelState", "NoSuchKernel",
           "OutputCollector", "find_kernelspec"]

if TYPE_CHECKING:
    from nbtui.core.document import Document

logger = logging.getLogger(__name__)

OUTPUT_FLUSH_INTERVAL = 0.05
"""Seconds between two output updates handed to the document for one burst of messages. The
first output of a burst goes out at once; a flood is coalesced instead of rebuilding megabytes
of text for every message."""

KERNEL_POLL_INTERVAL = 0.5
"""Seconds between two checks that the kernel process is still alive."""

IOPUB_DRAIN_TIMEOUT = 3.0
"""After the execute reply, how long IOPub may stay silent before the run is declared finished
without its idle status (which a kernel under an output flood can drop)."""

INPUT_SETTLE = 0.02
"""How long IOPub must have been quiet before an input request is taken up: the kernel sent
what the run printed before asking first, but on another channel, so it can arrive just after
the request (and must come before the prompt and the answer in the output)."""

INPUT_SETTLE_MAX = 0.5
"""How long an input request waits at most for IOPub to be quiet (a thread may print on)."""

REQUEST_TIMEOUT = 5.0
"""Seconds to wait for a completion or inspection reply."""

INTERRUPT_START_WAIT = 5.0
"""How long an interrupt waits for a just-sent execution to begin in the kernel: ipykernel
ignores SIGINT until it is executing a request, so an earlier signal would be lost."""

SCRATCH_DISPLAY_RUNS = 20
"""How many finished scratch runs keep their displays updatable by display id."""

KERNEL_DIED = "The kernel died while running this code; restart it to continue."

NO_ONE_TO_ANSWER = ("nbtui: this run asked for input and no one can answer it (no TUI), so it "
                    "got end of file.\n")
"""The note a run gets in its output when it asks for input in a session without a human."""

BREAKPOINT_SETUP = """\
import sys as __nbtui_sys
if getattr(__nbtui_sys.breakpointhook, "__name__", "") == "debugpy_breakpointhook":
    __nbtui_sys.breakpointhook = __nbtui_sys.__breakpointhook__
del __nbtui_sys
"""
"""Run silently in a new Python kernel: `breakpoint()` starts pdb again. ipykernel leaves it to
debugpy, which ignores it unless a visual debugger is attached (ipykernel issue 897); nbtui has
none, and its human answers pdb's prompts."""

END_OF_INPUT = "\x04"
"""The answer that makes the kernel's `input()` raise EOFError (ipykernel's convention)."""

Transport = Literal["ipc", "tcp", "ws", "wss"]

# -- the session -----------------------------------------------------------------------------


def _label(execution: Execution) -> str:
    return execution.cell_id if execution.cell_id is not None else execution.id


class KernelSession:
    """One kernel for one notebook, and the one execution queue everyone shares.

    A new session is "starting" until :meth:`start` (or :meth:`start_in_background`) brings the
    kernel up; code queued before that runs once the kernel is ready. States: starting, idle,
    busy, dead (the process died or could not start: restart it), restarting, stopped (shut down).

    Where the kernel runs is its backend's business (:mod:`nbtui.core.kernels`): by default a
    local process on private ipc channels (:class:`~nbtui.core.kernels.local.LocalKernel`), or
    a kernel on a Jupyter server, or one already running on this machine.

    A run that asks for a line of input (`input()`, `getpass`, a debugger's prompt) keeps running,
    with the queue waiting behind it, until :meth:`answer_input` answers it; listeners hear an
    "input_request" event. With no human to answer (:attr:`input_enabled` False), it gets end
    of file at once instead.

    Args:
        document: the notebook whose cells run here and receive the outputs.
        kernel_name: the kernelspec name, e.g. "python3".
        cwd: the kernel's working directory.
        log_path: where the kernel's own stdout and stderr go (appended to), never the terminal.
        startup_timeout: seconds a kernel gets to answer after it was launched.
        runtime_dir: the directory the kernel's private directory is made in (default: nbtui's
            private runtime directory).
        backend: the kernel to run code on, instead of a local process of `kernel_name`.
    """

    def __init__(self, document: Document, kernel_name: str, *, cwd: Path, log_path: Path,
                 startup_timeout: float = 60, runtime_dir: Path | None = None,
                 backend: KernelBackend | None = None) -> None:
        self.document = document
        self._backend: KernelBackend = backend or LocalKernel(
            kernel_name, cwd=cwd, log_path=log_path, runtime_dir=runtime_dir)
        self._running = False
        self.language_info: dict[str, Any] = {}
        """The kernel's `language_info` from its kernel_info reply ({} until it answers)."""
        self.cwd = Path(cwd)
        self.log_path = Path(log_path)
        self.startup_timeout = startup_timeout
        self.state: KernelState = "starting"
        self.state_message = ""
        """Why the kernel is in its state, when that needs saying (why it died, for instance)."""
        self._queue = ExecutionQueue()
        self._listeners: list[KernelListener] = []
        self._kc: KernelClient | None = None
        self._ready = False
        self._router = Router()
        self._current_req: Request | None = None
        self._asking: Request | None = None
        self._input_enabled = False
        self._displays = DisplayIndex()
        self._cell_collectors: dict[str, OutputCollector] = {}
        self._scratch_displays: deque[OutputCollector] = deque()
        self._dirty: dict[OutputCollector, None] = {}
        self._flush_handle: asyncio.TimerHandle | None = None
        self._last_flush = 0.0
        self._last_iopub = 0.0
        self._state_changed = asyncio.Event()
        self._lifecycle = asyncio.Lock()
        self._worker: asyncio.Task[None] | None = None
        self._conn_tasks: list[asyncio.Task[None]] = []
        self._start_task: asyncio.Task[None] | None = None
        self._runner = DocumentRunner(document, self._outputs_cleared)

    # -- observing -----------------------------------------------------------------------

    @property
    def queue(self) -> list[Execution]:
        """Executions waiting to run, first to run first."""
        return self._queue.waiting

    @property
    def current(self) -> Execution | None:
        """The execution running now."""
        return self._queue.current

    @current.setter
    def current(self, execution: Execution | None) -> None:
        self._queue.current = execution

    @property
    def backend(self) -> KernelBackend:
        """The kernel this session runs code on (a local process, a server's kernel...)."""
        return self._backend

    @property
    def kernel_name(self) -> str:
        """The kernelspec's name."""
        return self._backend.kernel_name

    @property
    def display_name(self) -> str:
        """The kernelspec's display name (the kernel name until the spec is read)."""
        return self._backend.display_name

    @property
    def language(self) -> str | None:
        """The kernelspec's language, once it is read."""
        return self._backend.language

    @property
    def transport(self) -> Transport:
        """How the kernel's channels travel: "ipc" (private), "tcp" (the local fallback), or
        "ws"/"wss" (a websocket to a Jupyter server)."""
        return self._backend.transport  # type: ignore[return-value]

    @property
    def transport_warning(self) -> str:
        """One sentence when the channels are not private to the user, else ""."""
        return self._backend.transport_warning

    def connection_info(self) -> dict[str, Any]:
        """How another client can connect to this kernel (ports, key, transport).

        Raises:
            KernelError: the kernel has not been started.
        """
        return self._backend.connection_info()

    @property
    def kernel_dir(self) -> Path | None:
        """The kernel's private directory (connection file, ipc endpoints), while it has one."""
        kernel_dir = self._kernel_dir
        return kernel_dir.path if kernel_dir is not None else None

    @property
    def _kernel_dir(self) -> Any:
        return getattr(self._backend, "kernel_dir", None)

    @property
    def _log_file(self) -> Any:
        return getattr(self._backend, "log_file", None)

    @property
    def kernel_pid(self) -> int | None:
        """The process id of the kernel, where nbtui knows it (a local process)."""
        return self._backend.pid

    @property
    def input_enabled(self) -> bool:
        """Whether a human answers input requests (the TUI says so while it runs).

        Without one (False, the default: `nbtui serve`), a run that asks for input gets end of
        file at once (`input()` raises EOFError) and a note in its output saying why, so that it
        never waits for no one. Turning this off answers a pending request the same way.
        """
        return self._input_enabled

    @input_enabled.setter
    def input_enabled(self, enabled: bool) -> None:
        self._input_enabled = enabled
        if not enabled and self._asking is not None:
            self._reply_input(self._asking, END_OF_INPUT, "stderr", NO_ONE_TO_ANSWER)

    def subscribe(self, listener: KernelListener) -> Callable[[], None]:
        """Call `listener` with every :class:`KernelEvent`; returns a function that unsubscribes.

        A listener that raises is logged and otherwise ignored.
        """
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, event: KernelEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logger.exception("A kernel event listener failed on a %s event", event.kind)

    def _set_state(self, state: KernelState, message: str = "") -> None:
        if state == self.state and message == self.state_message:
            return
        self.state = state
        self.state_message = message
        self._state_changed.set()
        self._state_changed = asyncio.Event()
        self._emit(KernelEvent("state", state, message=message))

    def _outputs_cleared(self, cell_id: str) -> None:
        # Outputs cleared while the cell runs: only what it prints from now on is shown.
        req = self._current_req
        if (req is not None and req.collector is not None and req.execution is not None
                and req.execution.cell_id == cell_id):
            req.collector.clear()
            self._mark_dirty([req.collector])

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the kernel and wait until it answers; the state is then idle.

        Does nothing when a kernel was already started (:meth:`restart` replaces it).

        Raises:
            NoSuchKernel: the kernelspec is not installed.
            KernelError: the kernel could not be launched or did not answer in time.
        """
        async with self._lifecycle:
            if not self._running:
                await self._start_locked()

    def start_in_background(self) -> asyncio.Task[None]:
        """Start the kernel without waiting; the notebook stays usable meanwhile.

        Code queued before the kernel is ready runs once it is. A failure shows as the dead
        state (with `state_message` saying why) and is raised by :meth:`wait_ready`.

        Returns:
            The task doing the start (it never raises KernelError).
        """
        if self._start_task is None or self._start_task.done():
            self._start_task = asyncio.get_running_loop().create_task(self._start_quietly())
        return self._start_task

    async def _start_quietly(self) -> None:
        with contextlib.suppress(KernelError):
            await self.start()

    async def wait_ready(self, timeout: float) -> None:
        """Wait until the kernel is ready to run code (idle or busy).

        Raises:
            KernelError: the kernel died, could not start, was shut down, or is not ready within
                `timeout` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.state in ("idle", "busy"):
                return
            if self.state == "dead":
                raise KernelError(self.state_message or "The kernel is dead; restart it.")
            if self.state == "stopped":
                raise KernelError("The kernel has been shut down; restart it to run code.")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise KernelError(f"The kernel is not ready after {timeout:g} s; it is still "
                                  f"{self.state}.")
            await wait_event(self._state_changed, remaining)

    async def restart(self, clear_outputs: bool = False, *, author: str | None = None) -> None:
        """Restart the kernel: all its variables are lost, the queue is dropped.

        Works whatever the state, a dead or shut-down kernel included. The running execution
        ends "aborted", queued ones too (their cells go back to idle).

        Args:
            clear_outputs: also clear every cell's outputs and execution count.
            author: who asked (recorded on the cleared outputs; None: the human).

        Raises:
            KernelError: the new kernel could not start, or this kernel cannot be restarted
                from nbtui (then nothing changes).
        """
        refused = getattr(self._backend, "restart_refused", "")
        if refused:
            raise KernelError(refused)
        async with self._lifecycle:
            if not self._running:
                await self._start_locked()
            else:
                self._ready = False
                self._set_state("restarting")
                self._abort_all("aborted: the kernel restarted")
                await self._disconnect()
                self._forget_displays()
                try:
                    await self._backend.restart(self._connect)
                except Exception as exc:
                    self._running = False
                    message = (str(exc) if isinstance(exc, KernelError) else
                               f"The kernel could not be restarted ({exc}); "
                               f"{self._backend.where}.")
                    self._start_failed(message)
                    raise KernelError(message) from exc
                self._became_ready()
            if clear_outputs:
                self._runner.clear_outputs(author)

    async def change_kernel(self, kernel_name: str) -> None:
        """Replace the kernel with one of another kernelspec; all variables are lost.

        The running and queued executions end "aborted", as on a restart. Outputs are kept.

        Raises:
            NoSuchKernel: that kernelspec is not installed (the current kernel keeps running).
            KernelError: the new kernel could not start (the state is then dead), or this
                kernel cannot be changed from nbtui (nothing changes).
        """
        refused = getattr(self._backend, "restart_refused", "")
        if refused:
            raise KernelError(refused)
        await self._backend.kernelspec(kernel_name)
        task = self._start_task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        async with self._lifecycle:
            self._ready = False
            self._set_state("restarting")
            self._abort_all("aborted: the kernel was changed")
            await self._disconnect()
            await self._backend.stop()
            self._running = False
            self._forget_displays()
            self._backend = self._backend.for_kernel(kernel_name)
            self.language_info = {}
            await self._start_locked()

    async def shutdown(self) -> None:
        """Stop the kernel for good: the process is gone afterwards (no orphan); idempotent.

        The running and queued executions end "aborted". The state becomes "stopped".
        """
        task = self._start_task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        async with self._lifecycle:
            self._ready = False
            self._abort_all("aborted: the kernel was shut down")
            self._set_state("stopped")
            worker, self._worker = self._worker, None
            if worker is not None:
                self._queue.wake()
                worker.cancel()
                await asyncio.gather(worker, return_exceptions=True)
            await self._disconnect()
            await self._backend.stop()
            self._running = False
            if self._flush_handle is not None:
                self._flush_handle.cancel()
            self._flush()

    async def _start_locked(self) -> None:
        self._set_state("starting")
        try:
            await self._backend.start(self._connect)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                self._start_failed("The kernel start was cancelled.")
                raise
            if isinstance(exc, KernelError):
                self._start_failed(str(exc))
                raise
            message = (f"The {self.display_name} kernel could not be started ({exc}); "
                       f"{self._backend.where}.")
            self._start_failed(message)
            raise KernelError(message) from exc
        self._running = True
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._work())
        self._became_ready()

    def _forget_displays(self) -> None:
        self._displays.clear()
        self._cell_collectors.clear()
        self._scratch_displays.clear()

    def _start_failed(self, message: str) -> None:
        self._ready = False
        self._abort_all("aborted: the kernel did not start")
        self._set_state("dead", message)

    def _became_ready(self) -> None:
        self._ready = True
        self._set_state("idle")
        self._queue.wake()

    async def _connect(self, kc: KernelClient) -> None:
        """Read the kernel's channels through `kc` and wait until the kernel answers."""
        self._kc = kc
        loop = asyncio.get_running_loop()
        self._conn_tasks = [loop.create_task(self._read_shell(kc)),
                            loop.create_task(self._read_iopub(kc)),
                            loop.create_task(self._watch_process())]
        try:
            await self._wait_for_kernel_info()
            # Connected only now that the kernel answers, so all its channels are bound: a
            # stdin connection still being retried (every 100 ms) would miss the first input
            # requests, which the kernel's router drops for a peer it does not know yet.
            kc.start_stdin()
            self._conn_tasks.append(loop.create_task(self._read_stdin(kc)))
            if self.language_info.get("name") == "python":
                await self._set_up_breakpoints(kc)
        except BaseException:
            await self._disconnect()
            raise

    async def _set_up_breakpoints(self, kc: KernelClient) -> None:
        req = self._router.send(lambda: kc.execute(BREAKPOINT_SETUP, silent=True,
                                               store_history=False, allow_stdin=False))
        try:
            if not await wait_event(req.settled, REQUEST_TIMEOUT):
                logger.warning("The kernel did not run nbtui's breakpoint() setup in time")
        finally:
            self._router.forget(req)

    async def _wait_for_kernel_info(self) -> None:
        # Like jupyter-client's wait_for_ready, but through this session's own readers: the
        # kernel answers on shell and IOPub carries the status, so both channels are connected.
        assert self._kc is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.startup_timeout
        while True:
            req = self._router.send(self._kc.kernel_info)
            try:
                if await wait_event(req.settled, min(1.0, max(0.05, deadline - loop.time()))):
                    self._read_language_info(req)
                    return
            finally:
                self._router.forget(req)
            if not await self._backend.is_alive():
                raise KernelExited(f"The {self.display_name} kernel exited while starting; "
                                   f"{self._backend.where}.")
            if loop.time() >= deadline:
                raise KernelError(f"The {self.display_name} kernel did not answer within "
                                  f"{self.startup_timeout:g} s; {self._backend.where}.")

    def _read_language_info(self, req: Request) -> None:
        if not req.reply.done() or req.reply.cancelled() or req.reply.exception():
            return
        info = (req.reply.result().get("content") or {}).get("language_info")
        self.language_info = dict(info) if isinstance(info, dict) else {}

    async def _disconnect(self) -> None:
        tasks, self._conn_tasks = self._conn_tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        kc, self._kc = self._kc, None
        if kc is not None:
            kc.close()
        self._router.fail_all()
        self._asking = None

    # -- running code --------------------------------------------------------------------

    def run_cell(self, cell_id: str, author: str) -> Execution:
        """Queue a cell to run; its source is taken now, at enqueue time.

        Markdown and raw cells do not go to the kernel (a notebook just renders them): they get
        an Execution that is already finished with status "ok" and no outputs, and no events.

        Args:
            cell_id: the cell's id.
            author: "user" or the agent's client name.

        Returns:
            The queued Execution (its cell shows as queued).

        Raises:
            UnknownCell: no cell has this id.
            KernelError: the kernel is dead or shut down.
        """
        cell_type, source = self._runner.cell(cell_id)
        if cell_type != "code":
            now = time.time()
            execution = Execution(source, author, cell_id, status="ok", queued_at=now,
                                  started_at=now, finished_at=now)
            execution.done.set()
            return execution
        self._check_runnable()
        execution = Execution(source, author, cell_id)
        self._enqueue(execution)
        return execution

    def run_code(self, code: str, author: str, *, store_history: bool = True) -> Execution:
        """Queue a scratch run: the code shares the kernel and the queue, but no cell.

        Args:
            code: what to run.
            author: who asks.
            store_history: False for nbtui's own probes, which should not take an execution
                count or appear in the kernel's history.

        Raises:
            KernelError: the kernel is dead or shut down.
        """
        if not isinstance(code, str):
            raise KernelError(f"code must be a string, not {type(code).__name__}.")
        self._check_runnable()
        execution = Execution(code, author, None, store_history=store_history)
        self._enqueue(execution)
        return execution

    async def interrupt(self) -> dict[str, Any]:
        """Interrupt the running execution and drop everything queued.

        Dropped executions end "aborted" and their cells go back to idle; the interrupted one
        ends when the kernel says so (usually an error: KeyboardInterrupt).

        Returns:
            `{"state", "stopped", "dequeued"}`; the lists name each execution by its cell id, or
            by its execution id for a scratch run.

        Raises:
            KernelError: the interrupt signal could not be sent.
        """
        dequeued = self._drop_queue("dequeued: the kernel was interrupted")
        stopped: list[str] = []
        running, req = self.current, self._current_req
        if req is not None and req is self._asking:
            # The kernel ends the wait for input with KeyboardInterrupt; a debugger asks again.
            self._drop_input_request(req)
        if running is not None and req is not None:
            await wait_event(req.began, INTERRUPT_START_WAIT)
        if running is not None and running is self.current and self._ready:
            stopped.append(_label(running))
            if req is not None:
                req.interrupted = True
            await self._backend.interrupt()
        return {"state": self.state, "stopped": stopped, "dequeued": dequeued}

    def answer_input(self, text: str) -> None:
        """Answer the input request the running execution waits on.

        The prompt and the answer go into the run's output, as Jupyter shows them; for a
        password only the prompt does.

        Args:
            text: the line typed, without its newline.

        Raises:
            KernelError: no run waits for input, or `text` is not a string.
        """
        req = self._asking
        request = req.execution.input_request if req is not None and req.execution else None
        if req is None or request is None:
            raise KernelError("No run is waiting for input.")
        if not isinstance(text, str):
            raise KernelError(f"The answer must be a string, not {type(text).__name__}.")
        if request.password:
            echo = request.prompt + "\n" if request.prompt else ""
        else:
            echo = request.prompt + text + "\n"
        self._reply_input(req, text, "stdout", echo)

    async def complete(self, code: str, cursor_pos: int) -> dict[str, Any]:
        """Ask the kernel for completions at `cursor_pos` in `code`.

        Returns:
            `{"matches": [str], "cursor_start": int, "cursor_end": int}`.

        Raises:
            KernelError: the kernel is not running or did not answer in time (it answers only
                between executions).
        """
        kc = self._client("complete")
        reply = await self._ask(self._router.send(lambda: kc.complete(code, cursor_pos)),
                                "completion")
        content = reply.get("content") or {}
        if content.get("status") != "ok":
            return {"matches": [], "cursor_start": cursor_pos, "cursor_end": cursor_pos}
        return {
            "matches": [str(m) for m in content.get("matches") or []],
            "cursor_start": content.get("cursor_start", cursor_pos),
            "cursor_end": content.get("cursor_end", cursor_pos),
        }

    async def inspect(self, code: str, cursor_pos: int) -> str:
        """Ask the kernel what the name at `cursor_pos` is (signature, docstring).

        Returns:
            The text/plain form of the answer, ANSI colours kept; "" when nothing is known.

        Raises:
            KernelError: the kernel is not running or did not answer in time.
        """
        kc = self._client("inspect")
        reply = await self._ask(self._router.send(lambda: kc.inspect(code, cursor_pos)),
                                "inspection")
        content = reply.get("content") or {}
        if content.get("status") != "ok" or not content.get("found"):
            return ""
        text = (content.get("data") or {}).get("text/plain", "")
        return "".join(text) if isinstance(text, list) else str(text)

    def _check_runnable(self) -> None:
        if self.state == "dead":
            raise KernelError("The kernel is dead; restart the kernel to run code.")
        if self.state == "stopped":
            raise KernelError("The kernel has been shut down; restart the kernel to run code.")

    def _client(self, what: str) -> KernelClient:
        if not self._ready or self._kc is None:
            if self.state in ("dead", "stopped"):
                raise KernelError(f"The kernel is {self.state}; restart the kernel to {what}.")
            raise KernelError(f"The kernel is {self.state}; try again once it is ready.")
        return self._kc

    async def _ask(self, req: Request, what: str) -> dict[str, Any]:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                return await req.reply
        except TimeoutError:
            raise KernelError(f"The kernel did not answer the {what} request within "
                              f"{REQUEST_TIMEOUT:g} s; it is probably busy running code.") from None
        finally:
            self._router.forget(req)

    def _enqueue(self, execution: Execution) -> None:
        execution.queued_at = time.time()
        self._queue.push(execution)
        self._runner.queued(execution)
        self._emit(KernelEvent("queued", self.state, execution))

    async def _work(self) -> None:
        while self._worker is asyncio.current_task():
            execution = await self._queue.next(lambda: self._ready)
            try:
                await self._run(execution)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.exception("Running execution %s failed", execution.id)
                self._finish(execution, "error", error={
                    "ename": "KernelError",
                    "evalue": f"nbtui could not run this code: {exc}",
                    "traceback": [],
                })

    async def _run(self, execution: Execution) -> None:
        assert self._kc is not None
        kc = self._kc
        collector = OutputCollector(execution.outputs, displays=self._displays, owner=execution)
        req = self._router.send(lambda: kc.execute(execution.code,
                                               store_history=execution.store_history,
                                               allow_stdin=True, stop_on_error=False))
        req.execution, req.collector = execution, collector
        self._current_req, self.current = req, execution
        execution.status = "running"
        execution.started_at = time.time()
        cell_id = execution.cell_id
        if cell_id is not None:
            previous = self._cell_collectors.get(cell_id)
            if previous is not None:
                self._displays.forget(previous)
            self._cell_collectors[cell_id] = collector
        self._runner.started(execution)
        self._set_state("busy")
        self._emit(KernelEvent("started", self.state, execution))
        await self._wait_settled(req)
        if not execution.done.is_set():
            if req.interrupted and not req.reply.done():
                self._finish(execution, "error", error={
                    "ename": "KeyboardInterrupt", "evalue": "",
                    "traceback": ["KeyboardInterrupt: interrupted before the code began"]})
            else:
                self._finish_from_reply(req)
        if self._ready and not self.queue:
            self._set_state("idle")

    async def _wait_settled(self, req: Request) -> None:
        loop = asyncio.get_running_loop()
        while not await wait_event(req.settled, KERNEL_POLL_INTERVAL):
            if not req.reply.done():
                # An interrupt that lands after the kernel took the request but before the
                # code runs is caught by ipykernel itself ("KeyboardInterrupt caught in
                # kernel"): the kernel goes idle and never replies.
                if (req.interrupted and req.idle
                        and loop.time() - req.idle_at > IOPUB_DRAIN_TIMEOUT):
                    logger.warning("No reply for %s after an interrupt; it ends interrupted",
                                   req.msg_id)
                    return
                continue
            if loop.time() - max(req.replied_at, self._last_iopub) > IOPUB_DRAIN_TIMEOUT:
                logger.warning("No idle status for %s after its reply; finishing it anyway",
                               req.msg_id)
                return

    def _finish_from_reply(self, req: Request) -> None:
        execution = req.execution
        assert execution is not None
        answered = req.reply.done() and not req.reply.cancelled() and not req.reply.exception()
        content = (req.reply.result().get("content") if answered else None) or {}
        count = content.get("execution_count")
        if execution.execution_count is None and isinstance(count, int):
            execution.execution_count = count
        status = content.get("status", "ok")
        if status == "error":
            error = {
                "ename": str(content.get("ename", "")),
                "evalue": str(content.get("evalue", "")),
                "traceback": [str(line) for line in content.get("traceback") or []],
            }
            shown = [o for o in execution.outputs if o.get("output_type") == "error"]
            if not error["ename"] and shown:
                error = {k: shown[-1][k] for k in ("ename", "evalue", "traceback")}
            self._finish(execution, "error", error=error)
        elif status == "aborted":
            self._finish(execution, "aborted", summary="aborted by the kernel")
        else:
            self._finish(execution, "ok")

    def _finish(self, execution: Execution, status: ExecStatus, *,
                error: dict[str, Any] | None = None, summary: str = "") -> None:
        if execution.done.is_set():
            return
        if self._asking is not None and self._asking.execution is execution:
            self._drop_input_request(self._asking)
        if execution is self.current:
            req = self._current_req
            self.current, self._current_req = None, None
            if req is not None:
                self._router.forget(req)
                req.settle()
                if execution.cell_id is None and req.collector is not None:
                    self._keep_scratch_displays(req.collector)
        self._flush()
        execution.status = status
        execution.error = error
        execution.finished_at = time.time()
        if execution.cell_id is not None:
            # A later run of the cell still queued: the cell's status is then that run's.
            waiting = self._queue.waiting_for(execution.cell_id)
            self._runner.finished(execution, summary, waiting)
        execution.done.set()
        self._emit(KernelEvent("finished", self.state, execution))

    def _keep_scratch_displays(self, collector: OutputCollector) -> None:
        if not any(True for _ in collector.display_ids):
            return
        self._scratch_displays.append(collector)
        while len(self._scratch_displays) > SCRATCH_DISPLAY_RUNS:
            self._displays.forget(self._scratch_displays.popleft())

    def _drop_queue(self, summary: str) -> list[str]:
        dropped = self._queue.take_all()
        for execution in dropped:
            self._finish(execution, "aborted", summary=summary)
        return [_label(e) for e in dropped]

    def _abort_all(self, summary: str) -> None:
        if self.current is not None:
            self._finish(self.current, "aborted", summary=summary)
        self._drop_queue(summary)

    def _kernel_died(self, message: str) -> None:
        self._ready = False
        running, req = self.current, self._current_req
        if running is not None:
            error = {"ename": "KernelDied", "evalue": KERNEL_DIED,
                     "traceback": [f"KernelDied: {KERNEL_DIED}"]}
            if req is not None and req.collector is not None:
                req.collector.apply({"header": {"msg_type": "error"}, "content": error},
                                    render=False)
                self._dirty[req.collector] = None
            self._finish(running, "error", error=error)
        self._drop_queue("aborted: the kernel died")
        self._set_state("dead", message)

    # -- receiving -----------------------------------------------------------------------

    async def _read_forever(self, receive: Callable[[], Awaitable[dict[str, Any]]], what: str,
                            handle: Callable[[dict[str, Any]], Awaitable[None] | None]) -> None:
        """Hand every message `receive` gets to `handle`, until cancelled: a message that cannot
        be read or handled is logged, and the next one is read."""
        while True:
            try:
                msg = await receive()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Could not read %s from the kernel", what)
                await asyncio.sleep(KERNEL_POLL_INTERVAL)
                continue
            try:
                handled = handle(msg)
                if handled is not None:
                    await handled
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Could not handle a %s message from the kernel",
                                 msg.get("header", {}).get("msg_type"))

    async def _read_shell(self, kc: KernelClient) -> None:
        await self._read_forever(kc.get_shell_msg, "a reply", self._router.on_reply)

    async def _read_stdin(self, kc: KernelClient) -> None:
        async def handle(msg: dict[str, Any]) -> None:
            if msg["header"]["msg_type"] == "input_request":
                await self._iopub_settled(kc)
                self._on_input_request(kc, msg)

        await self._read_forever(kc.get_stdin_msg, "an input request", handle)

    async def _iopub_settled(self, kc: KernelClient) -> None:
        loop = asyncio.get_running_loop()
        arrived = loop.time()
        while loop.time() - arrived < INPUT_SETTLE_MAX:
            waiting = kc.iopub_waiting()
            if not waiting and loop.time() - max(arrived, self._last_iopub) >= INPUT_SETTLE:
                return
            await asyncio.sleep(INPUT_SETTLE / 4)

    def _on_input_request(self, kc: KernelClient, msg: dict[str, Any]) -> None:
        content = msg.get("content") or {}
        req = self._router.request_of(msg)
        execution = req.execution if req is not None else None
        if execution is not None and execution.done.is_set():
            return  # ended (interrupted, aborted) while its output settled: no one waits
        if req is None or execution is None:
            # Nothing of ours waits: an unanswered request would block the kernel for good.
            logger.warning("The kernel asked for input for no running execution; sent it end "
                           "of file")
            kc.input(END_OF_INPUT)
            return
        if not self._input_enabled:
            kc.input(END_OF_INPUT)
            self._echo_input(req, "stderr", NO_ONE_TO_ANSWER)
            return
        execution.input_request = InputRequest(str(content.get("prompt", "")),
                                               bool(content.get("password")))
        self._asking = req
        self._emit(KernelEvent("input_request", self.state, execution))

    def _reply_input(self, req: Request, value: str, stream: str, echo: str) -> None:
        kc = self._kc
        if kc is not None:
            kc.input(value)
        self._drop_input_request(req)
        self._echo_input(req, stream, echo)

    def _echo_input(self, req: Request, stream: str, text: str) -> None:
        if text and req.collector is not None:
            self._mark_dirty(req.collector.apply(
                {"header": {"msg_type": "stream"}, "content": {"name": stream, "text": text}},
                render=False))

    def _drop_input_request(self, req: Request) -> None:
        if self._asking is req:
            self._asking = None
        execution = req.execution
        if execution is not None and execution.input_request is not None:
            execution.input_request = None
            self._emit(KernelEvent("input_done", self.state, execution))

    async def _read_iopub(self, kc: KernelClient) -> None:
        loop = asyncio.get_running_loop()

        def handle(msg: dict[str, Any]) -> None:
            self._last_iopub = loop.time()
            self._on_iopub(msg)

        await self._read_forever(kc.get_iopub_msg, "an output message", handle)

    def _on_iopub(self, msg: dict[str, Any]) -> None:
        msg_type = msg["header"]["msg_type"]
        content = msg.get("content") or {}
        req = self._router.request_of(msg)
        if req is None:
            if msg_type in ("comm_open", "comm_msg", "comm_close"):
                # Widgets change from anywhere (a thread, a callback), after their run too.
                self._mark_dirty(self._displays.apply_comm(msg))
                return
            # A display can be updated from anywhere (a thread, a callback) after its run ended.
            display_id = display_id_of(content) if msg_type == "update_display_data" else None
            if display_id is not None:
                self._mark_dirty(self._displays.update(
                    display_id, mimebundle(content.get("data")),
                    dict(content.get("metadata") or {})))
            return
        if msg_type == "status":
            if content.get("execution_state") == "idle":
                self._router.on_idle(req)
            return
        execution = req.execution
        if execution is None or req.collector is None:
            return
        if msg_type == "execute_input":
            req.began.set()
            count = content.get("execution_count")
            if isinstance(count, int):
                execution.execution_count = count
                self._runner.counted(execution)
            return
        self._mark_dirty(req.collector.apply(msg, render=False))

    def _mark_dirty(self, collectors: Iterable[OutputCollector]) -> None:
        for collector in collectors:
            self._dirty[collector] = None
        if not self._dirty or self._flush_handle is not None:
            return
        loop = asyncio.get_running_loop()
        delay = self._last_flush + OUTPUT_FLUSH_INTERVAL - loop.time()
        if delay <= 0:
            self._flush()
        else:
            self._flush_handle = loop.call_later(delay, self._flush)

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        with contextlib.suppress(RuntimeError):
            self._last_flush = asyncio.get_running_loop().time()
        dirty, self._dirty = self._dirty, {}
        for collector in dirty:
            collector.render()
            execution = collector.owner
            if not isinstance(execution, Execution):
                continue
            self._runner.outputs(execution)
            self._emit(KernelEvent("outputs", self.state, execution))

    async def _watch_process(self) -> None:
        while True:
            await asyncio.sleep(KERNEL_POLL_INTERVAL)
            if not self._ready:
                continue
            try:
                alive = await self._backend.is_alive()
            except Exception:
                logger.exception("Could not check whether the kernel is alive")
                continue
            if not alive:
                self._kernel_died(self._backend.death_message())
