"""The view's side of find: show_match selects the cell, brings the matched line on screen
(showing hidden or cut outputs) and highlights its columns; clear_match takes it away."""

from __future__ import annotations

from tui_helpers import running_app


def highlighted(app) -> list[str]:
    """The highlighted (reverse) text of every screen line of the view that has some."""
    view = app.view
    found = []
    for y in range(view.scrollable_content_region.height):
        text = "".join(segment.text for segment in view.render_line(y)
                       if segment.style is not None and segment.style.reverse)
        if text:
            found.append(text)
    return found


def long_output_cell(lines: int) -> dict:
    text = "".join(f"row {i:03d}\n" for i in range(lines))
    return {"cell_type": "code", "source": "for i in range(...): print(...)", "metadata": {},
            "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": text}]}


async def test_a_source_match_far_down_is_selected_scrolled_to_and_highlighted(notebook):
    """A match in a cell off screen selects that cell, scrolls to it and highlights exactly the
    matched columns, line numbers or not; clear_match removes the highlight."""
    cells = [("code", f"v{i} = {i}") for i in range(60)]
    cells.append(("code", "first = 1\nvalue\t= compute(first)"))
    async with running_app(notebook(cells), size=(80, 24)) as (app, pilot):
        view = app.view
        target = app.session.document.cells[60]
        view.show_match(target.id, "source", 1, 6, 13)
        await pilot.pause()
        assert view.selected_id == target.id
        assert "value   = compute(first)" in view.visible_text()
        assert highlighted(app) == ["= compu"]
        await pilot.press("l")
        await pilot.pause()
        assert highlighted(app) == ["= compu"]
        assert "2  value   = compute(first)" in view.visible_text()
        view.clear_match()
        await pilot.pause()
        assert highlighted(app) == []


async def test_a_match_in_the_cut_part_of_a_long_output_expands_it(notebook):
    """A match on an output line hidden by the collapsed view expands the outputs and shows
    that line highlighted; one in the first lines leaves them collapsed."""
    async with running_app(notebook([long_output_cell(200)]), size=(80, 24)) as (app, pilot):
        view = app.view
        cell_id = app.session.document.cells[0].id
        view.show_match(cell_id, "outputs", 3, 4, 7)
        await pilot.pause()
        assert view.fold_of(cell_id) == "collapsed" and highlighted(app) == ["003"]
        view.show_match(cell_id, "outputs", 150, 4, 7)
        await pilot.pause()
        assert view.fold_of(cell_id) == "expanded"
        assert "row 150" in view.visible_text() and highlighted(app) == ["150"]


async def test_a_match_in_hidden_outputs_shows_them(notebook):
    """Hidden outputs (o o) come back when a match is in them."""
    async with running_app(notebook([long_output_cell(5)])) as (app, pilot):
        view = app.view
        cell_id = app.session.document.cells[0].id
        await pilot.press("o")
        await pilot.pause()
        assert "row 002" not in view.visible_text()
        view.show_match(cell_id, "outputs", 2, 0, 3)
        await pilot.pause()
        assert view.fold_of(cell_id) == "collapsed"
        assert "row 002" in view.visible_text() and highlighted(app) == ["row"]


async def test_a_match_in_markdown_is_found_in_the_rendered_text(notebook):
    """A match in a markdown cell's source is highlighted where the rendered text shows it (the
    second occurrence when the match is the second one)."""
    cells = [("markdown", "# Sales\n\nSales rose; **sales** fell.")]
    async with running_app(notebook(cells)) as (app, pilot):
        view = app.view
        cell_id = app.session.document.cells[0].id
        view.show_match(cell_id, "source", 2, 14, 19)
        await pilot.pause()
        assert highlighted(app) == ["sales"]
        row = next(line for line in view.visible_text().splitlines() if "rose" in line)
        assert "Sales rose; sales fell." in row
