"""The docs describe what is built: the tool reference matches the live server."""

from __future__ import annotations

from pathlib import Path

from nbtui.agent.reference import tools_markdown
from tests.conftest import agent, serve_notebook

ROOT = Path(__file__).resolve().parent.parent


async def test_mcp_tools_doc_matches_the_live_tools_list(tmp_path):
    """docs/mcp-tools.md is exactly what the running server's tools/list generates
    (regenerate with `python -m nbtui.agent.reference > docs/mcp-tools.md`)."""
    async with serve_notebook(tmp_path / "docs.ipynb", start_kernel=False) as served:
        async with agent(served.socket) as client:
            tools = (await client.list_tools()).tools
    assert (ROOT / "docs" / "mcp-tools.md").read_text() == tools_markdown(tools)


def test_keys_doc_tables_match_the_bindings():
    """docs/keys.md's key tables are exactly what the bindings generate (regenerate with
    `python -m nbtui.tui.keys_doc`), so every key the app has is documented with its id."""
    from nbtui.tui.keys_doc import with_tables

    text = (ROOT / "docs" / "keys.md").read_text()
    assert text == with_tables(text)
