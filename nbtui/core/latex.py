"""LaTeX math as Unicode text a terminal can show: α, ∑, x², a/b, √(x+1).

Conversion is done by pylatexenc's ``LatexNodes2Text`` (a maintained LaTeX parser); on top of
it, superscripts and subscripts become Unicode super- and subscript characters where every
character has one (``x^{10}`` → ``x¹⁰``) and stay readable otherwise (``e^{-x/2}`` →
``e^(-x/2)``).

Markdown keeps its math between dollars, as Jupyter finds it: ``$$...$$`` for display math and
``$...$`` inline, where the opening ``$`` is followed by a non-space and the closing one is
preceded by a non-space and not followed by a digit, so "$5 and $10" stays money. Code spans,
fenced code blocks and escaped dollars (``\\$``) are left alone.
"""

from __future__ import annotations

import functools
import logging
import re

__all__ = ["latex_output_to_text", "latex_to_unicode", "markdown_math_to_unicode"]

_log = logging.getLogger(__name__)

# Common math macros pylatexenc 2.10 does not know (it drops unknown macros).
_EXTRA_MACROS = {"ne": "≠", "implies": "⟹", "iff": "⟺", "neg": "¬", "lnot": "¬", "Pr": "Pr",
                 "det": "det", "arg": "arg", "degree": "°", "coloneqq": "≔", "mid": "|"}
_SUPERSCRIPTS = dict(zip(
    "0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWαβγδεθιφχ ",
    "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵅᵝᵞᵟᵋᶿᶥᵠᵡ ",
    strict=True))
_SUBSCRIPTS = dict(zip(
    "0123456789+-=()aehijklmnoprstuvxβγρφχ ",
    "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ ",
    strict=True))

# Markdown characters that would turn converted math into emphasis, links or markup.
_MARKDOWN_SPECIAL_RE = re.compile(r"([\\`*_\[\]<>#|~])")
# A fraction's part holding one of these is put in parentheses: 1/(n-p), not 1/n-p.
_OPERATOR_RE = re.compile(r"[-+−±∓=<>/·×≤≥]")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_DISPLAY_WRAPPERS_RE = re.compile(r"\\(?:displaystyle|textstyle|scriptstyle|limits|nolimits)\b")


def _script(text: str, table: dict[str, str], mark: str) -> str:
    """`text` in super- or subscript characters, or marked with `mark` when some have none."""
    text = text.strip()
    if not text:  # e.g. _\text{max}: the argument's own argument follows as plain text
        return mark
    if all(char in table for char in text):
        return "".join(table[char] for char in text)
    if len(text) == 1:
        return mark + text
    return f"{mark}({text})"


@functools.cache
def _converter() -> tuple[object, object]:
    """The walker context and the text converter, with ^ and _ taking one argument each."""
    from pylatexenc import latex2text, latexwalker, macrospec

    walker_context = latexwalker.get_default_latex_context_db()
    walker_context.add_context_category(
        "nbtui-scripts", prepend=True,
        specials=[macrospec.SpecialsSpec(char, args_parser=macrospec.MacroStandardArgsParser("{"))
                  for char in "^_"],
        macros=[macrospec.MacroSpec(name, "{{") for name in ("dfrac", "tfrac")])

    def script(node: object, l2tobj: latex2text.LatexNodes2Text) -> str:
        arguments = getattr(node, "nodeargd", None)
        argument = arguments.argnlist[0] if arguments and arguments.argnlist else None
        text = l2tobj.nodelist_to_text([argument]) if argument is not None else ""
        if node.specials_chars == "^":  # type: ignore[attr-defined]
            return _script(text, _SUPERSCRIPTS, "^")
        return _script(text, _SUBSCRIPTS, "_")

    def fraction(node: object, l2tobj: latex2text.LatexNodes2Text) -> str:
        arguments = getattr(node, "nodeargd", None)
        parts = [l2tobj.nodelist_to_text([argument]).strip() if argument is not None else ""
                 for argument in (arguments.argnlist if arguments else [])[-2:]]
        if len(parts) < 2:
            return "/".join(parts)
        return "/".join(f"({part})" if _OPERATOR_RE.search(part) else part for part in parts)

    text_context = latex2text.get_default_latex_context_db()
    text_context.add_context_category(
        "nbtui-scripts", prepend=True,
        specials=[latex2text.SpecialsTextSpec(char, simplify_repl=script) for char in "^_"],
        macros=[*(latex2text.MacroTextSpec(name, text) for name, text in _EXTRA_MACROS.items()),
                *(latex2text.MacroTextSpec(name, simplify_repl=fraction)
                  for name in ("frac", "dfrac", "tfrac"))])

    class SpacedConverter(latex2text.LatexNodes2Text):
        """Keeps a space the source has after a macro or a script: ``\\alpha \\to y`` is
        ``α → y``, not ``α→y``."""

        def nodelist_to_text(self, nodelist: list) -> str:  # type: ignore[override]
            text = ""
            previous = None
            for node in nodelist:
                if node is None:
                    continue
                piece = super().nodelist_to_text([node])
                if (piece and text and not text[-1].isspace() and not piece[0].isspace()
                        and previous is not None
                        and previous.latex_verbatim()[-1:].isspace()):
                    text += " "
                text += piece
                previous = node
            return text

    # Source spacing everywhere: a space between two constructs is kept (x^n \to y).
    spaces = {"between-macro-and-chars": False, "between-latex-constructs": True,
              "after-comment": False, "in-equations": None}
    converter = SpacedConverter(latex_context=text_context, math_mode="text",
                                strict_latex_spaces=spaces)
    return walker_context, converter


