"""Tests for nbtui.core.render: Jupyter outputs as compact text for a language model."""

from __future__ import annotations

import base64
import io
import re
import struct
import time
import zlib

import pandas as pd
import pytest

from nbtui.core import render
from nbtui.core.render import (
    DEFAULT_MAX_CHARS,
    IMAGE_MIMES,
    best_mime,
    collapse_carriage_returns,
    error_summary,
    html_to_text,
    output_images,
    output_summary,
    output_text,
    output_views,
    page_text,
    strip_ansi,
    truncate_middle,
)

TEN_MB = 10_000_000

# --------------------------------------------------------------------------------------------
# Sample outputs
# --------------------------------------------------------------------------------------------


def make_png(width: int, height: int) -> bytes:
    """A real, minimal greyscale PNG of the given size."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def make_jpeg(width: int, height: int) -> bytes:
    """A real JPEG (with an EXIF-free JFIF header) made by Pillow."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def display(data: dict, metadata: dict | None = None, kind: str = "display_data") -> dict:
    output = {"output_type": kind, "data": data, "metadata": metadata or {}}
    if kind == "execute_result":
        output["execution_count"] = 1
    return output


def stream(text, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


# A traceback as IPython 8 stores it: a list of ANSI-coloured chunks.
COLOURED_TRACEBACK = [
    "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
    "\x1b[0;31mZeroDivisionError\x1b[0m                         Traceback (most recent call last)",
    "Cell \x1b[0;32mIn[3], line 2\x1b[0m\n"
    "\x1b[1;32m      1\x1b[0m x \x1b[38;5;241m=\x1b[39m \x1b[38;5;241m1\x1b[39m\n"
    "\x1b[0;32m----> 2\x1b[0m \x1b[43mx\x1b[49m\x1b[43m \x1b[49m\x1b[38;5;241;43m/\x1b[39;49m"
    "\x1b[43m \x1b[49m\x1b[38;5;241;43m0\x1b[39;49m\n",
    "\x1b[0;31mZeroDivisionError\x1b[0m: division by zero",
]


def error_output(traceback=None, ename="ZeroDivisionError", evalue="division by zero") -> dict:
    return {
        "output_type": "error",
        "ename": ename,
        "evalue": evalue,
        "traceback": COLOURED_TRACEBACK if traceback is None else traceback,
    }


# --------------------------------------------------------------------------------------------
# strip_ansi
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[0;31mred\x1b[0m plain", "red plain"),
        ("\x1b[38;5;241m256\x1b[39m \x1b[38;2;10;20;30mtrue\x1b[0m", "256 true"),
        ("50%\x1b[K\x1b[2A\x1b[?25lup", "50%up"),
        ("\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x1b]0;window title\x07after", "after"),
        ("\x1b(Bcharset \x1b7saved\x1b8", "charset saved"),
        ("cut at the end \x1b[0;3", "cut at the end "),
        ("lone escape\x1b", "lone escape"),
        ("eight-bit \x9b1mCSI", "eight-bit CSI"),
    ],
)
def test_strip_ansi_removes_escape_sequences(raw, clean):
    """CSI (colours, cursor moves), OSC (links, titles), charset escapes and stubs all go."""
    assert strip_ansi(raw) == clean


def test_strip_ansi_leaves_plain_text_untouched():
    """Text without escapes comes back as the very same string (fast path)."""
    text = "no escapes [0;31m here\n"
    assert strip_ansi(text) is text


def test_strip_ansi_is_fast_on_10_mb():
    """Ten megabytes of densely coloured text are cleaned well under a second."""
    line = "\x1b[0;31mred\x1b[0m text \x1b[1;32mgreen\x1b[0m\x1b[K\n"
    text = line * (TEN_MB // len(line))
    start = time.perf_counter()
    clean = strip_ansi(text)
    elapsed = time.perf_counter() - start
    assert clean == "red text green\n" * (TEN_MB // len(line))
    assert elapsed < 1.0


# --------------------------------------------------------------------------------------------
# collapse_carriage_returns
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "collapsed"),
    [
        ("a\rb\n", "b\n"),
        ("line one\r\nline two\r\n", "line one\nline two\n"),
        ("10%\r50%\r100%\ndone\n", "100%\ndone\n"),
        ("loading\r\r\n", "loading\n"),
        ("still going 40%\r", "still going 40%"),
        ("x\r\ry\n", "y\n"),
        ("no carriage returns\n", "no carriage returns\n"),
    ],
)
def test_collapse_carriage_returns_keeps_final_state(raw, collapsed):
    """Each line keeps what follows its last \\r; \\r\\n is a newline; trailing \\r is dropped."""
    assert collapse_carriage_returns(raw) == collapsed


def test_collapse_carriage_returns_progress_bar():
    """A tqdm-style progress bar collapses to its last state, other lines untouched."""
    bar = "".join(f"\r{i:3d}%|{'#' * (i // 10):<10}| {i}/100" for i in range(101))
    text = "start\n" + bar + "\n" + "end\n"
    assert collapse_carriage_returns(text) == "start\n100%|##########| 100/100\nend\n"


def test_collapse_carriage_returns_is_fast_on_10_mb():
    """Ten megabytes of progress-bar redraws, and one 10 MB line with a late \\r, are fast."""
    redraws = "".join(f"{i}%|###   |\r" for i in range(100)) + "\n"
    many = redraws * (TEN_MB // len(redraws))
    long_line = "x" * TEN_MB + "\rtail\n" + "y" * TEN_MB
    start = time.perf_counter()
    collapsed = collapse_carriage_returns(many)
    collapsed_long = collapse_carriage_returns(long_line)
    elapsed = time.perf_counter() - start
    assert collapsed == "99%|###   |\n" * (TEN_MB // len(redraws))
    assert collapsed_long == "tail\n" + "y" * TEN_MB
    assert elapsed < 1.0


# --------------------------------------------------------------------------------------------
# html_to_text
# --------------------------------------------------------------------------------------------


def test_html_to_text_lays_out_a_dataframe_as_aligned_columns():
    """A pandas DataFrame's HTML comes out as a table whose columns line up: text columns
    left-aligned under their header, numbers right-aligned to its end, a rule under it."""
    df = pd.DataFrame(
        {"city": ["Oslo", "Rio de Janeiro", "Lima"], "population": [709000, 6748000, 10000]}
    )
    text = html_to_text(df.to_html())
    assert any(set(line.strip()) <= set("─┼") and line.strip() for line in text.splitlines())
    lines = [line for line in text.splitlines() if line.strip() and "─" not in line]
    assert len(lines) == 4
    header = lines[0]
    city_col, pop_col = header.index("city"), header.index("population")
    for row, (city, pop) in zip(lines[1:], zip(df.city, df.population, strict=True), strict=True):
        assert row[city_col:].startswith(city)
        assert row[:pop_col + len("population")].endswith(str(pop))
    assert "<" not in text
    assert all(line == line.rstrip() for line in text.splitlines())


def test_html_to_text_notebook_repr_of_a_large_dataframe():
    """The notebook HTML repr (style block, ellipsis rows, shape footer) reads cleanly."""
    df = pd.DataFrame({"a": range(100), "b": ["x"] * 100})
    text = html_to_text(df._repr_html_())
    assert "100 rows × 2 columns" in text
    assert "..." in text
    assert "dataframe" not in text  # the <style> block is not shown
    assert not text.startswith(" " * 4 + "  ")  # common indentation removed
    assert "\n\n\n" not in text


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "   ",
        "<",
        "<<<>>&amp;<table><tr><td>1",
        '<?xml version="1.0" encoding="UTF-8"?><p>declared</p>',
        "\x00\x01<p>control</p>",
        "</div></div><td>stray",
        "<script>alert(1)</script><b>bold</b>&nbsp;&amp;",
    ],
)
def test_html_to_text_is_robust_to_garbage(garbage):
    """Malformed HTML never raises and never leaks scripts."""
    text = html_to_text(garbage)
    assert isinstance(text, str)
    assert "alert" not in text


def test_html_to_text_falls_back_when_converter_fails(monkeypatch):
    """If inscriptis raises, tags are stripped and entities unescaped instead."""
    import inscriptis

    def boom(*args, **kwargs):
        raise RuntimeError("converter broke")

    monkeypatch.setattr(inscriptis, "get_text", boom)
    render._html_to_text_cached.cache_clear()
    try:
        text = html_to_text("<style>p {}</style><p>fish &amp; chips</p><p>unique-fallback</p>")
    finally:
        render._html_to_text_cached.cache_clear()
    assert text == "fish & chipsunique-fallback"


# --------------------------------------------------------------------------------------------
# best_mime
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mimes", "best"),
    [
        (["text/plain", "text/markdown", "text/html"], "text/markdown"),
        (["text/html", "text/plain"], "text/plain"),
        (["application/json", "text/html", "image/png"], "text/html"),
        (["text/latex", "application/json"], "application/json"),
        (["image/svg+xml", "text/latex"], "text/latex"),
        (["image/png", "image/svg+xml"], "image/svg+xml"),
        (["image/png", "image/jpeg"], None),
        (["application/vnd.plotly.v1+json"], None),
        ([], None),
    ],
)
def test_best_mime_order(mimes, best):
    """markdown > plain > html > json > latex > svg; only images or unknown types give None."""
    assert best_mime({mime: "x" for mime in mimes}) == best


