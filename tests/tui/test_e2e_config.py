"""End to end in tmux: `nbtui NOTEBOOK` reads the user's config file ($XDG_CONFIG_HOME): a bad
setting is one line in the app (nothing on the terminal outside it), the good ones apply."""

from __future__ import annotations

import nbformat
from test_e2e_tmux import NBTUI, log_of, pane  # noqa: F401 - pane is a fixture
from test_outputs import png
from tui_helpers import write_notebook

from nbtui.core.config import load_config


async def test_open_shows_a_bad_setting_in_one_line_and_applies_the_rest(tmp_path, pane):  # noqa: F811
    """autosave = "often" is named in one notification with the file; images = "none" shows a
    picture as a note; the [keys] remap f7 inserts a cell; the notebook saves as usual."""
    config = tmp_path / "xdg" / "nbtui" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('autosave = "often"\nimages = "none"\n\n[keys]\n"view.insert_below" = "f7"\n')
    pane.env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    pane.env.pop("NBTUI_IMAGES", None)
    picture = {"cell_type": "code", "source": "configured = 1", "metadata": {},
               "execution_count": 1,
               "outputs": [{"output_type": "display_data", "metadata": {},
                            "data": {"image/png": png(40, 20, (0, 128, 255)),
                                     "text/plain": "<picture>"}}]}
    path = write_notebook(tmp_path / "conf.ipynb", [picture])
    pane.start(tmp_path, NBTUI, path.name)
    screen = await pane.shows("configured = 1", "[image, 40×20 pixels]", "python3: idle",
                              "Config file")
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
