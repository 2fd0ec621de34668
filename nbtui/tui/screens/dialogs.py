"""Small questions to the human: quitting with unsaved changes, approving an agent's run."""

from __future__ import annotations

from typing import ClassVar, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

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
        self.dismiss(event.button.id)  # type: ignore[arg-type]

    def action_choose(self, choice: QuitChoice) -> None:
        """Answer the question."""
        self.dismiss(choice)


class ApprovalScreen(ModalScreen[bool]):
    """Asks whether an agent may run code (approval mode).

    Args:
        agent: the agent's name.
        tool: the tool it called.
        code: what would run.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Allow"),
        Binding("n,escape", "answer(False)", "Decline"),
    ]

    def __init__(self, agent: str, tool: str, code: str) -> None:
        super().__init__()
        self.agent, self.tool, self.code = agent, tool, code

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text.assemble((self.agent, "bold"), f" wants to {self.tool}:"))
            lines = self.code.splitlines() or [""]
            shown = "\n".join(lines[:20]) + (f"\n… {len(lines) - 20} more lines"
                                              if len(lines) > 20 else "")
            yield Static(Text(shown), classes="dialog-code")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Allow (y)", id="yes", variant="primary")
                yield Button("Decline (n)", id="no", variant="error")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, allowed: bool) -> None:
        """Answer the question."""
        self.dismiss(allowed)
