"""How images are shown: the terminal's way, chosen from the environment, and what each draws."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image, ImageDraw
from rich.console import Console
from tui_helpers import running_app, screen_text, wait_until

from nbtui.core.document import KERNEL, Cell
from nbtui.tui.widgets import images
from nbtui.tui.widgets.cell_render import CellPainter, Palette
from nbtui.tui.widgets.images import (
    KittyImages,
    detect_image_mode,
    fit_picture,
    image_lines,
    kitty_transmit,
)
from nbtui.tui.widgets.notebook_view import PROMPT_WIDTH, NotebookView

PLACEHOLDER = "\U0010eeee"


class Terminal:
    """Stands for a terminal (an app) that pictures are sent to."""


TERMINAL = Terminal()


def picture(width: int = 80, height: int = 40, colour: tuple[int, int, int] = (200, 30, 30),
            ) -> Image.Image:
    """A plain picture of one colour."""
    return Image.new("RGB", (width, height), colour)


def png_bytes(image: Image.Image) -> bytes:
    """The picture as PNG bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def restore_image_settings() -> Iterator[None]:
    """Each test may force a mode or a cell size; the next test gets the old ones back."""
    cell_size = images.set_cell_size(10, 20)
    mode = images.set_image_mode(None)
    yield
    images.set_image_mode(mode)
    images.set_cell_size(*cell_size)


# -- choosing the way ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["symbols", "halfblock", "kitty", "sixel", "none"])
def test_nbtui_images_overrides_the_detection(mode: str) -> None:
    """NBTUI_IMAGES=MODE is obeyed even where detection would say otherwise (inside tmux)."""
    env = {"NBTUI_IMAGES": mode.upper(), "TMUX": "/tmp/tmux-1/default,1,0", "TERM": "screen"}
    assert detect_image_mode(env).mode == mode


def test_nbtui_images_auto_or_unknown_detects() -> None:
    """NBTUI_IMAGES=auto detects; an unknown value detects too and the reason names it."""
    assert detect_image_mode({"NBTUI_IMAGES": "auto", "TERM": "xterm-kitty"}).mode == "kitty"
    support = detect_image_mode({"NBTUI_IMAGES": "ascii", "TERM": "xterm-kitty"})
    assert support.mode == "kitty" and "NBTUI_IMAGES=ascii" in support.reason


@pytest.mark.parametrize("env", [
    {"TMUX": "/tmp/tmux-1000/default,4242,0", "TERM": "xterm-kitty"},
    {"TMUX": "/tmp/tmux-1000/default,4242,0", "KITTY_WINDOW_ID": "1", "TERM": "tmux-256color"},
    {"TMUX": "/tmp/tmux-1000/default,4242,0", "TERM_PROGRAM": "WezTerm"},
    {"TERM": "screen-256color", "KITTY_WINDOW_ID": "3"},
    {"TERM": "tmux-256color", "TERM_PROGRAM": "iTerm.app"},
    {"STY": "1234.pts-0.box", "TERM": "xterm-kitty"},
    {"ZELLIJ": "0", "TERM": "xterm-kitty"},
])
def test_multiplexers_get_text_symbols(env: dict[str, str]) -> None:
    """Inside tmux (or screen, zellij) images are drawn with text symbols, whatever the outer
    terminal."""
    assert detect_image_mode(env).mode == "symbols"


def test_kitty_is_recognised_by_its_term_also_over_ssh() -> None:
    """TERM=xterm-kitty means the kitty protocol, also over SSH where nothing else is set."""
    env = {"TERM": "xterm-kitty", "SSH_CONNECTION": "10.0.0.2 50000 10.0.0.9 22"}
    assert detect_image_mode(env, pixel_size_known=False).mode == "kitty"


