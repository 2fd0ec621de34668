"""The kernel picker: the installed kernelspecs, the notebook's own marked, one to switch to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


@dataclass(frozen=True)
class KernelChoice:
    """An installed kernelspec as the picker lists it."""

    name: str
    display_name: str
    language: str = ""


def installed_kernels() -> list[KernelChoice]:
    """The installed kernelspecs (Jupyter's search path), by display name.

    Returns:
        One choice per kernelspec; a spec whose kernel.json cannot be read is left out (Jupyter
        logs why).
    """
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().get_all_specs()
    choices = []
    for name, entry in specs.items():
        spec = entry.get("spec") or {}
        choices.append(KernelChoice(name, spec.get("display_name") or name,
                                    spec.get("language") or ""))
    return sorted(choices, key=lambda choice: (choice.display_name.lower(), choice.name))


class KernelPickerScreen(ModalScreen[str | None]):
    """Lists the installed kernels; enter picks one (dismissed with its name), esc cancels.

    Args:
        kernels: the installed kernelspecs.
        current: the name of the notebook's kernelspec now.
    """

    DEFAULT_CSS = """
    KernelPickerScreen { align: center middle; }
    KernelPickerScreen OptionList { height: auto; max-height: 20; margin: 1 0; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, kernels: list[KernelChoice], current: str) -> None:
        super().__init__()
        self.kernels = kernels
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="kernel-picker"):
            yield Static(Text("Change the kernel", style="bold"))
            yield OptionList(*(self._option(kernel) for kernel in self.kernels))
            yield Static(Text("enter switches (the running kernel's variables are lost), "
                              "esc cancels", style="dim"))

    def _option(self, kernel: KernelChoice) -> Option:
        current = kernel.name == self.current
        label = Text.assemble(("● " if current else "  ", "bold"), (kernel.display_name, "bold"),
                              (f"  {kernel.name}", "dim"),
                              (f"  {kernel.language}" if kernel.language else "", "italic"),
                              ("  (current)" if current else "", ""))
        return Option(label, id=kernel.name)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        names = [kernel.name for kernel in self.kernels]
        options.highlighted = names.index(self.current) if self.current in names else 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Close without changing the kernel."""
        self.dismiss(None)
