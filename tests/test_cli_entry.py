"""How `nbtui` is started: its help, `python -m nbtui`, and refusing files that are not
notebooks. The real command in subprocesses."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nbtui import __version__
from tests.test_cli import assert_one_line_error, run_nbtui

PYTHON_M_NBTUI = (sys.executable, "-m", "nbtui")

OPEN_OPTIONS = ("--kernel", "--socket", "--autosave", "--agent-access", "--no-agent",
                "--approve")


def run_python_m(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*PYTHON_M_NBTUI, *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def options_section(help_text: str) -> str:
    """The part of `nbtui --help` between its own options and the list of commands."""
    return help_text.split("Options of nbtui NOTEBOOK", 1)[1].split("Commands:", 1)[0]


def test_help_lists_the_options_of_opening_a_notebook():
    """`nbtui --help` lists every option of `nbtui NOTEBOOK` along with the commands."""
    proc = run_nbtui("--help")
    assert proc.returncode == 0, proc.stderr
    section = options_section(proc.stdout)
    for option in OPEN_OPTIONS:
        assert option in section, proc.stdout
    assert "Ask before every agent execution." in section
    assert "serve" in proc.stdout.split("Commands:", 1)[1]


@pytest.mark.parametrize("command", ["open", "serve", "attach", "list", "mcp-config"])
def test_each_commands_own_help_still_works(command):
    """`nbtui COMMAND --help` shows that command's usage, not the group's."""
    proc = run_nbtui(command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"Usage: nbtui {command} [OPTIONS]"), proc.stdout


def test_python_m_nbtui_help_and_version():
    """`python -m nbtui --help` and `--version` answer as `nbtui` does, named nbtui."""
    help_proc = run_python_m("--help")
    assert help_proc.returncode == 0, help_proc.stderr
    assert help_proc.stdout == run_nbtui("--help").stdout
    assert help_proc.stdout.startswith("Usage: nbtui ")
    version = run_python_m("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"nbtui, version {__version__}")


def test_python_m_nbtui_serves_a_notebook(tmp_path):
    """`python -m nbtui serve` of a .IPYNB notebook prints its socket; SIGTERM saves and ends
    it."""
    notebook = tmp_path / "Loud.IPYNB"
    proc = subprocess.Popen([*PYTHON_M_NBTUI, "serve", str(notebook)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        socket_path = proc.stdout.readline().strip()
        assert socket_path, proc.stderr.read() if proc.poll() is not None else "no socket"
        assert Path(socket_path).is_socket()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert not Path(socket_path).exists()
    assert nbformat.read(notebook, as_version=4).metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("command", ["open", "serve"])
def test_a_text_file_is_refused_and_untouched(tmp_path, command):
    """open and serve refuse an existing file that is not .ipynb with one line; it is unchanged."""
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes, not a notebook\n")
    proc = run_nbtui(command, str(notes), timeout=30)
    assert_one_line_error(proc, "notes.txt", ".ipynb")
    assert proc.stderr.startswith("nbtui: ")
    assert notes.read_text() == "my notes, not a notebook\n"


@pytest.mark.parametrize("args", [("open",), ("serve",), ()], ids=["open", "serve", "default"])
def test_a_missing_non_notebook_is_refused_and_not_created(tmp_path, args):
    """`nbtui [open|serve] notes.txt` for a missing file says one line and creates nothing."""
    notes = tmp_path / "notes.txt"
    proc = run_nbtui(*args, str(notes), timeout=30)
    assert_one_line_error(proc, "notes.txt", ".ipynb")
    assert not notes.exists()


def test_attach_refuses_a_file_that_is_neither_socket_nor_notebook(tmp_path):
    """attach to an existing non-socket, non-.ipynb file says so at once instead of waiting."""
    notes = tmp_path / "notes.txt"
    notes.write_text("text\n")
    proc = run_nbtui("attach", "--wait", "600", str(notes), timeout=60)
    assert_one_line_error(proc, "notes.txt", "neither a socket nor a .ipynb notebook")
    assert notes.read_text() == "text\n"
