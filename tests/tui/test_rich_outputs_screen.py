"""What the screen shows of rich outputs: LaTeX as Unicode, aligned tables, plots' pictures."""

from __future__ import annotations

from test_outputs import code_cell, png, result
from tui_helpers import running_app

from tests.test_rich_outputs import assert_multiindex_aligned, recorded_html


async def test_markdown_cell_math_is_unicode_and_code_and_money_stay(notebook):
    """A markdown cell's $...$ is drawn as Unicode; `code` and "$5 and $10" are not math."""
    source = ("Mean: $\\mu = \\frac{1}{n}\\sum_{i=1}^{n} x_i$, which costs $5 and $10.\n\n"
              "In code: `$x^2$`.")
    async with running_app(notebook([("markdown", source)])) as (app, pilot):
        text = app.view.visible_text()
        assert "Mean: μ = 1/n∑ᵢ₌₁ⁿ xᵢ, which costs $5 and $10." in text
        assert "$x^2$" in text
        assert "\\frac" not in text


async def test_latex_output_is_unicode(notebook):
    """A text/latex output (IPython's Latex) is drawn as Unicode, not as LaTeX source."""
    cell = code_cell(result({"text/latex": "$$\\frac{\\alpha}{2} + \\sqrt{x^2}$$",
                             "text/plain": "<IPython.core.display.Latex object>"}))
    async with running_app(notebook([cell])) as (app, pilot):
        text = app.view.visible_text()
        assert "α/2 + √(x²)" in text
        assert "\\frac" not in text


async def test_markdown_output_math_is_unicode(notebook):
    """A text/markdown output (IPython's Markdown) with math shows the math as Unicode."""
    cell = code_cell(result({"text/markdown": "Fitted: $\\hat y = 2x^2$ (R² 0.9)",
                             "text/plain": "<IPython.core.display.Markdown object>"}))
    async with running_app(notebook([cell])) as (app, pilot):
        assert "Fitted: ŷ = 2x² (R² 0.9)" in app.view.visible_text()


async def test_multiindex_dataframe_is_aligned_with_a_bold_header(notebook):
    """A groupby().agg DataFrame: every value under its header, the header drawn bold."""
    data = {"text/html": recorded_html("multiindex"), "text/plain": "<DataFrame>"}
    async with running_app(notebook([code_cell(result(data))])) as (app, pilot):
        lines = app.view.visible_text().splitlines()
        top = next(i for i, line in enumerate(lines) if "units" in line)
        # The selected cell's left border is not part of the table.
        assert_multiindex_aligned("\n".join(lines[top:]).replace("▌", " "))
        for y in range(app.view.scrollable_content_region.height):
            strip = app.view.render_line(y)
            if "mean" in strip.text:
                assert any("mean" in segment.text and segment.style and segment.style.bold
                           for segment in strip)
                break
        else:
            raise AssertionError("the header is not on screen")


async def test_wide_dataframe_fits_the_width_instead_of_wrapping(notebook):
    """30 columns: each row stays one line, ending in …, and a note counts what is left out."""
    data = {"text/html": recorded_html("wide"), "text/plain": "<DataFrame>"}
    async with running_app(notebook([code_cell(result(data))])) as (app, pilot):
        lines = app.view.visible_text().splitlines()
        rows = [line for line in lines if "│" in line and "col_" not in line
                and "─" not in line]
        assert len(rows) == 5
        assert all(row.rstrip().endswith("…") for row in rows)
        assert any("more columns not shown" in line for line in lines)


async def test_svg_only_plot_shows_its_text_and_a_note(notebook):
    """An SVG with no PNG: its text form is shown and one line says the SVG is not drawn."""
    cell = code_cell({"output_type": "display_data", "metadata": {}, "data": {
        "image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        "text/plain": "<Figure size 640x480 with 1 Axes>"}})
    async with running_app(notebook([cell])) as (app, pilot):
        text = app.view.visible_text()
        assert "<Figure size 640x480 with 1 Axes>" in text
        assert "[image/svg+xml: not drawn in the terminal; its text form is above]" in text


async def test_plot_bundle_with_png_beside_html_shows_the_picture(notebook):
    """plotly/altair/bokeh bundles carrying a PNG beside HTML are drawn as the picture."""
    cell = code_cell({"output_type": "display_data", "metadata": {}, "data": {
        "text/html": '<div>Loading plot widget</div><script>Plotly.newPlot("p", [])</script>',
        "application/vnd.plotly.v1+json": {"data": [], "layout": {}},
        "image/png": png(80, 40, (255, 0, 0))}})
    async with running_app(notebook([cell])) as (app, pilot):
        text = app.view.visible_text()
        assert "▀" in text
        assert "Loading plot widget" not in text