def test_best_mime_skips_a_default_repr_when_html_is_there():
    """text/plain '<IPython.core.display.HTML object>' gives way to the HTML it stands for."""
    data = {"text/plain": "<IPython.core.display.HTML object>", "text/html": "<b>hi</b>"}
    assert best_mime(data) == "text/html"
    assert best_mime({"text/plain": "<IPython.core.display.HTML object>"}) == "text/plain"


# --------------------------------------------------------------------------------------------
# output_text
# --------------------------------------------------------------------------------------------


def test_output_text_stream_joins_lines_strips_ansi_and_collapses_returns():
    """Stream text stored as a list of lines is joined, cleaned, and keyed by stream name."""
    output = stream(["epoch 1\n", "\x1b[32m10%\r100%\x1b[0m\n", "done"], name="stderr")
    assert output_text(output) == ("epoch 1\n100%\ndone", "stderr")


def test_output_text_error_is_header_plus_clean_traceback():
    """An error becomes 'ename: evalue' and the traceback without ANSI codes."""
    text, kind = output_text(error_output())
    assert kind == "error"
    assert text.startswith("ZeroDivisionError: division by zero\n")
    assert "\x1b" not in text
    assert "----> 2 x / 0" in text
    assert text.endswith("ZeroDivisionError: division by zero")


