"""The user's config file: reading it (every bad value named in one line, the defaults used),
writing the picked theme back without losing a line, and `nbtui serve` using its kernel and
autosave (a real subprocess with its own XDG_CONFIG_HOME)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
from pathlib import Path

import nbformat
import pytest

from nbtui.cli import forced_image_mode
from nbtui.core.config import IMAGE_CHOICES, Config, config_path, load_config, save_theme
from tests.conftest import agent, call
from tests.test_cli import assert_one_line_error, run_nbtui, serving, wait_until


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- reading -----------------------------------------------------------------------------------

def test_a_missing_file_means_the_defaults(tmp_path):
    """No config file: every setting is nbtui's default and nothing is reported."""
    config, problems = load_config(tmp_path / "none.toml")
    assert config == Config(tmp_path / "none.toml")
    assert (config.kernel, config.autosave, config.images, config.theme, config.keys) == (
        None, None, "auto", None, {})
    assert problems == []


def test_every_setting_is_read(tmp_path):
    """kernel, autosave, images, theme and [keys] are read as written."""
    path = write(tmp_path / "config.toml", '# mine\nkernel = "ir"\nautosave = 5\n'
                 'images = "none"\ntheme = "nord"\n\n[keys]\n"view.run_next" = "ctrl+r"\n')
    config, problems = load_config(path)
    assert problems == []
    assert config == Config(path, kernel="ir", autosave=5.0, images="none", theme="nord",
                            keys={"view.run_next": "ctrl+r"})


@pytest.mark.parametrize(("text", "words"), [
    ('kernel = 3', ["kernel", "3", "default kernel"]),
    ('autosave = -1', ["autosave", "-1", "default interval"]),
    ('autosave = "often"', ["autosave", "'often'"]),
    ('autosave = true', ["autosave", "True"]),
    ('autosave = nan', ["autosave", "nan"]),
    ('images = "kit"', ["images", "'kit'", "auto, kitty, sixel, symbols, halfblock, none"]),
    ('theme = 7', ["theme", "7", "default theme"]),
    ('kernal = "python3"', ["unknown setting 'kernal'", "ignored"]),
    ('keys = "ctrl+r"', ["[keys]", "table"]),
    ('[keys]\n"view.run" = 5', ["[keys]", "'view.run' = 5", "keep their keys"]),
    ('kernel = ', ["not valid TOML", "line 1", "using the defaults"]),
])
def test_each_bad_value_is_one_line_naming_the_file_and_the_rest_is_kept(tmp_path, text, words):
    """A wrong value (or a file that is not TOML) gives one line naming the file and the
    problem; the good settings beside it still apply."""
    toml_error = "TOML" in words[0]
    good = "" if toml_error else 'kernel = "ir"\n' if text.startswith("theme") else \
        'theme = "nord"\n'
    path = write(tmp_path / "config.toml", good + text + "\n")
    config, problems = load_config(path)
    assert len(problems) == 1, problems
    line = problems[0]
    assert "\n" not in line and line.startswith(f"{path}: ")
    for word in words:
        assert word in line, line
    kept = {"kernel": config.kernel, "theme": config.theme}
    if toml_error:
        assert config == Config(path)
    else:
        assert kept == ({"kernel": "ir", "theme": None} if text.startswith("theme")
                        else {"kernel": None, "theme": "nord"})
    assert (config.autosave, config.images, config.keys) == (None, "auto", {})


def test_the_file_lives_under_xdg_config_home_else_home(tmp_path, monkeypatch):
    """$XDG_CONFIG_HOME/nbtui/config.toml when it is an absolute path, else
    ~/.config/nbtui/config.toml; a bad file there is named as ~/... ."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_path() == tmp_path / "xdg" / "nbtui" / "config.toml"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    assert config_path() == tmp_path / "home" / ".config" / "nbtui" / "config.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    write(config_path(), "theme = 1\n")
    assert load_config()[1][0].startswith("~/.config/nbtui/config.toml: theme ")


def test_the_image_choices_are_the_image_modes_and_auto():
    """The config file and --images offer exactly the ways the TUI can show images, and auto."""
    from nbtui.tui.widgets.images import IMAGE_MODES

    assert sorted(IMAGE_CHOICES) == sorted(("auto", *IMAGE_MODES))


@pytest.mark.parametrize(("option", "environ", "configured", "forced"), [
    (None, {}, "none", "none"),
    (None, {}, "auto", None),
    (None, {"NBTUI_IMAGES": "kitty"}, "none", None),
    ("halfblock", {"NBTUI_IMAGES": "kitty"}, "none", "halfblock"),
    ("auto", {}, "none", None),
])
def test_images_come_from_the_option_then_the_environment_then_the_config(option, environ,
                                                                         configured, forced):
    """--images wins, then $NBTUI_IMAGES (left to the detection), then the config file; auto
    detects."""
    config = Config(Path("config.toml"), images=configured)
    assert forced_image_mode(option, environ, config) == forced


# -- writing the theme -------------------------------------------------------------------------

def test_saving_the_theme_replaces_its_line_and_keeps_every_other_line(tmp_path):
    """The `theme = ...` line is rewritten in place; comments, other settings and tables stay
    byte for byte, and the file's mode is kept."""
    text = ('# my settings\nkernel = "ir"   # R kernel\ntheme = "nord"  # was nord\n\n'
            '[keys]\n"view.run_next" = "ctrl+r"  # like euporie\n')
    path = write(tmp_path / "config.toml", text)
    path.chmod(0o640)
    save_theme(path, "dracula")
    assert path.read_text() == text.replace('theme = "nord"  # was nord', 'theme = "dracula"')
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_saving_the_theme_adds_the_line_above_the_first_table(tmp_path):
    """A file without a theme gets one among its top-level settings, not inside [keys]."""
    text = 'kernel = "ir"\n[keys]\n"view.run_next" = "ctrl+r"'
    path = write(tmp_path / "config.toml", text)
    save_theme(path, "nord")
    assert path.read_text() == 'kernel = "ir"\ntheme = "nord"\n[keys]\n"view.run_next" = "ctrl+r"\n'
    assert load_config(path) == (Config(path, kernel="ir", theme="nord",
                                        keys={"view.run_next": "ctrl+r"}), [])


