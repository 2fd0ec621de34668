"""The real `nbtui` in real terminals: screenshots/real_terminals.py, in its short mode and its
readability check (a test each; each run has its own X server and tmux socket).

It runs nbtui in xterm (sixel through `-ti vt340`, and chafa symbols) and in tmux inside xterm,
under Xvfb, and checks from screenshots that a plot stays inside its cells, also after keys
that redraw the notebook, and that a seaborn plot's title and axis labels are read by OCR in
tmux once zoomed. The programs and the font it needs are Debian packages that .ci/run installs
(xvfb, xterm, xdotool, imagemagick, tmux, tesseract-ocr, fonts-unifont); without them these
tests fail, they do not skip.
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


@pytest.mark.timeout(300)
def test_a_seaborn_plots_title_and_axis_labels_are_read_zoomed_in_tmux(tmp_path: Path) -> None:
    """In tmux at 120x40, the full-screen view zoomed to 4x on a seaborn plot's title, x axis
    label and y axis label shows each so that tesseract reads it ("Tips by day", "Day of
    week", "Total bill")."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "screenshots" / "real_terminals.py"), "--readable",
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=280, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("readable: ok")
    assert {path.name for path in tmp_path.glob("*.png")} >= {
        "real-readable-fit.png", "real-readable-title.png", "real-readable-x-label.png",
        "real-readable-y-label.png"}
