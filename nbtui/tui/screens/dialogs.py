"""Small questions to the human: quitting with unsaved changes, approving an agent's run, a save
that found the file changed on disk, saving under another name, reloading from disk."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, Literal

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Button, Input, Static, TextArea

from nbtui.core.storage import NotebookFileError, NotebookFileExists

QuitChoice = Literal["save", "discard", "cancel"]


class QuitScreen(ModalScreen[QuitChoice]):
    """Asks what to do with unsaved changes before quitting."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s,enter", "choose('save')", "Save and quit"),
        Binding("d", "choose('discard')", "Quit without saving"),
        Binding("escape,c", "choose('cancel')", "Cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text("The notebook has unsaved changes.", style="bold"))
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save and quit (s)", id="save", variant="primary")
                yield Button("Quit without saving (d)", id="discard", variant="error")
                yield Button("Cancel (esc)", id="cancel")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_choose(event.button.id)  # type: ignore[arg-type]

    def action_choose(self, choice: QuitChoice) -> None:
        """Answer the question (once: a click and a key in the same moment answer once)."""
        if self.is_current:
            self.dismiss(choice)


class ChoiceScreen(ModalScreen[str]):
    """A question answered by one of a few buttons, each with its key (see BINDINGS).

    Args:
        question: the question, one or two sentences.
    """

    DEFAULT_CSS = """
    ChoiceScreen { align: center middle; }
    ChoiceScreen .dialog-buttons Button { margin-right: 1; min-width: 0; }
    """

    CHOICES: ClassVar[list[tuple[str, str, str]]] = []
    """(answer, button label with its keys, button variant) for each answer."""

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.question, style="bold"), classes="dialog-question")
            with Horizontal(classes="dialog-buttons"):
                for answer, label, variant in self.CHOICES:
                    button = Button(label, id=answer, variant=variant,  # type: ignore[arg-type]
                                    compact=True)
                    # Only the keys (and clicks) answer: an enter typed on its way elsewhere
                    # must not press whichever button had the focus.
                    button.can_focus = False
                    yield button

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_choose(event.button.id or "")

    def action_choose(self, choice: str) -> None:
        """Answer the question (once: a click and a key in the same moment answer once)."""
        if self.is_current:
            self.dismiss(choice)


SaveConflictChoice = Literal["overwrite", "save_as", "reload", "cancel"]


class SaveConflictScreen(ChoiceScreen):
    """The file changed on disk since nbtui read or saved it: overwrite it, save the notebook
    as another file, or reload the file (dropping the changes made here)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "choose('overwrite')", "Overwrite the file"),
        Binding("a", "choose('save_as')", "Save as another file"),
        Binding("r", "choose('reload')", "Reload from disk"),
        Binding("escape,c", "choose('cancel')", "Cancel"),
    ]
    CHOICES: ClassVar[list[tuple[str, str, str]]] = [
        ("overwrite", "Overwrite (o)", "error"),
        ("save_as", "Save as… (a)", "primary"),
        ("reload", "Reload from disk (r)", "warning"),
        ("cancel", "Cancel (esc)", "default"),
    ]


class ReloadScreen(ChoiceScreen):
    """Reloading would drop unsaved changes: go ahead, or not."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "choose('reload')", "Reload from disk"),
        Binding("escape,c", "choose('cancel')", "Cancel"),
    ]
    CHOICES: ClassVar[list[tuple[str, str, str]]] = [
        ("reload", "Reload, dropping the changes (r)", "warning"),
        ("cancel", "Cancel (esc)", "default"),
    ]