def test_saving_the_theme_creates_a_private_file(tmp_path):
    """With no file (and no directory), a 0600 file in a 0700 directory is created."""
    path = tmp_path / "xdg" / "nbtui" / "config.toml"
    save_theme(path, "textual-light")
    assert path.read_text() == 'theme = "textual-light"\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize("text", [
    'theme = "nord\n',
    'kernel = """\ntheme = "x"\n"""\n',
])
def test_a_file_that_cannot_be_rewritten_safely_is_left_alone(tmp_path, text):
    """A file that is not TOML, or whose theme line cannot be found safely, is not touched."""
    path = write(tmp_path / "config.toml", text)
    with pytest.raises(ValueError, match="config.toml"):
        save_theme(path, "dracula")
    assert path.read_text() == text


# -- nbtui serve with a config file ------------------------------------------------------------

@pytest.fixture
def config_home(tmp_path, monkeypatch) -> Path:
    """XDG_CONFIG_HOME for the nbtui subprocesses of a test; returns the config file's path."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "nbtui" / "config.toml"


def test_the_config_kernel_is_started_when_the_notebook_names_none(tmp_path, config_home,
                                                                   monkeypatch):
    """A new notebook gets the config file's kernel, started and written into the file."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "config-kernel"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Config kernel", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    write(config_home, 'kernel = "config-kernel"\n')
    notebook = tmp_path / "new.ipynb"
    with serving(notebook) as (proc, socket_path):
        async def kernel_name() -> str:
            async with agent(socket_path) as client:
                return (await call(client, "get_notebook"))["kernel"]["name"]

        assert asyncio.run(kernel_name()) == "config-kernel"
    assert nbformat.read(notebook, as_version=4).metadata.kernelspec.name == "config-kernel"


def test_the_notebooks_kernel_and_kernel_option_win_over_the_config(tmp_path, config_home):
    """The config kernel is used only when nothing else names one: a notebook naming python3,
    and --kernel python3, start python3 although the config names a kernel that is missing."""
    write(config_home, 'kernel = "no-such-kernel"\n')
    missing = run_nbtui("serve", str(tmp_path / "other.ipynb"))
    assert_one_line_error(missing, "no-such-kernel")
    named = tmp_path / "named.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, named)
    with serving(named):
        pass
    with serving(tmp_path / "option.ipynb", "--kernel", "python3"):
        pass


def inserted_on_disk(notebook: Path, socket_path: str) -> None:
    """Insert a cell through the socket, then wait until autosave has written it."""
    async def insert() -> None:
        async with agent(socket_path) as client:
            await call(client, "insert_cell", source="saved_by_autosave = 1")

    asyncio.run(insert())
    wait_until(lambda: notebook.exists() and "saved_by_autosave" in notebook.read_text(),
               timeout=20, message="autosave to write the agent's cell")


def test_the_config_autosave_interval_is_used(tmp_path, config_home):
    """autosave = 0.2 in the config file: an agent's cell reaches the disk without a save."""
    write(config_home, "autosave = 0.2\n")
    notebook = tmp_path / "auto.ipynb"
    with serving(notebook) as (_, socket_path):
        inserted_on_disk(notebook, socket_path)


def test_the_autosave_option_wins_over_the_config(tmp_path, config_home):
    """--autosave 0.2 saves although the config file says every hour."""
    write(config_home, "autosave = 3600\n")
    notebook = tmp_path / "option.ipynb"
    with serving(notebook, "--autosave", "0.2") as (_, socket_path):
        inserted_on_disk(notebook, socket_path)


def test_a_bad_config_file_is_one_line_on_stderr_and_serve_runs(tmp_path, config_home):
    """`nbtui serve` with a file that is not TOML says so in one stderr line naming the file,
    and serves anyway."""
    write(config_home, "autosave = = 3\n")
    with serving(tmp_path / "bad.ipynb") as (proc, socket_path):
        assert os.path.exists(socket_path)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    lines = stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"nbtui: {config_home}: not valid TOML"), lines[0]
