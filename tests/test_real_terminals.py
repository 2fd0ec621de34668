"""The real `nbtui` in real terminals: screenshots/real_terminals.py, in its short mode, its
readability check, kitty and a light 16-colour xterm (a test each; each run has its own X
server and tmux socket).

It runs nbtui in xterm (sixel through `-ti vt340`, and chafa symbols), in tmux inside xterm and
in kitty, under Xvfb, and checks from screenshots that a plot stays inside its cells, also after
keys that redraw the notebook, that a seaborn plot's title and axis labels are read by OCR in
tmux once zoomed, that kitty older than 0.28 gets the plot as symbols, and that markdown and a
plot stay visible in 16 colours on a white background. The programs and the font it needs are
Debian packages that .ci/run installs (xvfb, xterm, xdotool, imagemagick, tmux, tesseract-ocr,
fonts-unifont, kitty); without them these tests fail, they do not skip.
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


def run_script(mode: str, out: Path) -> subprocess.CompletedProcess[str]:
    """screenshots/real_terminals.py with `mode` (e.g. --kitty), its PNGs written to `out`."""
    return subprocess.run(
        [sys.executable, str(ROOT / "screenshots" / "real_terminals.py"), mode, "--out",
         str(out)], capture_output=True, text=True, timeout=110, cwd=ROOT)


@pytest.mark.timeout(120)
def test_kitty_older_than_0_28_gets_the_plot_as_symbols_inside_its_cells(tmp_path: Path) -> None:
    """In a real kitty 0.26 without NBTUI_IMAGES, nbtui logs that it draws symbols because kitty
    is older than 0.28, and the plot is drawn inside its cells (not a grid of empty boxes)."""
    result = run_script("--kitty", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("kitty: ok")
    assert (tmp_path / "real-kitty.png").exists()


@pytest.mark.timeout(120)
def test_markdown_and_a_plot_stay_visible_in_16_colours_on_a_light_background(
        tmp_path: Path) -> None:
    """In a black-on-white xterm with TERM=xterm and no COLORTERM, tesseract reads the markdown
    sentence and the plot's cells hold a picture of at least two colours."""
    result = run_script("--light", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("16-colour-light: ok")
    assert (tmp_path / "real-16-colour-light.png").exists()
