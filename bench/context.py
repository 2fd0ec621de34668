"""Context economy: what the seed workflow costs the model, in bytes it reads.

The workflow as an agent does it, through `nbtui attach` (a subprocess) with the official MCP
client: install a package from a local wheel; make a customer DataFrame with numpy and pandas;
`df.info()`, `df.describe()`, `df.head()`; fit a linear regression (scikit-learn's
LinearRegression when installed, else numpy's least squares) and read its coefficients; draw a
plot; hit a `KeyError` and fix it; read the notebook back; get the overview.

Prints, per step and in total, the bytes of text content and of images (decoded) the model
receives, and whether everything the agent needs is there: the numbers, the error's name and
value, the plot. Exits with status 1 when something is missing.

    python bench/context.py [--rows 50000] [--short]

`--short` uses 2,000 rows (for the test that checks completeness, not bytes).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import mcp_types as types
from mcp import Client, StdioServerParameters

from nbtui.agent.endpoint import AgentEndpoint
from nbtui.agent.sessions import SessionLock
from nbtui.core.session import NotebookSession

NBTUI = str(Path(sys.executable).with_name("nbtui"))
TARGET_TEXT_BYTES = 5.5 * 1024

MAKE_DATA = """\
import numpy as np
import pandas as pd

rng = np.random.default_rng(7)
n = {rows}
df = pd.DataFrame({{
    "customer_id": np.arange(n),
    "age": rng.integers(18, 80, n),
    "tenure_months": rng.integers(1, 120, n),
    "region": rng.choice(["north", "south", "east", "west"], n),
}})
df["monthly_spend"] = (20 + 0.8 * df["age"] + 1.5 * df["tenure_months"]
                       + rng.normal(0, 5, n)).round(2)
"""

FIT_SKLEARN = """\
from sklearn.linear_model import LinearRegression

model = LinearRegression().fit(df[["age", "tenure_months"]], df["monthly_spend"])
print("coef", model.coef_.round(3), "intercept", round(model.intercept_, 3))
"""

FIT_NUMPY = """\
X = np.column_stack([df["age"], df["tenure_months"], np.ones(len(df))])
(*coef, intercept), *_ = np.linalg.lstsq(X, df["monthly_spend"], rcond=None)
print("coef", np.round(coef, 3), "intercept", round(intercept, 3))
"""

PLOT = """\
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(4, 3))
ax.scatter(df["tenure_months"][:500], df["monthly_spend"][:500], s=3)
ax.set_xlabel("tenure (months)")
ax.set_ylabel("monthly spend")
plt.show()
"""

BROKEN = 'df.groupby("region")["spend"].mean().round(2)'


@dataclass
class Step:
    """One tool call of the workflow and what the model read from it."""

    name: str
    text_bytes: int
    image_bytes: int
    images: int
    text: str
    structured_bytes: int


@dataclass
class Workflow:
    """The steps so far and what was checked."""

    steps: list[Step] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)


def tiny_wheel(directory: Path) -> Path:
    """A minimal pure-Python wheel, so the install needs no network."""
    wheel = directory / "nbtui_ctx_pkg-0.1-py3-none-any.whl"
    files = {
        "nbtui_ctx_pkg/__init__.py": "VALUE = 'ctx'\n",
        "nbtui_ctx_pkg-0.1.dist-info/METADATA":
            "Metadata-Version: 2.1\nName: nbtui-ctx-pkg\nVersion: 0.1\n",
        "nbtui_ctx_pkg-0.1.dist-info/WHEEL":
            "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{name},,\n" for name in files) + "nbtui_ctx_pkg-0.1.dist-info/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        zf.writestr("nbtui_ctx_pkg-0.1.dist-info/RECORD", record)
    return wheel


def has_sklearn() -> bool:
    """Whether the kernel's interpreter (this one) has scikit-learn."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