def test_output_text_execute_result_plain():
    """An execute_result with text/plain (even as a list of lines) gives that text."""
    output = display({"text/plain": ["42\n", "43"]}, kind="execute_result")
    assert output_text(output) == ("42\n43", "text/plain")


def test_output_text_html_only_dataframe_is_a_readable_table():
    """A bundle with only text/html (a DataFrame without text/plain) renders as a table."""
    df = pd.DataFrame({"name": ["ada", "grace"], "score": [91.5, 88.25]})
    html_lines = df.to_html().splitlines(keepends=True)
    text, kind = output_text(display({"text/html": html_lines}, kind="execute_result"))
    assert kind == "text/html"
    assert "<td>" not in text
    assert re.search(r"0\s+│\s+ada\s+91\.50*\b", text)
    assert re.search(r"1\s+│\s+grace\s+88\.25\b", text)


def test_output_text_json_is_pretty_printed_in_order():
    """application/json dicts are dumped with indent=1, keys in their own order."""
    output = display({"application/json": {"z": 1, "a": [1, 2], "é": "ü"}})
    text, kind = output_text(output)
    assert kind == "application/json"
    assert text == '{\n "z": 1,\n "a": [\n  1,\n  2\n ],\n "é": "ü"\n}'


def test_output_text_markdown_and_latex():
    """Markdown bundles show their source text; LaTeX bundles show it as Unicode."""
    assert output_text(display({"text/markdown": ["# Title\n", "body"]})) == (
        "# Title\nbody",
        "text/markdown",
    )
    assert output_text(display({"text/latex": "$x^2$"})) == ("x²", "text/latex")


def test_output_text_figure_keeps_its_plain_repr():
    """A matplotlib figure's bundle shows its text/plain, the image travels separately."""
    png = base64.b64encode(make_png(4, 3)).decode()
    output = display({"image/png": png, "text/plain": "<Figure size 640x480 with 1 Axes>"})
    assert output_text(output) == ("<Figure size 640x480 with 1 Axes>", "text/plain")


