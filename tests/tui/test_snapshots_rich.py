"""Rich outputs as drawn, pinned as an SVG snapshot: LaTeX in markdown, a MultiIndex DataFrame.

Deterministic as tests/tui/test_snapshots.py is (fixed ids, outputs already in the notebook,
no kernel). Regenerate after a deliberate change with
``pytest tests/tui/test_snapshots_rich.py --snapshot-update`` and look at the SVG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_snapshots import notebook_app
from tui_helpers import write_notebook

from tests.test_rich_outputs import recorded_html

SIZE = (100, 30)

MARKDOWN = """## Least squares

The estimate is $\\hat\\beta = (X^TX)^{-1}X^Ty$, and the error is

$$\\sigma^2 = \\frac{1}{n-p}\\sum_{i=1}^{n} (y_i - \\hat y_i)^2$$

A unit costs $5 and a box $10; in code `$x^2$` stays as it is."""


def rich_cells() -> list[dict[str, Any]]:
    """A markdown cell with inline and display math, and a groupby().agg DataFrame result."""
    return [
        {"cell_type": "markdown", "id": "math", "metadata": {}, "source": MARKDOWN},
        {"cell_type": "code", "id": "summary", "metadata": {}, "execution_count": 1,
         "source": 'sales.groupby(["region", "product"]).agg(\n'
                   '    {"units": ["sum", "mean"], "price": ["max", "min"]})',
         "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                      "data": {"text/html": recorded_html("multiindex"),
                               "text/plain": "<DataFrame>"}}]},
    ]


def test_latex_markdown_and_a_multiindex_dataframe(snap_compare: Any, tmp_path: Path) -> None:
    """Math as Unicode (money and code left alone) and a MultiIndex table, aligned, as drawn."""
    path = write_notebook(tmp_path / "fit.ipynb", rich_cells())
    assert snap_compare(notebook_app(path), terminal_size=SIZE)
