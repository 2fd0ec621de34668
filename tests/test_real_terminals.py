"""The real `nbtui` in real terminals: screenshots/real_terminals.py, in its short mode.

It runs nbtui in xterm (sixel through `-ti vt340`, and chafa symbols) and in tmux inside xterm,
under Xvfb, and checks from screenshots that a plot stays inside its cells, also after keys
that redraw the notebook. The programs it needs are Debian packages that .ci/run installs
(xvfb, xterm, xdotool, imagemagick, tmux); without them this test fails, it does not skip.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(300)
def test_a_plot_stays_inside_its_cells_in_real_terminals(tmp_path: Path) -> None:
    """In xterm with sixel, in xterm with symbols and in tmux, the plot lies within the cells
    nbtui gave it, does not cover the next cell's line and is whole after keys."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "screenshots" / "real_terminals.py"), "--short",
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=280, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        "sixel", "symbols", "tmux"]
    assert {path.name for path in tmp_path.glob("*.png")} >= {
        "real-sixel.png", "real-symbols.png", "real-tmux.png", "real-sixel-after-keys.png"}
