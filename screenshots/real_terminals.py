"""Run the real `nbtui` in real terminals under Xvfb and check that a plot stays in its cells.

    python screenshots/real_terminals.py             # everything; PNGs in screenshots/real/
    python screenshots/real_terminals.py --short     # sixel, symbols and tmux only (CI)
    python screenshots/real_terminals.py --readable  # only the plot's labels read by OCR (CI)
    python screenshots/real_terminals.py --kitty     # only kitty (CI)
    python screenshots/real_terminals.py --light     # only 16 colours on white (CI)
    python screenshots/real_terminals.py --out DIR   # write the PNGs elsewhere

Needs Xvfb, xterm, xdotool, ImageMagick's `import` and tmux (Debian: xvfb xterm xdotool
imagemagick tmux), and matplotlib (`pip install -e '.[demo]'`); the readability and light checks
also need tesseract, a font with the sextant characters and seaborn (Debian: tesseract-ocr
fonts-unifont; seaborn is in the test extras); the kitty check needs kitty (Debian: kitty).

The notebook has a markdown cell, a matplotlib plot on an amber background (the amber marks the
picture's extent in the screenshots) and a code cell below it. Each terminal is an xterm of
120x40 cells on a private X server (Xvfb) without a window manager:

- ``sixel``: ``xterm -ti vt340`` (sixel graphics) and ``NBTUI_IMAGES=sixel``;
- ``symbols``, ``halfblock``: a plain xterm and those text modes;
- ``tmux``: tmux inside a plain xterm (nbtui detects it and draws symbols);
- ``sixel-large``, ``symbols-large`` (not with ``--short``): xterm with a larger font;
- ``kitty`` (not with ``--short``): kitty as installed, run with ``--config NONE`` and a private
  HOME and XDG_CONFIG_HOME, nbtui detecting what to draw. Debian 12's kitty 0.26 answers the
  kitty graphics query but draws no unicode placeholders (0.28 does): nbtui must fall back to
  symbols, and its log must say so ("Images: symbols (kitty ... 0.28 ...)").

In each, the script waits until the plot is drawn and still, takes a PNG of the window, presses
`j` twice (the selection moves past the plot: the notebook is redrawn, the plot does not move),
waits until the window changed and is still again and takes a second PNG; then it opens the
full-screen view of the plot (`k`, `I`), takes a third PNG and closes it (`esc`). It checks:

- the picture starts on a character cell's edge and is no larger than the cells nbtui sizes it
  for from the cell size the terminal reports, and the two text rows under those cells have
  none of it;
- the next cell's first line (found by its prompt, left of the picture) is not covered;
- the keys left the picture as it was, and xterm received no new sixel picture for them (its
  log, ``xterm -l``, holds everything nbtui wrote);
- the full-screen view's picture fills the window's width or height, and after `esc` the plot
  is back where it was (a sixel picture is sent again after another screen covered it);
- in tmux, the pane's text shows the next cell's source line;
- in kitty, nbtui's log (in the run's XDG_STATE_HOME) names symbols, and only symbols, as the
  way it draws images, because kitty is older than 0.28 (a grid of empty boxes has no amber,
  so the picture checks above fail on it).

The light check (``16-colour-light``, not with ``--short``) opens a notebook whose markdown cell
is the sentence "Sales rose in every week of the quarter", above the amber plot, in a
black-on-white xterm with TERM=xterm and no COLORTERM (16 colours; nbtui asks the background
colour and takes its light theme) and 10x20-pixel cells. tesseract must read the sentence from
the screenshot, and the plot's cells (between its prompt and the next cell's) must hold a
picture: a fifth of their pixels or more not in the background colour, in at least two colours
(the amber becomes the palette's yellow, the line blue, the text black), not a few specks.

The readability check (``readable``, not with ``--short``) opens a notebook with a seaborn bar
plot of 640x480 pixels (title "Tips by day", axis labels "Day of week" and "Total bill") in tmux
inside an xterm of 120x40 cells of 10x20 pixels (DejaVu Sans Mono; xterm finds the sextants in
Unifont Upper, fontconfig's fallback), where nbtui draws pictures as chafa symbols. It opens
the full-screen view and zooms to 4x on the title, then the x axis label, then the y axis
label, and reads each screenshot with tesseract: each text must be read. (Fitted to the whole
window, the plot's text is 2-3 symbol rows tall and tesseract reads none of it.)

Each failed check is printed on a line of its own; the exit status is 1 if any failed (2 if a
program is missing).

Seen so far (Debian 12's xterm 379): pictures fit their cells at both font sizes and stay whole
after redraws; a band of a few pixel rows of each sixel picture is drawn black (a colour
register xterm does not take from textual-image's encoding); plain xterm does not pass on
COLORTERM, so without it nbtui draws in 16 colours (the script sets it).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import numpy
from PIL import Image

from nbtui.tui.widgets.images import SIXEL_MAX_PIXELS, _fit

ROOT = Path(__file__).resolve().parent.parent
NBTUI = str(Path(sys.executable).with_name("nbtui"))
COLUMNS, ROWS = 120, 40
AMBER = (240, 176, 48)
"""The plot's background: only the picture has this colour on screen."""

