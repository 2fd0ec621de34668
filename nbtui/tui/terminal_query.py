"""Asking the terminal what it can draw, once, before the app takes it over.

The environment says which terminal this probably is; the terminal itself knows. Before Textual
starts, nbtui writes a few queries and reads the answers for at most half a second:

- kitty graphics (`ESC _G … a=q`): answered `OK` by terminals that draw kitty images;
- XTVERSION (`ESC [>0q`): the terminal's name and version, e.g. `kitty(0.26.5)`; kitty draws
  the unicode placeholders nbtui uses only from 0.28;
- the background colour (OSC 11): a light background gets a light theme, so text stays
  readable;
- DA1 (`ESC [c`) last: every terminal answers it, so its answer ends the wait, and a `4` among
  its attributes means sixel graphics.

Nothing is asked inside tmux, screen or zellij (they answer for themselves, not for the
terminal the picture would reach) or when stdin and stdout are not the same terminal.
"""

from __future__ import annotations

import logging
import os
import re
import select
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass

from nbtui.tui.widgets.images import ImageSupport, detect_image_mode

log = logging.getLogger(__name__)

QUERY = (
    "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
    "\x1b[>0q"
    "\x1b]11;?\x1b\\"
    "\x1b[c"
)

ANSWER_SECONDS = 0.5
"""How long the terminal gets to answer (a terminal that answers nothing costs this once)."""

KITTY_PLACEHOLDERS_SINCE = (0, 28)
"""The kitty version that first draws unicode placeholders (0.26 shows empty boxes)."""

_DA1 = re.compile(rb"\x1b\[\?([0-9;]*)c")
_KITTY_OK = re.compile(rb"\x1b_Gi=31;OK\x1b\\")
_XTVERSION = re.compile(rb"\x1bP>\|([^\x1b]*)\x1b\\")
_BACKGROUND = re.compile(rb"\x1b\]11;rgb:([0-9a-fA-F]+)/([0-9a-fA-F]+)/([0-9a-fA-F]+)"
                         rb"(?:\x1b\\|\x07)")


@dataclass(frozen=True)
class TerminalAnswers:
    """What the terminal said about itself."""

    answered: bool
    """Whether it answered at all (DA1)."""
    kitty_graphics: bool = False
    version: str = ""
    """Its XTVERSION answer, e.g. `kitty(0.26.5)` or `XTerm(379)`; "" when it gave none."""
    sixel: bool = False
    background: tuple[int, int, int] | None = None
    """The background colour, 0-255 a channel."""

    @property
    def kitty_version(self) -> tuple[int, ...] | None:
        """kitty's version, when the terminal says it is kitty."""
        match = re.fullmatch(r"kitty\(([0-9.]+)\)", self.version)
        if match is None:
            return None
        return tuple(int(part) for part in match.group(1).split(".") if part)

    @property
    def light_background(self) -> bool:
        """Whether the background is light (dark text is what reads on it)."""
        if self.background is None:
            return False
        red, green, blue = self.background
        return 0.2126 * red + 0.7152 * green + 0.0722 * blue > 140


def parse_answers(data: bytes) -> TerminalAnswers:
    """What the bytes a terminal sent back to QUERY say."""
    da1 = _DA1.search(data)
    if da1 is None:
        return TerminalAnswers(answered=False)
    attributes = set(da1.group(1).split(b";"))
    version = _XTVERSION.search(data)
    background = _BACKGROUND.search(data)
    colour = None
    if background is not None:
        # Each channel is 1 to 4 hex digits, scaled to its own width.
        colour = tuple(int(part, 16) * 255 // (16 ** len(part) - 1)
                       for part in background.groups())
    return TerminalAnswers(
        answered=True,
        kitty_graphics=_KITTY_OK.search(data) is not None,
        version=version.group(1).decode("utf-8", "replace") if version else "",
        sixel=b"4" in attributes,
        background=colour,  # type: ignore[arg-type]
    )


def may_ask(environ: Mapping[str, str]) -> bool:
    """Whether asking reaches the terminal itself: a terminal on stdin and stdout, and no
    multiplexer in between."""
    if environ.get("TMUX") or environ.get("STY") or environ.get("ZELLIJ"):
        return False
    if environ.get("TERM", "").startswith(("screen", "tmux", "dumb")):
        return False
    try:
        return (os.isatty(sys.stdin.fileno()) and os.isatty(sys.stdout.fileno())
                and os.ttyname(sys.stdin.fileno()) == os.ttyname(sys.stdout.fileno()))
    except (OSError, ValueError, AttributeError):
        return False


def ask_terminal(timeout: float = ANSWER_SECONDS) -> TerminalAnswers | None:
    """Send QUERY to the terminal on stdin/stdout and read its answers (raw mode, restored).

    Returns None when nothing may be asked (see :func:`may_ask`).
    """
    if not may_ask(os.environ):
        return None
    import termios
    import tty

    fd_in, fd_out = sys.stdin.fileno(), sys.stdout.fileno()
    saved = termios.tcgetattr(fd_in)
    data = b""
    try:
        tty.setraw(fd_in, termios.TCSANOW)
        os.write(fd_out, QUERY.encode())
        deadline = time.monotonic() + timeout
        while _DA1.search(data) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready, _, _ = select.select([fd_in], [], [], remaining)
            if not ready:
                break
            chunk = os.read(fd_in, 4096)
            if not chunk:
                break
            data += chunk
    except OSError as exc:
        log.info("Could not ask the terminal what it draws: %s", exc)
    finally:
        termios.tcsetattr(fd_in, termios.TCSAFLUSH, saved)
    answers = parse_answers(data)
    log.info("Terminal answers: %s", answers)
    return answers


def image_support(answers: TerminalAnswers, environ: Mapping[str, str], *,
                  pixel_size_known: bool) -> ImageSupport | None:
    """How to show images given the terminal's answers, where they change what the
    environment alone suggests; None to keep the environment's choice."""
    guess = detect_image_mode(environ, pixel_size_known=pixel_size_known)
    if not answers.answered or environ.get("NBTUI_IMAGES", "").strip().lower() not in (
            "", "auto"):
        return None
    kitty = answers.kitty_version
    if guess.mode == "kitty" and kitty is not None and kitty < KITTY_PLACEHOLDERS_SINCE:
        if answers.sixel and pixel_size_known:
            return ImageSupport("sixel", f"{answers.version} draws no unicode "
                                "placeholders (0.28 does); it answers that it draws sixel")
        return ImageSupport("symbols", f"{answers.version} draws no unicode "
                            "placeholders (0.28 and later do)")
    if guess.mode in ("symbols", "halfblock") and answers.sixel and pixel_size_known:
        name = answers.version or "the terminal"
        return ImageSupport("sixel", f"{name} answers that it draws sixel")
    return None