@functools.lru_cache(maxsize=512)
def latex_to_unicode(latex: str) -> str:
    """Convert LaTeX (math or text) to Unicode text.

    Args:
        latex: LaTeX source, e.g. ``\\frac{\\alpha}{2} + \\sqrt{x^2}``.

    Returns:
        The text, e.g. ``α/2 + √(x²)``. Input the converter cannot parse comes back as it was.
    """
    source = _DISPLAY_WRAPPERS_RE.sub("", latex)
    try:
        from pylatexenc import latexwalker

        walker_context, converter = _converter()
        walker = latexwalker.LatexWalker(source, latex_context=walker_context,
                                         tolerant_parsing=True)
        nodes, _, _ = walker.get_latex_nodes()
        text = converter.nodelist_to_text(nodes)  # type: ignore[attr-defined]
    except Exception:  # a converter failure must not hide the output: show the source
        _log.debug("LaTeX conversion failed for %r", latex[:200], exc_info=True)
        return latex
    return text.strip()


def latex_output_to_text(latex: str) -> str:
    """A ``text/latex`` output (e.g. ``$\\displaystyle x^{2}$`` from sympy) as Unicode text.

    Args:
        latex: The output's LaTeX, with or without ``$``/``$$`` delimiters or an environment.

    Returns:
        Its text, one line per line of the converted result.
    """
    text = latex_to_unicode(latex)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def _markdown_math(latex: str) -> str:
    """Converted math escaped so that markdown shows it as it is."""
    text = " ".join(latex_to_unicode(latex).split())
    return _MARKDOWN_SPECIAL_RE.sub(r"\\\1", text)


def _inline_math_end(text: str, start: int) -> int:
    """Index of the `$` closing inline math opened at `start`, or -1 (Jupyter's rules)."""
    if start + 1 >= len(text) or text[start + 1].isspace() or text[start + 1] == "$":
        return -1
    i = start + 1
    while True:
        end = text.find("$", i)
        if end < 0:
            return -1
        # Math ends at a paragraph break and never holds a code span's backtick.
        if text.find("\n\n", start, end) >= 0 or text.find("`", start, end) >= 0:
            return -1
        if text[end - 1] == "\\":
            i = end + 1
            continue
        if not text[end - 1].isspace() and not (end + 1 < len(text) and text[end + 1].isdigit()):
            return end
        i = end + 1


def _convert_paragraphs(text: str) -> str:
    """Replace the math of markdown text that holds no fenced code block."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n:
            out.append(text[i:i + 2])
            i += 2
            continue
        if char == "`":
            run = len(text[i:]) - len(text[i:].lstrip("`"))
            ticks = "`" * run
            close = text.find(ticks, i + run)
            while close >= 0 and text[close + run:close + run + 1] == "`":
                close = text.find(ticks, close + run + 1)
            if close < 0:
                out.append(ticks)
                i += run
                continue
            out.append(text[i:close + run])
            i = close + run
            continue
        if char == "$":
            if text.startswith("$$", i):
                end = text.find("$$", i + 2)
                if end > i + 2 and "`" not in text[i + 2:end]:
                    out.append(_markdown_math(text[i + 2:end]))
                    i = end + 2
                    continue
            else:
                end = _inline_math_end(text, i)
                if end > 0:
                    out.append(_markdown_math(text[i + 1:end]))
                    i = end + 1
                    continue
        out.append(char)
        i += 1
    return "".join(out)


def markdown_math_to_unicode(markdown: str) -> str:
    """Replace the LaTeX math of a markdown text with Unicode, leaving code alone.

    Args:
        markdown: A markdown cell's source or a ``text/markdown`` output.

    Returns:
        The markdown with each ``$...$`` and ``$$...$$`` replaced by its Unicode text
        (escaped so that markdown shows it literally); unchanged when it has no ``$``.
    """
    if "$" not in markdown:
        return markdown
    return _markdown_math_cached(markdown)


@functools.lru_cache(maxsize=256)
def _markdown_math_cached(markdown: str) -> str:
    parts: list[str] = []
    prose: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines(keepends=True):
        match = _FENCE_RE.match(line)
        if fence is None:
            if match:
                parts.append(_convert_paragraphs("".join(prose)))
                prose = []
                fence = match.group(1)
                parts.append(line)
            else:
                prose.append(line)
            continue
        parts.append(line)
        if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) \
                and not line.strip()[len(match.group(1)):]:
            fence = None
    parts.append(_convert_paragraphs("".join(prose)))
    return "".join(parts)
