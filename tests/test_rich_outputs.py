"""Rich outputs as text: LaTeX as Unicode, HTML tables aligned, plots' pictures over their HTML.

The tables are real pandas output recorded in tests/data/outputs (pandas 3.1): a numeric frame,
one with strings and NaN, a MultiIndex frame from ``groupby().agg`` (two index levels, two
column levels) and a 30-column frame.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image
from rich.cells import cell_len

from nbtui.core.latex import latex_output_to_text, latex_to_unicode, markdown_math_to_unicode
from nbtui.core.render import html_lines, html_to_text, output_text, output_views
from nbtui.core.tables import layout_table

OUTPUTS = Path(__file__).parent / "data" / "outputs"

MULTIINDEX_ROWS = [
    ("east", "a", ["7", "3.5", "1.50", "1.50"]),
    ("", "b", ["5", "5.0", "2.25", "2.25"]),
    ("west", "a", ["8", "4.0", "1.75", "1.00"]),
    ("", "b", ["8", "8.0", "2.00", "2.00"]),
]


def recorded_html(name: str) -> str:
    """The text/html of a recorded pandas output."""
    return json.loads((OUTPUTS / f"dataframe_{name}.json").read_text())["data"]["text/html"]


def words(line: str) -> list[tuple[str, int, int]]:
    """The words of a line with the columns where each starts and ends."""
    return [(m.group(), m.start(), m.end()) for m in re.finditer(r"[^\s│]+", line)]


def table_part(text: str) -> tuple[list[str], list[str]]:
    """The header lines and body lines of a laid-out table (split at the rule)."""
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if "──" in line)
    return lines[:rule], [line for line in lines[rule + 1:] if "│" in line]


def assert_multiindex_aligned(text: str) -> None:
    """Each value ends where its header ends; each index label starts under its level's name."""
    header, body = table_part(text)
    names = dict((word, (start, end)) for word, start, end in words(header[-1]))
    levels = [name for name in ("sum", "mean", "max", "min")]
    level_row = words(next(line for line in header if "sum" in line))
    level_ends = {word: end for word, _, end in level_row}
    assert len(body) == len(MULTIINDEX_ROWS)
    for line, (region, product, values) in zip(body, MULTIINDEX_ROWS, strict=True):
        separator = line.index("│")
        index_words = words(line[:separator])
        value_words = words(line[separator:])
        assert [word for word, _, _ in value_words] == values, line
        for (_, _, end), level in zip(value_words, levels, strict=True):
            assert end + separator == level_ends[level], (line, level)
        expected_index = [w for w in (region, product) if w]
        assert [word for word, _, _ in index_words] == expected_index, line
        assert index_words[-1][1] == names["product"][0], line
        if region:
            assert index_words[0][1] == names["region"][0], line
    top = next(line for line in header if "units" in line)
    level_starts = {word: start for word, start, _ in level_row}
    assert top.index("units") <= level_starts["sum"] and top.index("price") <= level_starts["max"]
    assert top.index("price") > level_ends["mean"]


# --------------------------------------------------------------------------------------------
# LaTeX
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("latex", "expected"), [
    (r"\alpha + \beta", "α + β"),
    (r"\frac{a}{b}", "a/b"),
    (r"\frac{1}{n-p} + \dfrac{x+1}{2}", "1/(n-p) + (x+1)/2"),
    (r"\sqrt{x+1}", "√(x+1)"),
    (r"x^2 + y_{10}", "x² + y₁₀"),
    (r"\sum_{i=1}^{n} x_i", "∑ᵢ₌₁ⁿ xᵢ"),
    (r"e^{-x/2}", "e^(-x/2)"),
    (r"a \le b \ne c", "a ≤ b ≠ c"),
    (r"\mathbb{R}^n \to \infty", "ℝⁿ → ∞"),
])
def test_latex_math_becomes_unicode(latex, expected):
    """Greek letters, operators, fractions, roots and super/subscripts become Unicode."""
    assert latex_to_unicode(latex) == expected


def test_text_latex_output_from_sympy_and_ipython_is_unicode():
    """text/latex outputs (sympy's $\\displaystyle ...$, IPython's Latex) read as Unicode."""
    assert latex_output_to_text(r"$\displaystyle x^{2} + \frac{1}{2}$") == "x² + 1/2"
    assert latex_output_to_text(r"\begin{equation} E = mc^2 \end{equation}") == "E = mc²"
    bundle = {"output_type": "display_data", "metadata": {},
              "data": {"text/plain": "<IPython.core.display.Latex object>",
                       "text/latex": r"$$\frac{\alpha}{2}$$"}}
    assert output_text(bundle) == ("α/2", "text/latex")


def test_markdown_math_is_converted_and_code_and_money_are_not():
    """$...$ and $$...$$ become Unicode; code spans, code blocks and "$5 and $10" stay."""
    source = (
        "The mean $\\mu = \\frac{1}{n}\\sum x_i$ costs $5 and $10.\n\n"
        "$$\\int_0^1 x^2 \\, dx$$\n\n"
        "Inline `$x^2$` code and an escaped \\$ sign.\n\n"
        "```python\nprice = '$\\\\alpha$'\n```\n"
        "After the block: $\\beta^2$, and $ not math $ and $3$4.\n"
    )
    converted = markdown_math_to_unicode(source)
    assert "μ = 1/n∑ xᵢ" in converted
    assert "costs $5 and $10." in converted
    assert "∫₀¹ x² dx" in converted
    assert "`$x^2$`" in converted
    assert "escaped \\$ sign" in converted
    assert "price = '$\\\\alpha$'" in converted
    assert "After the block: β²" in converted
    assert "$ not math $" in converted
    assert "$3$4" in converted


