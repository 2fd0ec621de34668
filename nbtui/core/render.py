"""Turn Jupyter outputs into compact text for a language model.

The agent contract ("Context economy" in the MCP tools spec) says outputs reach an agent as text:
ANSI escapes stripped, rich MIME bundles reduced to their best text form, long outputs cut with
head and tail kept and a marker saying how much was left out and how to read more. Images travel
separately (as MCP image content), so here they only get a short placeholder and a raw-bytes
accessor.

Everything works on nbformat v4 output dicts as stored in a notebook (or built by
``nbformat.v4.output_from_msg``): multi-line strings may be lists of lines, ``application/json``
values are already parsed objects, and images are base64 text (possibly with embedded newlines).

These functions run on every tool call, so they are linear in the size of their input and avoid
regular expressions that can backtrack quadratically on long lines.
"""

from __future__ import annotations

import base64
import binascii
import functools
import html as html_lib
import json
import re
import struct
import textwrap
from typing import Any

from nbtui.core.latex import latex_output_to_text, markdown_math_to_unicode
from nbtui.core.tables import TableLine, layout_table, split_tables

__all__ = [
    "DEFAULT_MAX_CHARS",
    "IMAGE_MIMES",
    "TEXT_MIMES",
    "TRACEBACK_MAX_CHARS",
    "best_mime",
    "collapse_carriage_returns",
    "error_summary",
    "excerpt",
    "html_lines",
    "html_to_text",
    "output_images",
    "output_summary",
    "output_text",
    "output_views",
    "page_text",
    "strip_ansi",
    "truncate_middle",
]

DEFAULT_MAX_CHARS = 8000
"""Default text budget for the outputs of one ``read_cells`` call (and one ``read_output`` page)."""

IMAGE_MIMES = ("image/png", "image/jpeg")
"""Raster images that are handed to the agent as image content rather than text."""

TEXT_MIMES = (
    "text/markdown",
    "text/plain",
    "text/html",
    "application/json",
    "text/latex",
    "image/svg+xml",
)
"""MIME types that have a text form, best first."""

TRACEBACK_MAX_CHARS = 3000
"""How much of a traceback :func:`error_summary` keeps (head and tail)."""

_MIN_SHARE = 200
"""Smallest slice of the budget a cut output gets, so that each one shows something."""

OUTPUT_VIEW_COST = 300
"""Characters of a budget one output view takes besides its text: its fields and a cut marker."""

EVALUE_MAX_CHARS = 1000
"""How much of an exception's message :func:`error_summary` keeps (head and tail)."""

EXCERPT_CHARS = 60
"""How much of a caller's value an error message quotes."""

_HEAD_FRACTION = 0.6

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST, or unterminated), DCS/SOS/PM/APC strings,
# two-character escapes (ESC followed by intermediates and a final byte), a lone ESC, and the
# 8-bit CSI. Every alternative is a simple forward scan, so the pattern is linear.
_ANSI_RE = re.compile(
    r"\x1b(?:"
    r"\[[0-?]*[ -/]*[@-~]?"
    r"|\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|[ -/]*[0-~]"
    r")?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
)

# The common case (colours) on its own: a simpler pattern that runs about twice as fast.
_SGR_RE = re.compile(r"\x1b\[[0-9;]*m")

# Everything on a line up to its last carriage return that is followed by visible text. Anchored
# at line starts so the engine does one forward scan and one backtrack per line.
_CR_RE = re.compile(r"^[^\n]*\r(?=[^\r\n])", re.MULTILINE)

_BLANK_RUN_RE = re.compile(r"\n{3,}")
_TAG_RE = re.compile(r"<[^<>]*>")
_SCRIPT_STYLE_RE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
# A default repr such as "<IPython.core.display.HTML object>": worthless next to the HTML.
_DEFAULT_REPR_RE = re.compile(r"^<[\w.]+ object(?: at 0x[0-9a-fA-F]+)?>$")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Base64 characters to decode when sniffing a JPEG's size: its frame header can sit behind EXIF
# and ICC segments, which are rarely larger than this.
_JPEG_SNIFF_CHARS = 96 * 1024


