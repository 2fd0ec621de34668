"""The seed workflow, end to end, as an agent does it: nothing but `nbtui attach` over stdio."""

from __future__ import annotations

import base64
import os
import signal

import mcp_types as types
import nbformat
from mcp import Client, StdioServerParameters

from tests.conftest import NBTUI
from tests.test_cli import serving

MAKE_DATA = """\
import numpy as np
import pandas as pd

rng = np.random.default_rng(7)
df = pd.DataFrame({"x": rng.uniform(0, 10, 300)})
df["y"] = 2.5 * df["x"] + 4 + rng.normal(0, 0.5, len(df))
df.describe()
"""

FIT = """\
design = np.column_stack([df["x"], np.ones(len(df))])
(slope, intercept), *_ = np.linalg.lstsq(design, df["y"], rcond=None)
print(f"slope={slope:.1f} intercept={intercept:.1f}")
"""

PLOT = """\
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(4, 3))
ax.scatter(df["x"], df["y"], s=4)
ax.plot([0, 10], [intercept, intercept + 10 * slope], color="red")
plt.show()
"""


async def seed_workflow(params: StdioServerParameters, agent_name: str = "seed-agent") -> None:
    """Make data, fit a regression, read coefficients, list variables and get a plot, as an
    agent does, through the server command `params` starts."""
    info = types.Implementation(name=agent_name, version="1.0")
    async with Client(params, client_info=info, mode="legacy") as client:
        async def tool(name, **args):
            result = await client.call_tool(name, args)
            assert not result.is_error, result.content[0].text
            return result

        data = (await tool("insert_cell", source=MAKE_DATA, run=True,
                           timeout=120)).structured_content["cells"][0]
        assert data["status"] == "ok"
        assert "count" in data["outputs"][0]["text"]

        fit = (await tool("insert_cell", source=FIT, run=True)).structured_content
        assert fit["cells"][0]["outputs"][0]["text"] == "slope=2.5 intercept=4.0\n"

        info_out = (await tool("run_code", code="df.info()")).structured_content
        assert "300 entries" in info_out["outputs"][0]["text"]

        variables = (await tool("list_variables")).structured_content["variables"]
        by_name = {v["name"]: v for v in variables}
        assert "shape 300x2" in by_name["df"]["summary"]
        assert by_name["slope"]["type"].endswith("float64")

        plot = await tool("insert_cell", source=PLOT, run=True, timeout=120)
        images = [c for c in plot.content if c.type == "image"]
        assert images and base64.b64decode(images[0].data).startswith(b"\x89PNG")

        overview = (await tool("get_notebook")).structured_content
        assert agent_name in overview["agents"]
        assert [c["status"] for c in overview["cells"]] == ["ok", "ok", "ok"]


def check_seed_notebook(notebook) -> None:
    """The saved notebook is valid and holds the seed workflow's cells and outputs."""
    saved = nbformat.read(notebook, as_version=4)
    nbformat.validate(saved)
    assert [c.source for c in saved.cells] == [MAKE_DATA, FIT, PLOT]
    assert all(c.execution_count for c in saved.cells)
    assert saved.cells[1].outputs[0]["text"] == "slope=2.5 intercept=4.0\n"
    assert "image/png" in saved.cells[2].outputs[-1]["data"]


async def test_seed_workflow_through_nbtui_attach(tmp_path):
    """Make data, fit a regression, read coefficients, list variables, get a plot as an image,
    stop the session: the saved notebook is valid and holds all of it."""
    notebook = tmp_path / "seed.ipynb"
    with serving(notebook) as (proc, socket_path):
        await seed_workflow(StdioServerParameters(command=NBTUI, args=["attach", socket_path],
                                                  env=dict(os.environ)))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    check_seed_notebook(notebook)