def test_output_text_image_only_png_placeholder_has_size():
    """An image-only PNG bundle becomes '[image/png WxH]' read from the PNG header."""
    png = base64.encodebytes(make_png(640, 480)).decode()  # with newlines every 76 chars
    assert output_text(display({"image/png": png})) == ("[image/png 640x480]", "image/png")


def test_output_text_image_only_jpeg_placeholder_has_size():
    """An image-only JPEG bundle becomes '[image/jpeg WxH]' read from its frame header."""
    jpeg = base64.b64encode(make_jpeg(40, 30)).decode()
    assert output_text(display({"image/jpeg": jpeg})) == ("[image/jpeg 40x30]", "image/jpeg")


def test_output_text_image_placeholder_without_readable_header():
    """Undecodable image data falls back to metadata size, else the bare MIME type."""
    meta = {"image/png": {"width": 300, "height": 200}}
    assert output_text(display({"image/png": "!!!!"}, meta))[0] == "[image/png 300x200]"
    assert output_text(display({"image/png": "!!!!"}))[0] == "[image/png]"


def test_output_text_unknown_mime_and_empty_bundle():
    """A bundle with no text form names its MIME type; an empty one gives empty text."""
    output = display({"application/vnd.plotly.v1+json": {"data": []}})
    assert output_text(output) == (
        "[application/vnd.plotly.v1+json]",
        "application/vnd.plotly.v1+json",
    )
    assert output_text(display({})) == ("", "display_data")


# --------------------------------------------------------------------------------------------
# output_images
# --------------------------------------------------------------------------------------------


def test_output_images_decodes_base64_with_newlines_and_lists():
    """PNG and JPEG base64 with embedded newlines, or as a list of lines, decode to bytes."""
    png, jpeg = make_png(5, 7), make_jpeg(16, 8)
    png_b64 = base64.encodebytes(png).decode()
    assert "\n" in png_b64
    jpeg_lines = base64.encodebytes(jpeg).decode().splitlines(keepends=True)
    output = display({"text/plain": "<Figure>", "image/jpeg": jpeg_lines, "image/png": png_b64})
    assert output_images(output) == [("image/png", png), ("image/jpeg", jpeg)]
    assert tuple(mime for mime, _ in output_images(output)) == IMAGE_MIMES


def test_output_images_tolerates_missing_padding_and_skips_garbage():
    """Base64 without its '=' padding still decodes; undecodable values are skipped."""
    png = make_png(3, 3)
    unpadded = base64.b64encode(png).decode().rstrip("=")
    assert output_images(display({"image/png": unpadded})) == [("image/png", png)]
    assert output_images(display({"image/png": "a"})) == []


def test_output_images_none_for_text_outputs():
    """Streams, errors and text-only bundles have no images."""
    assert output_images(stream("hi")) == []
    assert output_images(error_output()) == []
    assert output_images(display({"text/plain": "1"})) == []


# --------------------------------------------------------------------------------------------
# truncate_middle
# --------------------------------------------------------------------------------------------


def numbered_lines(n: int) -> str:
    return "".join(f"line {i:05d} " + "." * 40 + "\n" for i in range(n))


def test_truncate_middle_leaves_short_text_alone():
    """Text within the limit comes back unchanged and not truncated."""
    assert truncate_middle("short", 5) == ("short", False)


def test_truncate_middle_keeps_head_and_tail_at_line_boundaries():
    """About 60% head and 40% tail are kept, cut at line boundaries, with a counted marker."""
    text = numbered_lines(1000)
    cut, truncated = truncate_middle(text, 2000)
    assert truncated
    head, marker, tail = re.fullmatch(r"(.*?)(… \[[^\n]*\] …)\n(.*)", cut, re.DOTALL).groups()
    assert text.startswith(head) and head.endswith("\n")
    assert text.endswith(tail) and tail.startswith("line ")
    assert 900 <= len(head) <= 1200
    assert 600 <= len(tail) <= 800
    omitted = len(text) - len(head) - len(tail)
    assert marker == f"… [{omitted:,} of {len(text):,} characters omitted] …"


def test_truncate_middle_read_more_hint_gets_the_offset():
    """The read_more hint appears in the marker with {offset} set to where the gap starts."""
    text = numbered_lines(500)
    cut, _ = truncate_middle(text, 1000, read_more="read_output(offset={offset}) reads more")
    head = cut.split("… [", 1)[0]
    match = re.search(r"characters omitted; read_output\(offset=(\d+)\) reads more\] …", cut)
    assert match
    assert int(match.group(1)) == len(head)