# --------------------------------------------------------------------------------------------
# Cleaning text
# --------------------------------------------------------------------------------------------


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """A short quotation of a value for an error message, however large the value is.

    Args:
        value: What the caller sent (often a string, possibly megabytes long).
        limit: Characters of the value to quote.

    Returns:
        The value's repr, or the repr of its first ``limit`` characters followed by
        ``… (N characters)`` when it is longer.

    Example:
        ``excerpt("x" * 10**7, 3) == "'xxx'… (10,000,000 characters)"``
    """
    if isinstance(value, str | bytes) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (CSI, OSC and the rest) from text.

    Args:
        text: Text that may contain terminal escapes, e.g. a coloured IPython traceback.

    Returns:
        The text without escape sequences. Unterminated sequences at the end are dropped too.
    """
    if "\x1b" not in text and "\x9b" not in text:
        return text
    text = _SGR_RE.sub("", text)
    if "\x1b" not in text and "\x9b" not in text:
        return text
    return _ANSI_RE.sub("", text)


def collapse_carriage_returns(text: str) -> str:
    r"""Keep only what a terminal would finally show on lines rewritten with ``\r``.

    Progress bars redraw a line by writing ``\r`` and the new state; only the last non-empty
    state of each line is kept. ``\r\n`` counts as a newline, and trailing ``\r`` are dropped.

    Args:
        text: Stream text.

    Returns:
        The text with each line reduced to what follows its last carriage return.

    Example:
        ``collapse_carriage_returns("10%\r50%\r100%\ndone\n") == "100%\ndone\n"``
    """
    if "\r" not in text:
        return text
    text = text.replace("\r\n", "\n")
    if "\r" not in text:
        return text
    return _CR_RE.sub("", text).replace("\r", "")


def _join(value: Any) -> str:
    """Join a notebook multi-line string (a str or a list of lines) into one str."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "".join(v if isinstance(v, str) else str(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _tidy(text: str) -> str:
    """Strip trailing spaces on each line, collapse blank runs and common indentation."""
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = _BLANK_RUN_RE.sub("\n\n", text)
    return textwrap.dedent(text).strip("\n")


def html_to_text(html: str, width: int | None = None) -> str:
    """Render HTML as readable plain text, with tables laid out as aligned columns.

    Tables are laid out by :func:`nbtui.core.tables.layout_table` (every value under its
    header, numeric columns right-aligned, a rule under the header, the index set off by
    ``│``); the rest goes through inscriptis (strict CSS profile, no link targets). Scripts and
    styles are dropped. Malformed input never raises: if the converter fails, tags are
    stripped and entities unescaped instead.

    Args:
        html: An HTML fragment or document, e.g. ``DataFrame._repr_html_()``.
        width: Columns available for tables, or None for no limit.

    Returns:
        The text, without trailing spaces on lines, without runs of blank lines and without
        common leading indentation.
    """
    return "\n".join(line.text for line in html_lines(html, width))


def html_lines(html: str, width: int | None = None) -> tuple[TableLine, ...]:
    """HTML as lines of text, each saying whether it is prose or part of a table.

    Args:
        html: An HTML fragment or document (a str or a notebook list of lines).
        width: Columns available for tables, or None for no limit.

    Returns:
        The lines of :func:`html_to_text`, with table headers, rules and rows marked.
    """
    if not isinstance(html, str):
        html = _join(html)
    if not html.strip():
        return ()
    return _html_lines_cached(html, width)


@functools.lru_cache(maxsize=128)
def _html_lines_cached(html: str, width: int | None) -> tuple[TableLine, ...]:
    lines: list[TableLine] = []
    for is_table, fragment in split_tables(html):
        laid_out = layout_table(fragment, width) if is_table else []
        if not laid_out:
            text = _html_to_text_cached(fragment)
            if not text.strip():
                continue
            laid_out = [TableLine(line) for line in text.split("\n")]
        if lines and lines[-1].kind != "text" and laid_out[0].kind == "text":
            lines.append(TableLine(""))
        lines.extend(laid_out)
    return tuple(lines)


@functools.lru_cache(maxsize=128)
def _html_to_text_cached(html: str) -> str:
    try:
        from inscriptis import get_text
        from inscriptis.css_profiles import CSS_PROFILES
        from inscriptis.model.config import ParserConfig

        config = ParserConfig(css=CSS_PROFILES["strict"], display_links=False)
        text = get_text(html, config)
    except Exception:  # any converter failure falls back to tag stripping
        text = _SCRIPT_STYLE_RE.sub("", html)
        text = html_lib.unescape(_TAG_RE.sub("", text))
    return _tidy(text.replace("\xa0", " "))


