"""Report stage, LaTeX layout: how wide a formula prints, and where a long one breaks.

`estimate_width` reads generated LaTeX (fractions, scripts, \\left...\\right, names) and
gives its width in em, a little on the wide side; `align_rows` lays `lhs = rhs` rows
out for `align*`, breaking a row that would run past the margin at its `=`, `+` or `·`
and never inside a bracket. Pieces of a formula come as `Chunk`s from the printer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LINE_EM", "Chunk", "align_rows", "estimate_width", "fits"]

# the text width of an 11 pt article with 2 cm margins is about 45 em; what an
# `align*` row may take beside its left side and its reason at the right margin
LINE_EM = 34.0

_WIDE = {"+": 1.3, "-": 1.3, "=": 1.6, "<": 1.6, ">": 1.6, "(": 0.4, ")": 0.4, "[": 0.3,
         "]": 0.3, "|": 0.3, ",": 0.45, "/": 0.5, "'": 0.3, ".": 0.3, "!": 0.3}  # fmt: skip
_COMMANDS = {"cdot": 0.8, "times": 1.3, "pm": 1.3, "quad": 1.0, "qquad": 2.0, ",": 0.2,
             ";": 0.3, ":": 0.25, "!": 0.0, "partial": 0.6, "odot": 1.3, "top": 0.8,
             "ldots": 1.2, "cdots": 1.2, "infty": 1.0, "bigl": 0.0, "bigr": 0.0,
             "Bigl": 0.0, "Bigr": 0.0, "big": 0.0, "left": 0.0, "right": 0.0,
             "displaystyle": 0.0, "small": 0.0}  # fmt: skip
_WORDS = ("operatorname", "mathrm", "text", "mathtt", "textbf", "textit")


class _Reader:
    def __init__(self, text: str):
        self.text = text
        self.at = 0

    def group(self) -> str:
        """The text of a {...} group (or one character) at the reading position."""
        while self.at < len(self.text) and self.text[self.at] == " ":
            self.at += 1
        if self.at >= len(self.text):
            return ""
        if self.text[self.at] != "{":
            self.at += 1
            return self.text[self.at - 1]
        depth, start = 0, self.at
        while self.at < len(self.text):
            depth += {"{": 1, "}": -1}.get(self.text[self.at], 0)
            self.at += 1
            if depth == 0:
                break
        return self.text[start + 1 : self.at - 1]

    def command(self) -> str:
        start = self.at
        self.at += 1
        while self.at < len(self.text) and self.text[self.at].isalpha():
            self.at += 1
        if self.at == start + 1 and self.at < len(self.text):
            self.at += 1  # \, \; \{ ...
        return self.text[start + 1 : self.at]


def estimate_width(tex: str) -> float:
    r"""Width of math-mode LaTeX in em (display style), estimated.

    >>> round(estimate_width(r"\frac{e^{- x}}{\left(1 + e^{- x}\right)^{2}}"), 1)
    5.5
    """
    reader = _Reader(tex)
    width = 0.0
    while reader.at < len(tex):
        char = tex[reader.at]
        if char == "\\":
            width += _command_width(reader.command(), reader)
        elif char in "^_":
            reader.at += 1
            width += 0.7 * estimate_width(reader.group())
        elif char == "{":
            width += estimate_width(reader.group())
        elif char in "}& ":
            reader.at += 1
        else:
            reader.at += 1
            width += _WIDE.get(char, 0.58)
    return width


def _command_width(name: str, reader: _Reader) -> float:
    if name in ("frac", "dfrac", "tfrac"):
        top, bottom = reader.group(), reader.group()
        return max(estimate_width(top), estimate_width(bottom)) + 0.4
    if name in _WORDS:
        return 0.52 * len(reader.group()) + 0.2
    if name == "sqrt":
        return estimate_width(reader.group()) + 1.0
    if name in ("left", "right", "bigl", "bigr", "Bigl", "Bigr", "big"):
        delimiter = reader.command() if reader.text[reader.at : reader.at + 1] == "\\" else (
            reader.group())  # fmt: skip
        return 0.0 if delimiter == "." else 0.45
    if name in ("mathbf", "boldsymbol", "hat", "bar", "tilde", "dot", "underline", "check"):
        return estimate_width(reader.group()) * (1.1 if name == "mathbf" else 1.0)
    if name in ("begin", "end"):
        reader.group()
        return 0.0
    return _COMMANDS.get(name, 0.65)


def fits(tex: str, room: float = LINE_EM) -> bool:
    return estimate_width(tex) <= room


@dataclass(frozen=True)
class Chunk:
    """A piece of a formula that may start a line: `joiner` (+, -, \\cdot or '') and
    the LaTeX after it."""

    joiner: str
    tex: str

    def text(self, first: bool) -> str:
        if not self.joiner or first and self.joiner == r"\cdot":
            return self.tex
        return f"{self.joiner} {self.tex}"


def _lines(chunks: Sequence[Chunk], room: float) -> list[str]:
    """Chunks packed greedily into lines no wider than `room` (a chunk wider than the
    room gets a line of its own)."""
    lines: list[str] = []
    current = ""
    for chunk in chunks:
        if not current:
            current = chunk.text(not lines)
            continue
        candidate = f"{current} {chunk.text(False)}"
        if estimate_width(candidate) <= room:
            current = candidate
        else:
            lines.append(current)
            current = chunk.text(False)
    if current:
        lines.append(current)
    return lines


def align_rows(
    lhs: str,
    rows: Sequence[tuple[Sequence[Chunk], str]],
    room: float = LINE_EM,
    tags: bool = True,
) -> list[str]:
    r"""`align*` lines: `lhs &= row` then `&= row` for each (chunks, reason), a long row
    broken over lines that go on with `&\quad`; the reason (math) is a tag at the right
    margin, which amsmath moves below a row that leaves it no room, or without `tags`
    a column of its own (`aligned` has no tags).

    >>> align_rows("f", [([Chunk("", "x"), Chunk("+", "1")], r"\text{sum rule}")])
    ['f &= x + 1 \\tag*{\\small $\\text{sum rule}$}']
    """
    room = room - max(0.0, estimate_width(lhs) - 3.0)
    out: list[str] = []
    for index, (chunks, reason) in enumerate(rows):
        lines = _lines(chunks, room)
        tag = ""
        if reason:
            tag = rf" \tag*{{\small ${reason}$}}" if tags else rf" && {reason}"
        for number, line in enumerate(lines):
            head = (lhs if index == 0 else "") + " &= " if number == 0 else r"&\quad "
            out.append(head.lstrip() + line + (tag if number == 0 else ""))
    return out