class SaveAsScreen(ModalScreen[Path | None]):
    """Asks for the file to save the notebook as, prefilled with its current path.

    The dialog stays open until the save works, saying in one sentence why a name is refused;
    a file that exists is replaced only when enter is pressed a second time on the same name.
    Dismissed with the new path, or None when cancelled.

    Args:
        path: the notebook's current path.
        save: saves the notebook as the given path, replacing a file there when the second
            argument is true; raises NotebookFileError (NotebookFileExists for an existing
            file) when it cannot.
    """

    DEFAULT_CSS = """
    SaveAsScreen { align: center middle; }
    SaveAsScreen #save-as-path { margin: 1 0 0 0; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, path: str, save: Callable[[Path, bool], object]) -> None:
        super().__init__()
        self.path = path
        self._save = save
        self._confirmed: Path | None = None
        """The existing file the human was asked about: enter again on it replaces it."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="save-as"):
            yield Static(Text("Save the notebook as", style="bold"))
            yield Input(self.path, id="save-as-path")
            yield Static(id="save-as-error")
            yield Static(Text("enter saves, esc cancels", style="dim"))

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        error = self.query_one("#save-as-error", Static)
        text = event.value.strip()
        if not text:
            error.update(Text("Type a file name ending in .ipynb.", style="bold"))
            return
        try:
            path = Path(text).expanduser().absolute()
            self._save(path, path == self._confirmed)
        except NotebookFileExists:
            self._confirmed = path
            error.update(Text(f"{path.name} already exists; press enter again to replace it.",
                              style="bold"))
            return
        except NotebookFileError as exc:
            self._confirmed = None
            error.update(Text(str(exc), style="bold"))
            return
        except (OSError, RuntimeError, ValueError) as exc:
            # A name too long for the file system, an unknown ~user, a NUL byte pasted in.
            self._confirmed = None
            reason = getattr(exc, "strerror", None) or str(exc)
            error.update(Text(f"Cannot save to that name: {reason}.", style="bold"))
            return
        if self.is_current:
            self.dismiss(path)

    def action_cancel(self) -> None:
        """Close without saving."""
        if self.is_current:
            self.dismiss(None)


ANSWER_DELAY_SECONDS = 0.4
"""An approval prompt takes an answer only once it has been on screen this long and no key has
reached it for this long: keys typed in a burst (text meant for a cell) never answer it."""

CODE_LINES = 20
"""Lines of the code to run that the approval prompt shows (fewer when the screen is small)."""

PLACE_SECONDS = 0.1
"""How often the approval prompt checks that it still keeps off the line being edited."""

PROMPT_ROWS = 6
"""The approval prompt's rows besides the code: its border, title, answers and the code's
margins."""

WHAT_TOOLS_DO = {
    "run_code": "run this code",
    "run_cells": "run these cells",
    "insert_cell": "insert this cell and run it",
    "edit_cell": "run the cell it just edited",
    "install_packages": "install packages",
    "restart_kernel": "restart the kernel",
}