# --------------------------------------------------------------------------------------------
# MIME bundles
# --------------------------------------------------------------------------------------------


def best_mime(data: dict) -> str | None:
    """Choose which MIME type of a bundle to show as text.

    Order: text/markdown, text/plain, text/html, application/json, text/latex, image/svg+xml.
    One exception: a text/plain that is only a default repr (``<IPython.core.display.HTML
    object>``) gives way to text/html or text/latex when the bundle has it.

    Args:
        data: The ``data`` MIME bundle of a display_data or execute_result output.

    Returns:
        The chosen MIME type, or None if the bundle only has images or unknown types.
    """
    if not data:
        return None
    for mime in TEXT_MIMES:
        if mime not in data:
            continue
        if mime == "text/plain" and ("text/html" in data or "text/latex" in data):
            plain = _join(data[mime]).strip()
            if _DEFAULT_REPR_RE.match(plain):
                continue
        return mime
    return None


def _mime_text(mime: str, value: Any) -> str:
    """Text form of one bundle entry."""
    if mime == "application/json":
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return strip_ansi(value)
        return json.dumps(value, indent=1, sort_keys=False, ensure_ascii=False, default=str)
    text = _join(value)
    if mime == "text/html":
        return html_to_text(text)
    if mime == "text/latex":
        return latex_output_to_text(strip_ansi(text))
    if mime == "text/markdown":
        return markdown_math_to_unicode(strip_ansi(text))
    return strip_ansi(text)