PLOT_PIXELS = (600, 300)
"""The plot's size: 6x3 inches at 100 dpi."""

NEXT_SOURCE = 'after_the_plot = "visible"'
TOOLS = ("Xvfb", "xterm", "xdotool", "import", "tmux")
READABLE_TOOLS = ("tesseract", "fc-list")
PICTURE_SHARE = 0.2
"""The least share of the plot's cells' pixels that must differ from the background in 16
colours (the amber background becomes a palette colour; a few specks are far less)."""

COLOUR_SHARE = 0.01
"""The least share of those pixels a colour must cover to count as one of the picture's."""
SIXEL_START = re.compile(rb"\x1bP[0-9;]*q")
"""The device control string that starts a sixel picture."""

QUIET = 1.0
"""Seconds a window must not change to count as drawn (nbtui draws a frame in far less)."""

DEADLINE = 40.0
"""Seconds a terminal may take to show the plot, or to become still after the keys."""


@dataclass(frozen=True)
class Terminal:
    """One way of running nbtui to check."""

    name: str
    images: str | None
    """NBTUI_IMAGES (None: nbtui detects)."""
    sixel: bool = False
    tmux: bool = False
    font_size: int | None = None
    """An Xft font size (None: xterm's default bitmap font)."""
    kitty: bool = False
    """kitty instead of xterm."""
    light: bool = False
    """Black on white, TERM=xterm and no COLORTERM: 16 colours on a light background."""

    def command(self, name: str, log: Path, program: list[str]) -> list[str]:
        """The terminal's command line: a window of COLUMNS x ROWS cells whose X class name
        is `name`, running `program` (xterm writes everything it reads to `log`)."""
        if self.kitty:
            # --config NONE: no kitty.conf of the machine's user changes what is checked.
            return ["kitty", "--config", "NONE", "--class", name, "--name", name, "--title",
                    name, "-o", f"font_size={self.font_size or 11}", "-o",
                    "remember_window_size=no", "-o", f"initial_window_width={COLUMNS}c", "-o",
                    f"initial_window_height={ROWS}c", "-o", "update_check_interval=0",
                    *program]
        args = ["xterm", "-name", name, "-b", "0", "-tn",
                "xterm" if self.light else "xterm-256color", "-geometry",
                f"{COLUMNS}x{ROWS}+0+0", "+sb", "-xrm", "XTerm*directColor: true"]
        if self.light:
            args += ["-bg", "white", "-fg", "black"]
        if self.sixel:
            args += ["-ti", "vt340", "-xrm", "XTerm*numColorRegisters: 256"]
        if self.font_size:
            args += ["-fa", "DejaVu Sans Mono", "-fs", str(self.font_size)]
        return [*args, "-l", "-lf", str(log), "-e", *program]


TERMINALS = [
    Terminal("sixel", "sixel", sixel=True),
    Terminal("symbols", "symbols"),
    Terminal("halfblock", "halfblock"),
    Terminal("tmux", None, tmux=True),
    Terminal("sixel-large", "sixel", sixel=True, font_size=14),
    Terminal("symbols-large", "symbols", font_size=14),
]
SHORT = ("sixel", "symbols", "tmux")

READABLE = Terminal("readable", None, tmux=True, font_size=12)
"""tmux in an xterm of 10x20-pixel cells, with a font whose fallbacks have the sextants."""

KITTY = Terminal("kitty", None, kitty=True)
"""kitty as installed (Debian 12: 0.26, older than the unicode placeholders), nbtui detecting."""

LIGHT = Terminal("16-colour-light", None, light=True, font_size=12)
"""A black-on-white xterm in 16 colours (TERM=xterm, no COLORTERM), nbtui detecting."""

LIGHT_SENTENCE = "Sales rose in every week of the quarter"
"""The markdown cell above the plot in the light terminal's notebook."""

KITTY_FALLBACK = re.compile(r"Images: symbols \(kitty.*0\.28")
"""nbtui's log line saying it draws symbols because kitty is older than 0.28."""

SEXTANT = "1fb00"
"""The first sextant character (U+1FB00), which the terminal's fonts must have."""

