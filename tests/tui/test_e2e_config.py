"""End to end in tmux: `nbtui NOTEBOOK` reads the user's config file ($XDG_CONFIG_HOME): a bad
setting is one line in the app (nothing on the terminal outside it), the good ones apply."""

from __future__ import annotations

import nbformat
from test_e2e_tmux import NBTUI, log_of, pane  # noqa: F401 - pane is a fixture
from tui_helpers import write_notebook

from nbtui.core.config import load_config


async def test_open_shows_a_bad_setting_in_one_line_and_applies_the_rest(tmp_path, pane):  # noqa: F811
    """autosave = "often" is named in one notification with the file; the [keys] remap f7 inserts a
    cell; the notebook opens and saves as usual."""
    config = tmp_path / "xdg" / "nbtui" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('autosave = "often"\n\n[keys]\n"view.insert_below" = "f7"\n')
    pane.env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    path = write_notebook(tmp_path / "conf.ipynb", [("code", "configured = 1")])
    pane.start(tmp_path, NBTUI, path.name)
    screen = await pane.shows("configured = 1", "python3: idle", "Config file")
    # The notification is wrapped over the lines of its box, whose left edge is "▌" (cells
    # have one too): its title and the one line, and nothing after them.
    boxed = "".join(line.rsplit("▌", 1)[1] for line in screen.splitlines() if "▌" in line)
    (problem,) = load_config(config)[1]
    assert "".join(boxed.split()).endswith("Configfile" + "".join(problem.split())), screen

    pane.press("F7")
    pane.press("C-s")
    await pane.shows("Saved conf.ipynb")
    assert len(nbformat.read(path, as_version=4).cells) == 2
    pid = pane.program_pid()
    pane.press("C-q")
    assert await pane.exit_status() == 0, log_of(pid)