class ApprovalScreen(ModalScreen[bool]):
    """Asks whether an agent may run code (approval mode): y allows, n or esc declines.

    The prompt is a modal screen drawn as a panel at the bottom, so the notebook stays in view
    above it. It takes the keyboard, which means keys the human was typing into a cell can land
    here; they are never an answer. An answer counts only when the prompt has been on screen for
    :data:`ANSWER_DELAY_SECONDS` and the keyboard was quiet for as long before it, and the keys
    are read from events delivered to this screen only (there are no y/n bindings, which a key
    still on its way to the editor could trigger). Printable keys that arrive in the first
    moment go to the editor if it had the focus, so text typed for a cell ends up in the cell.

    Args:
        agent: the agent's name.
        tool: the tool it called.
        code: what would run.
        waiting: how many more requests wait behind this one.
        early_keys_to: the widget that had the focus when the prompt appeared.
    """

    waiting: reactive[int] = reactive(0)
    """How many more approval requests are queued behind this one."""

    def __init__(self, agent: str, tool: str, code: str, *, waiting: int = 0,
                 early_keys_to: Widget | None = None) -> None:
        super().__init__()
        self.agent, self.tool, self.code = agent, tool, code
        self.set_reactive(ApprovalScreen.waiting, waiting)
        self._early_keys_to = early_keys_to
        self._shown_at = time.monotonic()
        self._last_key_at = self._shown_at
        self._withdrawn = False
        self._placing: Timer | None = None
        self._placed: tuple[bool, int, int] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="approval"):
            yield Static(Text.assemble(
                (self.agent, "bold"), f" asks to {WHAT_TOOLS_DO.get(self.tool, self.tool)}",
                (f"  ({self.tool})", "dim"),
            ), id="approval-title")
            yield Static(self._code_text(CODE_LINES), classes="dialog-code", id="approval-code")
            with Horizontal(id="approval-answers"):
                yield Button("Allow (y)", id="yes", variant="primary", compact=True)
                yield Button("Decline (n, esc)", id="no", variant="error", compact=True)
                yield Static(id="approval-hint")

    def _code_text(self, rows: int) -> Text:
        lines = self.code.splitlines() or [""]
        if len(lines) <= rows:
            return Text("\n".join(lines))
        shown = max(1, rows - 1)
        return Text("\n".join(lines[:shown]) + f"\n… {len(lines) - shown} more lines")

    def on_mount(self) -> None:
        # Buttons that could take the focus would let a typed enter press them.
        for button in self.query(Button):
            button.can_focus = False

    def _edited_row(self) -> int | None:
        """The screen row of the cursor in the editor under this prompt (None: no editing)."""
        stack = self.app.screen_stack
        below = stack[:stack.index(self)] if self in stack else []
        for screen in reversed(below):
            for editor in screen.query(TextArea):
                if editor.display and editor.region:
                    return editor.cursor_screen_offset.y
        return None

    def _keep_clear_of_the_edited_line(self) -> None:
        """Sit at the bottom, or at the top when the line being edited leaves more room there,
        showing only as much code as fits beside that line."""
        height = self.size.height - 1  # the status bar's line stays uncovered
        row = self._edited_row()
        natural = PROMPT_ROWS + min(CODE_LINES, len(self.code.splitlines() or [""]))
        on_top = False
        room = height
        if row is not None and 0 <= row < height:
            below, above = height - row - 1, row
            on_top = below < natural and above > below
            room = above if on_top else below
        rows = max(1, min(CODE_LINES, room - PROMPT_ROWS))
        if self._placed == (on_top, room, rows):
            return
        self._placed = (on_top, room, rows)
        self.styles.align_vertical = "top" if on_top else "bottom"
        code = self.query_one("#approval-code", Static)
        code.update(self._code_text(rows))
        code.styles.max_height = rows
        self.query_one("#approval").styles.max_height = max(room, 1)

    def on_screen_resume(self) -> None:
        if self._withdrawn:
            self.dismiss(False)
            return
        # Shown for the first time, or again after a screen above it closed: wait afresh.
        self._shown_at = self._last_key_at = time.monotonic()
        self._keep_clear_of_the_edited_line()
        if self._placing is None:
            # The edited line moves when text is typed into it or an agent changes the cells
            # above it, after layouts this screen does not see: look again now and then.
            self._placing = self.set_interval(PLACE_SECONDS, self._keep_clear_of_the_edited_line)
        self._show_hint()
        self.set_timer(ANSWER_DELAY_SECONDS + 0.05, self._show_hint)

    @property
    def ready(self) -> bool:
        """Whether a y, n or esc pressed now would be taken as the answer."""
        now = time.monotonic()
        return (now - self._shown_at >= ANSWER_DELAY_SECONDS
                and now - self._last_key_at >= ANSWER_DELAY_SECONDS)

    def watch_waiting(self) -> None:
        if self.is_mounted:
            self._show_hint()

    def _show_hint(self, ignored: bool = False) -> None:
        hint = Text()
        if ignored:
            hint.append("Keys typed in a hurry are not answers: pause, then press y or n.",
                        "bold")
        elif self.ready:
            hint.append("y", "bold")
            hint.append(" allows, ")
            hint.append("n", "bold")
            hint.append(" or ")
            hint.append("esc", "bold")
            hint.append(" declines.")
        else:
            hint.append("Read it first…", "dim")
        if self.waiting:
            hint.append(f"  {self.waiting} more request{'s' if self.waiting > 1 else ''} "
                        "waiting.", "italic")
        self.query_one("#approval-hint", Static).update(hint)

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        ready = self.ready
        now = time.monotonic()
        early = now - self._shown_at < ANSWER_DELAY_SECONDS
        self._last_key_at = now
        if early:
            self._hand_back(event)
        elif event.key in ("y", "n", "escape") and ready:
            self._answer(event.key == "y")
            return
        self._show_hint(ignored=event.key in ("y", "n", "escape") and not early)
        self.set_timer(ANSWER_DELAY_SECONDS + 0.05, self._show_hint)

    def _hand_back(self, event: events.Key) -> None:
        target = self._early_keys_to
        if not isinstance(target, TextArea) or not target.is_attached or target.read_only:
            return
        text = "\n" if event.key == "enter" else event.character if event.is_printable else None
        if text:
            start, end = target.selection
            target.replace(text, start, end, maintain_selection_offset=False)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if time.monotonic() - self._shown_at >= ANSWER_DELAY_SECONDS:
            self._answer(event.button.id == "yes")

    def _answer(self, allowed: bool) -> None:
        if self.is_current:
            self.dismiss(allowed)

    def withdraw(self) -> None:
        """The request was settled elsewhere (declined because access dropped, or the agent
        went away): close without an answer."""
        self._withdrawn = True
        if self.is_current:
            self.dismiss(False)
