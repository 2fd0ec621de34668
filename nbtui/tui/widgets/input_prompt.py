"""Answering a kernel's input requests: `input()`, `getpass` and the debugger's prompts.

While a run waits for a line of input, a line above the status bar shows its prompt and which
run asks ("[3] Name: "); the human types the answer there and presses enter. A password is
masked as it is typed, and its answer never reaches the cell's output. The line takes the focus
when the human is not typing elsewhere (a cell, the find bar, a dialog); otherwise a
notification names the key that goes to it. escape leaves the line with the prompt still shown;
the line goes away once the request is answered or the run ends (interrupt, restart).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Label

from nbtui.core.document import USER
from nbtui.core.kernel import Execution, InputRequest, KernelError, KernelEvent, KernelSession
from nbtui.tui.widgets.notebook_view import NotebookView

if TYPE_CHECKING:
    from nbtui.tui.app import NotebookApp

ANSWER_KEY = "ctrl+t"
"""The key that takes the focus to the input line from anywhere (no cell command uses it, and
tmux delivers it)."""

LINE_ID = "input-line"

NEXT_PROMPT_GRACE = 0.25
"""Seconds the line stays after an answer while its run goes on: a debugger asks again at once,
and the line should not flicker or lose the focus between two prompts."""


def install_input_prompts(app: NotebookApp) -> None:
    """Let the human answer the input requests of the app's kernel in an input line.

    Mounts the (hidden) :class:`InputPrompt` between the notebook and the status bar, and binds
    :data:`ANSWER_KEY` to focus it; from then on the kernel knows a human answers.
    """
    main = app.query_one("#main")
    parent = main.parent
    assert isinstance(parent, Widget)
    parent.mount(InputPrompt(app.session.kernel, id="input-prompt"), after=main)
    app.bind(ANSWER_KEY, f"focus('{LINE_ID}')",
             description="Answer the input a running cell asks for", show=False)


class InputPrompt(Horizontal):
    """The line where the human answers the input request of the running execution.

    Args:
        kernel: the kernel session whose requests it answers.
    """

    DEFAULT_CSS = """
    InputPrompt {
        height: 1;
        display: none;
        background: $warning 25%;
    }
    InputPrompt > Label {
        width: auto;
        max-width: 60%;
        height: 1;
        text-style: bold;
    }
    InputPrompt > Input {
        width: 1fr;
        height: 1;
        border: none;
        padding: 0 1;
    }
    InputPrompt > Input:focus {
        border: none;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "answer", "Send the answer (a password is never shown)",
                id="input.answer"),
        Binding("escape", "leave", "Leave the input line (the prompt stays until answered)",
                id="input.leave"),
        Binding(ANSWER_KEY, "come_back", "Go to the input line, from anywhere",
                id="input.come_back"),
    ]

    class Changed(Message):
        """The kernel's input request may have changed (asked, answered, dropped)."""

    def __init__(self, kernel: KernelSession, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kernel = kernel
        self.execution: Execution | None = None
        """The run whose request the line shows (None: hidden)."""
        self.request: InputRequest | None = None
        self._unsubscribe = kernel.subscribe(self._kernel_event)
        self._grace: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Label(id="input-label")
        yield Input(id=LINE_ID)

    @property
    def line(self) -> Input:
        """Where the answer is typed."""
        return self.query_one(Input)

    def on_mount(self) -> None:
        self.kernel.input_enabled = True
        self._sync()

    def on_unmount(self) -> None:
        # input_enabled stays on: the app's exit ends the session, and with it a waiting run
        # (answering it now would change the document while the screen is torn down).
        self._unsubscribe()

    def _kernel_event(self, event: KernelEvent) -> None:
        if event.kind in ("input_request", "input_done", "finished"):
            self.post_message(self.Changed())

    def on_input_prompt_changed(self, message: Changed) -> None:
        self._sync()

    def _sync(self) -> None:
        execution = self.kernel.current
        request = execution.input_request if execution is not None else None
        if request is not None and execution is not None:
            self._stop_grace()
            if request is not self.request:
                self._show(execution, request)
        elif self.execution is None:
            return
        elif execution is self.execution and self.line.has_focus:
            if self._grace is None:
                self.query_one(Label).update(self._label(self.execution, None))
                self._grace = self.set_timer(NEXT_PROMPT_GRACE, self._hide)
        else:
            self._hide()

    def _label(self, execution: Execution, request: InputRequest | None) -> Text:
        # Who asks matters for a password: an agent's run is labelled with the agent's name.
        if execution.cell_id is None:
            who = f"[{execution.author}] "
        else:
            count = execution.execution_count
            who = f"[{count if count is not None else '*'}] "
            if execution.author != USER:
                who += f"({execution.author}) "
        if request is None:
            prompt = "…"
        else:
            prompt = request.prompt or ("Password: " if request.password else "")
        return Text(who) + Text.from_ansi(prompt.rstrip("\n").replace("\n", " "))

    def _show(self, execution: Execution, request: InputRequest) -> None:
        self.execution, self.request = execution, request
        self.query_one(Label).update(self._label(execution, request))
        line = self.line
        line.password = request.password
        line.value = ""
        self.display = True
        if self._may_take_focus():
            view = self.screen.query_one(NotebookView)
            if execution.cell_id is not None:
                view.select(execution.cell_id)
            line.focus()
        elif not line.has_focus:
            where = (f"Cell [{execution.execution_count}]" if execution.cell_id is not None
                     else f"{execution.author}'s code")
            if execution.cell_id is not None and execution.author != USER:
                where += f" (run by {execution.author})"
            self.app.notify(f"{where} waits for input: press {ANSWER_KEY} to answer.",
                            title="Input", timeout=10)

    def _may_take_focus(self) -> bool:
        # The human answers only when not typing elsewhere (a cell, the find bar, a dialog).
        if self.app.screen is not self.screen:
            return False
        focused = self.app.focused
        return focused is None or focused is self.line or isinstance(focused, NotebookView)

    def _stop_grace(self) -> None:
        if self._grace is not None:
            self._grace.stop()
            self._grace = None

    def _hide(self) -> None:
        self._stop_grace()
        had_focus = self.line.has_focus
        self.execution = self.request = None
        self.line.value = ""
        self.display = False
        if had_focus:
            self._focus_notebook()

    def _focus_notebook(self) -> None:
        views = self.screen.query(NotebookView)
        if views:
            views.first().focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.request is None:
            self.app.notify("Nothing asks for input now.", severity="warning", timeout=3)
            return
        try:
            self.kernel.answer_input(event.value)
        except KernelError as exc:
            self.app.notify(str(exc), severity="warning", timeout=5)
        self.line.value = ""

    async def action_answer(self) -> None:
        """Send what is typed (the line's own enter does the same)."""
        await self.line.action_submit()

    def action_come_back(self) -> None:
        """Focus the line (the app's binding of the same key does it from anywhere)."""
        if self.display:
            self.line.focus()

    def action_leave(self) -> None:
        """Give the focus back to the notebook; the prompt stays until answered."""
        self._focus_notebook()
