"""Find and replace over a notebook (nbtui.core.find): pure functions over a Document."""

from __future__ import annotations

import base64

import nbformat
import pytest

from nbtui.core.document import Document
from nbtui.core.find import (
    MAX_MATCHES,
    Match,
    OutputTexts,
    find_matches,
    output_lines,
    output_plain_text,
    pick,
    replace_all,
    replace_match,
    source_offset,
)

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


def make_doc(*cells: str | dict) -> Document:
    nb = nbformat.v4.new_notebook()
    for cell in cells:
        nb.cells.append(nbformat.v4.new_code_cell(cell) if isinstance(cell, str)
                        else nbformat.from_dict(cell))
    return Document(nb, "t.ipynb")


def code(source: str, *outputs: dict) -> dict:
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.from_dict(output) for output in outputs]
    return dict(cell)


def stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def test_sources_are_searched_line_by_line_with_columns():
    """Each match names its cell, the source line and the columns of the match."""
    doc = make_doc("x = 1\ny = x + x", "print(z)")
    result = find_matches(doc, "x")
    first, _ = doc.cells
    assert result.matches == [
        Match(first.id, "source", 0, 0, 1),
        Match(first.id, "source", 1, 4, 5),
        Match(first.id, "source", 1, 8, 9),
    ]
    assert result.complete


def test_lowercase_query_ignores_case_and_a_capital_makes_it_exact():
    """Smart case: "data" finds Data and DATA; "Data" finds only Data."""
    doc = make_doc("data Data DATA")
    loose = find_matches(doc, "data")
    exact = find_matches(doc, "Data")
    assert [m.start for m in loose.matches] == [0, 5, 10] and not loose.case_sensitive
    assert [m.start for m in exact.matches] == [5] and exact.case_sensitive


def test_query_is_plain_text_not_a_pattern():
    """Characters that mean something in a regular expression are matched literally."""
    doc = make_doc("a.b axb (a.b)*")
    assert [m.start for m in find_matches(doc, "a.b").matches] == [0, 9]
    assert [m.start for m in find_matches(doc, "(a.b)*").matches] == [8]


def test_outputs_are_searched_as_plain_text_after_the_source():
    """Streams, text/plain and tracebacks are searched with ANSI codes stripped; lines count
    across the outputs of the cell, after its source's matches."""
    error = {"output_type": "error", "ename": "NameError", "evalue": "name 'hit' is not defined",
             "traceback": ["\x1b[0;31mNameError\x1b[0m   Traceback", "----> 1 \x1b[1mhit\x1b[0m()"]}
    result_ = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
               "data": {"text/plain": "'hit'", "text/html": "<b>hit</b>"}}
    doc = make_doc(code("hit()", stream("a hit\nmiss\n"), result_, error))
    cell_id = doc.cells[0].id
    assert output_lines(doc.cells[0].outputs) == [
        "a hit", "miss", "'hit'", "NameError   Traceback", "----> 1 hit()"]
    assert find_matches(doc, "hit").matches == [
        Match(cell_id, "source", 0, 0, 3),
        Match(cell_id, "outputs", 0, 2, 5),
        Match(cell_id, "outputs", 2, 1, 4),
        Match(cell_id, "outputs", 4, 8, 11),
    ]


def test_images_are_skipped_and_progress_bars_collapse():
    """A picture has no text to search; a stream rewritten with \\r is searched as shown."""
    picture = {"output_type": "display_data", "metadata": {},
               "data": {"image/png": PNG}}
    assert output_plain_text(picture) == ""
    assert output_plain_text(stream("10%\r50%\r100%\n")) == "100%\n"
    html_only = {"output_type": "display_data", "metadata": {},
                 "data": {"text/html": "<p>found here</p>"}}
    assert "found here" in output_plain_text(html_only)


def test_empty_and_multi_line_queries_find_nothing():
    """An empty query, or one spanning lines, has no matches (and replaces nothing)."""
    doc = make_doc("a\nb")
    assert find_matches(doc, "").matches == []
    assert find_matches(doc, "a\nb").matches == []
    assert replace_all("a\nb", "a\nb", "c") == ("a\nb", 0)


def test_search_stops_counting_at_the_limit():
    """A query that matches everywhere stops at the limit and says it is incomplete."""
    doc = make_doc("a" * 50)
    result = find_matches(doc, "a", limit=20)
    assert len(result.matches) == 20 and not result.complete
    assert MAX_MATCHES >= 1000


def test_pick_goes_forward_and_backward_and_wraps():
    """Next and previous from a match or a position, wrapping at the notebook's ends."""
    doc = make_doc("x", "y", "x x")
    first, second, third = doc.cells
    matches = find_matches(doc, "x").matches
    assert pick(doc, matches, matches[0]) == (1, False)
    assert pick(doc, matches, matches[2]) == (0, True)
    assert pick(doc, matches, matches[0], forward=False) == (2, True)
    at_second = Match(second.id, "source", 0, 0, 0)
    assert pick(doc, matches, at_second, inclusive=True) == (1, False)
    assert pick(doc, matches, Match(third.id, "source", 0, 0, 0), inclusive=True) == (1, False)
    assert pick(doc, matches, Match(first.id, "source", 0, 0, 0), forward=False,
                inclusive=True) == (0, False)
    assert pick(doc, [], at_second) is None


def test_pick_after_the_matched_cell_was_deleted_starts_over():
    """A position in a cell that is gone sorts first, so next goes to the first match."""
    doc = make_doc("x", "x")
    matches = find_matches(doc, "x").matches
    gone = matches[1]
    doc.delete_cells([gone.cell_id])
    fresh = find_matches(doc, "x").matches
    assert pick(doc, fresh, gone) == (0, False)


def test_replace_one_match_changes_only_that_occurrence():
    """Replacing a match replaces its columns on its line and nothing else."""
    doc = make_doc("ab\nab ab")
    matches = find_matches(doc, "ab").matches
    assert source_offset("ab\nab ab", 1, 3) == 6
    assert replace_match("ab\nab ab", matches[2], "xyz") == "ab\nab xyz"
    with pytest.raises(ValueError, match="outputs never change"):
        replace_match("ab", Match("c", "outputs", 0, 0, 2), "x")


def test_replace_all_follows_smart_case_and_takes_replacement_literally():
    """Replace all uses the same case rule as find; backslashes in the replacement stay."""
    assert replace_all("Data data DATA", "data", r"\1x") == (r"\1x \1x \1x", 3)
    assert replace_all("Data data", "Data", "d") == ("d data", 1)


def test_kept_output_texts_follow_new_outputs():
    """Output texts kept between searches are read again once the document changes."""
    doc = make_doc(code("run()", stream("old\n")))
    cell_id = doc.cells[0].id
    texts = OutputTexts()
    assert len(find_matches(doc, "old", texts=texts).matches) == 1
    doc.set_outputs(cell_id, [stream("new\nold new\n")])
    assert find_matches(doc, "old", texts=texts).matches == [Match(cell_id, "outputs", 1, 0, 3)]
    assert find_matches(doc, "new", texts=texts).matches == [
        Match(cell_id, "outputs", 0, 0, 3), Match(cell_id, "outputs", 1, 4, 7)]