async def run_workflow(client: Client, rows: int, wheel: Path) -> Workflow:
    """The seed workflow through `client`, recording what each step returned."""
    flow = Workflow()

    async def step(name: str, tool: str, **args: object) -> Step:
        result = await client.call_tool(tool, args)
        texts = [c.text for c in result.content if isinstance(c, types.TextContent)]
        images = [c for c in result.content if isinstance(c, types.ImageContent)]
        text = "\n".join(texts)
        structured = result.model_dump_json(include={"structured_content"}, by_alias=True)
        recorded = Step(name, len(text.encode()),
                        sum(len(base64.b64decode(i.data)) for i in images), len(images), text,
                        len(structured.encode()))
        flow.steps.append(recorded)
        if result.is_error and name != "hit a KeyError":
            flow.checks[f"{name} succeeded"] = False
        return recorded

    installed = await step("install from a local wheel", "install_packages",
                           packages=[str(wheel)])
    flow.checks["install says what, with version"] = "nbtui-ctx-pkg==0.1" in installed.text
    await step("make the data", "insert_cell", source=MAKE_DATA.format(rows=rows), run=True,
               timeout=120)
    info = await step("df.info()", "run_code", code="df.info()")
    flow.checks["info: rows and dtypes"] = (f"{rows} entries" in info.text
                                            and "monthly_spend" in info.text)
    describe = await step("df.describe()", "run_code", code="df.describe()")
    flow.checks["describe: mean and std"] = "mean" in describe.text and "std" in describe.text
    head = await step("df.head()", "run_code", code="df.head()")
    flow.checks["head: first rows"] = "customer_id" in head.text and "region" in head.text
    fit_code = FIT_SKLEARN if has_sklearn() else FIT_NUMPY
    fit = await step("fit a regression", "insert_cell", source=fit_code, run=True, timeout=120)
    flow.checks["fit: coefficients"] = "coef [" in fit.text and "intercept" in fit.text
    plot = await step("draw a plot", "insert_cell", source=PLOT, run=True, timeout=120)
    flow.checks["plot: an image"] = plot.images == 1
    broken = await step("hit a KeyError", "insert_cell", source=BROKEN, run=True)
    flow.checks["error: name and value"] = ("KeyError: 'Column not found: spend'"
                                            in broken.text)
    broken_id = next(line.split()[2] for line in broken.text.splitlines()
                     if line.startswith("# cell "))
    fixed = await step("fix it", "edit_cell", cell_id=broken_id, old_text='"spend"',
                       new_text='"monthly_spend"', run=True)
    flow.checks["fix: the means"] = "north" in fixed.text and "error" not in fixed.text.lower()
    back = await step("read the notebook back", "read_cells")
    flow.checks["read back: every cell"] = back.text.count("# cell ") == 4
    overview = await step("get the overview", "get_notebook")
    flow.checks["overview: every cell"] = overview.text.count(" code r") == 4
    return flow


def report(flow: Workflow, rows: int) -> bool:
    """Print the table and the checks; returns whether everything needed was there."""
    print(f"seed workflow, {rows:,} rows: bytes the model reads")
    print(f"{'step':<28} {'text':>7} {'images':>8} {'structured':>11}")
    for s in flow.steps:
        image = f"{s.image_bytes:,} ({s.images})" if s.images else "-"
        print(f"{s.name:<28} {s.text_bytes:>7,} {image:>8} {s.structured_bytes:>11,}")
    text = sum(s.text_bytes for s in flow.steps)
    images = sum(s.image_bytes for s in flow.steps)
    count = sum(s.images for s in flow.steps)
    structured = sum(s.structured_bytes for s in flow.steps)
    print(f"{'total':<28} {text:>7,} {images:>8,} {structured:>11,}")
    print(f"text: {text / 1024:.1f} KB (target at most {TARGET_TEXT_BYTES / 1024:.1f} KB: "
          f"{'met' if text <= TARGET_TEXT_BYTES else 'not met'}); images: {count}, "
          f"{images / 1024:.1f} KB")
    complete = all(flow.checks.values())
    for name, ok in flow.checks.items():
        print(f"  {'ok     ' if ok else 'MISSING'} {name}")
    print("complete" if complete else "INCOMPLETE")
    return complete


async def main(rows: int) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("NBTUI_RUNTIME_DIR", tmp)
        os.environ.setdefault("NBTUI_STATE_DIR", tmp)
        session = NotebookSession(Path(tmp) / "context.ipynb", autosave_seconds=0)
        endpoint = AgentEndpoint(session)
        lock = SessionLock(session.path, endpoint.socket_path)
        await endpoint.start(lock)
        try:
            await session.start()
            await session.kernel.wait_ready(120)
            params = StdioServerParameters(command=NBTUI, args=["attach", endpoint.socket_path],
                                           env=dict(os.environ))
            info = types.Implementation(name="context-bench", version="1")
            async with Client(params, client_info=info, mode="legacy") as client:
                flow = await run_workflow(client, rows, tiny_wheel(Path(tmp)))
        finally:
            await endpoint.close()
            await session.close(save=False)
            lock.release()
            subprocess.run([sys.executable, "-m", "pip", "uninstall", "-y", "nbtui-ctx-pkg"],
                           capture_output=True, check=False)
    return report(flow, rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--short", action="store_true", help="2,000 rows (a completeness check)")
    args = parser.parse_args()
    sys.exit(0 if asyncio.run(main(2_000 if args.short else args.rows)) else 1)