SEABORN_SOURCE = 'seaborn.barplot(bills, x="day", y="total_bill")'
SEABORN_TEXT = {"title": "Tips by day", "x-label": "Day of week", "y-label": "Total bill"}
"""The seaborn plot's title and axis labels, as set in seaborn_png."""

READING_STEPS = [
    ("title", ["plus"] * 4 + ["k"] * 6, False),
    ("x-label", ["j"] * 12, False),
    ("y-label", ["0"] + ["plus"] * 4 + ["h"] * 8, True),
]
"""Keys pressed in the full-screen view one step after another to show a text at 4×, and
whether that text runs upwards (the y axis label)."""


def plot_png() -> bytes:
    """A matplotlib line plot with a title and axis labels on an amber background."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(PLOT_PIXELS[0] / 100, PLOT_PIXELS[1] / 100), dpi=100)
    figure.patch.set_facecolor(tuple(c / 255 for c in AMBER))
    xs = [x / 10 for x in range(100)]
    axes.plot(xs, [(x % 3) * 2 for x in xs], color="#1f4fb4", linewidth=2)
    axes.set_title("Units sold by week")
    axes.set_xlabel("week")
    axes.set_ylabel("units")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, facecolor=figure.get_facecolor())
    plt.close(figure)
    return buffer.getvalue()


def seaborn_png() -> bytes:
    """A seaborn bar plot of bills by day, matplotlib's default 640x480 pixels, with a title and
    axis labels in its default 10-12 point fonts (made from numbers drawn here, not downloaded
    like seaborn's own tips data)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas
    import seaborn

    random = numpy.random.default_rng(7)
    days = ["Thu", "Fri", "Sat", "Sun"]
    bills = pandas.DataFrame({
        "day": numpy.repeat(days, 30),
        "total_bill": numpy.concatenate([random.normal(mean, 5, 30)
                                         for mean in (17, 17, 20, 21)])})
    seaborn.set_theme()
    figure, axes = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    seaborn.barplot(bills, x="day", y="total_bill", ax=axes)
    axes.set_title(SEABORN_TEXT["title"])
    axes.set_xlabel(SEABORN_TEXT["x-label"])
    axes.set_ylabel(SEABORN_TEXT["y-label"])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def write_seaborn_notebook(path: Path) -> None:
    """A notebook whose first cell shows the seaborn plot."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    plot = nbformat.v4.new_code_cell(SEABORN_SOURCE, execution_count=1)
    plot.outputs = [nbformat.v4.new_output(
        "display_data", data={"image/png": base64.b64encode(seaborn_png()).decode(),
                              "text/plain": "<Figure size 640x480 with 1 Axes>"})]
    nb.cells = [plot]
    nbformat.write(nb, path)


def write_notebook(path: Path, markdown: str = "# Real terminal check") -> None:
    """The notebook: a markdown cell, the plot as a cell's output, and a cell below it."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    plot = nbformat.v4.new_code_cell("plot_units()", execution_count=1)
    plot.outputs = [nbformat.v4.new_output(
        "display_data", data={"image/png": base64.b64encode(plot_png()).decode(),
                              "text/plain": "<Figure size 600x300 with 1 Axes>"})]
    nb.cells = [nbformat.v4.new_markdown_cell(markdown), plot,
                nbformat.v4.new_code_cell(NEXT_SOURCE)]
    nbformat.write(nb, path)


def poll(condition: Callable[[], Any], what: str, deadline: float = DEADLINE) -> Any:
    """condition()'s first truthy value, asked every 0.2 s; RuntimeError after `deadline`."""
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


@contextlib.contextmanager
def x_server() -> Iterator[str]:
    """A private Xvfb; yields its DISPLAY."""
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0",
                               "1920x1200x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        with os.fdopen(read) as answer:
            number = answer.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        display = f":{number}"
        # Xvfb may name its display a moment before it takes connections: a terminal started
        # at once then ends with "Can't open display" (seen with two runs at a time).
        poll(lambda: subprocess.run(["xdotool", "getdisplaygeometry"],
                                    env={**os.environ, "DISPLAY": display},
                                    capture_output=True).returncode == 0,
             f"Xvfb to take connections on {display}", 10)
        yield display
    finally:
        server.terminate()
        server.wait(10)


def _window_appears(xterm: subprocess.Popen[bytes], display: str, name: str) -> bool:
    """Whether the terminal's window appears (False: the terminal ended first)."""
    try:
        Window(display, xterm, name)
    except RuntimeError:
        if xterm.poll() is None:
            raise
        return False
    return True


class Window:
    """A terminal's window on a display (`xterm`: the terminal's process)."""

    def __init__(self, display: str, xterm: subprocess.Popen[bytes], name: str) -> None:
        self.env = {**os.environ, "DISPLAY": display}
        self.xterm = xterm
        self.id = poll(lambda: self._search(name), f"the {name} window")

    def _search(self, name: str) -> str:
        if self.xterm.poll() is not None:
            raise RuntimeError(f"{name}: {self.xterm.args[0]} ended (status "
                               f"{self.xterm.returncode}) before its window was seen")
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--classname", name],
                               env=self.env, capture_output=True, text=True).stdout.split()
        return found[0] if found else ""

    def screenshot(self, path: Path | None = None) -> Image.Image:
        """The window's pixels (also written to `path`)."""
        shot = subprocess.run(["import", "-window", self.id, "png:-"], env=self.env,
                              capture_output=True)
        if shot.returncode:
            ended = self.xterm.poll()
            raise RuntimeError(f"no screenshot of the window ({shot.stderr.decode().strip()})"
                               + (f"; {self.xterm.args[0]} ended with status {ended}"
                                  if ended is not None else ""))
        data = shot.stdout
        picture = Image.open(io.BytesIO(data)).convert("RGB")
        if path is not None:
            picture.save(path)
        return picture

    def keys(self, *keys: str) -> None:
        """Press keys in the window (through XTEST, as a person would)."""
        subprocess.run(["xdotool", "windowfocus", "--sync", self.id], env=self.env, check=True)
        for key in keys:
            subprocess.run(["xdotool", "key", "--delay", "50", key], env=self.env, check=True)

    def press(self, *keys: str, until: Callable[[Image.Image], Any] = bool) -> Image.Image:
        """Press keys; the window's pixels once they changed, show what `until` looks for and
        are still again."""
        before = self.screenshot().tobytes()
        self.keys(*keys)

        def answered() -> bool:
            shot = self.screenshot()
            return shot.tobytes() != before and bool(until(shot))

        poll(answered, f"the window to answer {keys}")
        return self.still()

    def still(self) -> Image.Image:
        """The window's pixels once they have not changed for QUIET seconds."""
        last = [self.screenshot(), time.monotonic()]

        def unchanged() -> Image.Image | None:
            shot = self.screenshot()
            if shot.tobytes() != last[0].tobytes():
                last[:] = [shot, time.monotonic()]
            return shot if time.monotonic() - last[1] >= QUIET else None

        return poll(unchanged, "the window to stop changing")


