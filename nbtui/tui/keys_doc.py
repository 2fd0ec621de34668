"""The key tables of docs/keys.md, generated from the bindings themselves.

`python -m nbtui.tui.keys_doc` rewrites the part of docs/keys.md between the markers
`<!-- keys:begin -->` and `<!-- keys:end -->`; a test checks that the file matches the code, so
the documented keys are the keys the app has. Each row gives the binding's id, the name a key
remap in the config file uses.
"""

from __future__ import annotations

import sys
from pathlib import Path

from textual.binding import Binding, BindingType

from nbtui.tui.app import NotebookApp
from nbtui.tui.screens.help import binding_keys
from nbtui.tui.screens.image_view import ImageViewScreen
from nbtui.tui.widgets.editor import CellEditor
from nbtui.tui.widgets.find_bar import FindBar
from nbtui.tui.widgets.input_prompt import InputPrompt
from nbtui.tui.widgets.notebook import NotebookPane
from nbtui.tui.widgets.notebook_view import NotebookView

BEGIN = "<!-- keys:begin -->"
END = "<!-- keys:end -->"

SECTIONS: list[tuple[str, str, list[BindingType]]] = [
    ("Command mode", "The cell list has the focus (the status bar says `COMMAND`).",
     NotebookView.BINDINGS),
    ("Edit mode", "You are typing in a cell (`EDIT`).", CellEditor.BINDINGS),
    ("Both modes", "Keys of the notebook that work in command mode, and in edit mode where the "
     "editor does not use the key itself.", NotebookPane.BINDINGS),
    ("The find bar", "Open with `/` or `ctrl+f`.", FindBar.BINDINGS),
    ("The input line", "Shown when a running cell asks for input (`input()`, `getpass`, the "
     "debugger).", InputPrompt.BINDINGS),
    ("The full-screen image", "Open with `I` on a cell with a picture.",
     ImageViewScreen.BINDINGS),
    ("Anywhere", "", NotebookApp.BINDINGS),
]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def keys_markdown() -> str:
    """The generated tables: one per section, a row per binding with a description."""
    parts = []
    for title, note, bindings in SECTIONS:
        parts.append(f"### {title}\n")
        if note:
            parts.append(f"{note}\n")
        parts.append("| keys | does | id (for remaps) |\n|---|---|---|")
        for binding in bindings:
            if isinstance(binding, Binding) and binding.description:
                keys = ", ".join(f"`{key}`" for key in binding_keys(binding, {}))
                binding_id = f"`{binding.id}`" if binding.id else ""
                parts.append(f"| {_cell(keys)} | {_cell(binding.description)} | {binding_id} |")
        parts.append("")
    return "\n".join(parts)


def with_tables(document: str) -> str:
    """`document` with the part between the markers replaced by the generated tables.

    Raises:
        ValueError: the markers are missing.
    """
    start = document.index(BEGIN) + len(BEGIN)
    end = document.index(END)
    return document[:start] + "\n" + keys_markdown() + document[end:]


def main() -> None:
    """Rewrite the key tables of docs/keys.md (or of the file given as the argument)."""
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/keys.md")
    path.write_text(with_tables(path.read_text()))


if __name__ == "__main__":
    main()