def _image_bytes(value: Any, max_chars: int | None = None) -> bytes | None:
    """Decode a base64 image value (str, list of lines or bytes); None if it is not base64."""
    if isinstance(value, bytes):
        if value.startswith(_PNG_SIGNATURE) or value.startswith(b"\xff\xd8"):
            return value if max_chars is None else value[:max_chars]
        value = value.decode("ascii", "ignore")
    text = _join(value)
    if max_chars is not None and len(text) > max_chars:
        # Only a prefix is needed: keep whole 4-character groups of the base64 alphabet.
        text = "".join(text[: max_chars + max_chars // 16].split())
        text = text[: len(text) - len(text) % 4]
    else:
        text = "".join(text.split())
        text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text)
    except (binascii.Error, ValueError):
        return None


def _png_size(raw: bytes) -> tuple[int, int] | None:
    if len(raw) >= 24 and raw.startswith(_PNG_SIGNATURE) and raw[12:16] == b"IHDR":
        width, height = struct.unpack(">II", raw[16:24])
        return width, height
    return None


def _jpeg_size(raw: bytes) -> tuple[int, int] | None:
    if not raw.startswith(b"\xff\xd8"):
        return None
    i, n = 2, len(raw)
    while i + 9 <= n:
        if raw[i] != 0xFF:
            return None
        marker = raw[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length field
            i += 2
            continue
        (seg_len,) = struct.unpack(">H", raw[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", raw[i + 5 : i + 9])
            return width, height
        if marker == 0xDA:  # start of scan: no frame header found before the data
            return None
        i += 2 + seg_len
    return None


def _image_placeholder(mime: str, value: Any, metadata: dict | None) -> str:
    """``[image/png 640x480]``, or ``[image/png]`` when the size is not cheap to learn."""
    size = None
    if mime == "image/png":
        raw = _image_bytes(value, max_chars=64)
        size = _png_size(raw) if raw else None
    elif mime == "image/jpeg":
        raw = _image_bytes(value, max_chars=_JPEG_SNIFF_CHARS)
        size = _jpeg_size(raw) if raw else None
    if size is None and isinstance(metadata, dict):
        meta = metadata.get(mime)
        if isinstance(meta, dict):
            width, height = meta.get("width"), meta.get("height")
            if isinstance(width, int) and isinstance(height, int):
                size = (width, height)
    if size is None:
        return f"[{mime}]"
    return f"[{mime} {size[0]}x{size[1]}]"


def _has_image(output: dict) -> bool:
    data = output.get("data")
    return isinstance(data, dict) and any(mime in data for mime in IMAGE_MIMES)


# --------------------------------------------------------------------------------------------
# One output
# --------------------------------------------------------------------------------------------


def _error_text(output: dict) -> tuple[str, str, str]:
    """(ename, evalue, traceback) of an error output, ANSI stripped, traceback not cut."""
    ename = strip_ansi(_join(output.get("ename")))
    evalue = strip_ansi(_join(output.get("evalue")))
    tb = output.get("traceback") or []
    if isinstance(tb, str):
        traceback = tb
    else:
        traceback = "\n".join(_join(line) for line in tb)
    return ename, evalue, strip_ansi(traceback).strip("\n")


def output_text(output: dict) -> tuple[str, str]:
    """Reduce one output to its text form.

    * stream: the text joined, ANSI stripped and carriage returns collapsed; kind is the
      stream name (``stdout``/``stderr``).
    * error: ``"ename: evalue\\n"`` followed by the traceback with ANSI stripped; kind
      ``error``.
    * execute_result / display_data: the text form of :func:`best_mime` (HTML rendered as text,
      JSON pretty-printed); kind is that MIME type. A bundle with only an image gives a
      placeholder like ``[image/png 640x480]`` and the image MIME type as kind; any other bundle
      without text gives ``[its/mime]``.

    Args:
        output: An nbformat v4 output dict.

    Returns:
        ``(text, kind)``. Unknown or empty outputs give ``("", output_type)``.
    """
    output_type = output.get("output_type", "")
    if output_type == "stream":
        text = collapse_carriage_returns(strip_ansi(_join(output.get("text"))))
        return text, str(output.get("name") or "stdout")
    if output_type == "error":
        ename, evalue, traceback = _error_text(output)
        head = f"{ename}: {evalue}" if evalue else ename
        return (f"{head}\n{traceback}" if traceback else head), "error"
    data = output.get("data")
    if not isinstance(data, dict) or not data:
        return "", output_type
    mime = best_mime(data)
    if mime is not None:
        text = _mime_text(mime, data[mime])
        # A plot's HTML (plotly, bokeh) is mostly script: its picture says more than its text.
        if text.strip() or mime != "text/html" or not _has_image(output):
            return text, mime
    for image_mime in IMAGE_MIMES:
        if image_mime in data:
            metadata = output.get("metadata")
            return _image_placeholder(image_mime, data[image_mime], metadata), image_mime
    other = next(iter(data))
    return f"[{other}]", other


def output_images(output: dict) -> list[tuple[str, bytes]]:
    """Raw bytes of the PNG and JPEG images in an output's bundle.

    Base64 values may be a list of lines or contain newlines; values that do not decode are
    skipped.

    Args:
        output: An nbformat v4 output dict.

    Returns:
        ``(mime, bytes)`` pairs in :data:`IMAGE_MIMES` order; empty if there are none.
    """
    data = output.get("data")
    if not isinstance(data, dict):
        return []
    images = []
    for mime in IMAGE_MIMES:
        if mime in data:
            raw = _image_bytes(data[mime])
            if raw:
                images.append((mime, raw))
    return images


def error_summary(output: dict) -> dict:
    """The parts of an error output an agent needs.

    Args:
        output: An nbformat v4 ``error`` output dict.

    Returns:
        ``{"ename", "evalue", "traceback"}`` with ANSI stripped; a traceback longer than
        :data:`TRACEBACK_MAX_CHARS` and a message longer than :data:`EVALUE_MAX_CHARS` are cut
        in the middle (head and tail kept, marked).
    """
    ename, evalue, traceback = _error_text(output)
    ename, _ = truncate_middle(ename, EXCERPT_CHARS)
    evalue, _ = truncate_middle(evalue, EVALUE_MAX_CHARS)
    traceback, _ = truncate_middle(traceback, TRACEBACK_MAX_CHARS)
    return {"ename": ename, "evalue": evalue, "traceback": traceback}


# --------------------------------------------------------------------------------------------
# Budgets, cutting and paging
# --------------------------------------------------------------------------------------------


def truncate_middle(text: str, limit: int, *, read_more: str | None = None) -> tuple[str, bool]:
    """Cut a long text to about ``limit`` characters, keeping its head and tail.

    About 60% of the limit goes to the head and 40% to the tail; both are cut at line
    boundaries when a newline is near enough (within half of their share), otherwise mid-line.
    Between them goes one marker line, e.g.
    ``… [12,345 of 20,000 characters omitted; read_output(...) reads more] …``. Only slicing
    and bounded searches are used, so a 10 MB string costs next to nothing.

    Args:
        text: The text to cut.
        limit: Characters of the original text to keep (head plus tail).
        read_more: Hint put in the marker after the counts, saying how to read the rest. The
            substring ``{offset}`` in it is replaced by the offset where the omitted part
            starts (what ``read_output`` should be given). None puts no hint.

    Returns:
        ``(text, truncated)``. The text is unchanged if it fits; otherwise its length is at
        most ``limit`` plus the marker's length.
    """
    total = len(text)
    limit = max(0, int(limit))
    if total <= limit:
        return text, False
    head_len = int(limit * _HEAD_FRACTION)
    tail_len = limit - head_len
    if head_len:
        nl = text.rfind("\n", head_len // 2, head_len)
        if nl != -1:
            head_len = nl + 1
    tail_start = total - tail_len
    if tail_len:
        nl = text.find("\n", tail_start - 1, tail_start + tail_len // 2)
        if nl != -1 and nl + 1 < total:
            tail_start = nl + 1
    head, tail = text[:head_len], text[tail_start:]
    omitted = tail_start - head_len
    note = f"{omitted:,} of {total:,} characters omitted"
    if read_more:
        note += "; " + read_more.replace("{offset}", str(head_len))
    lead = "" if not head or head.endswith("\n") else "\n"
    trail = "\n" if tail else ""
    return f"{head}{lead}… [{note}] …{trail}{tail}", True


def fair_shares(lengths: list[int], budget: int, floors: list[int] | None = None) -> list[int]:
    """Max-min fair split of a budget: items below the common share get all they need, the
    rest share what is left equally.

    With `floors`, each item first gets its floor (at most its length), and what the budget
    has left is split fairly over what the items still need; the shares then add up to at most
    the larger of the budget and the floors' sum.
    """
    if floors is not None:
        base = [min(floor, length) for floor, length in zip(floors, lengths, strict=True)]
        rest = fair_shares([length - b for length, b in zip(lengths, base, strict=True)],
                           max(0, budget - sum(base)))
        return [b + r for b, r in zip(base, rest, strict=True)]
    shares = [0] * len(lengths)
    remaining, left = budget, len(lengths)
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        share = remaining // left if left else 0
        shares[i] = min(lengths[i], share)
        remaining -= shares[i]
        left -= 1
    return shares


def _read_more_hint(cell_id: str | None, output_index: int) -> str:
    if cell_id is None:
        return "output cut; print less or slice it (e.g. df.head(), text[:2000]) to see the rest"
    return (
        f'read_output(cell_id="{cell_id}", output_index={output_index}, offset={{offset}}) '
        "reads more"
    )


def output_views(
    outputs: list[dict], max_chars: int | None, *, cell_id: str | None = None
) -> list[dict]:
    """Text views of a cell's outputs within a character budget for all of them together.

    Each view costs its text plus :data:`OUTPUT_VIEW_COST` (its fields and a cut marker). The
    budget is spread fairly: outputs smaller than an equal share get all they need and what
    they leave is shared among the larger ones, each cut with :func:`truncate_middle` (but never
    to less than a couple of hundred characters, so a cut output always shows something).
    Outputs that even that much would not fit for are left out: the views then cover only the
    first outputs (always at least one), and the caller says how to read the rest. The marker
    of a cut output names ``read_output`` with this cell id, the output's index and the offset
    where the omitted part starts; for scratch runs (no cell id) it suggests printing less.

    Args:
        outputs: nbformat v4 output dicts, in order.
        max_chars: Budget for all the views together; None for no limit.
        cell_id: The cell the outputs belong to, or None for a scratch run.

    Returns:
        One dict per output shown, in order: ``output_index``, ``output_type``, ``text``,
        ``truncated``, ``mime`` (the kind from :func:`output_text`) and ``has_image`` (the
        bundle holds a PNG or JPEG, delivered separately as image content).
    """
    texts = [output_text(output) for output in outputs]
    lengths = [len(text) for text, _ in texts]
    if max_chars is None:
        shares = lengths
    else:
        budget = max(0, int(max_chars))
        shown, least = 0, 0
        for length in lengths:
            least += min(length, _MIN_SHARE) + OUTPUT_VIEW_COST
            if shown and least > budget:
                break
            shown += 1
        shares = fair_shares(lengths[:shown], max(0, budget - shown * OUTPUT_VIEW_COST))
    views = []
    for index, (output, (text, kind), share) in enumerate(
        zip(outputs, texts, shares, strict=False)
    ):
        truncated = False
        if len(text) > share:
            text, truncated = truncate_middle(
                text,
                max(share, min(_MIN_SHARE, len(text))),
                read_more=_read_more_hint(cell_id, index),
            )
        views.append(
            {
                "output_index": index,
                "output_type": output.get("output_type", ""),
                "text": text,
                "truncated": truncated,
                "mime": kind,
                "has_image": _has_image(output),
            }
        )
    return views


def page_text(text: str, offset: int, limit: int) -> dict:
    """One page of a long text, for ``read_output``.

    Args:
        text: The full text form of an output.
        offset: Where the page starts; negative values count as 0, values past the end as the
            end.
        limit: Page length in characters; negative values count as 0.

    Returns:
        ``{"text", "offset", "total"}`` with the clamped offset and the text's full length.
    """
    total = len(text)
    offset = min(max(0, int(offset)), total)
    limit = max(0, int(limit))
    return {"text": text[offset : offset + limit], "offset": offset, "total": total}


# --------------------------------------------------------------------------------------------
# Overview
# --------------------------------------------------------------------------------------------


def _count_lines(text: str) -> int:
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def _lines(n: int) -> str:
    return f"{n} line" if n == 1 else f"{n} lines"


_SUMMARY_MAX_PARTS = 6


def output_summary(outputs: list[dict]) -> str:
    """One short line describing a cell's outputs, for the notebook overview.

    Streams are counted per name across the cell (``stdout 3 lines``), results and displays by
    their text lines (``result 1 line``, ``display 12 lines``), images by MIME type, errors by
    exception name (``error KeyError``). Repeats in a row are folded (``image/png x3``) and
    long lists end with ``+N more``.

    Args:
        outputs: nbformat v4 output dicts.

    Returns:
        For example ``"stdout 3 lines; image/png; error KeyError"``, or ``""`` for no outputs.
    """
    parts: list[str] = []
    stream_slot: dict[str, int] = {}
    stream_lines: dict[str, int] = {}
    for output in outputs:
        output_type = output.get("output_type", "")
        if output_type == "stream":
            name = str(output.get("name") or "stdout")
            text = collapse_carriage_returns(_join(output.get("text")))
            stream_lines[name] = stream_lines.get(name, 0) + _count_lines(text)
            if name not in stream_slot:
                stream_slot[name] = len(parts)
                parts.append(name)
            continue
        if output_type == "error":
            parts.append(f"error {strip_ansi(_join(output.get('ename'))) or 'Error'}")
            continue
        if output_type not in ("execute_result", "display_data", "update_display_data"):
            if output_type:
                parts.append(output_type)
            continue
        data = output.get("data") if isinstance(output.get("data"), dict) else {}
        image = next((mime for mime in IMAGE_MIMES if mime in data), None)
        if image is not None:
            parts.append(image)
            continue
        text, kind = output_text(output)
        label = "result" if output_type == "execute_result" else "display"
        if best_mime(data) is None:
            parts.append(kind or label)
        else:
            parts.append(f"{label} {_lines(_count_lines(text))}")
    for name, slot in stream_slot.items():
        parts[slot] = f"{name} {_lines(stream_lines[name])}"
    folded: list[str] = []
    counts: list[int] = []
    for part in parts:
        if folded and folded[-1] == part:
            counts[-1] += 1
        else:
            folded.append(part)
            counts.append(1)
    items = [part if n == 1 else f"{part} x{n}" for part, n in zip(folded, counts, strict=True)]
    if len(items) > _SUMMARY_MAX_PARTS:
        extra = len(items) - (_SUMMARY_MAX_PARTS - 1)
        items = items[: _SUMMARY_MAX_PARTS - 1] + [f"+{extra} more"]
    return "; ".join(items)