def amber_box(picture: Image.Image) -> tuple[int, int, int, int] | None:
    """The bounding box (left, top, right, bottom) of the amber pixels, if any."""
    pixels = numpy.asarray(picture, dtype=numpy.int16)
    amber = (numpy.abs(pixels - numpy.array(AMBER, dtype=numpy.int16)) < 40).all(axis=2)
    rows, columns = numpy.nonzero(amber)
    if not len(rows):
        return None
    return int(columns.min()), int(rows.min()), int(columns.max()) + 1, int(rows.max()) + 1


def next_prompt_row(picture: Image.Image, top: int, cell: tuple[int, int]) -> int | None:
    """The pixel row where the first prompt (`[ ]`) below pixel row `top` starts.

    Prompts are drawn left of the picture's columns, so the picture cannot hide them: their
    rows are where the prompt column stops being plain background.
    """
    cell_w, cell_h = cell
    # Right of the selection gutter, above the status bar.
    strip = numpy.asarray(picture.crop((cell_w, top, 7 * cell_w, picture.height - cell_h)),
                          dtype=numpy.int16)
    background = strip[0, 0]
    marked = numpy.nonzero((strip != background).any(axis=2).any(axis=1))[0]
    return top + int(marked[0]) if len(marked) else None


def check_picture(name: str, picture: Image.Image, cell: tuple[int, int]) -> list[str]:
    """What is wrong with where the plot is in a screenshot (nothing: an empty list)."""
    box = amber_box(picture)
    if box is None:
        return [f"{name}: no plot on screen"]
    cell_w, cell_h = cell
    left, top, right, bottom = box
    columns, rows = _fit(*PLOT_PIXELS, COLUMNS, cell)
    problems = []
    if left % cell_w:
        problems.append(f"{name}: the plot starts at pixel column {left}, not on a cell's "
                        f"edge ({cell_w}x{cell_h} cells)")
    # The slot's top is the top of the cell row the amber starts in: xterm draws a few rows of
    # textual-image's sixel pictures in a wrong colour (black), sometimes the first ones.
    top -= top % cell_h
    slot_right, slot_bottom = left + columns * cell_w, top + rows * cell_h
    if right > slot_right or bottom > slot_bottom:
        problems.append(f"{name}: the plot takes {right - left}x{bottom - top} pixels, more "
                        f"than its {columns}x{rows} cells ({columns * cell_w}x{rows * cell_h})")
    band = picture.crop((left, slot_bottom, slot_right, slot_bottom + 2 * cell_h))
    if amber_box(band) is not None:
        problems.append(f"{name}: the plot covers the two rows under its cells")
    next_row = next_prompt_row(picture, top, cell)
    if next_row is None:
        problems.append(f"{name}: the next cell's prompt is not on screen under the plot")
    else:
        line = picture.crop((left, next_row, picture.width, next_row + cell_h))
        if bottom > next_row or amber_box(line) is not None:
            problems.append(f"{name}: the plot (down to pixel row {bottom}) covers the next "
                            f"cell's first line (pixel row {next_row})")
    return problems