def test_truncate_middle_single_long_line_cut_by_characters():
    """Text without newlines is cut mid-line, and the result respects limit + marker."""
    text = "x" * 50_000
    cut, truncated = truncate_middle(text, 1000)
    assert truncated
    marker = "\n… [49,000 of 50,000 characters omitted] …\n"
    assert cut == "x" * 600 + marker + "x" * 400


def test_truncate_middle_on_10_mb_is_fast_and_bounded():
    """A 10 MB text is cut almost instantly, to at most limit plus the marker's length."""
    text = numbered_lines(TEN_MB // 52)
    assert len(text) >= TEN_MB - 100
    hint = 'read_output(cell_id="c1", output_index=0, offset={offset}) reads more'
    start = time.perf_counter()
    cut, truncated = truncate_middle(text, DEFAULT_MAX_CHARS, read_more=hint)
    elapsed = time.perf_counter() - start
    assert truncated
    marker_line = next(line for line in cut.splitlines() if line.startswith("… ["))
    assert len(cut) <= DEFAULT_MAX_CHARS + len(marker_line) + 2
    assert elapsed < 0.1


def test_truncate_middle_zero_limit_is_just_the_marker():
    """A limit of zero (or less) keeps nothing but the marker."""
    assert truncate_middle("abc", 0) == ("… [3 of 3 characters omitted] …", True)
    assert truncate_middle("abc", -5)[0] == "… [3 of 3 characters omitted] …"


# --------------------------------------------------------------------------------------------
# output_views
# --------------------------------------------------------------------------------------------


def test_output_views_spreads_the_budget_over_outputs():
    """One small and two huge outputs: the small one intact, the big ones cut and pointed at."""
    small = stream("shape: (3, 4)\n")
    huge_stream = stream(numbered_lines(20_000), name="stderr")
    huge_html = display({"text/html": pd.DataFrame({"v": range(5000)}).to_html()})
    outputs = [small, huge_stream, huge_html]
    views = output_views(outputs, 8000, cell_id="cell-abc")

    assert [view["output_index"] for view in views] == [0, 1, 2]
    assert [view["output_type"] for view in views] == ["stream", "stream", "display_data"]
    assert [view["mime"] for view in views] == ["stdout", "stderr", "text/html"]
    assert views[0]["text"] == "shape: (3, 4)\n" and views[0]["truncated"] is False
    for index in (1, 2):
        view = views[index]
        assert view["truncated"] is True
        full = output_text(outputs[index])[0]
        match = re.search(
            r'read_output\(cell_id="cell-abc", output_index=(\d+), offset=(\d+)\) reads more',
            view["text"],
        )
        assert match and int(match.group(1)) == index
        # The offset is where the omitted part starts: the shown head ends right there.
        offset = int(match.group(2))
        assert view["text"].startswith(full[:offset])
        assert not full[offset:].startswith(view["text"][offset : offset + 20])
    kept = sum(len(view["text"]) for view in views)
    assert 7000 <= kept <= 8000 + 2 * 120
    assert abs(len(views[1]["text"]) - len(views[2]["text"])) < 300


def test_output_views_scratch_run_hint_suggests_printing_less():
    """Without a cell id (run_code), the marker says the output was cut and to print less."""
    views = output_views([stream("y" * 30_000)], 1000)
    assert views[0]["truncated"]
    assert "read_output" not in views[0]["text"]
    assert "print less" in views[0]["text"]


def test_output_views_fits_without_cutting_and_flags_images():
    """Outputs within the budget are untouched; has_image marks bundles with PNG/JPEG."""
    png = base64.b64encode(make_png(8, 8)).decode()
    outputs = [
        stream("a\n"),
        display({"image/png": png, "text/plain": "<Figure size 640x480 with 1 Axes>"}),
        error_output(),
    ]
    views = output_views(outputs, DEFAULT_MAX_CHARS, cell_id="c")
    assert [view["truncated"] for view in views] == [False, False, False]
    assert [view["has_image"] for view in views] == [False, True, False]
    assert views[1]["text"] == "<Figure size 640x480 with 1 Axes>"
    assert views[2]["mime"] == "error"
    assert output_views([], 100) == []


def test_output_views_tiny_budget_still_shows_something():
    """With a budget too small to share, each cut output still keeps a short head and tail."""
    outputs = [stream("z" * 5000) for _ in range(10)]
    views = output_views(outputs, 100, cell_id="c")
    for view in views:
        assert view["truncated"]
        assert view["text"].startswith("z" * 100)


def test_output_views_no_limit():
    """A budget of None returns every output in full."""
    views = output_views([stream("q" * 50_000)], None)
    assert views[0]["text"] == "q" * 50_000 and not views[0]["truncated"]


# --------------------------------------------------------------------------------------------
# output_summary
# --------------------------------------------------------------------------------------------


def test_output_summary_mixed_outputs():
    """Streams are summed per name, images named by MIME, errors by exception name."""
    png = base64.b64encode(make_png(2, 2)).decode()
    outputs = [
        stream("loading\n"),
        stream(["a\n", "b\n"]),
        display({"image/png": png, "text/plain": "<Figure size 640x480 with 1 Axes>"}),
        error_output(ename="KeyError", evalue="'price'"),
    ]
    assert output_summary(outputs) == "stdout 3 lines; image/png; error KeyError"


def test_output_summary_results_displays_and_empty():
    """Results and displays count their text lines; no outputs give an empty string."""
    outputs = [
        stream("warn\n", name="stderr"),
        display({"text/plain": "42"}, kind="execute_result"),
        display({"text/markdown": "# a\nb\n"}),
    ]
    assert output_summary(outputs) == "stderr 1 line; result 1 line; display 2 lines"
    assert output_summary([]) == ""


def test_output_summary_folds_repeats_and_stays_short():
    """Repeated images fold into 'xN' and a long list ends with '+N more'."""
    png = base64.b64encode(make_png(2, 2)).decode()
    images = [display({"image/png": png}) for _ in range(3)]
    assert output_summary(images) == "image/png x3"
    mixed = []
    for i in range(10):
        mixed.append(display({"image/png": png}))
        mixed.append(error_output(ename=f"E{i}"))
    summary = output_summary(mixed)
    assert summary.endswith("+15 more")
    assert len(summary) < 120


# --------------------------------------------------------------------------------------------
# page_text
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "limit", "expected"),
    [
        (0, 4, {"text": "0123", "offset": 0, "total": 10}),
        (8, 100, {"text": "89", "offset": 8, "total": 10}),
        (-3, 2, {"text": "01", "offset": 0, "total": 10}),
        (50, 5, {"text": "", "offset": 10, "total": 10}),
        (2, -1, {"text": "", "offset": 2, "total": 10}),
    ],
)
def test_page_text_clamps_offsets(offset, limit, expected):
    """Pages are slices of the text; offsets out of range and negative limits are clamped."""
    assert page_text("0123456789", offset, limit) == expected


