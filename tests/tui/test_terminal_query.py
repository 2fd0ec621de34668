"""Asking the terminal what it draws: the answers of real terminals parsed, what they change,
and the question asked on a real pseudo-terminal (the test plays the terminal)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

from nbtui.tui.terminal_query import QUERY, TerminalAnswers, image_support, parse_answers

KITTY_0_26 = (b"\x1b_Gi=31;OK\x1b\\\x1bP>|kitty(0.26.5)\x1b\\"
              b"\x1b]11;rgb:0000/0000/0000\x1b\\\x1b[?62;c")
KITTY_0_35 = (b"\x1b_Gi=31;OK\x1b\\\x1bP>|kitty(0.35.2)\x1b\\"
              b"\x1b]11;rgb:1e1e/1e1e/2e2e\x1b\\\x1b[?62;c")
XTERM_VT340 = (b"\x1bP>|XTerm(379)\x1b\\\x1b]11;rgb:ffff/ffff/ffff\x1b\\"
               b"\x1b[?63;1;2;4;6;9;15;16;22;28c")
PLAIN = b"\x1b[?65;1;9c"


def test_answers_of_real_terminals_are_read():
    """kitty's OK, XTVERSION, the background and DA1's sixel attribute are read from what
    kitty 0.26, xterm -ti vt340 and a terminal that answers only DA1 send back."""
    old_kitty = parse_answers(KITTY_0_26)
    assert old_kitty.answered and old_kitty.kitty_graphics and not old_kitty.sixel
    assert old_kitty.kitty_version == (0, 26, 5) and not old_kitty.light_background
    xterm = parse_answers(XTERM_VT340)
    assert xterm.sixel and not xterm.kitty_graphics and xterm.version == "XTerm(379)"
    assert xterm.background == (255, 255, 255) and xterm.light_background
    plain = parse_answers(PLAIN)
    assert plain.answered and not plain.sixel and plain.background is None
    assert not parse_answers(b"").answered


def test_old_kitty_gets_text_symbols_and_new_kitty_keeps_kitty():
    """kitty before 0.28 draws no unicode placeholders: its pictures become text symbols (the
    reason says why); kitty 0.35 keeps the kitty protocol."""
    environ = {"TERM": "xterm-kitty"}
    old = image_support(parse_answers(KITTY_0_26), environ, pixel_size_known=True)
    assert old is not None and old.mode == "symbols" and "0.26.5" in old.reason
    assert image_support(parse_answers(KITTY_0_35), environ, pixel_size_known=True) is None


def test_a_terminal_that_says_it_draws_sixel_gets_sixel():
    """A terminal the environment does not name but that answers DA1 with sixel (xterm -ti
    vt340) gets sixel pictures where its cell size is known; NBTUI_IMAGES still wins."""
    answers = parse_answers(XTERM_VT340)
    environ = {"TERM": "xterm-256color"}
    support = image_support(answers, environ, pixel_size_known=True)
    assert support is not None and support.mode == "sixel" and "XTerm(379)" in support.reason
    assert image_support(answers, environ, pixel_size_known=False) is None
    assert image_support(answers, {**environ, "NBTUI_IMAGES": "halfblock"},
                         pixel_size_known=True) is None
    assert image_support(TerminalAnswers(answered=False), environ,
                         pixel_size_known=True) is None


ASK = """
import json, sys
from nbtui.tui.terminal_query import ask_terminal
answers = ask_terminal(timeout=10)
with open(sys.argv[1], "w") as out:
    json.dump(None if answers is None else {"sixel": answers.sixel,
              "version": answers.version, "light": answers.light_background}, out)
"""


def run_against_fake_terminal(tmp_path, reply: bytes | None, env: dict[str, str]) -> tuple:
    """Run ask_terminal in a child on a pty; answer its query with `reply` (None: answer
    nothing). Returns (what the child read, the bytes the terminal received)."""
    controller, terminal = pty.openpty()
    result = tmp_path / "answers.json"
    child = subprocess.Popen([sys.executable, "-c", ASK, str(result)], stdin=terminal,
                             stdout=terminal, stderr=subprocess.PIPE, env=env)
    os.close(terminal)
    received = b""
    deadline = time.monotonic() + 30
    while QUERY.encode() not in received and time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.5)
        if ready:
            try:
                received += os.read(controller, 4096)
            except OSError:
                break
        if child.poll() is not None:
            break
    if reply is not None and QUERY.encode() in received:
        os.write(controller, reply)
    _, err = child.communicate(timeout=60)
    os.close(controller)
    assert child.returncode == 0, err.decode()
    return json.loads(result.read_text()), received


def test_the_query_is_asked_on_the_terminal_and_its_answer_read(tmp_path):
    """On a real pseudo-terminal the queries are written once and the answer read back."""
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "STY", "ZELLIJ")}
    env["TERM"] = "xterm-256color"
    answers, received = run_against_fake_terminal(tmp_path, XTERM_VT340, env)
    assert received.count(QUERY.encode()) == 1
    assert answers == {"sixel": True, "version": "XTerm(379)", "light": True}


def test_nothing_is_asked_inside_tmux(tmp_path):
    """Inside tmux (which answers for itself) nothing is written to the terminal."""
    env = dict(os.environ, TMUX="/tmp/tmux-0/default,1,0", TERM="tmux-256color")
    answers, received = run_against_fake_terminal(tmp_path, None, env)
    assert answers is None and QUERY.encode() not in received