def test_money_before_a_code_span_with_dollars_is_not_math():
    """"$5 and a box $10; `$x^2$`": no math starts at $5 and swallows text up to the code."""
    source = "A unit costs $5 and a box $10; in code `$x^2$` stays."
    assert markdown_math_to_unicode(source) == source


def test_markdown_math_is_escaped_so_markdown_shows_it_literally():
    """Converted math with * or _ does not turn into emphasis."""
    assert markdown_math_to_unicode("$a*b*c$ and $x_{ab}$") == "a\\*b\\*c and x\\_(ab)"


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def test_numeric_frame_is_right_aligned_with_a_rule_and_a_distinct_index():
    """Numbers end under the end of their header; a rule follows the header; │ sets off the
    index."""
    text = html_to_text(recorded_html("numeric"))
    header, body = table_part(text)
    assert len(header) == 1 and len(body) == 4
    rule = text.splitlines()[1]
    assert set(rule) == {"─", "┼"}
    ends = {word: end for word, _, end in words(header[0])}
    separator = header[0].index("│")
    for line in body:
        assert line.index("│") == separator
        index, units, price, share = words(line)
        assert index[1] == 0
        assert units[2] == ends["units"] and price[2] == ends["price"]
        assert share[2] == ends["share"]


def test_strings_are_left_aligned_and_nan_keeps_its_column():
    """Text columns start under their header; NaN sits in its own column, numeric or not."""
    text = html_to_text(recorded_html("mixed"))
    header, body = table_part(text)
    starts = {word: start for word, start, _ in words(header[0])}
    ends = {word: end for word, _, end in words(header[0])}
    grace = next(line for line in body if "Grace" in line)
    assert grace.index("Grace") == starts["name"]
    assert grace.index("NaN") + 3 == ends["score"]
    assert grace.index("NaN", grace.index("NaN") + 3) == starts["city"]
    nameless = next(line for line in body if "Paris" in line)
    assert nameless.index("NaN") == starts["name"]
    assert nameless.index("Paris") == starts["city"]


def test_multiindex_values_sit_under_their_own_headers():
    """A groupby().agg frame: rowspan index labels leave blanks, values stay in their column."""
    assert_multiindex_aligned(html_to_text(recorded_html("multiindex")))


def test_wide_table_is_fitted_to_the_width_with_a_note():
    """30 columns in 80: the index and the first columns that fit, … and "N more columns"."""
    lines = html_lines(recorded_html("wide"), 80)
    assert all(cell_len(line.text) <= 80 for line in lines)
    header = next(line.text for line in lines if line.kind == "header")
    shown = re.findall(r"col_\d+", header)
    assert shown == [f"col_{i}" for i in range(len(shown))] and len(shown) >= 5
    rows = [line.text for line in lines if line.kind == "row"]
    assert len(rows) == 5 and all(row.endswith("…") for row in rows)
    assert lines[-1].text == f"… {30 - len(shown)} more columns not shown"


def test_without_a_width_every_column_is_kept():
    """The agent's text (no width) keeps all 30 columns on one line per row."""
    lines = [line for line in html_to_text(recorded_html("wide")).splitlines() if line]
    assert len(lines) == 7
    assert "col_29" in lines[0] and "more columns" not in lines[-1]


def test_prose_around_a_table_is_kept():
    """Text before and after a table (pandas' shape footer) is kept around the layout."""
    html = ("<p>Before</p><table><thead><tr><th>a</th></tr></thead>"
            "<tbody><tr><td>1</td></tr></tbody></table><p>120 rows × 1 columns</p>")
    assert html_to_text(html) == "Before\na\n─\n1\n\n120 rows × 1 columns"


@pytest.mark.parametrize("html", [
    "<table></table>",
    "<table><tr><td rowspan='999999'>x</td></tr></table>",
    "<table><tr><th colspan='nope'>x</th><td>1</td></tr><tr><td>2",
    "<table><tr><td><table><tr><td>inner</td></tr></table></td></tr></table>",
    "<table><tr><td>a</td></tr></table></table><table>",
    "<table>" + "<tr><td colspan=1000 rowspan=1000>x</td></tr>" * 1000 + "</table>",
])
def test_odd_tables_never_raise(html):
    """Broken or huge spans, nesting and unclosed tables give text, never an exception."""
    assert isinstance(html_to_text(html, 40), str)
    assert isinstance(layout_table(html, 10), list)


# --------------------------------------------------------------------------------------------
# What the agent reads
# --------------------------------------------------------------------------------------------


def test_agent_reads_a_multiindex_dataframe_with_values_under_their_headers():
    """output_views (read_cells' text) of a DataFrame's HTML keeps values under headers."""
    output = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
              "data": {"text/html": recorded_html("multiindex")}}
    (view,) = output_views([output], 8000, cell_id="c1")
    assert view["mime"] == "text/html" and not view["truncated"]
    assert_multiindex_aligned(view["text"])


def png_base64(width: int, height: int) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 0, 0)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_agent_gets_a_plots_picture_rather_than_its_script_html():
    """A plotly-style bundle (script HTML beside a PNG) reads as the picture, not as nothing."""
    output = {"output_type": "display_data", "metadata": {}, "data": {
        "text/html": '<div id="plot"></div><script>Plotly.newPlot("plot", [])</script>',
        "application/vnd.plotly.v1+json": {"data": [], "layout": {}},
        "image/png": png_base64(64, 32)}}
    assert output_text(output) == ("[image/png 64x32]", "image/png")
