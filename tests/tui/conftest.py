"""Fixtures for the TUI tests: a notebook on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tui_helpers import write_notebook


@pytest.fixture(autouse=True)
def half_block_images(monkeypatch: pytest.MonkeyPatch) -> None:
    """Draw images with half-blocks whatever terminal runs the tests (kitty would differ)."""
    monkeypatch.setenv("NBTUI_IMAGES", "halfblock")


@pytest.fixture
def notebook(tmp_path: Path) -> Callable[..., Path]:
    """Make a notebook file in the test's directory."""

    def make(cells: list[tuple[str, str] | dict[str, Any]] | int = 3,
             name: str = "nb.ipynb") -> Path:
        if isinstance(cells, int):
            cells = [("code", f"x{i} = {i}") for i in range(cells)]
        return write_notebook(tmp_path / name, cells)

    return make
