"""The app's own dialogs, pinned as SVG snapshots (pytest-textual-snapshot).

Deterministic as tests/tui/test_snapshots.py is: a fixed notebook with fixed ids and no kernel
running, a fixed socket path. The kernel picker lists the kernelspecs of a fixed JUPYTER_PATH
(two fake specs) besides the python3 spec that ipykernel installs in every environment; Jupyter's
user directories point into the test's directory. Regenerate with
``pytest tests/tui/test_snapshots_app.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tui_helpers import write_notebook

from nbtui.core.session import NotebookSession
from nbtui.tui.app import NotebookApp

SIZE = (100, 30)
SOCKET = "/run/user/1000/nbtui/model-3f9c2a.sock"

CELLS: list[dict[str, Any]] = [
    {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# Model fitting"},
    {"cell_type": "code", "id": "fit", "metadata": {}, "execution_count": 1,
     "source": "model = fit(data)\nmodel.score",
     "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                  "data": {"text/plain": "0.93"}}]},
]


@pytest.fixture
def two_fake_kernelspecs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """JUPYTER_PATH with two kernelspecs (R and Julia look-alikes that never start); the
    user's Jupyter and IPython directories empty."""
    root = tmp_path / "jupyter"
    for name, display_name, language in (("ir", "R", "R"), ("julia-1.10", "Julia 1.10.4",
                                                            "julia")):
        spec = root / "kernels" / name
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": ["/nonexistent", "{connection_file}"], "display_name": display_name,
            "language": language}))
    monkeypatch.setenv("JUPYTER_PATH", str(root))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))


def test_kernel_picker(snap_compare: Any, tmp_path: Path, two_fake_kernelspecs: None) -> None:
    """ctrl+k lists the installed kernels by display name, name and language, the notebook's
    own marked current."""
    session = NotebookSession(write_notebook(tmp_path / "model.ipynb", CELLS),
                              autosave_seconds=0)
    session.socket_path = SOCKET
    session.kernel.state = "idle"
    assert snap_compare(NotebookApp(session), terminal_size=SIZE, press=["ctrl+k"])
