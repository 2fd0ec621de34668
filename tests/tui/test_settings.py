"""The config file in the running app: its theme and key remaps apply, the theme picked while
it runs is written back, and a bad file is one notification line while the app opens as usual."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tui_helpers import running_app, wait_until

from nbtui.core.config import load_config
from nbtui.tui import settings
from nbtui.tui.widgets.editor import CellEditor


@pytest.fixture
def config_file(tmp_path: Path) -> Iterator[Path]:
    """A config file the next app reads (through settings.use_config, as the CLI does)."""
    path = tmp_path / "xdg" / "nbtui" / "config.toml"
    path.parent.mkdir(parents=True)
    yield path
    settings.use_config(None)


def use(path: Path, text: str) -> None:
    path.write_text(text)
    settings.use_config(*load_config(path))


def config_notices(app) -> list[str]:  # noqa: ANN001
    return [notice.message for notice in app._notifications if "config.toml" in notice.message]


async def test_the_config_theme_is_applied(notebook, config_file):
    """theme = "nord" in the file: the app opens in nord."""
    use(config_file, 'theme = "nord"\n')
    async with running_app(notebook(1)) as (app, pilot):
        assert app.theme == "nord"
        assert config_notices(app) == []


async def test_a_picked_theme_is_written_to_the_file_keeping_its_other_lines(notebook,
                                                                            config_file):
    """Picking a theme (the palette sets app.theme) rewrites only the file's theme line."""
    text = '# mine\ntheme = "nord"  # dark\nautosave = 5\n\n[keys]\n"editor.leave" = "f6"\n'
    use(config_file, text)
    async with running_app(notebook(1)) as (app, pilot):
        app.theme = "dracula"
        await wait_until(pilot, lambda: 'theme = "dracula"' in config_file.read_text(),
                         what="the theme in the config file")
    assert config_file.read_text() == text.replace('theme = "nord"  # dark', 'theme = "dracula"')


async def test_a_key_remap_replaces_the_bindings_key(notebook, config_file):
    """[keys] "view.insert_below" = "f7" and "editor.leave" = "f6": f7 inserts a cell and b
    no longer does; f6 leaves edit mode."""
    use(config_file, '[keys]\n"view.insert_below" = "f7"\n"editor.leave" = "f6"\n')
    async with running_app(notebook(1)) as (app, pilot):
        doc = app.session.document
        await pilot.press("f7")
        assert len(doc.cells) == 2
        await pilot.press("b")
        assert len(doc.cells) == 2
        await pilot.press("enter")
        assert app.pane.mode == "edit"
        await pilot.press("f6")
        assert app.pane.mode == "command"
        assert config_notices(app) == []


@pytest.mark.parametrize(("text", "words"), [
    ('theme = "no-such-theme"\n', ["theme 'no-such-theme'", "default theme"]),
    ('[keys]\n"view.no_such_thing" = "f7"\n', ["'view.no_such_thing'", "binding id"]),
    ('[keys]\n"view.insert_below" = "ctrl+bogus"\n', ["'ctrl+bogus' is not a key"]),
    ("theme = = 1\n", ["not valid TOML"]),
])
async def test_a_bad_config_file_is_one_notification_line_and_the_app_opens(notebook,
                                                                          config_file, text,
                                                                          words):
    """A bad theme, binding id, key or TOML: one line naming the file in a notification, the
    default theme and keys, and the notebook shown."""
    use(config_file, text)
    async with running_app(notebook(1)) as (app, pilot):
        notices = config_notices(app)
        assert len(notices) == 1 and len(notices[0].splitlines()) == 1, notices
        assert notices[0].startswith(f"{config_file}: ")
        for word in words:
            assert word in notices[0]
        assert app.theme == "textual-dark"
        assert "x0 = 0" in app.view.visible_text()
        await pilot.press("b")
        assert len(app.session.document.cells) == 2


def test_every_editor_binding_has_an_editor_id():
    """Each CellEditor binding has its own id `editor.<action>`, so the file can remap it."""
    ids = [binding.id for binding in CellEditor.BINDINGS]  # type: ignore[union-attr]
    assert all(binding_id and binding_id.startswith("editor.") for binding_id in ids), ids
    assert len(set(ids)) == len(ids)
    assert {"editor.leave", "editor.run", "editor.run_fallback"} <= set(ids)


async def test_a_light_terminal_background_gets_a_light_theme_not_saved(notebook, config_file):
    """When the terminal answered that its background is light and the file names no theme,
    the app opens in the light theme, and that choice is not written to the file; a theme in
    the file still wins."""
    use(config_file, "autosave = 5\n")
    settings.use_light_background(True)
    try:
        async with running_app(notebook(1)) as (app, pilot):
            assert app.theme == settings.LIGHT_THEME
        assert config_file.read_text() == "autosave = 5\n"
        use(config_file, 'theme = "nord"\n')
        async with running_app(notebook(1)) as (app, pilot):
            assert app.theme == "nord"
    finally:
        settings.use_light_background(False)