@dataclass(frozen=True)
class Launched:
    """nbtui running in a terminal's window."""

    window: Window
    log: Path
    """xterm's log of everything nbtui wrote."""
    server: str
    """The tmux server's socket (for a tmux terminal)."""
    tmux_config: Path
    state: Path
    """nbtui's XDG_STATE_HOME (its logs are in nbtui/logs)."""


@contextlib.contextmanager
def launched(terminal: Terminal, display: str, notebook: Path, out: Path) -> Iterator[Launched]:
    """nbtui on the notebook in the terminal's window (inside tmux for a tmux terminal), ended
    afterwards.

    A RuntimeError raised inside gets the terminal's last lines when nbtui ended early, and a
    screenshot of the window is left in `out` as real-NAME-failed.png.
    """
    state = Path(tempfile.mkdtemp(prefix="nbtui-real-"))
    # HOME and XDG_CONFIG_HOME in it: no configuration of the machine's user (nbtui's, kitty's)
    # changes what is checked.
    env = {"PATH": os.environ["PATH"], "HOME": str(state), "XDG_STATE_HOME": str(state),
           "XDG_CONFIG_HOME": str(state / "config"), "XDG_RUNTIME_DIR": str(state),
           "LANG": "C.UTF-8", "TZ": "UTC"}
    if terminal.images:
        env["NBTUI_IMAGES"] = terminal.images
    command = [NBTUI, "--no-agent", str(notebook)]
    if not terminal.light:
        # xterm does not pass COLORTERM on: without it nbtui would draw in 16 colours.
        env["COLORTERM"] = "truecolor"
        command = ["env", "COLORTERM=truecolor", *command]
    # A socket of its own, not tmux's default directory: runs in parallel stay apart.
    server = str(state / "tmux.sock")
    tmux_config = state / "tmux.conf"
    tmux_config.write_text("set -g status off\nset -g default-terminal tmux-256color\n")
    if terminal.tmux:
        command = ["tmux", "-S", server, "-f", str(tmux_config), "new-session", "-x",
                   str(COLUMNS), "-y", str(ROWS), *[f"-e{k}={v}" for k, v in env.items()],
                   *command]
    name = f"nbtui-{terminal.name}-{uuid.uuid4().hex[:6]}"
    log = state / "xterm.log"
    errors = state / "xterm.err"
    for attempt in range(2):
        with errors.open("wb") as error_file:
            xterm = subprocess.Popen(terminal.command(name, log, command),
                                     env={**env, "DISPLAY": display, "TERM": "xterm"},
                                     stdout=subprocess.DEVNULL, stderr=error_file,
                                     start_new_session=True)
        if attempt or _window_appears(xterm, display, name):
            break
        # Seen about once in a dozen runs under load: xterm exits with status 1 before it
        # maps its window. Said on stderr and tried once more; a second failure is reported.
        print(f"{terminal.name}: {xterm.args[0]} ended (status {xterm.returncode}) before its "
              f"window appeared; starting it again. It said: "
              f"{errors.read_text(errors='replace').strip() or 'nothing'}", file=sys.stderr)
    try:
        yield Launched(Window(display, xterm, name), log, server, tmux_config, state)
    except RuntimeError as exc:
        details = str(exc)
        if xterm.poll() is not None and log.exists():
            text = re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|[^\[])", "", log.read_text(errors="replace"))
            details += (f"\n{terminal.name}: the terminal's last lines:\n"
                        + "\n".join(text.strip().splitlines()[-8:]))
        if xterm.poll() is not None and errors.read_bytes().strip():
            details += (f"\n{terminal.name}: {xterm.args[0]} said: "
                        + errors.read_text(errors="replace").strip())
        if xterm.poll() is None:
            with contextlib.suppress(Exception):
                Window(display, xterm, name).screenshot(out / f"real-{terminal.name}-failed.png")
        raise RuntimeError(details) from exc
    finally:
        if terminal.tmux:
            subprocess.run(["tmux", "-S", server, "kill-server"], capture_output=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(xterm.pid, signal.SIGTERM)
        try:
            xterm.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(xterm.pid, signal.SIGKILL)
            xterm.wait()
        shutil.rmtree(state, ignore_errors=True)


def run_terminal(terminal: Terminal, display: str, notebook: Path, out: Path) -> list[str]:
    """Open the notebook in one terminal, take its screenshots and check them."""
    problems: list[str] = []
    try:
        with launched(terminal, display, notebook, out) as run:
            window = run.window
            poll(lambda: amber_box(window.screenshot()), f"{terminal.name}: the plot drawn")
            before = window.still()
            before.save(out / f"real-{terminal.name}.png")
            cell = (before.width // COLUMNS, before.height // ROWS)
            problems += check_picture(terminal.name, before, cell)
            sent = sixels_sent(run.log)
            after = window.press("j", "j")
            after.save(out / f"real-{terminal.name}-after-keys.png")
            problems += [f"{problem} (after keys)" for problem
                         in check_picture(terminal.name, after, cell)]
            if amber_box(after) != amber_box(before):
                problems.append(f"{terminal.name}: the plot changed after keys that do not "
                                f"move it: {amber_box(before)} then {amber_box(after)}")
            if sixels_sent(run.log) != sent:
                problems.append(f"{terminal.name}: the sixel picture was sent "
                                f"{sixels_sent(run.log) - sent} more times after keys that do "
                                "not move it")
            problems += check_full_screen(terminal.name, window, out, before, terminal.sixel)
            if terminal.tmux:
                problems += check_tmux_text(run.server, run.tmux_config)
            if terminal.kitty:
                problems += check_kitty_fallback(run.state)
    except RuntimeError as exc:
        problems.append(str(exc))
    return problems


def image_modes_logged(state: Path) -> list[str]:
    """nbtui's "Images: MODE (REASON)" log lines in a run's XDG_STATE_HOME."""
    return [line.split("Images: ", 1)[1] for log in (state / "nbtui" / "logs").glob("*")
            for line in log.read_text(errors="replace").splitlines() if "Images: " in line]


def check_kitty_fallback(state: Path) -> list[str]:
    """nbtui chose symbols, and only symbols, because this kitty is older than 0.28."""
    modes = image_modes_logged(state)
    if not any(KITTY_FALLBACK.search(f"Images: {mode}") for mode in modes) or any(
            not mode.startswith("symbols ") for mode in modes):
        return [f"kitty: nbtui did not log that it draws symbols because kitty is older than "
                f"0.28; it logged: {modes}"]
    return []


def read_markdown(shot: Image.Image, bottom: int) -> str:
    """The words tesseract reads in a screenshot's rows above pixel row `bottom`, on one line
    (enlarged twice first: tesseract reads 20-pixel rows of text poorly)."""
    picture = shot.convert("L").crop((0, 0, shot.width, bottom))
    picture = picture.resize((picture.width * 2, picture.height * 2), Image.Resampling.LANCZOS)
    png = io.BytesIO()
    picture.save(png, format="PNG")
    read = subprocess.run(["tesseract", "stdin", "stdout", "--psm", "6"], input=png.getvalue(),
                          capture_output=True, check=True)
    return " ".join(read.stdout.decode(errors="replace").split())


def check_light(display: str, notebook: Path, out: Path) -> list[str]:
    """In a black-on-white xterm in 16 colours, nbtui on the notebook written with
    LIGHT_SENTENCE: see check_light_screenshot. Screenshot: real-16-colour-light.png."""
    try:
        with launched(LIGHT, display, notebook, out) as run:
            window = run.window
            cell = [0, 0]

            def drawn() -> Image.Image | None:
                shot = window.screenshot()
                cell[:] = [shot.width // COLUMNS, shot.height // ROWS]
                prompt = next_prompt_row(shot, 0, (cell[0], cell[1]))
                return shot if prompt is not None and next_prompt_row(
                    shot, prompt + cell[1], (cell[0], cell[1])) is not None else None

            poll(drawn, "16-colour-light: the plot's cell and the next cell drawn")
            shot = window.still()
            shot.save(out / "real-16-colour-light.png")
    except RuntimeError as exc:
        return [str(exc)]
    return check_light_screenshot(shot, (cell[0], cell[1]))


def check_light_screenshot(shot: Image.Image, cell: tuple[int, int]) -> list[str]:
    """The markdown sentence is read by tesseract and the plot's cells hold a picture in at
    least two colours, not a few specks.

    The plot's cells are the rows between its cell's prompt and the next cell's prompt, right
    of the prompts; at least PICTURE_SHARE of their pixels must differ from the background, with
    at least two colours each on COLOUR_SHARE of them.
    """
    problems: list[str] = []
    cell_w, cell_h = cell
    prompt = next_prompt_row(shot, 0, cell)
    next_row = next_prompt_row(shot, prompt + cell_h, cell) if prompt is not None else None
    if prompt is None or next_row is None:
        return ["16-colour-light: the plot's cell or the next cell is not on screen"]
    text = read_markdown(shot, prompt)
    if LIGHT_SENTENCE.lower() not in text.lower():
        problems.append(f"16-colour-light: the markdown {LIGHT_SENTENCE!r} is not read in "
                        f"real-16-colour-light.png (read: {text!r})")
    pixels = numpy.asarray(shot.crop((7 * cell_w, prompt + cell_h, shot.width, next_row)))
    colours, counts = numpy.unique(pixels.reshape(-1, 3), axis=0, return_counts=True)
    background = numpy.asarray(max(shot.getcolors(shot.width * shot.height))[1])
    drawn_counts = counts[(colours != background).any(axis=1)]
    total = pixels.shape[0] * pixels.shape[1]
    distinct = int((drawn_counts >= COLOUR_SHARE * total).sum())
    if drawn_counts.sum() < PICTURE_SHARE * total or distinct < 2:
        problems.append(f"16-colour-light: the plot's cells hold {drawn_counts.sum()} of {total} "
                        f"pixels not in the background colour, {distinct} colours on "
                        f"{COLOUR_SHARE:.0%} of them or more: not a picture "
                        "(real-16-colour-light.png)")
    return problems


def read_text(shot: Image.Image, upwards: bool = False) -> str:
    """The words tesseract reads in a screenshot of the full-screen view (its bottom line left
    out), on one line; `upwards`: text that runs upwards, like a y axis label.

    The screenshot is made a little bolder first: the sextants of the fallback font do not
    quite fill their cells, and tesseract reads the thin gaps between them as ink breaks.
    """
    from PIL import ImageFilter

    picture = shot.convert("L").crop((0, 0, shot.width, shot.height - shot.height // ROWS))
    picture = picture.filter(ImageFilter.MinFilter(3))
    if upwards:
        picture = picture.rotate(-90, expand=True)
    png = io.BytesIO()
    picture.save(png, format="PNG")
    read = subprocess.run(["tesseract", "stdin", "stdout", "--psm", "6"], input=png.getvalue(),
                          capture_output=True, check=True)
    return " ".join(read.stdout.decode(errors="replace").split())


def check_readable(display: str, notebook: Path, out: Path) -> tuple[list[str], list[str]]:
    """In tmux, the seaborn plot's title and axis labels are read by OCR once zoomed to them.

    Opens the full-screen view (`I`), then for each text of SEABORN_TEXT presses the keys of
    READING_STEPS, takes a screenshot (real-readable-NAME.png) and reads it with tesseract.

    Returns:
        The problems, and a line per screenshot saying what was read.
    """
    problems: list[str] = []
    readings: list[str] = []
    try:
        with launched(READABLE, display, notebook, out) as run:
            window = run.window
            poll(lambda: SEABORN_SOURCE in subprocess.run(
                ["tmux", "-S", run.server, "capture-pane", "-p"], capture_output=True,
                text=True).stdout, "the notebook in tmux")
            window.still().save(out / "real-readable-notebook.png")
            fit = window.press("I")
            fit.save(out / "real-readable-fit.png")
            readings.append(f"whole plot: read {read_text(fit)!r}")
            for name, keys, upwards in READING_STEPS:
                shot = window.press(*keys)
                shot.save(out / f"real-readable-{name}.png")
                text = read_text(shot, upwards)
                readings.append(f"{name}: read {text!r}")
                if SEABORN_TEXT[name].lower() not in text.lower():
                    problems.append(f"readable: the {name} {SEABORN_TEXT[name]!r} is not read "
                                    f"in real-readable-{name}.png (read: {text!r})")
    except RuntimeError as exc:
        problems.append(str(exc))
    return problems, readings


def sextant_fonts() -> list[str]:
    """The font families fontconfig knows that have the sextant characters."""
    listed = subprocess.run(["fc-list", f":charset={SEXTANT}", "family"], capture_output=True,
                            text=True).stdout
    return sorted(set(listed.split()))


def sixels_sent(log: Path) -> int:
    """How many sixel pictures xterm received so far (from its log of everything it read)."""
    return len(SIXEL_START.findall(log.read_bytes())) if log.exists() else 0


def check_full_screen(name: str, window: Window, out: Path, notebook: Image.Image,
                      sixel: bool) -> list[str]:
    """`I` on the plot's cell shows the plot filling the window (a sixel picture: as far as
    xterm draws sixel pictures); `esc` brings the notebook back with the plot where it was."""
    problems = []
    full = window.press("k", "I", until=amber_box)
    full.save(out / f"real-{name}-full-screen.png")
    box = amber_box(full)
    room = (full.width, full.height - full.height // ROWS)
    if sixel:
        room = (min(room[0], SIXEL_MAX_PIXELS[0]), min(room[1], SIXEL_MAX_PIXELS[1]))
    if box is None:
        problems.append(f"{name}: the full-screen view shows no plot")
    elif box[2] - box[0] < 0.9 * room[0] and box[3] - box[1] < 0.9 * room[1]:
        problems.append(f"{name}: the full-screen view's plot takes only {box[2] - box[0]}x"
                        f"{box[3] - box[1]} of {room[0]}x{room[1]} pixels")
    back = window.press("Escape", until=amber_box)
    if amber_box(back) != amber_box(notebook):
        problems.append(f"{name}: after the full-screen view the plot is at {amber_box(back)}, "
                        f"not at {amber_box(notebook)}")
    return problems


def check_tmux_text(server: str, config: Path) -> list[str]:
    """In tmux: the next cell's source is on screen, on a line of its own under the plot."""
    text = subprocess.run(["tmux", "-S", server, "-f", str(config), "capture-pane", "-p"],
                          capture_output=True, text=True).stdout
    if NEXT_SOURCE not in text:
        return [f"tmux: the next cell's source is not on screen:\n{text}"]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--short", action="store_true", help="sixel, symbols and tmux only")
    which.add_argument("--readable", action="store_true",
                       help="only the seaborn plot's labels read by OCR once zoomed, in tmux")
    which.add_argument("--kitty", action="store_true",
                       help="only kitty (nbtui falls back to symbols in kitty before 0.28)")
    which.add_argument("--light", action="store_true",
                       help="only the 16-colour xterm on a light background")
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots" / "real",
                        help="where the PNGs go (default: screenshots/real)")
    args = parser.parse_args(argv)
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        print(f"missing programs: {', '.join(missing)} (Debian: apt-get install xvfb xterm "
              "xdotool imagemagick tmux)", file=sys.stderr)
        return 2
    only = args.short or args.readable or args.kitty or args.light
    readable = args.readable or not only
    kitty = args.kitty or not only
    light = args.light or not only
    if kitty and shutil.which("kitty") is None:
        print("missing program: kitty (Debian: apt-get install kitty)", file=sys.stderr)
        return 2
    if readable or light:
        missing = [tool for tool in READABLE_TOOLS if shutil.which(tool) is None]
        if missing:
            print(f"missing programs: {', '.join(missing)} (Debian: apt-get install "
                  "tesseract-ocr fontconfig)", file=sys.stderr)
            return 2
        if not sextant_fonts():
            print(f"no font has the sextant characters (U+{SEXTANT.upper()}); Debian: apt-get "
                  "install fonts-unifont", file=sys.stderr)
            return 2
    args.out.mkdir(parents=True, exist_ok=True)
    terminals = ([t for t in TERMINALS if not args.short or t.name in SHORT]
                 if args.short or not only else [])
    if kitty:
        terminals.append(KITTY)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="nbtui-real-") as work, x_server() as display:
        notebook = Path(work) / "plot.ipynb"
        write_notebook(notebook)
        for terminal in terminals:
            started = time.monotonic()
            found = run_terminal(terminal, display, notebook, args.out)
            problems += found
            print(f"{terminal.name}: {'ok' if not found else 'FAILED'} "
                  f"({time.monotonic() - started:.1f} s)")
        if readable:
            started = time.monotonic()
            seaborn_notebook = Path(work) / "seaborn.ipynb"
            write_seaborn_notebook(seaborn_notebook)
            found, readings = check_readable(display, seaborn_notebook, args.out)
            problems += found
            print(f"{READABLE.name}: {'ok' if not found else 'FAILED'} "
                  f"({time.monotonic() - started:.1f} s)")
            for reading in readings:
                print(f"  {reading}")
        if light:
            started = time.monotonic()
            light_notebook = Path(work) / "light.ipynb"
            write_notebook(light_notebook, LIGHT_SENTENCE)
            found = check_light(display, light_notebook, args.out)
            problems += found
            print(f"{LIGHT.name}: {'ok' if not found else 'FAILED'} "
                  f"({time.monotonic() - started:.1f} s)")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