def test_kitty_window_id_counts_only_without_another_terminal_program() -> None:
    """KITTY_WINDOW_ID means kitty unless TERM_PROGRAM names another terminal started from it."""
    assert detect_image_mode({"KITTY_WINDOW_ID": "2", "TERM": "xterm-256color"}).mode == "kitty"
    other = {"KITTY_WINDOW_ID": "2", "TERM": "xterm-256color", "TERM_PROGRAM": "vscode"}
    assert detect_image_mode(other).mode == "symbols"
    wezterm = {"KITTY_WINDOW_ID": "2", "TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}
    assert detect_image_mode(wezterm).mode == "sixel"


@pytest.mark.parametrize("program", ["WezTerm", "iTerm.app"])
def test_sixel_terminals_get_sixel_only_with_a_known_cell_size(program: str) -> None:
    """WezTerm and iTerm2 mean sixel, unless the terminal does not report its cell's pixels."""
    env = {"TERM": "xterm-256color", "TERM_PROGRAM": program}
    assert detect_image_mode(env, pixel_size_known=True).mode == "sixel"
    unsized = detect_image_mode(env, pixel_size_known=False)
    assert unsized.mode == "symbols" and "pixels" in unsized.reason


@pytest.mark.parametrize("env", [
    {}, {"TERM": "xterm-256color"}, {"TERM": "xterm-256color", "TERM_PROGRAM": "vscode"},
    {"TERM": "xterm-256color", "TERM_PROGRAM": "Apple_Terminal"}, {"TERM": "alacritty"},
])
def test_unknown_terminals_get_text_symbols(env: dict[str, str]) -> None:
    """Terminals without a known graphics protocol get text symbols, which work wherever text
    does."""
    assert detect_image_mode(env).mode == "symbols"


def test_fit_picture_sizes_a_picture_in_cells() -> None:
    """A picture takes its pixels divided by the cell size, narrowed to the room there is, and
    at most MAX_IMAGE_ROWS lines; bytes that are no picture give None."""
    fitted = fit_picture(png_bytes(picture(200, 100)), 80)
    assert fitted is not None and (fitted.columns, fitted.rows) == (20, 5)
    assert fitted.pixels == (200, 100)
    narrow = fit_picture(png_bytes(picture(200, 100)), 10)
    assert narrow is not None and (narrow.columns, narrow.rows) == (10, 2)
    tall = fit_picture(png_bytes(picture(100, 2000)), 80)
    assert tall is not None and tall.rows == images.MAX_IMAGE_ROWS
    assert fit_picture(b"not a picture", 80) is None


# -- what each way draws ---------------------------------------------------------------------


def test_kitty_lines_are_placeholders_coloured_with_the_image_id() -> None:
    """Each line holds one placeholder per column, with its row and column diacritics, in the
    colour that is the image's id."""
    kitty = KittyImages(write=lambda sequence: True, terminal=lambda: TERMINAL)
    lines = kitty.lines(picture(), 8, 2)
    image_id = kitty.image_id(picture(), 8, 2)
    marks = images._diacritics()
    assert len(lines) == 2
    for row, line in enumerate(lines):
        (segment,) = line
        assert segment.cell_length == 8
        assert segment.text == "".join(PLACEHOLDER + chr(marks[row]) + chr(marks[col])
                                       for col in range(8))
        assert segment.style.color.triplet == ((image_id >> 16) & 255, (image_id >> 8) & 255,
                                               image_id & 255)


def test_kitty_picture_is_sent_once_per_terminal() -> None:
    """A picture is sent the first time a terminal shows it, not again; a new terminal gets it
    again, and a failed write is retried."""
    sent: list[str] = []
    terminal = [Terminal()]
    accept = [False]

    def write(sequence: str) -> bool:
        if accept[0]:
            sent.append(sequence)
        return accept[0]

    kitty = KittyImages(write=write, terminal=lambda: terminal[0])
    kitty.lines(picture(), 8, 2)
    assert sent == []
    accept[0] = True
    kitty.lines(picture(), 8, 2)
    kitty.lines(picture(), 8, 2)
    assert len(sent) == 1
    terminal[0] = Terminal()
    kitty.lines(picture(), 8, 2)
    assert len(sent) == 2


def test_distinct_pictures_get_distinct_ids() -> None:
    """The same picture at the same size keeps its id; another picture or size gets another."""
    kitty = KittyImages(write=lambda sequence: True, terminal=lambda: TERMINAL)
    red = kitty.image_id(picture(), 8, 2)
    assert kitty.image_id(picture(), 8, 2) == red
    assert kitty.image_id(picture(colour=(0, 0, 200)), 8, 2) != red
    assert kitty.image_id(picture(), 16, 4) != red
    assert 0 < red < 1 << 24


def test_kitty_transmit_follows_the_protocol() -> None:
    """The PNG goes in 4096-character chunks (keys on the first only, m=1 until the last), then
    a virtual placement of the image's cells; nothing asks the terminal to answer."""
    payload = bytes(range(256)) * 40
    sequence = kitty_transmit(77, payload, 12, 3)
    commands = re.findall(r"\x1b_G([^;]*);?(.*?)\x1b\\", sequence)
    *chunks, placement = commands
    assert chunks[0][0] == "a=t,f=100,t=d,i=77,q=2,m=1"
    assert [keys for keys, _ in chunks[1:]] == ["m=1,q=2"] * (len(chunks) - 2) + ["m=0,q=2"]
    assert all(len(data) <= 4096 for _, data in chunks)
    assert base64.standard_b64decode("".join(data for _, data in chunks)) == payload
    assert placement == ("a=p,U=1,i=77,c=12,r=3,q=2", "")


def test_kitty_sends_the_picture_at_the_size_of_its_cells() -> None:
    """The PNG sent is the picture scaled to columns x rows cells of the known pixel size."""
    sent: list[str] = []
    kitty = KittyImages(write=lambda s: sent.append(s) is None, terminal=lambda: TERMINAL)
    kitty.lines(picture(300, 100), 6, 2)
    data = "".join(re.findall(r"\x1b_G[^;]*;([^\x1b]*)\x1b\\", sent[0]))
    with Image.open(io.BytesIO(base64.standard_b64decode(data))) as sent_picture:
        assert sent_picture.size == (60, 40)


def rendered(mode: str, color_system: str) -> str:
    """The text of an 80x40 picture drawn in `mode` on a console with `color_system`."""
    images.set_image_mode(mode)  # type: ignore[arg-type]
    console = Console(color_system=color_system, width=100, force_terminal=True)  # type: ignore[arg-type]
    lines = image_lines(png_bytes(picture()), console, console.options, 40)
    assert lines is not None
    return "\n".join("".join(segment.text for segment in line) for line in lines)


def test_kitty_needs_true_colour_else_half_blocks() -> None:
    """Kitty placeholders are drawn only where colours stay exact (they are the image id);
    a 256-colour console gets half blocks."""
    assert PLACEHOLDER in rendered("kitty", "truecolor")
    text = rendered("kitty", "256")
    assert PLACEHOLDER not in text and "▀" in text


def diagonal(width: int = 300, height: int = 200) -> Image.Image:
    """A white picture crossed by a thin dark diagonal line and a small dark square."""
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.line((0, height - 1, width - 1, 0), fill=(20, 20, 20), width=3)
    draw.rectangle((20, 20, 50, 40), fill=(200, 30, 30))
    return image


def glyphs(text: str) -> set[str]:
    return set(text) - {"\n"}


def test_symbols_use_more_than_half_blocks_and_keep_the_size() -> None:
    """Text symbols draw a picture in exactly the cells it was fitted to, with strokes,
    quadrants and other shapes where half blocks have only two; the colours are the
    picture's."""
    images.set_image_mode("symbols")
    console = Console(color_system="truecolor", width=100, force_terminal=True)
    lines = image_lines(png_bytes(diagonal()), console, console.options, 30)
    assert lines is not None and len(lines) == 10
    assert {sum(segment.cell_length for segment in line) for line in lines} == {30}
    text = "\n".join("".join(segment.text for segment in line) for line in lines)
    assert len(glyphs(text)) > len(glyphs(rendered("halfblock", "truecolor"))) + 2
    colours = {segment.style.color.triplet for line in lines for segment in line
               if segment.style and segment.style.color}
    assert (255, 255, 255) in colours or any(
        segment.style.bgcolor and segment.style.bgcolor.triplet == (255, 255, 255)
        for line in lines for segment in line if segment.style)


def test_symbols_fall_back_to_half_blocks_without_chafa(monkeypatch: pytest.MonkeyPatch) -> None:
    """If chafa cannot be loaded, pictures are drawn with half blocks instead (and no error)."""
    monkeypatch.setattr(images, "_chafa_failed", True)
    assert "▀" in rendered("symbols", "truecolor")


def test_none_shows_a_note_with_the_picture_size() -> None:
    """NBTUI_IMAGES=none shows one line saying an image is there, and its size."""
    assert rendered("none", "truecolor") == "[image, 80×40 pixels]"


def test_sixel_pictures_drawn_as_lines_are_half_blocks() -> None:
    """Drawn as lines (the view floats sixel widgets over blank slots instead), a sixel
    terminal's picture is half blocks."""
    assert "▀" in rendered("sixel", "truecolor")


def test_kitty_without_colours_draws_half_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """With NO_COLOR set, Textual strips colours, so kitty placeholders become half blocks."""
    monkeypatch.setenv("NO_COLOR", "1")
    assert PLACEHOLDER not in rendered("kitty", "truecolor")


async def test_app_sends_kitty_pictures_through_textual_and_shows_placeholders(
        notebook: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """In kitty mode, an image output arriving in the app is sent to the terminal through
    Textual's own output stream, and the screen shows its placeholder cells."""
    images.set_image_mode("kitty")
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.delenv("NO_COLOR", raising=False)
    path = notebook([("code", "plot()")])
    async with running_app(path) as (app, pilot):
        written: list[str] = []
        write = app._driver.write
        app._driver.write = lambda data: (written.append(data), write(data))[1]
        cell = app.session.document.cells[0]
        image = {"output_type": "display_data", "metadata": {},
                 "data": {"image/png": base64.b64encode(png_bytes(picture())).decode()}}
        app.session.document.set_outputs(cell.id, [image], author=KERNEL)
        await wait_until(pilot, lambda: PLACEHOLDER in screen_text(app), what="placeholders")
        transmissions = [data for data in written if data.startswith("\x1b_G")]
        assert len(transmissions) == 1 and "a=p,U=1" in transmissions[0]


# -- source lines cut at the edge (not images, but drawn by the same painter) -----------------


def test_a_source_line_cut_at_the_edge_ends_with_a_dim_ellipsis() -> None:
    """A source line wider than the view ends with a dim "…" in its last column; a line that
    fits exactly does not."""
    painter = CellPainter(Console(width=100), Palette())
    cell = Cell(id="c1", cell_type="code", source="a" * 30 + "\n" + "b" * 20)
    long, exact = painter.source(cell, 20, "python")
    assert long.text == "a" * 19 + "…" and long.cell_length == 20
    *_, mark = long
    assert mark.text.endswith("…") and mark.style is not None and mark.style.dim
    assert exact.text == "b" * 20


async def test_cut_source_lines_show_the_ellipsis_on_screen(notebook: Any) -> None:
    """In a cell that is not being edited, a long line ends with "…" at the view's edge."""
    path = notebook([("code", "x = 1"), ("code", "value = " + "1 + " * 60 + "1")])
    async with running_app(path) as (app, pilot):
        view = app.query_one(NotebookView)
        await wait_until(pilot, lambda: "…" in view.visible_text(), what="the ellipsis")
        lines = view.visible_text().splitlines()
        assert lines[2].endswith("…") and len(lines[2]) == PROMPT_WIDTH + view.content_width
        assert not lines[0].endswith("…")


def test_pictures_are_sized_for_the_terminals_own_cell_size(tmp_path) -> None:
    """In a terminal that reports 8x17-pixel cells (TIOCGWINSZ), pictures are sized for 8x17,
    not the 10x20 guess: a 160x170 picture takes 20 columns and 10 rows."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    controller, terminal = pty.openpty()
    # 24 rows x 80 columns of 8x17 pixels.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 640, 408))
    result = tmp_path / "size.txt"
    code = (
        "import io, sys\n"
        "from PIL import Image\n"
        "from nbtui.tui.widgets import images\n"
        "images.prepare_images()\n"
        "buffer = io.BytesIO(); Image.new('RGB', (160, 170)).save(buffer, format='PNG')\n"
        "fitted = images.fit_picture(buffer.getvalue(), 80)\n"
        f"size = f'{{images._cell_size()}} {{fitted.columns}}x{{fitted.rows}}'\n"
        f"open({str(result)!r}, 'w').write(size)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], stdin=terminal, stdout=terminal,
                          stderr=subprocess.PIPE, timeout=60, env=dict(os.environ))
    os.close(terminal)
    os.close(controller)
    assert proc.returncode == 0, proc.stderr.decode()
    assert result.read_text() == "(8, 17) 20x10"