# --------------------------------------------------------------------------------------------
# error_summary
# --------------------------------------------------------------------------------------------


def test_error_summary_of_a_coloured_traceback():
    """ename, evalue and a traceback with every ANSI code stripped."""
    summary = error_summary(error_output())
    assert summary["ename"] == "ZeroDivisionError"
    assert summary["evalue"] == "division by zero"
    assert "\x1b" not in summary["traceback"]
    assert "ZeroDivisionError                         Traceback" in summary["traceback"]
    assert "----> 2 x / 0" in summary["traceback"]


def test_error_summary_cuts_long_tracebacks_in_the_middle():
    """A deep recursion traceback is cut to about 3000 characters, head and tail kept."""
    frames = [
        f"Cell \x1b[0;32mIn[1], line 2\x1b[0m, in \x1b[0;36mf\x1b[0;34m(n={n})\x1b[0m\n"
        "\x1b[0;32m----> 2\x1b[0m \x1b[38;5;28;01mreturn\x1b[39;00m f(n - 1)\n"
        for n in range(500)
    ]
    traceback = [COLOURED_TRACEBACK[0], *frames, "\x1b[0;31mRecursionError\x1b[0m: too deep"]
    summary = error_summary(error_output(traceback, "RecursionError", "too deep"))
    text = summary["traceback"]
    assert 2500 <= len(text) <= 3000 + 100
    assert "characters omitted" in text
    assert text.startswith("-----")
    assert text.endswith("RecursionError: too deep")
    assert "\x1b" not in text
